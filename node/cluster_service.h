// ClusterService: etcd's Cluster service on gRPC. MemberList today; member
// add, remove, update and promote come with runtime membership.
#ifndef KEEL_NODE_CLUSTER_SERVICE_H_
#define KEEL_NODE_CLUSTER_SERVICE_H_

#include "net/grpc_server.h"
#include "node/member_store.h"
#include "node/response_header.h"

namespace keel::node {

class ClusterService {
 public:
  // References must outlive the service, and it every call it serves.
  ClusterService(const MemberStore& members, const ResponseHeaders& headers)
      : members_(members), headers_(headers) {}

  // The members as this member has applied them.
  etcdserverpb::MemberListResponse MemberList() const;

  void Register(net::GrpcServer& grpc);

 private:
  const MemberStore& members_;
  const ResponseHeaders& headers_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_CLUSTER_SERVICE_H_
