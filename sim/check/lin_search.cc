// The linearizability search over a LinPlan; see linearizability.h.
//
// State: the model store at the current revision, the set of unknown writes
// used so far, and a stack of choice points (one per gap revision being
// filled). Acknowledged slots and checks are deterministic; only gaps
// branch. A choice point whose every candidate failed is remembered by
// (revision, store hash, used-set hash), so the same dead end is never
// explored twice.
#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "sim/check/kv_eval.h"
#include "sim/check/linearizability.h"

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
    for (const WatchView& v : plan.watches) {
      auto& by_rev = watch_events_.emplace_back();
      for (const auto& rec : v.events) by_rev[rec.event->kv.mod_revision].push_back(rec.event);
    }
  }

  SearchOutcome Run();

 private:
  struct Candidate {
    enum class Kind { kRevoke, kUnknown, kExpiry } kind;
    int32_t index;  // op index (revoke) or unknowns index
    int64_t lease;
  };
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
  std::vector<Candidate> Candidates(int64_t revision, std::vector<Pruned>* pruned) const;
  bool Fill(Frame& frame, const Candidate& c);
  bool EventsFit(int64_t revision, const std::vector<Event>& events, int32_t* blocker) const;
  // The watch covering `revision` whose events differ from `events`, or -1.
  int32_t WatchDisagreeing(int64_t revision, const std::vector<Event>& events) const;
  bool TryNext(Frame& frame);
  bool Backtrack(int64_t* revision);
  void Unuse(Frame& frame);
  void Fail(int64_t revision, Violation v);
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
  int64_t steps_ = 0;
  bool out_of_steps_ = false;
  std::optional<Violation> deepest_;
  int64_t deepest_revision_ = std::numeric_limits<int64_t>::min();
};

void Search::Fail(int64_t revision, Violation v) {
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
  Fail(revision, LinViolation("response", InvolvedOps(op),
                              StrCat(DescribeOp(op), " observed the store at revision ",
                                     revision, " but its response differs from the model: ",
                                     *diff),
                              DescribeModelState(op.request, state_)));
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
  Fail(revision, LinViolation("response", InvolvedOps(op),
                              StrCat(DescribeOp(op), " at header revision ", revision, ": ",
                                     problem),
                              DescribeModelState(op.request, state_)));
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
  Fail(revision, LinViolation("response", InvolvedOps(op),
                              StrCat(DescribeOp(op), " created revision ", revision, ": ",
                                     problem),
                              DescribeModelState(op.request, state_)));
  return false;
}

