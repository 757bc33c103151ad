// The wrong rules of raft's deliberate bugs (failpoints.h); empty in the
// release build.
#include "raft/failpoints.h"

#if KEEL_FAILPOINTS

#include <algorithm>

#include "raft/raft_log.h"

namespace keel::raft::failpoints {

bool VotesRegardless(const Bugs& bugs, MessageType type) {
  return bugs.double_vote && type == raftpb::MsgVote;
}

bool CommitByCounting(RaftLog& log, uint64_t quorum_index) {
  const uint64_t index = std::min(quorum_index, log.LastIndex());
  if (index <= log.committed()) return false;
  log.CommitTo(index);
  return true;
}

bool AnswersReadIndexUnconfirmed(const Bugs& bugs) { return bugs.stale_read_index; }

}  // namespace keel::raft::failpoints

#endif  // KEEL_FAILPOINTS
