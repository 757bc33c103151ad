// ReadOnly: the leader's queue of ReadIndex requests waiting for a quorum
// of heartbeat acknowledgements (ReadOnlySafe).
//
// A request records the commit index at the moment it arrived; the leader
// then broadcasts a heartbeat carrying the request's context. Once a quorum
// echoes that context back, the leader was still the leader when the
// request arrived, so reading at the recorded index is linearizable. An
// acknowledgement also confirms every request queued before it.
#ifndef KEEL_RAFT_READ_ONLY_H_
#define KEEL_RAFT_READ_ONLY_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "raft/quorum.h"
#include "raft/types.h"

namespace keel::raft {

struct ReadIndexStatus {
  // The MsgReadIndex: entries[0].data is the request context; from is the
  // member that asked (kNone or the leader itself for local requests).
  Message request;
  uint64_t index = 0;
  // Heartbeat acknowledgements, as votes.
  VoteMap acks;
};

class ReadOnly {
 public:
  explicit ReadOnly(ReadOnlyOption option) : option_(option) {}

  // Queues a request for the read index `index`. A context already queued
  // is ignored.
  void AddRequest(uint64_t index, Message request);

  // Records that `id` acknowledged the heartbeat carrying `context`; returns
  // the acknowledgements so far, or nullptr if no such request is pending.
  const VoteMap* RecvAck(uint64_t id, std::string_view context);

  // Dequeues the request with `context` and all queued before it, in queue
  // order. Empty if no request has that context.
  std::vector<ReadIndexStatus> Advance(std::string_view context);

  // The context of the newest pending request, or "" if none.
  std::string LastPendingRequestContext() const;

  size_t pending_count() const { return queue_.size(); }
  ReadOnlyOption option() const { return option_; }

 private:
  ReadOnlyOption option_;
  absl::btree_map<std::string, ReadIndexStatus> pending_;
  std::deque<std::string> queue_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_READ_ONLY_H_
