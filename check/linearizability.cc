// CheckLinearizability: plan, search, and the second opinion without watch
// evidence; see linearizability.h.
//
// Watch events are strong evidence of which write created a revision, so
// the first search uses them (a gap must produce exactly the events every
// watch covering it reported). If that fails, the KV history alone may still
// be linearizable and the fault lie with the watches: the search runs again
// without watch evidence. Success then means "KV fine, watches wrong" (the
// watch checker, given that linearization, says where) if the first search
// failed, and "watches undecided" if it gave up: a linearization chosen
// without them need not be the one the watches saw.
#include "check/linearizability.h"

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::check {
namespace {

bool HasWatches(const History& history) {
  for (const Operation& op : history.ops) {
    if (op.type() == OpType::kWatch) return true;
  }
  return false;
}

struct Attempt {
  LinPlan plan;
  SearchOutcome outcome;
};

Attempt Attempt1(const History& history, const LinOptions& options) {
  Attempt a;
  a.plan = BuildLinPlan(history, options);
  if (a.plan.feasible) {
    a.outcome = SearchLinearization(history, a.plan, options);
  } else {
    a.outcome.verdict = Verdict::kViolation;
  }
  return a;
}

}  // namespace

LinResult CheckLinearizability(const History& history, const LinOptions& options) {
  LinResult result;
  Attempt a = Attempt1(history, options);
  if (a.outcome.verdict != Verdict::kOk && options.use_watch_evidence && a.plan.feasible &&
      HasWatches(history)) {
    LinOptions without = options;
    without.use_watch_evidence = false;
    Attempt b = Attempt1(history, without);
    if (b.outcome.verdict == Verdict::kOk && a.outcome.failure) {
      result.watch_conflict = a.outcome.failure;
    }
    // Gave up with watches, fine without: the watches are undecided.
    result.watch_inconclusive =
        b.outcome.verdict == Verdict::kOk && a.outcome.verdict == Verdict::kInconclusive;
    b.outcome.steps += a.outcome.steps;
    if (b.outcome.verdict == Verdict::kOk || a.outcome.verdict == Verdict::kViolation) {
      a = std::move(b);
    } else {
      a.outcome.steps = b.outcome.steps;
    }
  }
  result.unknown_writes = static_cast<int64_t>(a.plan.unknowns.size());
  for (int32_t w : a.plan.writer) result.gaps += w < 0 ? 1 : 0;
  result.violations = std::move(a.plan.violations);
  result.search_steps = a.outcome.steps;
  result.committed = std::move(a.outcome.committed);
  switch (a.outcome.verdict) {
    case Verdict::kOk:
      result.verdict = result.violations.empty() ? Verdict::kOk : Verdict::kViolation;
      break;
    case Verdict::kViolation:
      result.verdict = Verdict::kViolation;
      if (a.outcome.failure) result.violations.push_back(std::move(*a.outcome.failure));
      KEEL_ASSERT(!result.violations.empty());
      break;
    case Verdict::kInconclusive:
      result.verdict = result.violations.empty() ? Verdict::kInconclusive : Verdict::kViolation;
      result.note = StrCat("the search gave up after ", result.search_steps,
                           " steps placing ", result.unknown_writes,
                           " unknown-outcome writes into ", result.gaps,
                           " unacknowledged revisions (raise --max-search-steps)");
      break;
  }
  return result;
}

}  // namespace keel::check
