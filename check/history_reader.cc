// JSONL history reader; see history_json.h and FORMAT.md.
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "runtime/strings.h"
#include "check/base64.h"
#include "check/history_json.h"
#include "check/json.h"

namespace keel::check {
namespace {

// Reads typed fields out of one JSON object, remembering the first error and
// which fields were used, so that Finish() can reject unknown ones.
class ObjectReader {
 public:
  ObjectReader(const JsonValue* value, std::string context)
      : value_(value), context_(std::move(context)) {
    if (value_ == nullptr || value_->kind() != JsonValue::Kind::kObject) {
      Fail("is not an object");
      value_ = nullptr;
    }
  }

  const absl::Status& status() const { return status_; }

  int64_t Int(std::string_view name) {
    const JsonValue* v = Get(name);
    if (v == nullptr) return 0;
    if (v->kind() != JsonValue::Kind::kInt) {
      Fail(StrCat("field \"", name, "\" is not an integer"));
      return 0;
    }
    return v->int_value();
  }

  bool Has(std::string_view name) const {
    return value_ != nullptr && value_->Find(name) != nullptr;
  }

  bool Bool(std::string_view name) {
    const JsonValue* v = Get(name);
    if (v == nullptr) return false;
    if (v->kind() != JsonValue::Kind::kBool) {
      Fail(StrCat("field \"", name, "\" is not a boolean"));
      return false;
    }
    return v->bool_value();
  }

  std::string String(std::string_view name) {
    const JsonValue* v = Get(name);
    if (v == nullptr) return "";
    if (v->kind() != JsonValue::Kind::kString) {
      Fail(StrCat("field \"", name, "\" is not a string"));
      return "";
    }
    return v->string_value();
  }

  // A base64 field, decoded.
  std::string Bytes(std::string_view name) {
    const JsonValue* v = Get(name);
    if (v == nullptr) return "";
    if (v->kind() != JsonValue::Kind::kString) {
      Fail(StrCat("field \"", name, "\" is not a base64 string"));
      return "";
    }
    absl::StatusOr<std::string> bytes = Base64Decode(v->string_value());
    if (!bytes.ok()) {
      Fail(StrCat("field \"", name, "\": ", bytes.status().message()));
      return "";
    }
    return *std::move(bytes);
  }

  // An array field; an empty array if absent.
  const std::vector<JsonValue>& Array(std::string_view name) {
    static const std::vector<JsonValue> kEmpty;
    const JsonValue* v = Get(name);
    if (v == nullptr) return kEmpty;
    if (v->kind() != JsonValue::Kind::kArray) {
      Fail(StrCat("field \"", name, "\" is not an array"));
      return kEmpty;
    }
    return v->items();
  }

  // A nested value (nullptr if absent).
  const JsonValue* Value(std::string_view name) { return Get(name); }

  void Fail(std::string_view what) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError(StrCat(context_, ": ", what));
    }
  }
  void Merge(const absl::Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }

  // Rejects members that were never read (typos), except "x_" extensions.
  absl::Status Finish() {
    if (value_ != nullptr && status_.ok()) {
      for (const auto& [name, unused] : value_->members()) {
        if (name.rfind("x_", 0) == 0) continue;
        bool known = false;
        for (const std::string& used : used_) known = known || used == name;
        if (!known) Fail(StrCat("unknown field \"", name, "\""));
      }
    }
    return status_;
  }

  const std::string& context() const { return context_; }

 private:
  const JsonValue* Get(std::string_view name) {
    if (value_ == nullptr) return nullptr;
    used_.emplace_back(name);
    const JsonValue* v = value_->Find(name);
    if (v != nullptr && v->is_null()) return nullptr;
    return v;
  }

  const JsonValue* value_;
  std::string context_;
  std::vector<std::string> used_;
  absl::Status status_;
};

absl::Status ReadKv(const JsonValue* v, const std::string& context, KeyValue* kv) {
  ObjectReader r(v, context);
  kv->key = r.Bytes("key");
  kv->value = r.Bytes("value");
  kv->create_revision = r.Int("create_revision");
  kv->mod_revision = r.Int("mod_revision");
  kv->version = r.Int("version");
  kv->lease = r.Int("lease");
  return r.Finish();
}

