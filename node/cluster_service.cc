// ClusterService: MemberList.
#include "node/cluster_service.h"

namespace keel::node {

etcdserverpb::MemberListResponse ClusterService::MemberList() const {
  etcdserverpb::MemberListResponse response;
  // etcd's Cluster service fills cluster ID, member ID and raft term only:
  // its headers carry no revision.
  *response.mutable_header() = headers_.Make();
  response.mutable_header()->clear_revision();
  for (const auto& [id, member] : members_.members()) {
    etcdserverpb::Member* out = response.add_members();
    out->set_id(member.id);
    out->set_name(member.name);
    for (const auto& url : member.peer_urls) out->add_peerurls(url);
    for (const auto& url : member.client_urls) out->add_clienturls(url);
    out->set_islearner(member.is_learner);
  }
  return response;
}

void ClusterService::Register(net::GrpcServer& grpc) {
  using namespace etcdserverpb;
  grpc.AddUnary<MemberListRequest, MemberListResponse>(
      "/etcdserverpb.Cluster/MemberList",
      [this](net::CallContext&, MemberListRequest) -> Task<absl::StatusOr<MemberListResponse>> {
        co_return MemberList();
      });
}

}  // namespace keel::node
