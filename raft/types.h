// Small vocabulary shared by every part of raft/: the role a member plays,
// its volatile state, read states, and predicates over the protobuf types.
//
// raft/ is a pure state machine in the style of etcd's raft library: it
// never performs I/O, never reads a clock and never blocks. Everything here
// is plain data.
#ifndef KEEL_RAFT_TYPES_H_
#define KEEL_RAFT_TYPES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/raft.pb.h"

namespace keel::raft {

using raftpb::ConfChange;
using raftpb::ConfChangeSingle;
using raftpb::ConfChangeV2;
using raftpb::ConfState;
using raftpb::Entry;
using raftpb::HardState;
using raftpb::Message;
using raftpb::MessageType;

// The id no member has; "no leader", "no vote".
inline constexpr uint64_t kNone = 0;
// A size limit that never binds.
inline constexpr uint64_t kNoLimit = UINT64_MAX;

enum class StateType : uint8_t {
  kFollower,
  kCandidate,
  kLeader,
  kPreCandidate,
};

// etcd's names: "StateFollower", "StateLeader", ...
std::string_view StateTypeName(StateType state);

// Volatile state that the application may want to observe (who leads, and
// which role this member plays). Never persisted.
struct SoftState {
  uint64_t lead = kNone;
  StateType state = StateType::kFollower;

  bool operator==(const SoftState&) const = default;
};

// The answer to a ReadIndex request: once the application has applied up to
// `index`, a read issued together with `request_context` is linearizable.
struct ReadState {
  uint64_t index = 0;
  std::string request_context;

  bool operator==(const ReadState&) const = default;
};

// How ReadIndex confirms leadership.
enum class ReadOnlyOption : uint8_t {
  // A heartbeat round acknowledged by a quorum (etcd's ReadOnlySafe).
  kSafe,
  // The check-quorum lease; faster, but relies on bounded clock drift.
  kLeaseBased,
};

// Messages a member generates for itself; they never cross the network.
bool IsLocalMessage(MessageType type);
// Messages that answer a request of this member.
bool IsResponseMessage(MessageType type);
// MsgVote -> MsgVoteResp, MsgPreVote -> MsgPreVoteResp.
MessageType VoteResponseType(MessageType type);

bool IsEmptyHardState(const HardState& state);
bool HardStatesEqual(const HardState& a, const HardState& b);
// A snapshot is empty when its index is 0.
bool IsEmptySnapshot(const raftpb::Snapshot& snapshot);

// Bytes of application payload; what the uncommitted-size and in-flight
// byte limits count.
uint64_t PayloadSize(const Entry& entry);
uint64_t PayloadSize(const std::vector<Entry>& entries);
// Encoded size; what max_size_per_msg counts.
uint64_t EntrySize(const Entry& entry);

// Keeps the longest prefix of `entries` whose encoded size is at most
// max_size, but always at least one entry.
void LimitSize(std::vector<Entry>* entries, uint64_t max_size);

}  // namespace keel::raft

#endif  // KEEL_RAFT_TYPES_H_
