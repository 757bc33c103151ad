// BuildLinPlan: slots, checks, unknown writes, evidence and per-key facts;
// see lin_plan.h. The real-time, serializable and compaction rules live in
// lin_static.cc.
#include "check/lin_plan.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "check/kv_eval.h"

namespace keel::check {

void RevisionIntervals::Add(int64_t after, int64_t upto, int32_t source) {
  if (upto > after) intervals_.push_back(Interval{after, upto, source});
}

void RevisionIntervals::Seal() {
  std::sort(intervals_.begin(), intervals_.end(),
            [](const Interval& a, const Interval& b) { return a.after < b.after; });
  longest_.clear();
  for (size_t i = 0; i < intervals_.size(); ++i) {
    if (i == 0 || intervals_[i].upto > intervals_[longest_[i - 1]].upto) {
      longest_.push_back(i);
    } else {
      longest_.push_back(longest_[i - 1]);
    }
  }
}

int32_t RevisionIntervals::Find(int64_t revision) const {
  KEEL_ASSERT(longest_.size() == intervals_.size());
  // Intervals starting (exclusively) below the revision; does any reach it?
  auto it = std::lower_bound(intervals_.begin(), intervals_.end(), revision,
                             [](const Interval& iv, int64_t r) { return iv.after < r; });
  if (it == intervals_.begin()) return -1;
  const Interval& best = intervals_[longest_[(it - intervals_.begin()) - 1]];
  return best.upto >= revision ? best.source : -1;
}

namespace {

Violation LinViolation(std::string property, std::vector<OpId> ops,
                       std::string explanation, std::string expected = "") {
  return Violation{"linearizability", std::move(property), std::move(ops),
                   std::move(explanation), std::move(expected)};
}

// Whether an op of unknown outcome could create a revision.
bool MayWrite(const Operation& op) {
  switch (op.type()) {
    case OpType::kPut:
    case OpType::kDelete:
    case OpType::kLeaseRevoke: return true;
    case OpType::kTxn: {
      const auto& t = std::get<TxnRequest>(op.request);
      auto writes = [](const TxnRequestOp& o) { return !std::holds_alternative<RangeRequest>(o); };
      return std::any_of(t.success.begin(), t.success.end(), writes) ||
             std::any_of(t.failure.begin(), t.failure.end(), writes);
    }
    default: return false;
  }
}

std::string FirstWrittenKey(const Operation& op) {
  auto key_of = [](const TxnRequestOp& o) -> std::string {
    if (const auto* p = std::get_if<PutRequest>(&o)) return p->key;
    if (const auto* d = std::get_if<DeleteRequest>(&o)) return d->key;
    return "";
  };
  switch (op.type()) {
    case OpType::kPut: return std::get<PutRequest>(op.request).key;
    case OpType::kDelete: return std::get<DeleteRequest>(op.request).key;
    case OpType::kTxn: {
      const auto& t = std::get<TxnRequest>(op.request);
      for (const auto& o : t.success) {
        if (std::string k = key_of(o); !k.empty()) return k;
      }
      for (const auto& o : t.failure) {
        if (std::string k = key_of(o); !k.empty()) return k;
      }
      return "";
    }
    default: return "";
  }
}

// Records the keys an acknowledged writer at `revision` put or deleted,
// from its request and taken branch.
// A single-key delete says whether its key was there: deleted 1 means
// present just before its revision, deleted 0 absent at its header.
void NoteDeleteSight(const Operation& op, LinPlan* plan) {
  const auto& d = std::get<DeleteRequest>(op.request);
  if (!d.range_end.empty() || d.prev_kv) return;  // prev_kv: already observed
  if (std::get<DeleteResponse>(op.response).deleted > 0) {
    plan->keys[d.key].seen.push_back(KeyFacts::Seen{op.revision - 1, KeyFacts::kPresent, 0, 0});
  } else {
    plan->keys[d.key].seen.push_back(KeyFacts::Seen{op.revision, 0, 0, 0});
  }
}

// A txn's compares say something about their keys before it ran: a
// compare that held on value == v means the key held v; one on
// create/version/mod == 0 that held means absent, that failed (the only
// compare of a failed txn) means present.
void NoteCompareSights(const Operation& op, LinPlan* plan) {
  const auto& t = std::get<TxnRequest>(op.request);
  bool succeeded = std::get<TxnResponse>(op.response).succeeded;
  int64_t at = AckedOpWrites(op) ? op.revision - 1 : op.revision;
  for (const Compare& c : t.compare) {
    if (!c.range_end.empty() || c.result != CompareResult::kEqual) continue;
    if (!succeeded && t.compare.size() != 1) continue;
    KeyFacts& facts = plan->keys[c.key];
    bool zero = c.target != CompareTarget::kValue && c.target != CompareTarget::kLease &&
                c.number == 0;
    if (succeeded && c.target == CompareTarget::kValue) {
      facts.seen.push_back(KeyFacts::Seen{at, KeyFacts::kPresent, 0, 0, c.value});
    } else if (zero) {
      facts.seen.push_back(succeeded ? KeyFacts::Seen{at, 0, 0, 0}
                                     : KeyFacts::Seen{at, KeyFacts::kPresent, 0, 0});
    }
  }
}

void NoteDeleteAndCompareSights(const History& history, LinPlan* plan) {
  for (const Operation& op : history.ops) {
    if (op.outcome != Outcome::kOk) continue;
    if (op.type() == OpType::kDelete) NoteDeleteSight(op, plan);
    if (op.type() == OpType::kTxn) NoteCompareSights(op, plan);
  }
}

void NoteAckedWrites(const Operation& op, int64_t revision, LinPlan* plan) {
  auto note = [&](const TxnRequestOp& o) {
    if (const auto* p = std::get_if<PutRequest>(&o)) {
      plan->keys[p->key].acked_puts.push_back(revision);
    } else if (const auto* d = std::get_if<DeleteRequest>(&o)) {
      if (d->range_end.empty()) {
        plan->keys[d->key].acked_deletes.push_back(revision);
      } else {
        plan->range_deletes.push_back(RangeDelete{revision, d->key, d->range_end});
      }
    }
  };
  if (op.type() == OpType::kPut) note(std::get<PutRequest>(op.request));
  if (op.type() == OpType::kDelete) note(std::get<DeleteRequest>(op.request));
  if (op.type() != OpType::kTxn) return;
  const auto& t = std::get<TxnRequest>(op.request);
  for (const auto& o : std::get<TxnResponse>(op.response).succeeded ? t.success : t.failure) {
    note(o);
  }
}

// Range reads as sights of absence; see RangeSight.
void AddRangeSights(const History& history, LinPlan* plan) {
  for (const Operation& op : history.ops) {
    if (op.outcome != Outcome::kOk || op.type() != OpType::kRange) continue;
    const auto& r = std::get<RangeRequest>(op.request);
    const auto& resp = std::get<RangeResponse>(op.response);
    if (r.count_only || r.range_end.empty()) continue;
    RangeSight sight{ContentRevision(op), r.key, r.range_end, {}};
    if (resp.more) {
      if (resp.kvs.empty()) continue;
      sight.end = resp.kvs.back().key + std::string(1, '\0');  // just past the last key
    }
    for (const KeyValue& kv : resp.kvs) sight.listed.push_back(kv.key);
    std::sort(sight.listed.begin(), sight.listed.end());
    plan->sights.push_back(std::move(sight));
  }
  std::stable_sort(plan->sights.begin(), plan->sights.end(),
                   [](const RangeSight& a, const RangeSight& b) { return a.revision < b.revision; });
}

int64_t HighestRevision(const History& history, const std::vector<KeyObservation>& obs,
                        bool with_watches) {
  int64_t highest = history.initial_revision;
  for (const Operation& op : history.ops) {
    if (op.outcome != Outcome::kOk) continue;
    if (op.type() != OpType::kWatch) {
      highest = std::max(highest, op.revision);
      continue;
    }
    if (!with_watches) continue;
    for (const WatchResponse& r : std::get<WatchResult>(op.response).responses) {
      highest = std::max(highest, r.revision);
      for (const Event& e : r.events) highest = std::max(highest, e.kv.mod_revision);
    }
  }
  for (const KeyObservation& o : obs) {
    if (o.present) highest = std::max(highest, o.kv.mod_revision);
  }
  return highest;
}

// Claims a slot for every acknowledged writer; reports clashes.
absl::flat_hash_map<int64_t, int32_t> ClaimSlots(const History& history, LinPlan* plan,
                                                 const LinOptions& options) {
  absl::flat_hash_map<int64_t, int32_t> claimed;
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.outcome != Outcome::kOk || !AckedOpWrites(op)) continue;
    if (op.revision <= history.initial_revision) {
      if (plan->violations.size() < options.max_violations) {
        plan->violations.push_back(LinViolation(
            "revision", {op.id},
            StrCat(DescribeOp(op), " reports creating revision ", op.revision,
                   ", which is not after the history's initial revision ",
                   history.initial_revision)));
      }
      continue;
    }
    auto [it, inserted] = claimed.emplace(op.revision, static_cast<int32_t>(i));
    if (!inserted && plan->violations.size() < options.max_violations) {
      const Operation& other = history.ops[it->second];
      plan->violations.push_back(LinViolation(
          "duplicate-revision", {other.id, op.id},
          StrCat(DescribeOp(other), " and ", DescribeOp(op),
                 " both report creating revision ", op.revision,
                 "; etcd gives each write its own revision")));
    }
  }
  return claimed;
}

