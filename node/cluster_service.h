// ClusterService: etcd's Cluster service on gRPC: MemberList, and the
// runtime membership changes MemberAdd, MemberRemove, MemberUpdate and
// MemberPromote (node/member_admin.h decides and proposes them).
//
// MemberPromote needs the leader's view of the learner: a follower asked
// for it forwards the call to the leader's client URL (etcd forwards over
// its peer port), marked kForwardedMetadata so the leader does not forward
// again, and retries a leader that lost its leadership meanwhile until the
// request timeout.
#ifndef KEEL_NODE_CLUSTER_SERVICE_H_
#define KEEL_NODE_CLUSTER_SERVICE_H_

#include "net/grpc_server.h"
#include "node/member_admin.h"
#include "node/member_store.h"
#include "node/raft_node.h"
#include "node/response_header.h"
#include "runtime/env.h"

namespace keel::node {

struct ClusterServiceParts {
  Env& env;
  const MemberStore& members;
  const ResponseHeaders& headers;
  MemberAdmin& admin;
  const RaftNode& raft;
  Duration request_timeout;
};

class ClusterService {
 public:
  // References must outlive the service, and it every call it serves.
  explicit ClusterService(ClusterServiceParts parts) : parts_(parts) {}

  // The members as this member has applied them.
  etcdserverpb::MemberListResponse MemberList() const;
  Task<absl::StatusOr<etcdserverpb::MemberAddResponse>> MemberAdd(
      etcdserverpb::MemberAddRequest request);
  Task<absl::StatusOr<etcdserverpb::MemberRemoveResponse>> MemberRemove(
      etcdserverpb::MemberRemoveRequest request);
  Task<absl::StatusOr<etcdserverpb::MemberUpdateResponse>> MemberUpdate(
      etcdserverpb::MemberUpdateRequest request);
  // `forwarded`: a follower sent it here; kNotLeader rather than forward.
  Task<absl::StatusOr<etcdserverpb::MemberPromoteResponse>> MemberPromote(
      etcdserverpb::MemberPromoteRequest request, bool forwarded);

  void Register(net::GrpcServer& grpc);

 private:
  // etcd's Cluster service fills cluster ID, member ID and raft term only.
  etcdserverpb::ResponseHeader Header() const;
  // One try of a promotion through the leader's client URL.
  Task<absl::StatusOr<etcdserverpb::MemberPromoteResponse>> ForwardPromote(
      uint64_t leader, const etcdserverpb::MemberPromoteRequest& request, TimePoint deadline);

  ClusterServiceParts parts_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_CLUSTER_SERVICE_H_
