// Observation extraction; see observations.h.
#include "check/observations.h"

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::check {

namespace {

class Collector {
 public:
  explicit Collector(std::vector<KeyObservation>* out) : out_(out) {}

  void Present(int32_t op, int64_t revision, const KeyValue& kv, bool value_known) {
    out_->push_back(KeyObservation{op, revision, true, value_known, kv});
  }
  void Absent(int32_t op, int64_t revision, const std::string& key) {
    KeyObservation o{op, revision, false, true, KeyValue{}};
    o.kv.key = key;
    out_->push_back(std::move(o));
  }

  void Range(int32_t op, int64_t revision, const RangeRequest& r,
             const RangeResponse& resp) {
    if (r.count_only) return;
    for (const KeyValue& kv : resp.kvs) Present(op, revision, kv, !r.keys_only);
    if (r.range_end.empty() && resp.kvs.empty()) Absent(op, revision, r.key);
  }

  void Put(int32_t op, int64_t revision, const PutRequest& p, const PutResponse& resp) {
    if (!p.prev_kv) return;
    if (resp.prev_kv) {
      Present(op, revision, *resp.prev_kv, true);
    } else {
      Absent(op, revision, p.key);
    }
  }

  void Delete(int32_t op, int64_t revision, const DeleteRequest& d,
              const DeleteResponse& resp) {
    if (!d.prev_kv) return;
    for (const KeyValue& kv : resp.prev_kvs) Present(op, revision, kv, true);
  }

  // Only the part of a txn that ran before its first write sees a committed
  // revision (later ops see the txn's own pending changes).
  void Txn(int32_t op, int64_t revision, const TxnRequest& t, const TxnResponse& resp) {
    const auto& ops = resp.succeeded ? t.success : t.failure;
    KEEL_ASSERT(ops.size() == resp.responses.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      if (const auto* r = std::get_if<RangeRequest>(&ops[i])) {
        if (r->revision == 0) {
          Range(op, revision, *r, std::get<RangeResponse>(resp.responses[i]));
        }
        continue;
      }
      if (const auto* p = std::get_if<PutRequest>(&ops[i])) {
        Put(op, revision, *p, std::get<PutResponse>(resp.responses[i]));
      } else {
        Delete(op, revision, std::get<DeleteRequest>(ops[i]),
               std::get<DeleteResponse>(resp.responses[i]));
      }
      return;  // the first write: stop
    }
  }

 private:
  std::vector<KeyObservation>* out_;
};

}  // namespace

bool AckedOpWrites(const Operation& op) {
  KEEL_ASSERT(op.outcome == Outcome::kOk);
  switch (op.type()) {
    case OpType::kPut: return true;
    case OpType::kDelete: return std::get<DeleteResponse>(op.response).deleted > 0;
    case OpType::kTxn: {
      for (const TxnResponseOp& r : std::get<TxnResponse>(op.response).responses) {
        if (std::holds_alternative<PutResponse>(r)) return true;
        if (const auto* d = std::get_if<DeleteResponse>(&r); d && d->deleted > 0) {
          return true;
        }
      }
      return false;
    }
    default: return false;
  }
}

std::vector<KeyObservation> CollectObservations(const History& history) {
  std::vector<KeyObservation> out;
  Collector c(&out);
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.outcome != Outcome::kOk) continue;
    int32_t index = static_cast<int32_t>(i);
    // A write's prev values are the store just before its own revision.
    int64_t before = AckedOpWrites(op) ? op.revision - 1 : op.revision;
    switch (op.type()) {
      case OpType::kRange: {
        const auto& r = std::get<RangeRequest>(op.request);
        int64_t revision = r.revision > 0 ? r.revision : op.revision;
        c.Range(index, revision, r, std::get<RangeResponse>(op.response));
        break;
      }
      case OpType::kPut:
        c.Put(index, before, std::get<PutRequest>(op.request),
              std::get<PutResponse>(op.response));
        break;
      case OpType::kDelete:
        c.Delete(index, before, std::get<DeleteRequest>(op.request),
                 std::get<DeleteResponse>(op.response));
        break;
      case OpType::kTxn:
        c.Txn(index, before, std::get<TxnRequest>(op.request),
              std::get<TxnResponse>(op.response));
        break;
      default: break;
    }
  }
  return out;
}

}  // namespace keel::check
