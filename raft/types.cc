// Predicates and helpers over raft's vocabulary types.
#include "raft/types.h"

#include "runtime/assert.h"

namespace keel::raft {

std::string_view StateTypeName(StateType state) {
  switch (state) {
    case StateType::kFollower:
      return "StateFollower";
    case StateType::kCandidate:
      return "StateCandidate";
    case StateType::kLeader:
      return "StateLeader";
    case StateType::kPreCandidate:
      return "StatePreCandidate";
  }
  KEEL_UNREACHABLE();
}

bool IsLocalMessage(MessageType type) {
  return type == raftpb::MsgHup || type == raftpb::MsgBeat ||
         type == raftpb::MsgUnreachable || type == raftpb::MsgSnapStatus ||
         type == raftpb::MsgCheckQuorum;
}

bool IsResponseMessage(MessageType type) {
  return type == raftpb::MsgAppResp || type == raftpb::MsgVoteResp ||
         type == raftpb::MsgHeartbeatResp || type == raftpb::MsgUnreachable ||
         type == raftpb::MsgPreVoteResp;
}

MessageType VoteResponseType(MessageType type) {
  if (type == raftpb::MsgVote) return raftpb::MsgVoteResp;
  KEEL_ASSERT_MSG(type == raftpb::MsgPreVote, "not a vote message");
  return raftpb::MsgPreVoteResp;
}

bool HardStatesEqual(const HardState& a, const HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() &&
         a.commit() == b.commit();
}

bool IsEmptyHardState(const HardState& state) {
  return HardStatesEqual(state, HardState());
}

bool IsEmptySnapshot(const raftpb::Snapshot& snapshot) {
  return snapshot.metadata().index() == 0;
}

uint64_t PayloadSize(const Entry& entry) { return entry.data().size(); }

uint64_t PayloadSize(const std::vector<Entry>& entries) {
  uint64_t total = 0;
  for (const Entry& entry : entries) total += PayloadSize(entry);
  return total;
}

uint64_t EntrySize(const Entry& entry) { return entry.ByteSizeLong(); }

void LimitSize(std::vector<Entry>* entries, uint64_t max_size) {
  if (entries->empty()) return;
  uint64_t size = EntrySize((*entries)[0]);
  size_t limit = 1;
  for (; limit < entries->size(); limit++) {
    size += EntrySize((*entries)[limit]);
    if (size > max_size) break;
  }
  entries->resize(limit);
  KEEL_ASSERT(!entries->empty());
}

}  // namespace keel::raft
