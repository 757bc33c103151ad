// JSONL history writer; see history_json.h and FORMAT.md. Zero-valued fields
// are omitted, as etcd's JSON gateway does, and the reader restores them.
#include <fstream>

#include "absl/status/status.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "check/base64.h"
#include "check/history_json.h"
#include "check/json.h"

namespace keel::check {
namespace {

// Builds one JSON object field by field.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  ~ObjectWriter() { out_->push_back('}'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  // Starts a field and returns the buffer to write its value into.
  std::string* Field(std::string_view name) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendJsonString(out_, name);
    out_->push_back(':');
    return out_;
  }
  void Int(std::string_view name, int64_t v) {
    if (v != 0) StrAppend(Field(name), v);
  }
  void IntAlways(std::string_view name, int64_t v) { StrAppend(Field(name), v); }
  void Bool(std::string_view name, bool v) {
    if (v) Field(name)->append("true");
  }
  void String(std::string_view name, std::string_view v) {
    if (!v.empty()) AppendJsonString(Field(name), v);
  }
  void Bytes(std::string_view name, std::string_view v) {
    if (!v.empty()) AppendJsonString(Field(name), Base64Encode(v));
  }

 private:
  std::string* out_;
  bool first_ = true;
};

void WriteKv(std::string* out, const KeyValue& kv) {
  ObjectWriter w(out);
  w.Bytes("key", kv.key);
  w.Bytes("value", kv.value);
  w.Int("create_revision", kv.create_revision);
  w.Int("mod_revision", kv.mod_revision);
  w.Int("version", kv.version);
  w.Int("lease", kv.lease);
}

void WriteKvList(ObjectWriter& w, std::string_view name,
                 const std::vector<KeyValue>& kvs) {
  if (kvs.empty()) return;
  std::string* out = w.Field(name);
  out->push_back('[');
  for (size_t i = 0; i < kvs.size(); ++i) {
    if (i > 0) out->push_back(',');
    WriteKv(out, kvs[i]);
  }
  out->push_back(']');
}

void WritePutRequest(ObjectWriter& w, const PutRequest& p) {
  w.Bytes("key", p.key);
  w.Bytes("value", p.value);
  w.Int("lease", p.lease);
  w.Bool("prev_kv", p.prev_kv);
  w.Bool("ignore_value", p.ignore_value);
  w.Bool("ignore_lease", p.ignore_lease);
}
void WriteRangeRequest(ObjectWriter& w, const RangeRequest& r) {
  w.Bytes("key", r.key);
  w.Bytes("range_end", r.range_end);
  w.Int("revision", r.revision);
  w.Int("limit", r.limit);
  w.Bool("serializable", r.serializable);
  w.Bool("keys_only", r.keys_only);
  w.Bool("count_only", r.count_only);
}
void WriteDeleteRequest(ObjectWriter& w, const DeleteRequest& d) {
  w.Bytes("key", d.key);
  w.Bytes("range_end", d.range_end);
  w.Bool("prev_kv", d.prev_kv);
}
void WritePutResponse(ObjectWriter& w, const PutResponse& p) {
  if (p.prev_kv) WriteKv(w.Field("prev_kv"), *p.prev_kv);
}
void WriteRangeResponse(ObjectWriter& w, const RangeResponse& r) {
  WriteKvList(w, "kvs", r.kvs);
  w.Bool("more", r.more);
  w.Int("count", r.count);
}
void WriteDeleteResponse(ObjectWriter& w, const DeleteResponse& d) {
  w.Int("deleted", d.deleted);
  WriteKvList(w, "prev_kvs", d.prev_kvs);
}

template <typename Variant, typename Fn>
void WriteTxnOps(ObjectWriter& w, std::string_view name,
                 const std::vector<Variant>& ops, Fn write_one) {
  if (ops.empty()) return;
  std::string* out = w.Field(name);
  out->push_back('[');
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i > 0) out->push_back(',');
    ObjectWriter wrapper(out);
    write_one(wrapper, ops[i]);
  }
  out->push_back(']');
}

void WriteTxnRequestOp(ObjectWriter& w, const TxnRequestOp& op) {
  if (const auto* p = std::get_if<PutRequest>(&op)) {
    ObjectWriter inner(w.Field("put"));
    WritePutRequest(inner, *p);
  } else if (const auto* r = std::get_if<RangeRequest>(&op)) {
    ObjectWriter inner(w.Field("range"));
    WriteRangeRequest(inner, *r);
  } else {
    ObjectWriter inner(w.Field("delete"));
    WriteDeleteRequest(inner, std::get<DeleteRequest>(op));
  }
}

