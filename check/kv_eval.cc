// The etcd KV state machine; see kv_eval.h.
#include "check/kv_eval.h"

#include <utility>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::check {
namespace {

int CompareInts(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

bool CompareKv(const Compare& c, const KeyValue& kv) {
  int result = 0;
  switch (c.target) {
    case CompareTarget::kValue: result = kv.value.compare(c.value); break;
    case CompareTarget::kCreate: result = CompareInts(kv.create_revision, c.number); break;
    case CompareTarget::kMod: result = CompareInts(kv.mod_revision, c.number); break;
    case CompareTarget::kVersion: result = CompareInts(kv.version, c.number); break;
    case CompareTarget::kLease: result = CompareInts(kv.lease, c.number); break;
  }
  switch (c.result) {
    case CompareResult::kEqual: return result == 0;
    case CompareResult::kNotEqual: return result != 0;
    case CompareResult::kGreater: return result > 0;
    case CompareResult::kLess: return result < 0;
  }
  KEEL_UNREACHABLE();
}

// Runs one request as (part of) the write at state.next_revision().
class Evaluator {
 public:
  Evaluator(KvState& state, OpId writer)
      : state_(state), writer_(writer), revision_(state.next_revision()) {}

  RangeResponse Range(const RangeRequest& r) {
    RangeResponse out;
    state_.ForEachInRange(r.key, r.range_end, [&](const KeyState& s) {
      ++out.count;
      if (r.count_only) return;
      if (r.limit > 0 && static_cast<int64_t>(out.kvs.size()) >= r.limit) {
        out.more = true;
        return;
      }
      out.kvs.push_back(s.kv);
      if (r.keys_only) out.kvs.back().value.clear();
    });
    return out;
  }

  PutResponse Put(const PutRequest& p) {
    PutResponse out;
    const KeyState* old = state_.Find(p.key);
    if (old == nullptr && (p.ignore_value || p.ignore_lease)) {
      Fail("etcdserver: key not found");
      return out;
    }
    KeyValue kv;
    kv.key = p.key;
    kv.value = p.ignore_value ? old->kv.value : p.value;
    kv.lease = p.ignore_lease ? old->kv.lease : p.lease;
    kv.mod_revision = revision_;
    kv.create_revision = old ? old->kv.create_revision : revision_;
    kv.version = old ? old->kv.version + 1 : 1;
    Event ev{Event::Type::kPut, kv, std::nullopt};
    if (old != nullptr) {
      ev.prev_kv = old->kv;
      if (p.prev_kv) out.prev_kv = old->kv;
    }
    state_.Set(p.key, KeyState{std::move(kv), writer_});
    events_.push_back(std::move(ev));
    return out;
  }

  DeleteResponse Delete(const DeleteRequest& d) {
    DeleteResponse out;
    std::vector<KeyValue> doomed;
    state_.ForEachInRange(d.key, d.range_end,
                          [&](const KeyState& s) { doomed.push_back(s.kv); });
    for (KeyValue& old : doomed) {
      Event ev{Event::Type::kDelete, KeyValue{}, old};
      ev.kv.key = old.key;
      ev.kv.mod_revision = revision_;
      state_.Set(old.key, std::nullopt);
      events_.push_back(std::move(ev));
      ++out.deleted;
      if (d.prev_kv) out.prev_kvs.push_back(std::move(old));
    }
    return out;
  }

  bool Holds(const Compare& c) {
    bool any = false;
    bool all = true;
    state_.ForEachInRange(c.key, c.range_end, [&](const KeyState& s) {
      any = true;
      all = all && CompareKv(c, s.kv);
    });
    if (any) return all;
    if (c.target == CompareTarget::kValue) return false;
    return CompareKv(c, KeyValue{});
  }

  TxnResponse Txn(const TxnRequest& t) {
    TxnResponse out;
    out.succeeded = true;
    for (const Compare& c : t.compare) out.succeeded = out.succeeded && Holds(c);
    const auto& ops = out.succeeded ? t.success : t.failure;
    for (const TxnRequestOp& op : ops) {
      TxnResponseOp& slot = out.responses.emplace_back();
      if (const auto* p = std::get_if<PutRequest>(&op)) {
        slot = Put(*p);
      } else if (const auto* r = std::get_if<RangeRequest>(&op)) {
        slot = Range(*r);
      } else {
        slot = Delete(std::get<DeleteRequest>(op));
      }
    }
    return out;
  }

  void Fail(std::string_view why) {
    if (error_.empty()) error_ = std::string(why);
  }
  std::vector<Event>& events() { return events_; }
  const std::string& error() const { return error_; }

 private:
  KvState& state_;
  OpId writer_;
  int64_t revision_;
  std::vector<Event> events_;
  std::string error_;
};

std::string DescribeKvs(const std::vector<KeyValue>& kvs) {
  constexpr size_t kMaxShown = 6;
  std::string out = "[";
  for (size_t i = 0; i < kvs.size() && i < kMaxShown; ++i) {
    if (i > 0) out.append(", ");
    out.append(DescribeKv(kvs[i]));
  }
  if (kvs.size() > kMaxShown) StrAppend(&out, ", ... (", kvs.size(), " kvs)");
  out.append("]");
  return out;
}

std::string DescribeOptionalKv(const std::optional<KeyValue>& kv) {
  return kv ? DescribeKv(*kv) : std::string("none");
}

std::optional<std::string> DiffKvLists(std::string_view what,
                                       const std::vector<KeyValue>& model,
                                       const std::vector<KeyValue>& observed) {
  if (model == observed) return std::nullopt;
  if (model.size() + observed.size() <= 4) {
    return StrCat(what, ": observed ", DescribeKvs(observed), ", model ",
                  DescribeKvs(model));
  }
  // Long lists: name the first difference, by key order.
  size_t i = 0, j = 0;
  while (i < observed.size() && j < model.size() && observed[i] == model[j]) ++i, ++j;
  std::string first;
  if (i < observed.size() && (j >= model.size() || observed[i].key < model[j].key)) {
    first = StrCat("observed ", DescribeKv(observed[i]), " which the model does not have");
  } else if (j < model.size() && (i >= observed.size() || model[j].key < observed[i].key)) {
    first = StrCat("the model has ", DescribeKv(model[j]), " which was not observed");
  } else {
    first = StrCat("observed ", DescribeKv(observed[i]), ", model ", DescribeKv(model[j]));
  }
  return StrCat(what, " (", observed.size(), " observed, ", model.size(),
                " in the model) first differ: ", first);
}

std::optional<std::string> DiffRange(const RangeResponse& m, const RangeResponse& o) {
  if (auto d = DiffKvLists("kvs", m.kvs, o.kvs)) return d;
  if (m.count != o.count) return StrCat("count: observed ", o.count, ", model ", m.count);
  if (m.more != o.more) return StrCat("more: observed ", o.more, ", model ", m.more);
  return std::nullopt;
}

std::optional<std::string> DiffPut(const PutResponse& m, const PutResponse& o) {
  if (m.prev_kv == o.prev_kv) return std::nullopt;
  return StrCat("prev_kv: observed ", DescribeOptionalKv(o.prev_kv), ", model ",
                DescribeOptionalKv(m.prev_kv));
}

std::optional<std::string> DiffDelete(const DeleteResponse& m, const DeleteResponse& o) {
  if (m.deleted != o.deleted) {
    return StrCat("deleted: observed ", o.deleted, ", model ", m.deleted);
  }
  return DiffKvLists("prev_kvs", m.prev_kvs, o.prev_kvs);
}

std::optional<std::string> DiffTxn(const TxnRequest& request, const TxnResponse& m,
                                   const TxnResponse& o) {
  if (m.succeeded != o.succeeded) {
    return StrCat("succeeded: observed ", o.succeeded, ", model ", m.succeeded);
  }
  const auto& ops = m.succeeded ? request.success : request.failure;
  KEEL_ASSERT(m.responses.size() == ops.size());
  if (o.responses.size() != ops.size()) return std::string("number of txn responses");
  for (size_t i = 0; i < ops.size(); ++i) {
    std::optional<std::string> d;
    if (const auto* r = std::get_if<RangeRequest>(&ops[i])) {
      if (r->revision != 0) continue;  // reads an older revision: not modelled
      d = DiffRange(std::get<RangeResponse>(m.responses[i]),
                    std::get<RangeResponse>(o.responses[i]));
    } else if (std::holds_alternative<PutRequest>(ops[i])) {
      d = DiffPut(std::get<PutResponse>(m.responses[i]),
                  std::get<PutResponse>(o.responses[i]));
    } else {
      d = DiffDelete(std::get<DeleteResponse>(m.responses[i]),
                     std::get<DeleteResponse>(o.responses[i]));
    }
    if (d) return StrCat("txn response ", i, ": ", *d);
  }
  return std::nullopt;
}

void AddRange(KeyRanges* ranges,
              std::string_view key, std::string_view end) {
  for (const auto& r : *ranges) {
    if (r.first == key && r.second == end) return;
  }
  ranges->emplace_back(std::string(key), std::string(end));
}

}  // namespace

KeyRanges RequestRanges(const Request& request) {
  KeyRanges ranges;
  auto add_op = [&](const TxnRequestOp& op) {
    if (const auto* p = std::get_if<PutRequest>(&op)) {
      AddRange(&ranges, p->key, "");
    } else if (const auto* r = std::get_if<RangeRequest>(&op)) {
      AddRange(&ranges, r->key, r->range_end);
    } else {
      const auto& d = std::get<DeleteRequest>(op);
      AddRange(&ranges, d.key, d.range_end);
    }
  };
  switch (static_cast<OpType>(request.index())) {
    case OpType::kPut: add_op(std::get<PutRequest>(request)); break;
    case OpType::kRange: add_op(std::get<RangeRequest>(request)); break;
    case OpType::kDelete: add_op(std::get<DeleteRequest>(request)); break;
    case OpType::kTxn: {
      const auto& t = std::get<TxnRequest>(request);
      for (const Compare& c : t.compare) AddRange(&ranges, c.key, c.range_end);
      for (const auto& op : t.success) add_op(op);
      for (const auto& op : t.failure) add_op(op);
      break;
    }
    default: break;
  }
  return ranges;
}

bool RangesTouch(const KeyRanges& ranges, std::string_view key) {
  for (const auto& [begin, end] : ranges) {
    if (InRange(key, begin, end)) return true;
  }
  return false;
}

EvalResult Evaluate(const Request& request, KvState& state, OpId writer) {
  size_t mark = state.Mark();
  Evaluator eval(state, writer);
  EvalResult result;
  switch (static_cast<OpType>(request.index())) {
    case OpType::kPut: result.response = eval.Put(std::get<PutRequest>(request)); break;
    case OpType::kRange: result.response = eval.Range(std::get<RangeRequest>(request)); break;
    case OpType::kDelete: result.response = eval.Delete(std::get<DeleteRequest>(request)); break;
    case OpType::kTxn: result.response = eval.Txn(std::get<TxnRequest>(request)); break;
    default: KEEL_UNREACHABLE();
  }
  if (!eval.error().empty()) {
    // etcd validates a request before applying any of it: nothing changes.
    state.Rollback(mark);
    result.error = eval.error();
    result.response = EmptyResponse(static_cast<OpType>(request.index()));
    return result;
  }
  result.events = std::move(eval.events());
  if (!result.events.empty()) state.CommitRevision();
  return result;
}

std::vector<Event> RevokeLease(int64_t lease, KvState& state) {
  KEEL_ASSERT(lease != 0);
  std::vector<Event> events;
  int64_t revision = state.next_revision();
  for (const std::string& key : state.KeysOfLease(lease)) {
    const KeyState* old = state.Find(key);
    KEEL_ASSERT(old != nullptr);
    Event ev{Event::Type::kDelete, KeyValue{}, old->kv};
    ev.kv.key = key;
    ev.kv.mod_revision = revision;
    state.Set(key, std::nullopt);
    events.push_back(std::move(ev));
  }
  if (!events.empty()) state.CommitRevision();
  state.MarkLeaseDead(lease);
  return events;
}

std::optional<std::string> DiffResponse(const Request& request, const Response& model,
                                        const Response& observed) {
  KEEL_ASSERT(model.index() == request.index());
  KEEL_ASSERT(observed.index() == request.index());
  switch (static_cast<OpType>(request.index())) {
    case OpType::kPut:
      return DiffPut(std::get<PutResponse>(model), std::get<PutResponse>(observed));
    case OpType::kRange:
      return DiffRange(std::get<RangeResponse>(model), std::get<RangeResponse>(observed));
    case OpType::kDelete:
      return DiffDelete(std::get<DeleteResponse>(model), std::get<DeleteResponse>(observed));
    case OpType::kTxn:
      return DiffTxn(std::get<TxnRequest>(request), std::get<TxnResponse>(model),
                     std::get<TxnResponse>(observed));
    default: KEEL_UNREACHABLE();
  }
}

std::string DescribeModelState(const Request& request, const KvState& state) {
  constexpr int kMaxKeys = 8;
  std::string out;
  for (const auto& [key, end] : RequestRanges(request)) {
    int shown = 0;
    state.ForEachInRange(key, end, [&](const KeyState& s) {
      if (++shown > kMaxKeys) return;
      if (!out.empty()) out.append("; ");
      out.append(DescribeKv(s.kv));
      if (s.writer >= 0) {
        StrAppend(&out, " written by op ", s.writer);
      } else if (s.writer == kInitialWriter) {
        out.append(" from the initial store");
      }
    });
    if (shown == 0) {
      if (!out.empty()) out.append("; ");
      StrAppend(&out, Printable(key), end.empty() ? " absent" : "... no keys in range");
    }
  }
  return StrCat("at revision ", state.revision(), ": ", out);
}

bool RequestMayTouch(const Request& request, std::string_view key) {
  return RangesTouch(RequestRanges(request), key);
}

}  // namespace keel::check
