// The linearizability checker for etcd KV histories.
//
// etcd orders writes by revision and tells every client the revision it
// created or read, so the checker takes the order from the revisions
// (lin_plan.h) and checks real time on top; it only searches where the
// revisions do not decide: which unknown-outcome write (or lease
// revocation/expiry) created each revision nobody acknowledged. The search
// walks revisions in order, evaluating each write on the model
// (kv_eval.h) and checking every read against the store at the revision it
// observed; at a gap it tries the candidates in turn (Wing & Gong / Lowe
// style depth-first search), prunes with per-key evidence, and memoises
// dead ends by (revision, set of unknown writes used, store hash). A wrong
// choice at one gap may only show many gaps later, and a depth-first search
// would try every combination of the gaps in between before it gets back
// there; so the search runs in rounds of growing step budgets, and after a
// round that ran out it starts again from the first gap with the choice
// that led to that round's deepest failure demoted to last. Demoting only
// reorders: the last round is as exhaustive as a single search, and dead
// ends found in any round stay known.
// Unknown writes left unused simply did not take effect.
//
// On success it returns the committed history (every revision's write and
// its events), which the watch, lease and durability checkers use.
//
// Requirements: the history holds every client write (a write outside it
// leaves a revision nobody can explain). Assumes lease ids are not reused
// after a lease is revoked or expires.
#ifndef KEEL_CHECK_LINEARIZABILITY_H_
#define KEEL_CHECK_LINEARIZABILITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "check/history.h"
#include "check/lin_plan.h"
#include "check/violation.h"

namespace keel::check {

struct CommittedWrite {
  enum class Source { kAcknowledged, kUnknownOutcome, kLeaseRevoke, kLeaseExpiry };
  int64_t revision = 0;
  Source source = Source::kAcknowledged;
  int32_t op = -1;    // index into History::ops; -1 for an expiry
  int64_t lease = 0;  // for a revoke or expiry
  std::vector<Event> events;
};

// The writes of one linearization, one per revision, contiguous from
// initial_revision + 1.
struct CommittedHistory {
  int64_t initial_revision = kFirstRevision;
  std::vector<KeyValue> initial_kvs;
  std::vector<CommittedWrite> writes;

  int64_t last_revision() const {
    return initial_revision + static_cast<int64_t>(writes.size());
  }
  bool Has(int64_t revision) const {
    return revision > initial_revision && revision <= last_revision();
  }
  const CommittedWrite& At(int64_t revision) const {
    return writes[static_cast<size_t>(revision - initial_revision - 1)];
  }
};

enum class Verdict { kOk, kViolation, kInconclusive };

struct LinResult {
  Verdict verdict = Verdict::kOk;
  std::vector<Violation> violations;
  // Set when the search found a linearization (even if static rules such as
  // real time were broken elsewhere).
  std::optional<CommittedHistory> committed;
  // The KV history is linearizable but no linearization agrees with every
  // watch's events (the watch checker will say where); the evidence is the
  // search's failure with watch events taken into account.
  std::optional<Violation> watch_conflict;
  // The KV history is linearizable, but the search with watch events as
  // evidence gave up: `committed` may disagree with watches that another
  // linearization explains, so it must not be used to judge them.
  bool watch_inconclusive = false;
  int64_t gaps = 0;            // revisions nobody acknowledged
  int64_t unknown_writes = 0;  // writes of unknown outcome
  int64_t search_steps = 0;
  std::string note;  // e.g. why the result is inconclusive
};

// Checks the KV operations of `history` (which must pass ValidateHistory).
LinResult CheckLinearizability(const History& history, const LinOptions& options = {});

// --- The search (lin_search.cc), exposed for tests --------------------------

struct SearchOutcome {
  Verdict verdict = Verdict::kOk;
  std::optional<Violation> failure;  // kViolation: the deepest failure
  std::optional<CommittedHistory> committed;  // kOk
  int64_t steps = 0;
};
SearchOutcome SearchLinearization(const History& history, const LinPlan& plan,
                                  const LinOptions& options);

}  // namespace keel::check

#endif  // KEEL_CHECK_LINEARIZABILITY_H_
