// The durability checker; see durability_checker.h.
#include "check/durability_checker.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "check/kv_eval.h"
#include "check/observations.h"

namespace keel::check {
namespace {

struct KeyWrite {
  int64_t revision;
  bool put;
  int64_t lease;
  OpId id;
};
struct KeyWrites {
  std::vector<KeyWrite> puts;     // sorted by revision
  std::vector<KeyWrite> deletes;  // single-key deletes, sorted by revision
};

class DurabilityCheck {
 public:
  DurabilityCheck(const History& history, size_t max_violations)
      : h_(history), max_(max_violations) {}

  DurabilityResult Run() {
    GatherWrites();
    std::vector<KeyObservation> obs = CollectObservations(h_);
    AddFinalAbsences(&obs);
    for (const KeyObservation& o : obs) Check(o);
    CheckFinalRevision();
    return std::move(result_);
  }

 private:
  void Report(std::string property, std::vector<OpId> ops, std::string text) {
    if (result_.violations.size() >= max_) return;
    result_.violations.push_back(
        Violation{"durability", std::move(property), std::move(ops), std::move(text), ""});
  }

  void GatherWrites() {
    for (const Operation& op : h_.ops) {
      if (op.outcome == Outcome::kUnknown &&
          (op.type() == OpType::kPut || op.type() == OpType::kDelete ||
           op.type() == OpType::kTxn)) {
        unknown_.push_back(&op);
      }
      if (op.outcome != Outcome::kOk || !AckedOpWrites(op)) continue;
      max_acked_ = std::max(max_acked_, op.revision);
      if (max_acked_ == op.revision) max_acked_op_ = op.id;
      auto note = [&](const TxnRequestOp& o) {
        if (const auto* p = std::get_if<PutRequest>(&o)) {
          writes_[p->key].puts.push_back(KeyWrite{op.revision, true, p->lease, op.id});
        } else if (const auto* d = std::get_if<DeleteRequest>(&o)) {
          if (d->range_end.empty()) {
            writes_[d->key].deletes.push_back(KeyWrite{op.revision, false, 0, op.id});
          } else {
            range_deletes_.push_back(&op);
          }
        }
      };
      if (op.type() == OpType::kPut) note(std::get<PutRequest>(op.request));
      if (op.type() == OpType::kDelete) note(std::get<DeleteRequest>(op.request));
      if (op.type() == OpType::kTxn) {
        const auto& t = std::get<TxnRequest>(op.request);
        for (const auto& o : std::get<TxnResponse>(op.response).succeeded ? t.success : t.failure) {
          note(o);
        }
      }
    }
    auto by_revision = [](const KeyWrite& a, const KeyWrite& b) {
      return a.revision < b.revision;
    };
    for (auto& [key, w] : writes_) {
      std::sort(w.puts.begin(), w.puts.end(), by_revision);
      std::sort(w.deletes.begin(), w.deletes.end(), by_revision);
    }
  }

  // A complete final range that does not list a key with acknowledged
  // writes observed that key absent.
  void AddFinalAbsences(std::vector<KeyObservation>* obs) {
    bool any_final = false;
    for (size_t i = 0; i < h_.ops.size(); ++i) {
      const Operation& op = h_.ops[i];
      if (!op.final_read || op.outcome != Outcome::kOk) continue;
      any_final = true;
      const auto& r = std::get<RangeRequest>(op.request);
      const auto& resp = std::get<RangeResponse>(op.response);
      if (r.count_only || resp.more || r.range_end.empty()) continue;
      absl::flat_hash_set<std::string> listed;
      for (const KeyValue& kv : resp.kvs) listed.insert(kv.key);
      for (const auto& [key, unused] : writes_) {
        if (!InRange(key, r.key, r.range_end) || listed.contains(key)) continue;
        KeyObservation o;
        o.op = static_cast<int32_t>(i);
        o.revision = ContentRevision(op);
        o.present = false;
        o.kv.key = key;
        obs->push_back(std::move(o));
      }
    }
    if (!any_final) {
      result_.notes.push_back(
          "no final read-out in the history: durability checked against later reads only");
    }
  }

  static int64_t ContentRevision(const Operation& op) {
    const auto& r = std::get<RangeRequest>(op.request);
    return r.revision > 0 ? r.revision : op.revision;
  }