// How many gaps could possibly be filled: unknown writes, acked revokes and
// one expiry per lease.
int64_t CountFillers(const History& history) {
  int64_t fillers = 0;
  absl::flat_hash_set<int64_t> leases;
  for (const KeyValue& kv : history.initial_kvs) {
    if (kv.lease != 0) leases.insert(kv.lease);
  }
  for (const Operation& op : history.ops) {
    if (op.outcome == Outcome::kUnknown && MayWrite(op)) ++fillers;
    if (op.outcome == Outcome::kOk && op.type() == OpType::kLeaseRevoke) ++fillers;
    if (op.type() == OpType::kPut && op.outcome != Outcome::kError) {
      if (int64_t lease = std::get<PutRequest>(op.request).lease; lease != 0) {
        leases.insert(lease);
      }
    }
    if (op.type() == OpType::kTxn && op.outcome != Outcome::kError) {
      const auto& t = std::get<TxnRequest>(op.request);
      for (const auto* branch : {&t.success, &t.failure}) {
        for (const auto& o : *branch) {
          if (const auto* p = std::get_if<PutRequest>(&o); p && p->lease != 0) {
            leases.insert(p->lease);
          }
        }
      }
    }
  }
  return fillers + static_cast<int64_t>(leases.size());
}

void AddChecks(const History& history, LinPlan* plan, const LinOptions& options) {
  int64_t init = plan->initial_revision;
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.outcome != Outcome::kOk) continue;
    int32_t index = static_cast<int32_t>(i);
    switch (op.type()) {
      case OpType::kRange: {
        int64_t r = ContentRevision(op);
        if (r > op.revision) {
          if (plan->violations.size() < options.max_violations) {
            plan->violations.push_back(LinViolation(
                "future-revision", {op.id},
                StrCat(DescribeOp(op), " read revision ", r,
                       " but its header revision is only ", op.revision,
                       "; etcd answers such a read with \"required revision is a future revision\"")));
          }
          break;
        }
        if (r >= init) plan->checks[r - init].push_back({SlotCheckKind::kRead, index});
        break;
      }
      case OpType::kDelete:
      case OpType::kTxn:
        if (!AckedOpWrites(op) && op.revision >= init) {
          plan->checks[op.revision - init].push_back({SlotCheckKind::kNoWrite, index});
        }
        break;
      case OpType::kLeaseRevoke:
        if (op.revision > init) plan->revokes[plan->Slot(op.revision)].push_back(index);
        if (op.revision >= init) {
          plan->checks[op.revision - init].push_back({SlotCheckKind::kLeaseEmptied, index});
        }
        break;
      default: break;
    }
  }
}

