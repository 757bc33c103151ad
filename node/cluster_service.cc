// The Cluster service: MemberList. (Add, remove, update and promote come
// with runtime membership.)
#include "node/services.h"

namespace keel::node {

void RegisterClusterService(net::GrpcServer& grpc, Server& server) {
  using namespace etcdserverpb;
  grpc.AddUnary<MemberListRequest, MemberListResponse>(
      "/etcdserverpb.Cluster/MemberList",
      [&server](net::CallContext& ctx, MemberListRequest request)
          -> Task<absl::StatusOr<MemberListResponse>> {
        MemberListResponse response;
        // etcd's Cluster service fills cluster ID, member ID and raft term
        // only: its headers carry no revision.
        *response.mutable_header() = server.Header();
        response.mutable_header()->clear_revision();
        for (const auto& [id, member] : server.members().members()) {
          etcdserverpb::Member* out = response.add_members();
          out->set_id(member.id);
          out->set_name(member.name);
          for (const auto& url : member.peer_urls) out->add_peerurls(url);
          for (const auto& url : member.client_urls) out->add_clienturls(url);
          out->set_islearner(member.is_learner);
        }
        co_return response;
      });
}

}  // namespace keel::node
