// Config: everything a RawNode needs to start, built with designated
// initialisers:
//
//   raft::Config config{.id = 1, .storage = storage, .random = random,
//                       .election_ticks = 10, .heartbeat_ticks = 1,
//                       .pre_vote = true, .check_quorum = true};
#ifndef KEEL_RAFT_CONFIG_H_
#define KEEL_RAFT_CONFIG_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "raft/failpoints.h"
#include "raft/storage.h"
#include "raft/types.h"
#include "runtime/failpoints.h"
#include "runtime/log.h"
#include "runtime/random.h"

namespace keel::raft {

// Config (and Raft) hold `bugs` only in the failpoint build.
KEEL_FAILPOINT_BUILD_TAG();

struct Config {
  // This member's id; never kNone.
  uint64_t id = kNone;
  // Where raft reads its persisted log; must outlive the RawNode.
  Storage& storage;
  // The source of election jitter; must outlive the RawNode.
  Random& random;

  // Ticks without hearing from a leader before a follower campaigns; the
  // actual timeout is drawn from [election_ticks, 2 * election_ticks).
  // Must exceed heartbeat_ticks.
  int election_ticks = 10;
  // Ticks between a leader's heartbeats.
  int heartbeat_ticks = 1;

  // The last index the application applied before a restart; raft will not
  // hand out entries at or below it again. 0 means the snapshot's index.
  uint64_t applied = 0;

  // Largest encoded size of the entries in one MsgApp (at least one entry
  // is always sent). 0 means one entry per message.
  uint64_t max_size_per_msg = 1024 * 1024;
  // Appends in flight to one follower in Replicate state.
  size_t max_inflight_msgs = 256;
  // Payload bytes (entry data) in flight to one follower in Replicate
  // state; 0 means no limit. etcd's semantics: the leader stops sending
  // once the bytes in flight reach the limit, and sends the next append
  // whenever they are below it, whatever its size. So the bytes in flight
  // may exceed the limit by less than one append (at most
  // max_size_per_msg, or one entry if that is larger), and an append
  // larger than the whole budget still goes out when nothing else is in
  // flight: a follower is slowed, never stalled.
  uint64_t max_inflight_bytes = 0;
  // Bytes of committed entries one Ready may carry; 0 means
  // max_size_per_msg.
  uint64_t max_committed_size_per_ready = 0;
  // Payload bytes a leader accepts in proposals that are not yet committed;
  // further proposals are dropped. 0 means no limit.
  uint64_t max_uncommitted_entries_size = 0;

  // Campaign only after a pre-vote round shows a quorum would vote for us,
  // so a partitioned member cannot disrupt the group by raising its term.
  bool pre_vote = false;
  // A leader that has not heard from a quorum within an election timeout
  // steps down, and members ignore vote requests while they hear from a
  // leader (the leader lease).
  bool check_quorum = false;
  // How ReadIndex confirms leadership. kLeaseBased requires check_quorum.
  ReadOnlyOption read_only = ReadOnlyOption::kSafe;
  // Followers drop proposals instead of forwarding them to the leader.
  bool disable_proposal_forwarding = false;

  // Where raft explains itself; may be null.
  Logger* logger = nullptr;

#if KEEL_FAILPOINTS
  // Deliberate protocol bugs (raft/failpoints.h); keel-sim and the bug
  // tests only.
  failpoints::Bugs bugs;
#endif

  // InvalidArgument naming the first bad field.
  absl::Status Validate() const;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_CONFIG_H_