void AddUnknowns(const History& history, LinPlan* plan) {
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.outcome != Outcome::kUnknown || !MayWrite(op)) continue;
    UnknownWrite u;
    u.op = static_cast<int32_t>(i);
    u.lo = plan->initial_revision + 1;
    u.tag = StateHash{absl::HashOf(uint64_t{0x5bd1e995}, i),
                      absl::HashOf(uint64_t{0x1b873593}, i)};
    u.first_key = FirstWrittenKey(op);
    u.footprint = RequestRanges(op.request);
    u.single_put = op.type() == OpType::kPut;
    plan->unknowns.push_back(std::move(u));
  }
}

void AddEvidenceAndFacts(const History& history, const std::vector<KeyObservation>& obs,
                         LinPlan* plan) {
  int64_t init = plan->initial_revision;
  auto is_gap = [&](int64_t r) { return r > init && r <= plan->last_revision && plan->IsGap(r); };
  for (int64_t r = init + 1; r <= plan->last_revision; ++r) {
    int32_t w = plan->writer[plan->Slot(r)];
    if (w >= 0) NoteAckedWrites(history.ops[w], r, plan);  // ascending revisions
  }
  for (const KeyObservation& o : obs) {
    if (!o.present) {
      plan->keys[o.kv.key].seen.push_back(KeyFacts::Seen{o.revision, 0, 0, 0});
      continue;
    }
    const KeyValue& kv = o.kv;
    if (is_gap(kv.mod_revision)) {
      auto& puts = plan->evidence[kv.mod_revision].puts;
      bool seen = std::any_of(puts.begin(), puts.end(), [&](const KeyObservation& p) {
        return p.kv == kv && p.value_known == o.value_known;
      });
      if (!seen) {
        puts.push_back(o);
        plan->keys[kv.key].pinned_puts.push_back(kv.mod_revision);
      }
    }
    if (kv.create_revision != kv.mod_revision && is_gap(kv.create_revision)) {
      auto& creates = plan->evidence[kv.create_revision].creates;
      bool seen = std::any_of(creates.begin(), creates.end(),
                              [&](const KeyObservation& c) { return c.kv.key == kv.key; });
      if (!seen) creates.push_back(o);
    }
    if (kv.mod_revision > o.revision || kv.create_revision > kv.mod_revision) continue;
    KeyFacts& facts = plan->keys[kv.key];
    facts.seen.push_back(
        KeyFacts::Seen{o.revision, kv.create_revision, kv.mod_revision, kv.version});
    facts.no_write.Add(kv.mod_revision, o.revision, o.op);
    facts.no_delete.Add(kv.create_revision, o.revision, o.op);
    if (kv.create_revision > init) {
      // version = puts in [create, mod]; if acknowledged puts account for
      // all of them, no unknown write touched the key in between.
      const auto& acked = facts.acked_puts;
      auto n = std::upper_bound(acked.begin(), acked.end(), kv.mod_revision) -
               std::lower_bound(acked.begin(), acked.end(), kv.create_revision);
      if (n >= kv.version) {
        facts.no_write.Add(kv.create_revision - 1, kv.mod_revision, o.op);
      } else {
        plan->demands.push_back(
            VersionDemand{kv.key, kv.create_revision, kv.mod_revision, kv.version, o.op});
      }
    }
  }
  NoteDeleteAndCompareSights(history, plan);
  std::sort(plan->demands.begin(), plan->demands.end(),
            [](const VersionDemand& a, const VersionDemand& b) {
              return std::tie(a.create, a.mod, a.key) < std::tie(b.create, b.mod, b.key);
            });
  plan->demands.erase(std::unique(plan->demands.begin(), plan->demands.end(),
                                  [](const VersionDemand& a, const VersionDemand& b) {
                                    return a.key == b.key && a.create == b.create &&
                                           a.mod == b.mod;
                                  }),
                      plan->demands.end());
  for (auto& [key, facts] : plan->keys) {
    std::stable_sort(facts.seen.begin(), facts.seen.end(),
                     [](const KeyFacts::Seen& a, const KeyFacts::Seen& b) {
                       return a.revision < b.revision;
                     });
    facts.no_write.Seal();
    facts.no_delete.Seal();
    std::sort(facts.pinned_puts.begin(), facts.pinned_puts.end());
    facts.pinned_puts.erase(std::unique(facts.pinned_puts.begin(), facts.pinned_puts.end()),
                            facts.pinned_puts.end());
  }
}

