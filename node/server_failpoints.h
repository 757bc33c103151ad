// Server failpoints: deliberate defects only keel-sim turns on
// (failpoints::ServerBugs), to show that the simulator's checkers catch a
// server breaking its promises. Compiled only into the failpoint build.
//
// ack_before_sync: the leader answers its own put, delete or txn as soon as
// the entry is in its log, unpersisted and uncommitted. The answer is the
// result the entry would have if applied next: previewed on the key space
// once every earlier entry is applied (so it is right whenever the entry
// does commit). If the leader crashes, or is cut off and replaced, before
// the entry reaches a quorum, the acknowledged write is lost: the
// durability and linearizability checkers must say so.
#ifndef KEEL_NODE_SERVER_FAILPOINTS_H_
#define KEEL_NODE_SERVER_FAILPOINTS_H_

#if KEEL_FAILPOINTS

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "node/apply_loop.h"
#include "node/key_space.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "node/response_header.h"
#include "node/server_config.h"

namespace keel::node::failpoints {

class ServerFailpoints final : public RaftNodeObserver, public ApplyObserver {
 public:
  // Null unless `bugs` turns on a defect that needs hooks; otherwise
  // registers itself as the raft node's and apply loop's observer.
  static std::unique_ptr<ServerFailpoints> Install(const ServerBugs& bugs, RaftNode& raft,
                                                   ApplyLoop& apply_loop, KeySpace& key_space,
                                                   Proposer& proposer,
                                                   const ResponseHeaders& headers);

  void OnProposed(uint64_t id, const std::string& data, const raft::Raft& raft) override;
  void OnStepped(const raft::Raft& raft) override { AckEarly(); }
  void OnApplied(const raft::Entry& entry) override { AckEarly(); }

 private:
  struct EarlyAck {
    uint64_t id = 0;
    uint64_t term = 0;
    internal::InternalRaftRequest request;
  };

  ServerFailpoints(RaftNode& raft, KeySpace& key_space, Proposer& proposer,
                   const ResponseHeaders& headers)
      : raft_(raft), key_space_(key_space), proposer_(proposer), headers_(headers) {}
  // Answers the noted proposal that follows the applied index, if any, with
  // a previewed result (before its entry is persisted or committed).
  void AckEarly();
  ApplyResult PreviewWrite(const internal::InternalRaftRequest& request);

  RaftNode& raft_;
  KeySpace& key_space_;
  Proposer& proposer_;
  const ResponseHeaders& headers_;
  // This leader's own writes it appended in `term`, by log index, not yet
  // answered.
  std::map<uint64_t, EarlyAck> early_acks_;
};

}  // namespace keel::node::failpoints

#endif  // KEEL_FAILPOINTS
#endif  // KEEL_NODE_SERVER_FAILPOINTS_H_
