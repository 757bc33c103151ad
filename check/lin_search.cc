// The linearizability search over a LinPlan; see linearizability.h.
//
// State: the model store at the current revision, the set of unknown writes
// used so far, and a stack of choice points (one per gap revision being
// filled). Acknowledged slots and checks are deterministic; only gaps
// branch. A choice point whose every candidate failed is remembered by
// (revision, store hash, used-set hash), so the same dead end is never
// explored twice.
//
// Rounds: each round has a step budget (doubling from round to round). A
// round that runs out restarts from the first gap with the choices that led
// to its deepest failure demoted (see linearizability.h); the culprits are
// the gaps whose writes that failure names (e.g. the write that put a key a
// read found absent), else the last gap filled before it.
#include <algorithm>
#include <limits>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "check/kv_eval.h"
#include "check/linearizability.h"

namespace keel::check {
namespace {

constexpr size_t kMaxReportedOps = 6;

Violation LinViolation(std::string property, std::vector<OpId> ops,
                       std::string explanation, std::string expected = "") {
  return Violation{"linearizability", std::move(property), std::move(ops),
                   std::move(explanation), std::move(expected)};
}

void AddOp(std::vector<OpId>* ops, OpId id) {
  if (id < 0 || ops->size() >= kMaxReportedOps) return;
  if (std::find(ops->begin(), ops->end(), id) == ops->end()) ops->push_back(id);
}

class Search {
 public:
  Search(const History& history, const LinPlan& plan, const LinOptions& options)
      : h_(history),
        plan_(plan),
        options_(options),
        state_(history.initial_revision, history.initial_kvs),
        used_(plan.unknowns.size(), false),
        fills_(plan.writer.size()) {
    for (int64_t r = plan.initial_revision + 1; r <= plan.last_revision; ++r) {
      if (plan.IsGap(r)) gaps_.push_back(r);
    }
    for (const auto& [key, facts] : plan.keys) {
      for (const KeyFacts::Seen& seen : facts.seen) {
        int64_t absent_at = seen.create == 0 ? seen.revision
                            : seen.create > 0 ? seen.create - 1 : plan.initial_revision;
        auto last_gap = std::upper_bound(gaps_.begin(), gaps_.end(), absent_at);
        if (last_gap == gaps_.begin()) continue;
        absences_[*std::prev(last_gap)].emplace_back(key, absent_at);
      }
    }
    // Per gap and key only the earliest absence matters: an acknowledged
    // delete before it is one before every later absence too.
    for (auto& [gap, absences] : absences_) {
      std::sort(absences.begin(), absences.end());
      absences.erase(std::unique(absences.begin(), absences.end(),
                                 [](const auto& a, const auto& b) { return a.first == b.first; }),
                     absences.end());
    }
    for (const WatchView& v : plan.watches) {
      auto& by_rev = watch_events_.emplace_back();
      for (const auto& rec : v.events) by_rev[rec.event->kv.mod_revision].push_back(rec.event);
    }
    for (const Operation& op : history.ops) {
      if (op.type() == OpType::kCompact && op.outcome != Outcome::kError) {
        compaction_revisions_.insert(std::get<CompactRequest>(op.request).revision);
      }
      if (op.type() == OpType::kPut && op.outcome != Outcome::kError) {
        const auto& put = std::get<PutRequest>(op.request);
        if (put.lease != 0) leased_put_keys_.insert(put.key);
      }
    }
  }

  SearchOutcome Run();

 private:
  struct Candidate {
    enum class Kind { kRevoke, kUnknown, kExpiry } kind;
    int32_t index;  // op index (revoke) or unknowns index
    int64_t lease;
  };
  // A choice at a gap: (revision, kind, index, lease).
  using Choice = std::tuple<int64_t, int, int32_t, int64_t>;
  static Choice ChoiceOf(int64_t revision, const Candidate& c) {
    return {revision, static_cast<int>(c.kind), c.index, c.lease};
  }
  static constexpr int64_t kFirstRoundSteps = 20'000;
  // A candidate ruled out by an observation: (candidate op, observing op).
  using Pruned = std::pair<int32_t, int32_t>;
  struct Frame {
    int64_t revision;
    size_t mark;
    StateHash memo;
    std::vector<Candidate> candidates;
    size_t next = 0;
    int32_t applied_unknown = -1;
    std::vector<Pruned> pruned;  // for the report if every candidate fails
    KeyRanges forced;  // keys this gap had to put or delete (single keys)
  };

  StateHash MemoKey(int64_t revision) const {
    StateHash s = state_.hash();
    uint64_t r = absl::HashOf(revision, uint64_t{0x7f4a7c15});
    return StateHash{s.a ^ used_hash_.a ^ r, s.b ^ used_hash_.b ^ (r * 31 + 7)};
  }

