// CheckHistory: runs every checker on a history and gathers one report.
//
// Order matters: linearizability first, since its committed history (the
// write of every revision) is what the watch and lease checkers compare
// streams and expiries with; durability needs nothing but the history.
#ifndef KEEL_CHECK_CHECKER_H_
#define KEEL_CHECK_CHECKER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "check/history.h"
#include "check/lease_checker.h"
#include "check/lin_plan.h"
#include "check/linearizability.h"
#include "check/violation.h"

namespace keel::check {

struct CheckOptions {
  LinOptions linearizability;
  LeaseOptions lease;
  bool run_linearizability = true;
  bool run_watch = true;
  bool run_lease = true;
  bool run_durability = true;
  size_t max_violations = 50;  // per checker
};

struct CheckReport {
  LinResult linearizability;
  std::vector<Violation> violations;  // from every checker, in checker order
  std::vector<std::string> notes;
  int64_t operations = 0;
  int64_t watches = 0;
  int64_t unknown_outcomes = 0;
  bool inconclusive = false;  // the search gave up (and nothing else failed)

  bool ok() const { return violations.empty() && !inconclusive; }
};

// InvalidArgument if the history fails ValidateHistory; otherwise the report.
absl::StatusOr<CheckReport> CheckHistory(const History& history,
                                         const CheckOptions& options = {});

// The report for humans, one violation per paragraph, ending in
// "RESULT: PASS" / "RESULT: FAIL (n violations)" / "RESULT: INCONCLUSIVE".
std::string FormatReport(const CheckReport& report);

}  // namespace keel::check

#endif  // KEEL_CHECK_CHECKER_H_
