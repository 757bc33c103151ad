// AutoCompaction: parsing etcd's two auto-compaction flags.
#include "node/auto_compaction.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "runtime/strings.h"

namespace keel::node {

absl::StatusOr<AutoCompaction> ParseAutoCompaction(std::string_view mode,
                                                   std::string_view retention) {
  AutoCompaction out;
  if (mode == "periodic" || mode.empty()) {
    out.mode = AutoCompaction::Mode::kPeriodic;
  } else if (mode == "revision") {
    out.mode = AutoCompaction::Mode::kRevision;
  } else {
    return absl::InvalidArgumentError(
        StrCat("unknown auto-compaction-mode \"", mode, "\""));
  }
  if (retention.empty()) return out;
  int64_t count = 0;
  int64_t nanos = 0;
  if (absl::SimpleAtoi(absl::string_view(retention.data(), retention.size()), &count) &&
      count >= 0) {
    if (out.mode == AutoCompaction::Mode::kRevision) {
      out.revisions = count;
      return out;
    }
    out.period = Seconds(3600) * count;
    return out;
  }
  absl::Duration parsed;
  if (!absl::ParseDuration(std::string(retention), &parsed) || parsed < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(StrCat(
        "error parsing CompactionRetention: time: invalid duration \"", retention, "\""));
  }
  nanos = absl::ToInt64Nanoseconds(parsed);
  if (out.mode == AutoCompaction::Mode::kRevision) {
    out.revisions = nanos;
  } else {
    out.period = Nanoseconds(nanos);
  }
  return out;
}

}  // namespace keel::node
