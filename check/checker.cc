// CheckHistory; see checker.h.
#include "check/checker.h"

#include "runtime/strings.h"
#include "check/durability_checker.h"
#include "check/history_json.h"
#include "check/watch_checker.h"

namespace keel::check {
namespace {

void Append(std::vector<Violation>* into, std::vector<Violation> from) {
  for (Violation& v : from) into->push_back(std::move(v));
}

}  // namespace

absl::StatusOr<CheckReport> CheckHistory(const History& history, const CheckOptions& options) {
  absl::Status valid = ValidateHistory(history);
  if (!valid.ok()) return valid;
  CheckReport report;
  for (const Operation& op : history.ops) {
    ++report.operations;
    if (op.type() == OpType::kWatch) ++report.watches;
    if (op.outcome == Outcome::kUnknown) ++report.unknown_outcomes;
  }
  const CommittedHistory* committed = nullptr;
  if (options.run_linearizability) {
    LinOptions lin = options.linearizability;
    lin.max_violations = options.max_violations;
    report.linearizability = CheckLinearizability(history, lin);
    Append(&report.violations, report.linearizability.violations);
    if (report.linearizability.committed) committed = &*report.linearizability.committed;
    if (report.linearizability.verdict == Verdict::kInconclusive) {
      report.inconclusive = true;
      report.notes.push_back(report.linearizability.note);
    }
    if (!committed) {
      report.notes.push_back(
          "no linearization: watch reliability/resumability and lease expiry through keys "
          "were not checked");
    }
  }
  if (options.run_watch) {
    const CommittedHistory* judge = committed;
    if (report.linearizability.watch_inconclusive) {
      judge = nullptr;
      report.inconclusive = true;
      report.notes.push_back(StrCat(
          "the search with watch events as evidence gave up (raise --max-search-steps): "
          "watch reliability, resumability and prev_kv were not checked"));
    }
    std::vector<Violation> watch = CheckWatches(history, judge, options.max_violations);
    if (watch.empty() && report.linearizability.watch_conflict) {
      // No single stream is wrong against the chosen linearization, but no
      // linearization agrees with all of them: report the evidence.
      Violation v = *report.linearizability.watch_conflict;
      v.checker = "watch";
      v.property = "reliable";
      v.explanation = StrCat("no linearization of the KV history agrees with every watch "
                             "stream; with watch events as evidence: ", v.explanation);
      watch.push_back(std::move(v));
    }
    Append(&report.violations, std::move(watch));
  }
  if (options.run_lease) {
    LeaseOptions lease = options.lease;
    lease.max_violations = options.max_violations;
    Append(&report.violations, CheckLeases(history, committed, lease));
  }
  if (options.run_durability) {
    DurabilityResult d = CheckDurability(history, options.max_violations);
    Append(&report.violations, std::move(d.violations));
    for (std::string& n : d.notes) report.notes.push_back(std::move(n));
  }
  if (!report.violations.empty()) report.inconclusive = false;
  return report;
}

std::string FormatReport(const CheckReport& report) {
  std::string out;
  const LinResult& lin = report.linearizability;
  StrAppend(&out, "operations: ", report.operations, " (", report.watches, " watches, ",
            report.unknown_outcomes, " of unknown outcome)\n");
  StrAppend(&out, "linearizability search: ", lin.gaps, " unacknowledged revisions, ",
            lin.unknown_writes, " unknown-outcome writes, ", lin.search_steps, " steps\n");
  for (const std::string& note : report.notes) StrAppend(&out, "note: ", note, "\n");
  for (const Violation& v : report.violations) StrAppend(&out, FormatViolation(v), "\n");
  if (report.ok()) {
    out.append("RESULT: PASS\n");
  } else if (!report.violations.empty()) {
    StrAppend(&out, "RESULT: FAIL (", report.violations.size(), " violations)\n");
  } else {
    out.append("RESULT: INCONCLUSIVE\n");
  }
  return out;
}

}  // namespace keel::check