absl::Status ReadKvList(ObjectReader& r, std::string_view name,
                        std::vector<KeyValue>* out) {
  const auto& items = r.Array(name);
  for (size_t i = 0; i < items.size(); ++i) {
    KeyValue kv;
    absl::Status s = ReadKv(&items[i], StrCat(r.context(), ".", name, "[", i, "]"), &kv);
    if (!s.ok()) return s;
    out->push_back(std::move(kv));
  }
  return absl::OkStatus();
}

absl::Status ReadOptionalKv(ObjectReader& r, std::string_view name,
                            std::optional<KeyValue>* out) {
  const JsonValue* v = r.Value(name);
  if (v == nullptr) return absl::OkStatus();
  KeyValue kv;
  absl::Status s = ReadKv(v, StrCat(r.context(), ".", name), &kv);
  if (s.ok()) *out = std::move(kv);
  return s;
}

PutRequest ReadPutRequest(ObjectReader& r) {
  PutRequest p;
  p.key = r.Bytes("key");
  p.value = r.Bytes("value");
  p.lease = r.Int("lease");
  p.prev_kv = r.Bool("prev_kv");
  p.ignore_value = r.Bool("ignore_value");
  p.ignore_lease = r.Bool("ignore_lease");
  return p;
}

RangeRequest ReadRangeRequest(ObjectReader& r) {
  RangeRequest q;
  q.key = r.Bytes("key");
  q.range_end = r.Bytes("range_end");
  q.revision = r.Int("revision");
  q.limit = r.Int("limit");
  q.serializable = r.Bool("serializable");
  q.keys_only = r.Bool("keys_only");
  q.count_only = r.Bool("count_only");
  return q;
}

DeleteRequest ReadDeleteRequest(ObjectReader& r) {
  DeleteRequest d;
  d.key = r.Bytes("key");
  d.range_end = r.Bytes("range_end");
  d.prev_kv = r.Bool("prev_kv");
  return d;
}

void ReadRangeResponse(ObjectReader& r, RangeResponse* out) {
  r.Merge(ReadKvList(r, "kvs", &out->kvs));
  out->more = r.Bool("more");
  out->count = r.Int("count");
}

void ReadPutResponse(ObjectReader& r, PutResponse* out) {
  r.Merge(ReadOptionalKv(r, "prev_kv", &out->prev_kv));
}

void ReadDeleteResponse(ObjectReader& r, DeleteResponse* out) {
  out->deleted = r.Int("deleted");
  r.Merge(ReadKvList(r, "prev_kvs", &out->prev_kvs));
}

// {"put":{...}} | {"range":{...}} | {"delete":{...}}: exactly one member.
absl::Status ReadTxnOpKind(const JsonValue& v, const std::string& context,
                           std::string* kind, const JsonValue** body) {
  if (v.kind() != JsonValue::Kind::kObject || v.members().size() != 1) {
    return absl::InvalidArgumentError(
        StrCat(context, ": must be an object with exactly one of put, range, delete"));
  }
  *kind = v.members()[0].first;
  *body = &v.members()[0].second;
  if (*kind != "put" && *kind != "range" && *kind != "delete") {
    return absl::InvalidArgumentError(StrCat(context, ": unknown txn op \"", *kind, "\""));
  }
  return absl::OkStatus();
}

