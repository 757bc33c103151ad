// Shrinking a failing plan (sim/plan.h) to a smallest plan that still
// fails, RapidCheck style: try smaller plans (a shorter run, fewer fault
// steps, fewer clients, fewer operation slots), keep each change after
// which the run still fails, and stop when no change helps or the attempts
// run out. keel-sim --shrink drives it.
#ifndef KEEL_SIM_SHRINK_H_
#define KEEL_SIM_SHRINK_H_

#include <functional>
#include <string>

#include "sim/plan.h"
#include "sim/scenario.h"

namespace keel::sim {

struct ShrinkOptions {
  // Runs tried at most (the failing run given does not count).
  int max_attempts = 200;
  // Count a run as failing only with the original failure's kind
  // (FailureKind); otherwise any failure counts, and plans tend to shrink
  // to a trivial failure ("no client request ever succeeded").
  bool same_failure = true;
  // Told one line for each change kept.
  std::function<void(const std::string&)> on_progress;
};

struct ShrinkResult {
  Plan original;
  Plan smallest;
  ScenarioResult result;  // the smallest plan's failing run
  int attempts = 0;
  int kept = 0;
};

// What kind of failure a message reports: the first violation tag
// ("linearizability/stale-read"), else "liveness", "nondeterministic" or
// the message's first line.
std::string FailureKind(const std::string& failure);

// `failing` failed with `result` (its plan, if set, is used: slots cut to
// those that ran); `run` runs a plan and returns its result.
ShrinkResult ShrinkPlan(const Plan& failing, const ScenarioResult& result,
                        const std::function<ScenarioResult(const Plan&)>& run,
                        const ShrinkOptions& options);

}  // namespace keel::sim

#endif  // KEEL_SIM_SHRINK_H_