  bool SomethingElseMayDelete(const std::string& key, const KeyWrite& put, int64_t upto) {
    if (put.lease != 0) return true;
    auto [cached, inserted] = unknown_touch_.emplace(key, false);
    if (inserted) {
      for (const Operation* op : unknown_) {
        if (RequestMayTouch(op->request, key)) {
          cached->second = true;
          break;
        }
      }
    }
    if (cached->second) return true;
    for (const Operation* op : range_deletes_) {
      if (op->revision > put.revision && op->revision <= upto &&
          RequestMayTouch(op->request, key)) {
        return true;
      }
    }
    return false;
  }

  // The first write in `list` (sorted) with after < revision <= upto.
  static const KeyWrite* FirstIn(const std::vector<KeyWrite>& list, int64_t after,
                                 int64_t upto) {
    auto it = std::upper_bound(list.begin(), list.end(), after,
                               [](int64_t r, const KeyWrite& w) { return r < w.revision; });
    return it != list.end() && it->revision <= upto ? &*it : nullptr;
  }

  void Check(const KeyObservation& o) {
    auto it = writes_.find(o.kv.key);
    if (it == writes_.end()) return;
    const Operation& reader = h_.ops[o.op];
    const KeyWrites& writes = it->second;
    if (o.present) {
      const KeyWrite* lost = FirstIn(writes.puts, o.kv.mod_revision, o.revision);
      if (lost == nullptr) lost = FirstIn(writes.deletes, o.kv.create_revision, o.revision);
      if (lost == nullptr || !reported_.insert(lost->id).second) return;
      Report("lost-write", {lost->id, reader.id},
             StrCat("op ", lost->id, " was acknowledged ", lost->put ? "writing " : "deleting ",
                    Printable(o.kv.key), " at revision ", lost->revision, ", but ",
                    DescribeOp(reader), " saw ", DescribeKv(o.kv), " at revision ",
                    o.revision));
      return;
    }
    // The last acknowledged write at or before the read must be a delete,
    // unless something else could have deleted the key.
    const KeyWrite* put = LastAtOrBefore(writes.puts, o.revision);
    const KeyWrite* del = LastAtOrBefore(writes.deletes, o.revision);
    if (put == nullptr || (del != nullptr && del->revision > put->revision)) return;
    if (SomethingElseMayDelete(o.kv.key, *put, o.revision) ||
        !reported_.insert(put->id).second) {
      return;
    }
    Report(reader.final_read ? "final-state" : "lost-write", {put->id, reader.id},
           StrCat("op ", put->id, " was acknowledged writing ", Printable(o.kv.key),
                  " at revision ", put->revision, ", but ", DescribeOp(reader),
                  " found the key absent at revision ", o.revision,
                  " and nothing could have deleted it"));
  }

  static const KeyWrite* LastAtOrBefore(const std::vector<KeyWrite>& list, int64_t revision) {
    auto it = std::upper_bound(list.begin(), list.end(), revision,
                               [](int64_t r, const KeyWrite& w) { return r < w.revision; });
    return it == list.begin() ? nullptr : &*(it - 1);
  }

  void CheckFinalRevision() {
    for (const Operation& op : h_.ops) {
      if (!op.final_read || op.outcome != Outcome::kOk || op.revision >= max_acked_) continue;
      Report("final-state", {max_acked_op_, op.id},
             StrCat("the final read-out ", DescribeOp(op), " is at revision ", op.revision,
                    ", older than acknowledged write op ", max_acked_op_, " at revision ",
                    max_acked_, ": acknowledged revisions were lost"));
      return;
    }
  }

  const History& h_;
  size_t max_;
  absl::flat_hash_map<std::string, KeyWrites> writes_;
  absl::flat_hash_map<std::string, bool> unknown_touch_;
  std::vector<const Operation*> range_deletes_;
  std::vector<const Operation*> unknown_;
  int64_t max_acked_ = 0;
  OpId max_acked_op_ = -1;
  absl::flat_hash_set<OpId> reported_;
  DurabilityResult result_;
};

}  // namespace

DurabilityResult CheckDurability(const History& history, size_t max_violations) {
  return DurabilityCheck(history, max_violations).Run();
}

}  // namespace keel::check
