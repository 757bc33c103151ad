// RaftTransport: how the raft loop reaches the other members.
//
// net/PeerTransport implements it over the peer URLs. Send never suspends
// and never blocks the raft loop; delivery failures come back through the
// callbacks the server installs (unreachable peers, snapshot outcomes).
#ifndef KEEL_NODE_RAFT_TRANSPORT_H_
#define KEEL_NODE_RAFT_TRANSPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "raft/types.h"

namespace keel::node {

class RaftTransport {
 public:
  virtual ~RaftTransport() = default;

  // Queues messages for their destinations; returns at once.
  virtual void Send(std::vector<raft::Message> messages) = 0;

  // Membership changes, applied in log order.
  virtual void AddPeer(uint64_t id, const std::vector<std::string>& peer_urls) = 0;
  virtual void UpdatePeer(uint64_t id,
                          const std::vector<std::string>& peer_urls) = 0;
  virtual void RemovePeer(uint64_t id) = 0;

  // Whether a connection to `id` is up now (for health and status).
  virtual bool IsActive(uint64_t id) const = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_RAFT_TRANSPORT_H_
