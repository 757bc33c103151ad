// Status: an observer's copy of a member's raft state.
#include "raft/status.h"

#include "raft/raft.h"
#include "runtime/strings.h"

namespace keel::raft {

Status GetStatus(const Raft& raft) {
  Status status;
  status.id = raft.id();
  status.hard_state = raft.GetHardState();
  status.soft_state = raft.GetSoftState();
  status.applied = raft.log().applied();
  status.lead_transferee = raft.lead_transferee();
  status.config = raft.tracker().config;
  if (raft.state() == StateType::kLeader) {
    status.progress = raft.tracker().progress;
  }
  return status;
}

std::string Status::String() const {
  std::string out = StrCat(
      "{\"id\":\"", absl::Hex(id), "\",\"term\":", hard_state.term(),
      ",\"vote\":\"", absl::Hex(hard_state.vote()),
      "\",\"commit\":", hard_state.commit(), ",\"lead\":\"",
      absl::Hex(soft_state.lead), "\",\"raftState\":\"",
      StateTypeName(soft_state.state), "\",\"applied\":", applied,
      ",\"progress\":{");
  bool first = true;
  for (const auto& [id, pr] : progress) {
    if (!first) out += ',';
    first = false;
    StrAppend(&out, "\"", absl::Hex(id), "\":{\"match\":", pr.match,
              ",\"next\":", pr.next, ",\"state\":\"",
              ProgressStateName(pr.state), "\"}");
  }
  StrAppend(&out, "},\"leadtransferee\":\"", absl::Hex(lead_transferee), "\"}");
  return out;
}

}  // namespace keel::raft