// Watch events as observations (attributed to the watch op): a put event
// shows its key at the event's revision, a prev_kv the key just before.
void AddWatchObservations(const History& history, std::vector<KeyObservation>* obs) {
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.type() != OpType::kWatch || op.outcome != Outcome::kOk) continue;
    int32_t index = static_cast<int32_t>(i);
    for (const WatchResponse& r : std::get<WatchResult>(op.response).responses) {
      for (const Event& e : r.events) {
        if (e.type == Event::Type::kPut) {
          obs->push_back(KeyObservation{index, e.kv.mod_revision, true, true, e.kv});
        }
        if (e.prev_kv && e.prev_kv->key == e.kv.key) {
          obs->push_back(KeyObservation{index, e.kv.mod_revision - 1, true, true, *e.prev_kv});
        }
      }
    }
  }
}

}  // namespace

LinPlan BuildLinPlan(const History& history, const LinOptions& options) {
  LinPlan plan;
  plan.initial_revision = history.initial_revision;
  std::vector<KeyObservation> obs = CollectObservations(history);
  plan.last_revision = HighestRevision(history, obs, options.use_watch_evidence);
  absl::flat_hash_map<int64_t, int32_t> claimed = ClaimSlots(history, &plan, options);

  int64_t slots = plan.last_revision - plan.initial_revision;
  int64_t gaps = slots - static_cast<int64_t>(claimed.size());
  int64_t fillers = CountFillers(history);
  if (gaps > fillers) {
    plan.feasible = false;
    plan.violations.push_back(LinViolation(
        "unexplained-revision", {},
        StrCat("revisions up to ", plan.last_revision, " were observed, but only ",
               claimed.size(), " acknowledged writes and at most ", fillers,
               " unknown-outcome writes, revokes and lease expiries could have created ",
               "the ", slots, " revisions after ", plan.initial_revision,
               " (are writes missing from the history?)")));
    return plan;
  }
  plan.writer.assign(slots, -1);
  plan.revokes.resize(slots);
  plan.serial_deadline.assign(slots, kNever);
  plan.checks.resize(slots + 1);
  for (const auto& [revision, op] : claimed) plan.writer[plan.Slot(revision)] = op;

  AddChecks(history, &plan, options);
  AddUnknowns(history, &plan);
  CheckRealTime(history, &plan, options);
  CheckSerializable(history, &plan, options);
  CheckCompaction(history, &plan, options);
  std::stable_sort(plan.unknowns.begin(), plan.unknowns.end(),
                   [](const UnknownWrite& a, const UnknownWrite& b) { return a.lo < b.lo; });
  if (options.use_watch_evidence) {
    AddWatchObservations(history, &obs);
    plan.watches = BuildWatchViews(history);
  }
  AddEvidenceAndFacts(history, obs, &plan);
  AddRangeSights(history, &plan);
  KEEL_ASSERT(plan.checks.size() == plan.writer.size() + 1);
  return plan;
}

}  // namespace keel::check