std::vector<Search::Candidate> Search::Candidates(int64_t revision,
                                                  std::vector<Pruned>* pruned) const {
  size_t slot = plan_.Slot(revision);
  std::vector<Candidate> out;
  for (int32_t op : plan_.revokes[slot]) {
    int64_t lease = std::get<LeaseRevokeRequest>(h_.ops[op].request).id;
    if (!state_.IsDeadLease(lease) && !state_.KeysOfLease(lease).empty()) {
      out.push_back(Candidate{Candidate::Kind::kRevoke, op, lease});
    }
  }
  auto ev = plan_.evidence.find(revision);
  const GapEvidence* evidence = ev == plan_.evidence.end() ? nullptr : &ev->second;
  bool must_put = evidence && (!evidence->puts.empty() || !evidence->creates.empty());
  std::vector<std::pair<int64_t, Candidate>> scored;
  for (size_t i = 0; i < plan_.unknowns.size() && plan_.unknowns[i].lo <= revision; ++i) {
    if (used_[i]) continue;
    const UnknownWrite& u = plan_.unknowns[i];
    const Operation& op = h_.ops[u.op];
    if (op.invoke_ns > plan_.serial_deadline[slot]) continue;
    if (must_put) {
      if (op.type() == OpType::kLeaseRevoke) continue;
      auto touches = [&](const KeyObservation& o) { return RequestMayTouch(op.request, o.kv.key); };
      if (!std::all_of(evidence->puts.begin(), evidence->puts.end(), touches) ||
          !std::all_of(evidence->creates.begin(), evidence->creates.end(), touches)) {
        continue;
      }
    }
    int64_t deadline = std::numeric_limits<int64_t>::max();
    if (auto k = plan_.keys.find(u.first_key); k != plan_.keys.end()) {
      if (op.type() == OpType::kPut) {
        if (int32_t by = k->second.no_write.Find(revision); by >= 0) {
          pruned->emplace_back(u.op, by);
          continue;
        }
      }
      const auto& at = k->second.observed_at;
      auto next = std::lower_bound(at.begin(), at.end(), revision);
      if (next != at.end()) deadline = *next;
    }
    int64_t lease = op.type() == OpType::kLeaseRevoke
                        ? std::get<LeaseRevokeRequest>(op.request).id : 0;
    scored.emplace_back(deadline, Candidate{Candidate::Kind::kUnknown, static_cast<int32_t>(i), lease});
  }
  // Earliest deadline first: the write whose key is observed soonest is the
  // one most likely to be needed here.
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [deadline, c] : scored) out.push_back(c);
  if (!must_put) {
    for (int64_t lease : state_.LeasesWithKeys()) {
      out.push_back(Candidate{Candidate::Kind::kExpiry, -1, lease});
    }
  }
  return out;
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
    for (const Event& e : events) {
      if (!WatchSees(req, e)) continue;
      if (j >= seen.size() || !SameEvent(e, *seen[j])) {
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

bool Search::Fill(Frame& frame, const Candidate& c) {
  int64_t revision = frame.revision;
  CommittedWrite fill;
  fill.revision = revision;
  fill.lease = c.lease;
  switch (c.kind) {
    case Candidate::Kind::kRevoke:
    case Candidate::Kind::kExpiry:
      fill.source = c.kind == Candidate::Kind::kRevoke ? CommittedWrite::Source::kLeaseRevoke
                                                        : CommittedWrite::Source::kLeaseExpiry;
      fill.op = c.index;
      fill.events = RevokeLease(c.lease, state_);
      break;
    case Candidate::Kind::kUnknown: {
      const UnknownWrite& u = plan_.unknowns[c.index];
      const Operation& op = h_.ops[u.op];
      fill.source = CommittedWrite::Source::kUnknownOutcome;
      fill.op = u.op;
      if (op.type() == OpType::kLeaseRevoke) {
        if (state_.IsDeadLease(c.lease)) return false;
        fill.events = RevokeLease(c.lease, state_);
      } else {
        EvalResult res = Evaluate(op.request, state_, op.id);
        if (!res.error.empty() || PutsOnDeadLease(res.events)) return false;
        fill.events = std::move(res.events);
      }
      used_[c.index] = true;
      used_hash_.a ^= u.tag.a;
      used_hash_.b ^= u.tag.b;
      frame.applied_unknown = c.index;
      break;
    }
  }
  if (fill.events.empty()) return false;
  int32_t blocker = -1;
  if (!EventsFit(revision, fill.events, &blocker)) {
    if (blocker >= 0 && fill.op >= 0) frame.pruned.emplace_back(fill.op, blocker);
    return false;
  }
  KEEL_ASSERT(state_.revision() == revision);
  fills_[plan_.Slot(revision)] = std::move(fill);
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
    if (++steps_ > options_.max_search_steps) {
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
    AddOp(&ops, h_.ops[candidate].id);
    ruled_out = StrCat("; ", DescribeOp(h_.ops[candidate]), " could have, but ",
                       DescribeOp(h_.ops[by]),
                       " observed that key unchanged across revision ", revision);
  }
  Fail(revision, LinViolation(
                     "unexplained-revision", ops,
                     StrCat("no operation can have created revision ", revision,
                            ": nobody acknowledged it and none of the ",
                            frame.candidates.size(),
                            " unknown-outcome writes, revokes or lease expiries possible "
                            "there fits what was observed",
                            seen, ruled_out)));
}

SearchOutcome Search::Run() {
  SearchOutcome out;
  int64_t revision = plan_.initial_revision;
  bool ok = CheckAt(revision);
  ++revision;
  while (ok && revision <= plan_.last_revision) {
    bool step_ok;
    if (!plan_.IsGap(revision)) {
      step_ok = ApplyAcked(revision) && CheckAt(revision);
    } else {
      StateHash memo = MemoKey(revision);
      step_ok = false;
      if (!dead_.contains(memo)) {
        Frame frame{revision, state_.Mark(), memo, {}};
        frame.candidates = Candidates(revision, &frame.pruned);
        frames_.push_back(std::move(frame));
        step_ok = TryNext(frames_.back());
        if (!step_ok) {
          if (!out_of_steps_) {
            FailGap(frames_.back());
            dead_.insert(memo);
          }
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