  bool CheckAt(int64_t revision);
  bool CheckRead(int64_t revision, const Operation& op);
  bool CheckNoWrite(int64_t revision, const Operation& op);
  bool ApplyAcked(int64_t revision);
  // The candidates that fit the store at the frame's gap, best first. Fills
  // the frame's `pruned` (those observations ruled out) and `forced`.
  std::vector<Candidate> Candidates(Frame& frame);
  // Keys the write at gap `revision` must delete: present now, seen absent
  // by a revision with no other gap and no acknowledged delete before it.
  std::vector<std::string> ForcedDeletes(int64_t revision) const;
  // Applies a candidate's effect to the store (no bookkeeping); its events,
  // empty if it would fail or change nothing.
  std::vector<Event> ApplyCandidate(const Candidate& c);
  // kImpossible if observations rule the events out at this revision, else
  // the revision by which an observation needs them (kNoDeadline if none).
  int64_t NeedDeadline(int64_t revision, const std::vector<Event>& events);
  // Keys the write at `revision` must put because a later observation's
  // version needs as many more puts as there are gaps left before its mod
  // revision. False (with the observing op) if even all gaps are too few.
  bool ForcedKeys(int64_t revision, std::vector<std::string>* forced, int32_t* infeasible) const;
  // Whether the write at a gap may put `key`, given what evidence pins it to.
  bool GapCanPut(int64_t gap, const std::string& key) const;
  int64_t EventDeadline(int64_t revision, const Event& e);
  // The first range read at a revision in [from, before) that shows `key`
  // absent, or kNoDeadline.
  int64_t NextAbsence(const std::string& key, int64_t from, int64_t before) const;
  // Whether something could delete `key` in (after, upto]: an acknowledged
  // delete there, an unknown-outcome op that may, or the key's lease.
  bool CanBeDeleted(const std::string& key, int64_t after, int64_t upto, int64_t lease);
  bool AckedDeleteIn(const std::string& key, int64_t after, int64_t upto) const;
  // Whether something could put `key` in (after, upto]: an acknowledged put
  // there, or an unknown-outcome write in a gap there.
  bool CanBeCreated(const std::string& key, int64_t after, int64_t upto, bool acked_only) const;
  static constexpr int64_t kImpossible = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();
  bool Fill(Frame& frame, const Candidate& c);
  bool EventsFit(int64_t revision, const std::vector<Event>& events, int32_t* blocker) const;
  // The watch covering `revision` whose events differ from `events`, or -1.
  int32_t WatchDisagreeing(int64_t revision, const std::vector<Event>& events) const;
  bool TryNext(Frame& frame);
  bool Backtrack(int64_t* revision);
  // Runs the search from `*revision` until it succeeds, fails or the round
  // runs out of steps.
  bool Descend(int64_t* revision);
  // After a round ran out: demotes its culprits, undoes every choice and
  // returns the revision of the first gap.
  int64_t Restart();
  void NoteCulprits(const Violation& v, const KeyRanges& keys);
  void Unuse(Frame& frame);
  // Whether a failure at `revision` would be the deepest so far (of this
  // round or of all); callers skip building the report otherwise.
  bool WantFailure(int64_t revision) const {
    return revision > round_deepest_ || revision > deepest_revision_;
  }
  // Records a failure; `keys` are the keys it is about (for culprits).
  void Fail(int64_t revision, Violation v, const KeyRanges& keys = {});
  void FailGap(const Frame& frame);
  std::vector<OpId> InvolvedOps(const Operation& op) const;
  bool PutsOnDeadLease(const std::vector<Event>& events) const;

