// Config::Validate.
#include "raft/config.h"

namespace keel::raft {

KEEL_FAILPOINT_BUILD_TAG_DEFINITION();

absl::Status Config::Validate() const {
  if (id == kNone) return absl::InvalidArgumentError("cannot use none as id");
  if (heartbeat_ticks <= 0) {
    return absl::InvalidArgumentError("heartbeat tick must be greater than 0");
  }
  if (election_ticks <= heartbeat_ticks) {
    return absl::InvalidArgumentError(
        "election tick must be greater than heartbeat tick");
  }
  if (max_inflight_msgs == 0) {
    return absl::InvalidArgumentError(
        "max inflight messages must be greater than 0");
  }
  if (read_only == ReadOnlyOption::kLeaseBased && !check_quorum) {
    return absl::InvalidArgumentError(
        "CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased");
  }
  return absl::OkStatus();
}

}  // namespace keel::raft