void WriteTxnResponseOp(ObjectWriter& w, const TxnResponseOp& op) {
  if (const auto* p = std::get_if<PutResponse>(&op)) {
    ObjectWriter inner(w.Field("put"));
    WritePutResponse(inner, *p);
  } else if (const auto* r = std::get_if<RangeResponse>(&op)) {
    ObjectWriter inner(w.Field("range"));
    WriteRangeResponse(inner, *r);
  } else {
    ObjectWriter inner(w.Field("delete"));
    WriteDeleteResponse(inner, std::get<DeleteResponse>(op));
  }
}

void WriteCompare(ObjectWriter& w, const Compare& c) {
  w.Bytes("key", c.key);
  w.Bytes("range_end", c.range_end);
  w.String("target", CompareTargetName(c.target));
  w.String("result", CompareResultName(c.result));
  switch (c.target) {
    case CompareTarget::kVersion: w.IntAlways("version", c.number); break;
    case CompareTarget::kCreate: w.IntAlways("create_revision", c.number); break;
    case CompareTarget::kMod: w.IntAlways("mod_revision", c.number); break;
    case CompareTarget::kLease: w.IntAlways("lease", c.number); break;
    case CompareTarget::kValue: AppendJsonString(w.Field("value"), Base64Encode(c.value)); break;
  }
}

void WriteEvent(std::string* out, const Event& ev) {
  ObjectWriter w(out);
  w.String("type", ev.type == Event::Type::kPut ? "put" : "delete");
  WriteKv(w.Field("kv"), ev.kv);
  if (ev.prev_kv) WriteKv(w.Field("prev_kv"), *ev.prev_kv);
}

void WriteWatchResponse(std::string* out, const WatchResponse& r) {
  ObjectWriter w(out);
  w.Int("time", r.time_ns);
  w.Int("revision", r.revision);
  w.Int("watch_id", r.watch_id);
  w.Bool("created", r.created);
  w.Bool("canceled", r.canceled);
  w.Bool("fragment", r.fragment);
  w.Int("compact_revision", r.compact_revision);
  w.String("cancel_reason", r.cancel_reason);
  if (r.events.empty()) return;
  std::string* events = w.Field("events");
  events->push_back('[');
  for (size_t i = 0; i < r.events.size(); ++i) {
    if (i > 0) events->push_back(',');
    WriteEvent(events, r.events[i]);
  }
  events->push_back(']');
}

void WriteInput(ObjectWriter& w, const Request& request) {
  switch (static_cast<OpType>(request.index())) {
    case OpType::kPut: WritePutRequest(w, std::get<PutRequest>(request)); return;
    case OpType::kRange: WriteRangeRequest(w, std::get<RangeRequest>(request)); return;
    case OpType::kDelete: WriteDeleteRequest(w, std::get<DeleteRequest>(request)); return;
    case OpType::kTxn: {
      const auto& t = std::get<TxnRequest>(request);
      WriteTxnOps(w, "compare", t.compare, WriteCompare);
      WriteTxnOps(w, "success", t.success, WriteTxnRequestOp);
      WriteTxnOps(w, "failure", t.failure, WriteTxnRequestOp);
      return;
    }
    case OpType::kCompact: {
      const auto& c = std::get<CompactRequest>(request);
      w.Int("revision", c.revision);
      w.Bool("physical", c.physical);
      return;
    }
    case OpType::kLeaseGrant: {
      const auto& g = std::get<LeaseGrantRequest>(request);
      w.Int("ttl", g.ttl);
      w.Int("id", g.id);
      return;
    }
    case OpType::kLeaseRevoke: w.Int("id", std::get<LeaseRevokeRequest>(request).id); return;
    case OpType::kLeaseKeepAlive: w.Int("id", std::get<LeaseKeepAliveRequest>(request).id); return;
    case OpType::kLeaseTimeToLive: {
      const auto& t = std::get<LeaseTimeToLiveRequest>(request);
      w.Int("id", t.id);
      w.Bool("keys", t.keys);
      return;
    }
    case OpType::kWatch: {
      const auto& r = std::get<WatchRequest>(request);
      w.Bytes("key", r.key);
      w.Bytes("range_end", r.range_end);
      w.Int("start_revision", r.start_revision);
      w.Bool("prev_kv", r.prev_kv);
      w.Bool("progress_notify", r.progress_notify);
      w.Bool("fragment", r.fragment);
      w.Int("watch_id", r.watch_id);
      if (r.filter_noput || r.filter_nodelete) {
        std::string* f = w.Field("filters");
        f->append(r.filter_noput && r.filter_nodelete ? "[\"noput\",\"nodelete\"]"
                  : r.filter_noput                    ? "[\"noput\"]"
                                                      : "[\"nodelete\"]");
      }
      return;
    }
  }
  KEEL_UNREACHABLE();
}