absl::Status ReadTxnRequestOps(ObjectReader& parent, std::string_view name,
                               std::vector<TxnRequestOp>* out) {
  const auto& items = parent.Array(name);
  for (size_t i = 0; i < items.size(); ++i) {
    std::string context = StrCat(parent.context(), ".", name, "[", i, "]");
    std::string kind;
    const JsonValue* body = nullptr;
    absl::Status s = ReadTxnOpKind(items[i], context, &kind, &body);
    if (!s.ok()) return s;
    ObjectReader r(body, StrCat(context, ".", kind));
    if (kind == "put") {
      out->push_back(ReadPutRequest(r));
    } else if (kind == "range") {
      out->push_back(ReadRangeRequest(r));
    } else {
      out->push_back(ReadDeleteRequest(r));
    }
    s = r.Finish();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ReadTxnResponseOps(ObjectReader& parent,
                                std::vector<TxnResponseOp>* out) {
  const auto& items = parent.Array("responses");
  for (size_t i = 0; i < items.size(); ++i) {
    std::string context = StrCat(parent.context(), ".responses[", i, "]");
    std::string kind;
    const JsonValue* body = nullptr;
    absl::Status s = ReadTxnOpKind(items[i], context, &kind, &body);
    if (!s.ok()) return s;
    ObjectReader r(body, StrCat(context, ".", kind));
    // Fill the element in place: moving a fresh variant into the vector
    // trips GCC 12's -Wmaybe-uninitialized false positive.
    TxnResponseOp& slot = out->emplace_back();
    if (kind == "put") {
      ReadPutResponse(r, &slot.emplace<PutResponse>());
    } else if (kind == "range") {
      ReadRangeResponse(r, &slot.emplace<RangeResponse>());
    } else {
      ReadDeleteResponse(r, &slot.emplace<DeleteResponse>());
    }
    s = r.Finish();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ReadCompares(ObjectReader& parent, std::vector<Compare>* out) {
  const auto& items = parent.Array("compare");
  for (size_t i = 0; i < items.size(); ++i) {
    ObjectReader r(&items[i], StrCat(parent.context(), ".compare[", i, "]"));
    Compare c;
    c.key = r.Bytes("key");
    c.range_end = r.Bytes("range_end");
    std::string target = r.String("target");
    std::string result = r.String("result");
    if (target == "version") {
      c.target = CompareTarget::kVersion;
      c.number = r.Int("version");
    } else if (target == "create") {
      c.target = CompareTarget::kCreate;
      c.number = r.Int("create_revision");
    } else if (target == "mod") {
      c.target = CompareTarget::kMod;
      c.number = r.Int("mod_revision");
    } else if (target == "value") {
      c.target = CompareTarget::kValue;
      c.value = r.Bytes("value");
    } else if (target == "lease") {
      c.target = CompareTarget::kLease;
      c.number = r.Int("lease");
    } else {
      r.Fail(StrCat("unknown target \"", target, "\""));
    }
    if (result == "equal") {
      c.result = CompareResult::kEqual;
    } else if (result == "not_equal") {
      c.result = CompareResult::kNotEqual;
    } else if (result == "greater") {
      c.result = CompareResult::kGreater;
    } else if (result == "less") {
      c.result = CompareResult::kLess;
    } else {
      r.Fail(StrCat("unknown result \"", result, "\""));
    }
    absl::Status s = r.Finish();
    if (!s.ok()) return s;
    out->push_back(std::move(c));
  }
  return absl::OkStatus();
}

absl::Status ReadEvent(const JsonValue& v, const std::string& context, Event* ev) {
  ObjectReader r(&v, context);
  std::string type = r.String("type");
  if (type == "put") {
    ev->type = Event::Type::kPut;
  } else if (type == "delete") {
    ev->type = Event::Type::kDelete;
  } else {
    r.Fail(StrCat("unknown event type \"", type, "\""));
  }
  const JsonValue* kv = r.Value("kv");
  if (kv == nullptr) {
    r.Fail("missing kv");
  } else {
    r.Merge(ReadKv(kv, context + ".kv", &ev->kv));
  }
  r.Merge(ReadOptionalKv(r, "prev_kv", &ev->prev_kv));
  return r.Finish();
}

absl::Status ReadWatchResponses(ObjectReader& parent, WatchResult* out) {
  const auto& items = parent.Array("responses");
  for (size_t i = 0; i < items.size(); ++i) {
    std::string context = StrCat(parent.context(), ".responses[", i, "]");
    ObjectReader r(&items[i], context);
    WatchResponse w;
    w.time_ns = r.Int("time");
    w.revision = r.Int("revision");
    w.watch_id = r.Int("watch_id");
    w.created = r.Bool("created");
    w.canceled = r.Bool("canceled");
    w.fragment = r.Bool("fragment");
    w.compact_revision = r.Int("compact_revision");
    w.cancel_reason = r.String("cancel_reason");
    const auto& events = r.Array("events");
    for (size_t j = 0; j < events.size(); ++j) {
      Event ev;
      r.Merge(ReadEvent(events[j], StrCat(context, ".events[", j, "]"), &ev));
      w.events.push_back(std::move(ev));
    }
    absl::Status s = r.Finish();
    if (!s.ok()) return s;
    out->responses.push_back(std::move(w));
  }
  return absl::OkStatus();
}

WatchRequest ReadWatchRequest(ObjectReader& r) {
  WatchRequest w;
  w.key = r.Bytes("key");
  w.range_end = r.Bytes("range_end");
  w.start_revision = r.Int("start_revision");
  w.prev_kv = r.Bool("prev_kv");
  w.progress_notify = r.Bool("progress_notify");
  w.fragment = r.Bool("fragment");
  w.watch_id = r.Int("watch_id");
  const auto& filters = r.Array("filters");
  for (const JsonValue& f : filters) {
    if (f.kind() == JsonValue::Kind::kString && f.string_value() == "noput") {
      w.filter_noput = true;
    } else if (f.kind() == JsonValue::Kind::kString && f.string_value() == "nodelete") {
      w.filter_nodelete = true;
    } else {
      r.Fail("filters must be \"noput\" or \"nodelete\"");
    }
  }
  return w;
}

// Fills op.request from "input" for the given type.
absl::Status ReadInput(OpType type, const JsonValue* input, Operation* op) {
  ObjectReader r(input, "input");
  switch (type) {
    case OpType::kPut: op->request = ReadPutRequest(r); break;
    case OpType::kRange: op->request = ReadRangeRequest(r); break;
    case OpType::kDelete: op->request = ReadDeleteRequest(r); break;
    case OpType::kTxn: {
      TxnRequest t;
      r.Merge(ReadCompares(r, &t.compare));
      r.Merge(ReadTxnRequestOps(r, "success", &t.success));
      r.Merge(ReadTxnRequestOps(r, "failure", &t.failure));
      op->request = std::move(t);
      break;
    }
    case OpType::kCompact:
      op->request = CompactRequest{r.Int("revision"), r.Bool("physical")};
      break;
    case OpType::kLeaseGrant:
      op->request = LeaseGrantRequest{r.Int("ttl"), r.Int("id")};
      break;
    case OpType::kLeaseRevoke: op->request = LeaseRevokeRequest{r.Int("id")}; break;
    case OpType::kLeaseKeepAlive: op->request = LeaseKeepAliveRequest{r.Int("id")}; break;
    case OpType::kLeaseTimeToLive:
      op->request = LeaseTimeToLiveRequest{r.Int("id"), r.Bool("keys")};
      break;
    case OpType::kWatch: op->request = ReadWatchRequest(r); break;
  }
  return r.Finish();
}

// Fills op.response from the ok fields of "output".
void ReadResult(OpType type, ObjectReader& r, Operation* op) {
  switch (type) {
    case OpType::kPut: {
      PutResponse p;
      ReadPutResponse(r, &p);
      op->response = std::move(p);
      return;
    }
    case OpType::kRange: {
      RangeResponse q;
      ReadRangeResponse(r, &q);
      op->response = std::move(q);
      return;
    }
    case OpType::kDelete: {
      DeleteResponse d;
      ReadDeleteResponse(r, &d);
      op->response = std::move(d);
      return;
    }
    case OpType::kTxn: {
      TxnResponse t;
      t.succeeded = r.Bool("succeeded");
      r.Merge(ReadTxnResponseOps(r, &t.responses));
      op->response = std::move(t);
      return;
    }
    case OpType::kCompact: op->response = CompactResponse{}; return;
    case OpType::kLeaseGrant:
      op->response = LeaseGrantResponse{r.Int("id"), r.Int("ttl")};
      return;
    case OpType::kLeaseRevoke: op->response = LeaseRevokeResponse{}; return;
    case OpType::kLeaseKeepAlive: op->response = LeaseKeepAliveResponse{r.Int("ttl")}; return;
    case OpType::kLeaseTimeToLive: {
      LeaseTimeToLiveResponse t;
      t.ttl = r.Int("ttl");
      t.granted_ttl = r.Int("granted_ttl");
      const auto& keys = r.Array("keys");
      for (const JsonValue& k : keys) {
        absl::StatusOr<std::string> key =
            k.kind() == JsonValue::Kind::kString
                ? Base64Decode(k.string_value())
                : absl::StatusOr<std::string>(absl::InvalidArgumentError("not a string"));
        if (!key.ok()) {
          r.Fail(StrCat("keys: ", key.status().message()));
          break;
        }
        t.keys.push_back(*std::move(key));
      }
      op->response = std::move(t);
      return;
    }
    case OpType::kWatch: {
      WatchResult w;
      r.Merge(ReadWatchResponses(r, &w));
      op->response = std::move(w);
      return;
    }
  }
}

absl::Status ReadOutput(OpType type, const JsonValue* output, Operation* op) {
  ObjectReader r(output, "output");
  std::string status = r.String("status");
  if (status == "ok") {
    op->outcome = Outcome::kOk;
    op->revision = r.Int("revision");
    ReadResult(type, r, op);
  } else if (status == "error" || status == "unknown") {
    op->outcome = status == "error" ? Outcome::kError : Outcome::kUnknown;
    op->error = r.String("error");
    op->response = EmptyResponse(type);
  } else {
    r.Fail(StrCat("status must be ok, error or unknown, not \"", status, "\""));
  }
  return r.Finish();
}

absl::StatusOr<OpType> ParseOpType(std::string_view name) {
  for (int t = 0; t <= static_cast<int>(OpType::kWatch); ++t) {
    if (OpTypeName(static_cast<OpType>(t)) == name) return static_cast<OpType>(t);
  }
  return absl::InvalidArgumentError(StrCat("unknown op \"", name, "\""));
}

absl::Status ReadInitial(ObjectReader& r, History* history) {
  history->initial_revision = r.Int("revision");
  r.Merge(ReadKvList(r, "kvs", &history->initial_kvs));
  return r.Finish();
}

absl::Status ReadOperationLine(ObjectReader& r, Operation* op) {
  if (!r.Has("id")) r.Fail("missing id");
  if (!r.Has("invoke")) r.Fail("missing invoke");
  op->id = r.Int("id");
  op->client = r.Int("client");
  op->invoke_ns = r.Int("invoke");
  op->complete_ns = r.Has("complete") ? r.Int("complete") : kNever;
  op->final_read = r.Bool("final");
  absl::StatusOr<OpType> type = ParseOpType(r.String("op"));
  if (!type.ok()) {
    r.Fail(AsStd(type.status().message()));
    return r.Finish();
  }
  r.Merge(ReadInput(*type, r.Value("input"), op));
  r.Merge(ReadOutput(*type, r.Value("output"), op));
  if (op->outcome != Outcome::kUnknown && op->type() != OpType::kWatch &&
      op->complete_ns == kNever) {
    r.Fail("a completed operation needs \"complete\"");
  }
  return r.Finish();
}

}  // namespace

absl::StatusOr<History> ParseHistory(std::string_view jsonl) {
  History history;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < jsonl.size()) {
    size_t end = jsonl.find('\n', pos);
    if (end == std::string_view::npos) end = jsonl.size();
    std::string_view line = jsonl.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    absl::StatusOr<JsonValue> value = ParseJson(line);
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          StrCat("line ", line_no, ": ", value.status().message()));
    }
    ObjectReader r(&*value, "record");
    absl::Status s;
    if (r.Has("op") && value->Find("op")->kind() == JsonValue::Kind::kString &&
        value->Find("op")->string_value() == "initial") {
      r.String("op");
      if (!history.ops.empty()) {
        s = absl::InvalidArgumentError("the initial record must come first");
      } else {
        s = ReadInitial(r, &history);
      }
    } else {
      Operation op;
      s = ReadOperationLine(r, &op);
      if (s.ok()) history.ops.push_back(std::move(op));
    }
    if (!s.ok()) {
      return absl::InvalidArgumentError(StrCat("line ", line_no, ": ", s.message()));
    }
  }
  absl::Status valid = ValidateHistory(history);
  if (!valid.ok()) return valid;
  return history;
}

absl::StatusOr<History> ReadHistoryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot open ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::InternalError(StrCat("cannot read ", path));
  absl::StatusOr<History> history = ParseHistory(buffer.str());
  if (!history.ok()) {
    return absl::InvalidArgumentError(StrCat(path, ": ", history.status().message()));
  }
  return history;
}

}  // namespace keel::check