  const History& h_;
  const LinPlan& plan_;
  const LinOptions& options_;
  KvState state_;
  std::vector<bool> used_;
  StateHash used_hash_;
  std::vector<CommittedWrite> fills_;
  std::vector<Frame> frames_;
  absl::flat_hash_set<StateHash> dead_;
  std::vector<absl::flat_hash_map<int64_t, std::vector<const Event*>>> watch_events_;
  // key -> whether a write nobody acknowledged (an unknown-outcome delete or
  // txn, a lease expiring after a put attached it) may delete it.
  absl::flat_hash_map<std::string, bool> unknown_deleters_;
  // Keys some put (of any outcome but a definite failure) gives a lease.
  absl::flat_hash_set<std::string> leased_put_keys_;
  // Revisions compactions asked for: a watch from one may miss its deletes.
  absl::flat_hash_set<int64_t> compaction_revisions_;
  std::vector<int64_t> gaps_;  // revisions nobody acknowledged, ascending
  // Per gap: (key, revision) pairs where the key is seen absent and this is
  // the last gap at or before that revision.
  absl::flat_hash_map<int64_t, std::vector<std::pair<std::string, int64_t>>> absences_;
  mutable absl::flat_hash_map<std::pair<int64_t, std::string>, bool> gap_can_put_;
  int64_t steps_ = 0;
  int64_t round_limit_ = 0;
  bool out_of_steps_ = false;
  absl::flat_hash_set<Choice> demoted_;
  std::vector<Choice> culprits_;  // of this round's deepest failure
  int64_t round_deepest_ = std::numeric_limits<int64_t>::min();
  std::optional<Violation> deepest_;
  int64_t deepest_revision_ = std::numeric_limits<int64_t>::min();
};

void Search::Fail(int64_t revision, Violation v, const KeyRanges& keys) {
  if (revision > round_deepest_) {
    round_deepest_ = revision;
    NoteCulprits(v, keys);
  }
  if (revision <= deepest_revision_) return;
  deepest_revision_ = revision;
  deepest_ = std::move(v);
}

std::vector<OpId> Search::InvolvedOps(const Operation& op) const {
  std::vector<OpId> ops = {op.id};
  // Whoever wrote what the model expected, and whoever wrote what was seen.
  if (op.type() == OpType::kRange) {
    const auto& r = std::get<RangeRequest>(op.request);
    state_.ForEachInRange(r.key, r.range_end, [&](const KeyState& s) { AddOp(&ops, s.writer); });
    for (const KeyValue& kv : std::get<RangeResponse>(op.response).kvs) {
      if (plan_.initial_revision < kv.mod_revision && kv.mod_revision <= plan_.last_revision) {
        int32_t w = fills_[plan_.Slot(kv.mod_revision)].op;
        if (w >= 0) AddOp(&ops, h_.ops[w].id);
      }
    }
    return ops;
  }
  auto add_key = [&](std::string_view key) {
    if (const KeyState* s = state_.Find(key)) AddOp(&ops, s->writer);
  };
  if (op.type() == OpType::kPut) add_key(std::get<PutRequest>(op.request).key);
  if (op.type() == OpType::kDelete) add_key(std::get<DeleteRequest>(op.request).key);
  if (op.type() == OpType::kTxn) {
    for (const Compare& c : std::get<TxnRequest>(op.request).compare) {
      state_.ForEachInRange(c.key, c.range_end, [&](const KeyState& s) { AddOp(&ops, s.writer); });
    }
  }
  return ops;
}

bool Search::CheckRead(int64_t revision, const Operation& op) {
  size_t mark = state_.Mark();
  EvalResult res = Evaluate(op.request, state_, op.id);
  KEEL_ASSERT(res.events.empty());
  state_.Rollback(mark);
  std::optional<std::string> diff = DiffResponse(op.request, res.response, op.response);
  if (!diff) return true;
  if (!WantFailure(revision)) return false;
  Fail(revision,
       LinViolation("response", InvolvedOps(op),
                    StrCat(DescribeOp(op), " observed the store at revision ", revision,
                           " but its response differs from the model: ", *diff),
                    DescribeModelState(op.request, state_)),
       RequestRanges(op.request));
  return false;
}

bool Search::CheckNoWrite(int64_t revision, const Operation& op) {
  size_t mark = state_.Mark();
  EvalResult res = Evaluate(op.request, state_, op.id);
  bool wrote = !res.events.empty();
  state_.Rollback(mark);
  std::string problem;
  if (!res.error.empty()) {
    problem = StrCat("it succeeded, but etcd would have failed it: ", res.error);
  } else if (wrote) {
    problem = StrCat("its header revision says it wrote nothing, but at revision ", revision,
                     " it would have changed ", Printable(res.events[0].kv.key));
  } else if (auto diff = DiffResponse(op.request, res.response, op.response)) {
    problem = StrCat("its response differs from the model: ", *diff);
  } else {
    return true;
  }
  if (!WantFailure(revision)) return false;
  Fail(revision,
       LinViolation("response", InvolvedOps(op),
                    StrCat(DescribeOp(op), " at header revision ", revision, ": ", problem),
                    DescribeModelState(op.request, state_)),
       RequestRanges(op.request));
  return false;
}

bool Search::CheckAt(int64_t revision) {
  for (const SlotCheck& c : plan_.checks[revision - plan_.initial_revision]) {
    const Operation& op = h_.ops[c.op];
    switch (c.kind) {
      case SlotCheckKind::kRead:
        if (!CheckRead(revision, op)) return false;
        break;
      case SlotCheckKind::kNoWrite:
        if (!CheckNoWrite(revision, op)) return false;
        break;
      case SlotCheckKind::kLeaseEmptied: {
        int64_t lease = std::get<LeaseRevokeRequest>(op.request).id;
        std::vector<std::string> keys = state_.KeysOfLease(lease);
        if (!keys.empty()) {
          std::vector<OpId> ops = {op.id};
          if (const KeyState* s = state_.Find(keys[0])) AddOp(&ops, s->writer);
          Fail(revision,
               LinViolation("lease-revoke", ops,
                            StrCat(DescribeOp(op), " revoked lease ", lease, " (header revision ",
                                   revision, ") but ", keys.size(),
                                   " key(s) are still attached to it, e.g. ",
                                   Printable(keys[0]))));
          return false;
        }
        state_.MarkLeaseDead(lease);
        break;
      }
    }
  }
  return true;
}

bool Search::PutsOnDeadLease(const std::vector<Event>& events) const {
  for (const Event& e : events) {
    if (e.type == Event::Type::kPut && e.kv.lease != 0 && state_.IsDeadLease(e.kv.lease)) {
      return true;
    }
  }
  return false;
}

bool Search::ApplyAcked(int64_t revision) {
  int32_t index = plan_.writer[plan_.Slot(revision)];
  const Operation& op = h_.ops[index];
  size_t mark = state_.Mark();
  EvalResult res = Evaluate(op.request, state_, op.id);
  std::string problem;
  if (!res.error.empty()) {
    problem = StrCat("it succeeded, but etcd would have failed it: ", res.error);
  } else if (res.events.empty()) {
    problem = StrCat("it reports creating revision ", revision,
                     ", but on the store at revision ", revision - 1, " it changes nothing");
  } else if (auto diff = DiffResponse(op.request, res.response, op.response)) {
    problem = StrCat("its response differs from the model: ", *diff);
  } else if (PutsOnDeadLease(res.events)) {
    problem = "it attached a key to a lease that was already revoked or expired";
  } else if (int32_t w = WatchDisagreeing(revision, res.events); w >= 0) {
    const Operation& watch = h_.ops[plan_.watches[w].op];
    Fail(revision, LinViolation("watch-evidence", {op.id, watch.id},
                                StrCat("watch op ", watch.id, " covered revision ", revision,
                                       " but its events there differ from what ",
                                       DescribeOp(op), " wrote")));
    state_.Rollback(mark);
    return false;
  } else {
    fills_[plan_.Slot(revision)] =
        CommittedWrite{revision, CommittedWrite::Source::kAcknowledged, index, 0,
                       std::move(res.events)};
    return true;
  }
  state_.Rollback(mark);
  if (!WantFailure(revision)) return false;
  Fail(revision,
       LinViolation("response", InvolvedOps(op),
                    StrCat(DescribeOp(op), " created revision ", revision, ": ", problem),
                    DescribeModelState(op.request, state_)),
       RequestRanges(op.request));
  return false;
}

std::vector<Event> Search::ApplyCandidate(const Candidate& c) {
  if (c.kind != Candidate::Kind::kUnknown) return RevokeLease(c.lease, state_);
  const Operation& op = h_.ops[plan_.unknowns[c.index].op];
  if (op.type() == OpType::kLeaseRevoke) {
    if (state_.IsDeadLease(c.lease)) return {};
    return RevokeLease(c.lease, state_);
  }
  EvalResult res = Evaluate(op.request, state_, op.id);
  if (!res.error.empty() || PutsOnDeadLease(res.events)) return {};
  return std::move(res.events);
}

int64_t Search::NextAbsence(const std::string& key, int64_t from, int64_t before) const {
  auto it = std::lower_bound(plan_.sights.begin(), plan_.sights.end(), from,
                             [](const RangeSight& s, int64_t r) { return s.revision < r; });
  for (; it != plan_.sights.end() && it->revision < before; ++it) {
    if (!InRange(key, it->begin, it->end)) continue;
    if (!std::binary_search(it->listed.begin(), it->listed.end(), std::string_view(key))) {
      return it->revision;
    }
  }
  return kNoDeadline;
}

bool Search::CanBeCreated(const std::string& key, int64_t after, int64_t upto,
                          bool acked_only) const {
  if (upto <= after) return false;
  if (auto f = plan_.keys.find(key); f != plan_.keys.end()) {
    const auto& puts = f->second.acked_puts;
    auto it = std::upper_bound(puts.begin(), puts.end(), after);
    if (it != puts.end() && *it <= upto) return true;
  }
  if (acked_only) return false;
  auto gap = std::upper_bound(gaps_.begin(), gaps_.end(), after);
  return gap != gaps_.end() && *gap <= upto;
}

bool Search::AckedDeleteIn(const std::string& key, int64_t after, int64_t upto) const {
  if (upto <= after) return false;
  if (auto f = plan_.keys.find(key); f != plan_.keys.end()) {
    const auto& dels = f->second.acked_deletes;
    auto it = std::upper_bound(dels.begin(), dels.end(), after);
    if (it != dels.end() && *it <= upto) return true;
  }
  auto it = std::upper_bound(plan_.range_deletes.begin(), plan_.range_deletes.end(), after,
                             [](int64_t r, const RangeDelete& d) { return r < d.revision; });
  for (; it != plan_.range_deletes.end() && it->revision <= upto; ++it) {
    if (InRange(key, it->begin, it->end)) return true;
  }
  return false;
}

bool Search::CanBeDeleted(const std::string& key, int64_t after, int64_t upto,
                          int64_t lease) {
  if (upto <= after) return false;
  if (AckedDeleteIn(key, after, upto)) return true;
  // Anything else (an unknown-outcome write, the lease expiring) needs a
  // revision nobody acknowledged.
  auto gap = std::upper_bound(gaps_.begin(), gaps_.end(), after);
  if (gap == gaps_.end() || *gap > upto) return false;
  if (lease != 0) return true;
  auto [cached, inserted] = unknown_deleters_.emplace(key, false);
  if (inserted) {
    for (const UnknownWrite& u : plan_.unknowns) {
      if (!u.single_put && RangesTouch(u.footprint, key)) {
        cached->second = true;
        break;
      }
    }
    // A later put may attach a lease whose expiry then deletes the key
    // (a put that overwrote this one). Any put of the key with a lease, of
    // any outcome, keeps that open; a gap for the expiry is checked above.
    if (leased_put_keys_.contains(key)) cached->second = true;
  }
  return cached->second;
}

int64_t Search::NeedDeadline(int64_t revision, const std::vector<Event>& events) {
  int64_t deadline = kNoDeadline;
  for (const Event& e : events) {
    int64_t d = EventDeadline(revision, e);
    if (d == kImpossible) return kImpossible;
    deadline = std::min(deadline, d);
  }
  return deadline;
}

int64_t Search::EventDeadline(int64_t revision, const Event& e) {
  const std::string& key = e.kv.key;
  const KeyFacts* facts = nullptr;
  const KeyFacts::Seen* next = nullptr;  // the next observation of any kind
  const KeyFacts::Seen* full = nullptr;  // the next with create/mod/version
  if (auto f = plan_.keys.find(key); f != plan_.keys.end()) {
    facts = &f->second;
    auto it = std::lower_bound(facts->seen.begin(), facts->seen.end(), revision,
                               [](const KeyFacts::Seen& s, int64_t r) { return s.revision < r; });
    if (it != facts->seen.end()) next = &*it;
    for (; it != facts->seen.end() && full == nullptr; ++it) {
      if (it->create > 0) full = &*it;
    }
  }
  KeyFacts::Seen absent{kNoDeadline, 0, 0, 0};
  absent.revision = NextAbsence(key, revision, next ? next->revision : kNoDeadline);
  if (absent.revision != kNoDeadline) next = &absent;
  if (next == nullptr) return kNoDeadline;

  // A full observation of the incarnation this write belongs to: the key
  // stayed from its create revision to then, so no delete, the same create
  // revision, no write after its mod revision, and no more puts than its
  // version counts.
  if (full != nullptr && full->create <= revision) {
    if (e.type == Event::Type::kDelete) return kImpossible;
    if (revision > full->mod || e.kv.create_revision != full->create) return kImpossible;
    // Puts still to come in (revision, mod]: acknowledged ones and gaps
    // whose evidence shows they put the key.
    auto count = [&](const std::vector<int64_t>& revs) {
      return std::upper_bound(revs.begin(), revs.end(), full->mod) -
             std::upper_bound(revs.begin(), revs.end(), revision);
    };
    int64_t later = count(facts->acked_puts) + count(facts->pinned_puts);
    if (e.kv.version + later > full->version) return kImpossible;
    if (next == full) return full->mod;
  }
  if (next->create == KeyFacts::kPresent) {
    // Present then (maybe with a known value), details unknown.
    if (e.type == Event::Type::kDelete ||
        (next->value && *next->value != e.kv.value)) {
      // Something must put it (back, or with that value) in between.
      return CanBeCreated(key, revision, next->revision, false) ? kNoDeadline : kImpossible;
    }
    bool provides = next->value || !e.prev_kv;
    return provides && !CanBeCreated(key, revision, next->revision, true) ? next->revision
                                                                          : kNoDeadline;
  }
  if (next->create > 0 && next->create <= revision) return next->mod;
  // Gone (or re-created) by then.
  int64_t by = next->create == 0 ? next->revision : next->create - 1;
  if (e.type == Event::Type::kDelete) {
    return AckedDeleteIn(key, revision, by) ? kNoDeadline : by;  // needed unless acked
  }
  return CanBeDeleted(key, revision, by, e.kv.lease) ? kNoDeadline : kImpossible;
}

bool Search::GapCanPut(int64_t gap, const std::string& key) const {
  auto ev = plan_.evidence.find(gap);
  if (ev == plan_.evidence.end() || ev->second.puts.empty()) return true;
  for (const KeyObservation& o : ev->second.puts) {
    if (o.kv.key == key) return true;
  }
  auto [cached, inserted] = gap_can_put_.emplace(std::make_pair(gap, key), false);
  if (!inserted) return cached->second;
  // The gap must put the evidence's keys; only an op that may also write
  // `key` could serve both.
  const std::string& pinned = ev->second.puts.front().kv.key;
  for (const UnknownWrite& u : plan_.unknowns) {
    if (!u.single_put && RangesTouch(u.footprint, pinned) && RangesTouch(u.footprint, key)) {
      cached->second = true;
      break;
    }
  }
  return cached->second;
}

bool Search::ForcedKeys(int64_t revision, std::vector<std::string>* forced,
                        int32_t* infeasible) const {
  for (const VersionDemand& d : plan_.demands) {
    if (d.create > revision) break;
    if (d.mod < revision) continue;
    const KeyState* ks = state_.Find(d.key);
    if (ks == nullptr || ks->kv.create_revision != d.create) continue;  // caught elsewhere
    auto f = plan_.keys.find(d.key);
    KEEL_ASSERT(f != plan_.keys.end());
    const auto& acked = f->second.acked_puts;
    int64_t acked_left = std::upper_bound(acked.begin(), acked.end(), d.mod) -
                         std::lower_bound(acked.begin(), acked.end(), revision);
    int64_t needed = d.version - ks->kv.version - acked_left;
    auto first = std::lower_bound(gaps_.begin(), gaps_.end(), revision);
    auto last = std::upper_bound(gaps_.begin(), gaps_.end(), d.mod);
    int64_t gaps_left = last - first;
    if (needed > 0 && needed >= gaps_left - 8) {
      // Close to the limit: gaps that evidence pins to other keys do not count.
      gaps_left = 0;
      for (auto g = first; g != last; ++g) gaps_left += GapCanPut(*g, d.key) ? 1 : 0;
    }
    if (needed > gaps_left) {
      *infeasible = d.op;
      return false;
    }
    // Every usable gap left must put the key: this one too, if usable.
    if (needed > 0 && needed == gaps_left && GapCanPut(revision, d.key) &&
        std::find(forced->begin(), forced->end(), d.key) == forced->end()) {
      forced->push_back(d.key);
    }
  }
  return true;
}

std::vector<std::string> Search::ForcedDeletes(int64_t revision) const {
  std::vector<std::string> keys;
  auto it = absences_.find(revision);
  if (it == absences_.end()) return keys;
  for (const auto& [key, absent_at] : it->second) {
    if (state_.Find(key) == nullptr || AckedDeleteIn(key, revision, absent_at)) continue;
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }
  return keys;
}

std::vector<Search::Candidate> Search::Candidates(Frame& frame) {
  const int64_t revision = frame.revision;
  std::vector<Pruned>* pruned = &frame.pruned;
  size_t slot = plan_.Slot(revision);
  // Versions seen later may leave this gap no choice but to put some keys.
  std::vector<std::string> forced;
  int32_t infeasible = -1;
  if (!ForcedKeys(revision, &forced, &infeasible)) {
    pruned->emplace_back(-1, infeasible);
    return {};
  }
  std::vector<std::string> deletes = ForcedDeletes(revision);
  for (const std::string& key : forced) frame.forced.emplace_back(key, "");
  for (const std::string& key : deletes) frame.forced.emplace_back(key, "");
  auto has = [](const std::vector<Event>& events, Event::Type type, const std::string& key) {
    for (const Event& e : events) {
      if (e.type == type && e.kv.key == key) return true;
    }
    return false;
  };
  auto puts_forced = [&](const std::vector<Event>& events) {
    for (const std::string& key : forced) {
      if (!has(events, Event::Type::kPut, key)) return false;
    }
    for (const std::string& key : deletes) {
      if (!has(events, Event::Type::kDelete, key)) return false;
    }
    return true;
  };
  std::vector<Candidate> raw;
  for (int32_t op : plan_.revokes[slot]) {
    int64_t lease = std::get<LeaseRevokeRequest>(h_.ops[op].request).id;
    if (!state_.IsDeadLease(lease)) raw.push_back(Candidate{Candidate::Kind::kRevoke, op, lease});
  }
  auto ev = plan_.evidence.find(revision);
  const GapEvidence* evidence = ev == plan_.evidence.end() ? nullptr : &ev->second;
  bool must_put = evidence && (!evidence->puts.empty() || !evidence->creates.empty());
  for (size_t i = 0; i < plan_.unknowns.size() && plan_.unknowns[i].lo <= revision; ++i) {
    if (used_[i]) continue;
    const UnknownWrite& u = plan_.unknowns[i];
    const Operation& op = h_.ops[u.op];
    if (op.invoke_ns > plan_.serial_deadline[slot]) continue;
    if (must_put) {
      if (op.type() == OpType::kLeaseRevoke) continue;
      auto touches = [&](const KeyObservation& o) { return RangesTouch(u.footprint, o.kv.key); };
      if (!std::all_of(evidence->puts.begin(), evidence->puts.end(), touches) ||
          !std::all_of(evidence->creates.begin(), evidence->creates.end(), touches)) {
        continue;
      }
    }
    if (op.type() == OpType::kPut) {
      if (auto k = plan_.keys.find(u.first_key); k != plan_.keys.end()) {
        if (int32_t by = k->second.no_write.Find(revision); by >= 0) {
          pruned->emplace_back(u.op, by);
          continue;
        }
      }
    }
    int64_t lease = op.type() == OpType::kLeaseRevoke
                        ? std::get<LeaseRevokeRequest>(op.request).id : 0;
    raw.push_back(Candidate{Candidate::Kind::kUnknown, static_cast<int32_t>(i), lease});
  }
  if (!must_put) {
    for (int64_t lease : state_.LeasesWithKeys()) {
      raw.push_back(Candidate{Candidate::Kind::kExpiry, -1, lease});
    }
  }
  // Try each on the store: keep those that fit, ordered by how soon an
  // observation needs them (earliest deadline first), acknowledged revokes
  // first and writes nothing needs last.
  std::vector<std::pair<int64_t, Candidate>> scored;
  for (const Candidate& c : raw) {
    size_t mark = state_.Mark();
    std::vector<Event> events = ApplyCandidate(c);
    int32_t blocker = -1;
    int64_t deadline = kImpossible;
    if (!events.empty() && puts_forced(events) && EventsFit(revision, events, &blocker)) {
      deadline = NeedDeadline(revision, events);
    } else if (blocker >= 0 && c.kind == Candidate::Kind::kUnknown) {
      pruned->emplace_back(plan_.unknowns[c.index].op, blocker);
    }
    state_.Rollback(mark);
    if (deadline == kImpossible) continue;
    if (c.kind == Candidate::Kind::kRevoke) deadline = kImpossible + 1;
    scored.emplace_back(deadline, c);
  }
  // Best first: acknowledged revokes; then writes whose deadline leaves
  // them no later gap; then the most recently sent (an unknown-outcome
  // write usually applies soon after it was sent); then by deadline.
  auto key = [&](const std::pair<int64_t, Candidate>& sc) {
    const auto& [deadline, c] = sc;
    int rank = c.kind == Candidate::Kind::kRevoke ? 0 : 2;
    if (rank == 2 && deadline != kNoDeadline) {
      auto next_gap = std::upper_bound(gaps_.begin(), gaps_.end(), revision);
      if (next_gap == gaps_.end() || *next_gap > deadline) rank = 1;
    }
    int64_t lo = c.kind == Candidate::Kind::kUnknown ? plan_.unknowns[c.index].lo : 0;
    return std::make_tuple(rank, -lo, deadline);
  };
  std::stable_sort(scored.begin(), scored.end(),
                   [&](const auto& a, const auto& b) { return key(a) < key(b); });
  std::vector<Candidate> out;
  for (const auto& [deadline, c] : scored) out.push_back(c);
  if (!demoted_.empty()) {
    std::stable_partition(out.begin(), out.end(), [&](const Candidate& c) {
      return !demoted_.contains(ChoiceOf(revision, c));
    });
  }
  return out;
}

void Search::NoteCulprits(const Violation& v, const KeyRanges& keys) {
  culprits_.clear();
  for (const Frame& f : frames_) {
    if (f.next == 0) continue;  // nothing chosen there (yet)
    const CommittedWrite& fill = fills_[plan_.Slot(f.revision)];
    bool culprit = fill.op >= 0 &&
                   std::find(v.ops.begin(), v.ops.end(), h_.ops[fill.op].id) != v.ops.end();
    for (const Event& e : fill.events) culprit = culprit || RangesTouch(keys, e.kv.key);
    if (culprit) culprits_.push_back(ChoiceOf(f.revision, f.candidates[f.next - 1]));
  }
  if (!culprits_.empty()) return;
  for (auto f = frames_.rbegin(); f != frames_.rend(); ++f) {
    if (f->next > 0) {
      culprits_.push_back(ChoiceOf(f->revision, f->candidates[f->next - 1]));
      return;
    }
  }
}

int64_t Search::Restart() {
  KEEL_ASSERT(!frames_.empty());
  for (const Choice& c : culprits_) demoted_.insert(c);
  culprits_.clear();
  round_deepest_ = std::numeric_limits<int64_t>::min();
  int64_t first = frames_.front().revision;
  state_.Rollback(frames_.front().mark);
  for (Frame& f : frames_) Unuse(f);
  frames_.clear();
  out_of_steps_ = false;
  return first;
}

bool Search::Fill(Frame& frame, const Candidate& c) {
  int64_t revision = frame.revision;
  CommittedWrite fill;
  fill.revision = revision;
  fill.lease = c.lease;
  fill.events = ApplyCandidate(c);
  // Candidates() vetted this candidate on this very state.
  KEEL_ASSERT(!fill.events.empty());
  KEEL_ASSERT(state_.revision() == revision);
  switch (c.kind) {
    case Candidate::Kind::kRevoke:
      fill.source = CommittedWrite::Source::kLeaseRevoke;
      fill.op = c.index;
      break;
    case Candidate::Kind::kExpiry:
      fill.source = CommittedWrite::Source::kLeaseExpiry;
      break;
    case Candidate::Kind::kUnknown: {
      const UnknownWrite& u = plan_.unknowns[c.index];
      fill.source = CommittedWrite::Source::kUnknownOutcome;
      fill.op = u.op;
      used_[c.index] = true;
      used_hash_.a ^= u.tag.a;
      used_hash_.b ^= u.tag.b;
      frame.applied_unknown = c.index;
      break;
    }
  }
  fills_[plan_.Slot(revision)] = std::move(fill);
  return true;
}

int32_t Search::WatchDisagreeing(int64_t revision, const std::vector<Event>& events) const {
  static const std::vector<const Event*> kNone;
  for (size_t w = 0; w < plan_.watches.size(); ++w) {
    if (!plan_.watches[w].Covers(revision)) continue;
    const WatchRequest& req = *plan_.watches[w].request;
    auto it = watch_events_[w].find(revision);
    const auto& seen = it == watch_events_[w].end() ? kNone : it->second;
    size_t j = 0;
    bool agree = true;
    // A compaction at C drops the tombstones written at C while a watch
    // from C is not compacted (etcd's keyIndex.compact): such a watch may
    // miss those deletes.
    const bool deletes_optional =
        revision == req.start_revision && compaction_revisions_.contains(revision);
    for (const Event& e : events) {
      if (!WatchSees(req, e)) continue;
      const bool match = j < seen.size() && SameEvent(e, *seen[j]);
      if (!match && deletes_optional && e.type == Event::Type::kDelete) continue;
      if (!match) {
        agree = false;
        break;
      }
      ++j;
    }
    if (!agree || j != seen.size()) return static_cast<int32_t>(w);
  }
  return -1;
}

bool Search::EventsFit(int64_t revision, const std::vector<Event>& events,
                       int32_t* blocker) const {
  for (const Event& e : events) {
    auto k = plan_.keys.find(e.kv.key);
    if (k == plan_.keys.end()) continue;
    *blocker = k->second.no_write.Find(revision);
    if (*blocker < 0 && e.type == Event::Type::kDelete) {
      *blocker = k->second.no_delete.Find(revision);
    }
    if (*blocker >= 0) return false;
  }
  if (WatchDisagreeing(revision, events) >= 0) return false;
  auto it = plan_.evidence.find(revision);
  if (it == plan_.evidence.end()) return true;
  const GapEvidence& ev = it->second;
  auto put_of = [&](const std::string& key) -> const Event* {
    for (const Event& e : events) {
      if (e.type == Event::Type::kPut && e.kv.key == key) return &e;
    }
    return nullptr;
  };
  for (const KeyObservation& o : ev.puts) {
    const Event* e = put_of(o.kv.key);
    if (e == nullptr) return false;
    KeyValue seen = o.kv;
    if (!o.value_known) seen.value = e->kv.value;
    if (!(e->kv == seen)) return false;
  }
  for (const KeyObservation& o : ev.creates) {
    const Event* e = put_of(o.kv.key);
    if (e == nullptr || e->kv.create_revision != revision) return false;
  }
  return true;
}

void Search::Unuse(Frame& frame) {
  if (frame.applied_unknown < 0) return;
  const UnknownWrite& u = plan_.unknowns[frame.applied_unknown];
  used_[frame.applied_unknown] = false;
  used_hash_.a ^= u.tag.a;
  used_hash_.b ^= u.tag.b;
  frame.applied_unknown = -1;
}

bool Search::TryNext(Frame& frame) {
  while (frame.next < frame.candidates.size()) {
    if (++steps_ > round_limit_) {
      out_of_steps_ = true;
      return false;
    }
    Candidate c = frame.candidates[frame.next++];
    if (Fill(frame, c) && CheckAt(frame.revision)) return true;
    state_.Rollback(frame.mark);
    Unuse(frame);
  }
  return false;
}

bool Search::Backtrack(int64_t* revision) {
  while (!frames_.empty() && !out_of_steps_) {
    Frame& frame = frames_.back();
    state_.Rollback(frame.mark);
    Unuse(frame);
    if (TryNext(frame)) {
      *revision = frame.revision + 1;
      return true;
    }
    if (out_of_steps_) return false;
    dead_.insert(frame.memo);
    frames_.pop_back();
  }
  return false;
}

void Search::FailGap(const Frame& frame) {
  int64_t revision = frame.revision;
  if (!WantFailure(revision)) return;
  std::vector<OpId> ops;
  std::string seen;
  if (auto it = plan_.evidence.find(revision); it != plan_.evidence.end()) {
    for (const KeyObservation& o : it->second.puts) {
      AddOp(&ops, h_.ops[o.op].id);
      if (seen.empty()) seen = StrCat("; op ", h_.ops[o.op].id, " saw ", DescribeKv(o.kv));
    }
  }
  std::string ruled_out;
  if (!frame.pruned.empty()) {
    const auto& [candidate, by] = frame.pruned.front();
    AddOp(&ops, h_.ops[by].id);
    if (candidate < 0) {
      ruled_out = StrCat("; ", DescribeOp(h_.ops[by]),
                         " saw a version that needs more writes than revisions remain");
    } else {
      AddOp(&ops, h_.ops[candidate].id);
      ruled_out = StrCat("; ", DescribeOp(h_.ops[candidate]), " could have, but ",
                         DescribeOp(h_.ops[by]),
                         " observed that key unchanged across revision ", revision);
    }
  }
  Fail(revision, LinViolation(
                     "unexplained-revision", ops,
                     StrCat("no operation can have created revision ", revision,
                            ": nobody acknowledged it and none of the ",
                            frame.candidates.size(),
                            " unknown-outcome writes, revokes or lease expiries possible "
                            "there fits what was observed",
                            seen, ruled_out)),
       frame.forced);
}

bool Search::Descend(int64_t* at) {
  int64_t& revision = *at;
  bool ok = true;
  while (ok && revision <= plan_.last_revision) {
    bool step_ok;
    if (!plan_.IsGap(revision)) {
      step_ok = ApplyAcked(revision) && CheckAt(revision);
    } else {
      StateHash memo = MemoKey(revision);
      step_ok = false;
      if (!dead_.contains(memo)) {
        Frame frame{revision, state_.Mark(), memo, {}};
        frame.candidates = Candidates(frame);
        frames_.push_back(std::move(frame));
        step_ok = TryNext(frames_.back());
        if (!step_ok && !out_of_steps_) {
          // (Out of steps, the frame stays: a new round restarts from the
          // first frame.)
          FailGap(frames_.back());
          dead_.insert(memo);
          frames_.pop_back();
        }
      }
    }
    if (step_ok) {
      ++revision;
      if (frames_.empty()) state_.DiscardUndo();
      continue;
    }
    ok = !out_of_steps_ && Backtrack(&revision);
  }
  return ok;
}

SearchOutcome Search::Run() {
  SearchOutcome out;
  int64_t revision = plan_.initial_revision;
  bool ok = CheckAt(revision);
  ++revision;
  int64_t budget = kFirstRoundSteps;
  while (ok) {
    round_limit_ = std::min(options_.max_search_steps, steps_ + budget);
    ok = Descend(&revision);
    if (ok || !out_of_steps_ || round_limit_ >= options_.max_search_steps) break;
    revision = Restart();
    ok = true;
    budget *= 2;
  }
  out.steps = steps_;
  if (ok) {
    CommittedHistory committed;
    committed.initial_revision = h_.initial_revision;
    committed.initial_kvs = h_.initial_kvs;
    committed.writes = std::move(fills_);
    out.committed = std::move(committed);
    out.verdict = Verdict::kOk;
    return out;
  }
  if (out_of_steps_) {
    out.verdict = Verdict::kInconclusive;
    return out;
  }
  out.verdict = Verdict::kViolation;
  KEEL_ASSERT(deepest_.has_value());
  if (steps_ > 0) {
    deepest_->explanation.append(
        " (no placement of the unknown-outcome writes avoids this; shown for the "
        "placement that got furthest)");
  }
  out.failure = std::move(deepest_);
  return out;
}

}  // namespace

SearchOutcome SearchLinearization(const History& history, const LinPlan& plan,
                                  const LinOptions& options) {
  KEEL_ASSERT(plan.feasible);
  Search search(history, plan, options);
  return search.Run();
}

}  // namespace keel::check