void WriteResult(ObjectWriter& w, const Response& response) {
  switch (static_cast<OpType>(response.index())) {
    case OpType::kPut: WritePutResponse(w, std::get<PutResponse>(response)); return;
    case OpType::kRange: WriteRangeResponse(w, std::get<RangeResponse>(response)); return;
    case OpType::kDelete: WriteDeleteResponse(w, std::get<DeleteResponse>(response)); return;
    case OpType::kTxn: {
      const auto& t = std::get<TxnResponse>(response);
      w.Bool("succeeded", t.succeeded);
      WriteTxnOps(w, "responses", t.responses, WriteTxnResponseOp);
      return;
    }
    case OpType::kCompact:
    case OpType::kLeaseRevoke: return;
    case OpType::kLeaseGrant: {
      const auto& g = std::get<LeaseGrantResponse>(response);
      w.Int("id", g.id);
      w.Int("ttl", g.ttl);
      return;
    }
    case OpType::kLeaseKeepAlive: w.Int("ttl", std::get<LeaseKeepAliveResponse>(response).ttl); return;
    case OpType::kLeaseTimeToLive: {
      const auto& t = std::get<LeaseTimeToLiveResponse>(response);
      w.Int("ttl", t.ttl);
      w.Int("granted_ttl", t.granted_ttl);
      if (t.keys.empty()) return;
      std::string* out = w.Field("keys");
      out->push_back('[');
      for (size_t i = 0; i < t.keys.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(out, Base64Encode(t.keys[i]));
      }
      out->push_back(']');
      return;
    }
    case OpType::kWatch: {
      const auto& r = std::get<WatchResult>(response);
      std::string* out = w.Field("responses");
      out->push_back('[');
      for (size_t i = 0; i < r.responses.size(); ++i) {
        if (i > 0) out->push_back(',');
        WriteWatchResponse(out, r.responses[i]);
      }
      out->push_back(']');
      return;
    }
  }
  KEEL_UNREACHABLE();
}

}  // namespace

std::string FormatOperation(const Operation& op) {
  std::string out;
  {
    ObjectWriter w(&out);
    w.IntAlways("id", op.id);
    w.IntAlways("client", op.client);
    w.String("op", OpTypeName(op.type()));
    w.IntAlways("invoke", op.invoke_ns);
    if (op.complete_ns != kNever) w.IntAlways("complete", op.complete_ns);
    w.Bool("final", op.final_read);
    {
      ObjectWriter input(w.Field("input"));
      WriteInput(input, op.request);
    }
    ObjectWriter output(w.Field("output"));
    switch (op.outcome) {
      case Outcome::kOk:
        output.String("status", "ok");
        output.IntAlways("revision", op.revision);
        WriteResult(output, op.response);
        break;
      case Outcome::kError:
        output.String("status", "error");
        output.String("error", op.error);
        break;
      case Outcome::kUnknown:
        output.String("status", "unknown");
        output.String("error", op.error);
        break;
    }
  }
  return out;
}

std::string FormatHistory(const History& history) {
  std::string out;
  if (history.initial_revision != kFirstRevision || !history.initial_kvs.empty()) {
    ObjectWriter w(&out);
    w.String("op", "initial");
    w.IntAlways("revision", history.initial_revision);
    WriteKvList(w, "kvs", history.initial_kvs);
  }
  if (!out.empty()) out.push_back('\n');
  for (const Operation& op : history.ops) {
    out.append(FormatOperation(op));
    out.push_back('\n');
  }
  return out;
}

absl::Status WriteHistoryFile(const std::string& path, const History& history) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return absl::InternalError(StrCat("cannot create ", path));
  std::string text = FormatHistory(history);
  file.write(text.data(), static_cast<std::streamsize>(text.size()));
  file.close();
  if (!file) return absl::InternalError(StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace keel::check
