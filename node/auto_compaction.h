// AutoCompaction: --auto-compaction-mode and --auto-compaction-retention as
// etcd 3.4 reads them (embed.parseCompactionRetention).
//
// The retention is a plain integer or a Go duration. In periodic mode an
// integer counts hours ("1" is 1h) and a duration is taken as it is
// ("30m"); in revision mode an integer counts revisions ("1000"), and a
// duration, as etcd does, its nanoseconds. A retention of 0 turns automatic
// compaction off (etcd's default).
#ifndef KEEL_NODE_AUTO_COMPACTION_H_
#define KEEL_NODE_AUTO_COMPACTION_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/time.h"

namespace keel::node {

struct AutoCompaction {
  enum class Mode { kPeriodic, kRevision };
  Mode mode = Mode::kPeriodic;
  // Periodic: how much history to keep. Zero: off.
  Duration period = Duration::zero();
  // Revision: how many revisions to keep behind the current one. Zero: off.
  int64_t revisions = 0;

  bool enabled() const { return period > Duration::zero() || revisions > 0; }
};

// etcd's errors: `unknown auto-compaction-mode "x"`, `error parsing
// CompactionRetention: ...`.
absl::StatusOr<AutoCompaction> ParseAutoCompaction(std::string_view mode,
                                                   std::string_view retention);

}  // namespace keel::node

#endif  // KEEL_NODE_AUTO_COMPACTION_H_
