// ClusterService: the Cluster RPCs, and forwarding MemberPromote to the
// leader.
#include "node/cluster_service.h"

#include <utility>

#include "net/grpc_client.h"
#include "node/errors.h"
#include "node/lease_service.h"
#include "node/server_config.h"

namespace keel::node {
namespace {

constexpr std::string_view kPromotePath = "/etcdserverpb.Cluster/MemberPromote";

template <typename Members>
void AddMembers(const std::vector<Member>& members, Members* out) {
  for (const Member& member : members) {
    etcdserverpb::Member* m = out->Add();
    m->set_id(member.id);
    m->set_name(member.name);
    for (const auto& url : member.peer_urls) m->add_peerurls(url);
    for (const auto& url : member.client_urls) m->add_clienturls(url);
    m->set_islearner(member.is_learner);
  }
}

// A forwarded promotion's failures that trying again cannot mend (etcd's
// PromoteMember returns early on these).
bool Final(const absl::Status& status) {
  return IsError(status, EtcdError::kLearnerNotReady) ||
         IsError(status, EtcdError::kMemberNotFound) ||
         IsError(status, EtcdError::kMemberNotLearner) ||
         IsError(status, EtcdError::kMemberNotEnoughStarted);
}

}  // namespace

etcdserverpb::ResponseHeader ClusterService::Header() const {
  etcdserverpb::ResponseHeader header = parts_.headers.Make();
  header.clear_revision();
  return header;
}

etcdserverpb::MemberListResponse ClusterService::MemberList() const {
  etcdserverpb::MemberListResponse response;
  *response.mutable_header() = Header();
  std::vector<Member> members;
  for (const auto& [id, member] : parts_.members.members()) members.push_back(member);
  AddMembers(members, response.mutable_members());
  return response;
}

Task<absl::StatusOr<etcdserverpb::MemberAddResponse>> ClusterService::MemberAdd(
    etcdserverpb::MemberAddRequest request) {
  std::vector<std::string> urls(request.peerurls().begin(), request.peerurls().end());
  auto result = co_await parts_.admin.Add(std::move(urls), request.islearner());
  if (!result.ok()) co_return result.status();
  etcdserverpb::MemberAddResponse response;
  *response.mutable_header() = Header();
  etcdserverpb::Member* added = response.mutable_member();
  added->set_id(result->member.id);
  for (const auto& url : result->member.peer_urls) added->add_peerurls(url);
  added->set_islearner(result->member.is_learner);
  AddMembers(result->members, response.mutable_members());
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::MemberRemoveResponse>> ClusterService::MemberRemove(
    etcdserverpb::MemberRemoveRequest request) {
  auto result = co_await parts_.admin.Remove(request.id());
  if (!result.ok()) co_return result.status();
  etcdserverpb::MemberRemoveResponse response;
  *response.mutable_header() = Header();
  AddMembers(result->members, response.mutable_members());
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::MemberUpdateResponse>> ClusterService::MemberUpdate(
    etcdserverpb::MemberUpdateRequest request) {
  std::vector<std::string> urls(request.peerurls().begin(), request.peerurls().end());
  auto result = co_await parts_.admin.Update(request.id(), std::move(urls));
  if (!result.ok()) co_return result.status();
  etcdserverpb::MemberUpdateResponse response;
  *response.mutable_header() = Header();
  AddMembers(result->members, response.mutable_members());
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::MemberPromoteResponse>> ClusterService::MemberPromote(
    etcdserverpb::MemberPromoteRequest request, bool forwarded) {
  Clock& clock = parts_.env.clock();
  const TimePoint deadline = clock.Now() + parts_.request_timeout;
  while (true) {
    auto result = co_await parts_.admin.Promote(request.id());
    if (result.ok()) {
      etcdserverpb::MemberPromoteResponse response;
      *response.mutable_header() = Header();
      AddMembers(result->members, response.mutable_members());
      co_return response;
    }
    if (!IsError(result.status(), EtcdError::kNotLeader) || forwarded) {
      co_return result.status();
    }
    const uint64_t leader = parts_.raft.leader();
    if (leader != 0 && leader != parts_.raft.id()) {
      auto response = co_await ForwardPromote(leader, request, deadline);
      if (response.ok()) {
        *response->mutable_header() = Header();
        co_return response;
      }
      if (Final(response.status())) co_return response.status();
    }
    if (clock.Now() >= deadline) co_return MakeError(EtcdError::kTimeout);
    co_await clock.Sleep(std::min<Duration>(kLeaseForwardRetry, deadline - clock.Now()));
  }
}

Task<absl::StatusOr<etcdserverpb::MemberPromoteResponse>> ClusterService::ForwardPromote(
    uint64_t leader, const etcdserverpb::MemberPromoteRequest& request, TimePoint deadline) {
  absl::StatusOr<std::string> leader_address = LeaderClientAddress(parts_.members, leader);
  if (!leader_address.ok()) co_return leader_address.status();
  const std::string& address = *leader_address;
  Clock& clock = parts_.env.clock();
  const Duration left = std::max<Duration>(deadline - clock.Now(), Duration::zero());
  std::optional<absl::StatusOr<std::unique_ptr<net::GrpcChannel>>> dialed =
      co_await clock.WithTimeout(left, net::DialGrpc(parts_.env.net(), clock, address,
                                                     net::ChannelOptions()));
  if (!dialed.has_value()) co_return MakeError(EtcdError::kTimeout);
  if (!dialed->ok()) co_return dialed->status();
  net::CallOptions options;
  options.timeout = std::max<Duration>(deadline - clock.Now(), Duration::zero());
  options.metadata.emplace_back(std::string(kForwardedMetadata), "true");
  co_return co_await (**dialed)->Call<etcdserverpb::MemberPromoteResponse>(
      std::string(kPromotePath), request, std::move(options));
}

void ClusterService::Register(net::GrpcServer& grpc) {
  using namespace etcdserverpb;
  grpc.AddUnary<MemberListRequest, MemberListResponse>(
      "/etcdserverpb.Cluster/MemberList",
      [this](net::CallContext&, MemberListRequest) -> Task<absl::StatusOr<MemberListResponse>> {
        co_return MemberList();
      });
  grpc.AddUnary<MemberAddRequest, MemberAddResponse>(
      "/etcdserverpb.Cluster/MemberAdd",
      [this](net::CallContext&, MemberAddRequest request) {
        return MemberAdd(std::move(request));
      });
  grpc.AddUnary<MemberRemoveRequest, MemberRemoveResponse>(
      "/etcdserverpb.Cluster/MemberRemove",
      [this](net::CallContext&, MemberRemoveRequest request) {
        return MemberRemove(std::move(request));
      });
  grpc.AddUnary<MemberUpdateRequest, MemberUpdateResponse>(
      "/etcdserverpb.Cluster/MemberUpdate",
      [this](net::CallContext&, MemberUpdateRequest request) {
        return MemberUpdate(std::move(request));
      });
  grpc.AddUnary<MemberPromoteRequest, MemberPromoteResponse>(
      std::string(kPromotePath),
      [this](net::CallContext& context, MemberPromoteRequest request) {
        const bool forwarded = context.Get(kForwardedMetadata).has_value();
        return MemberPromote(std::move(request), forwarded);
      });
}

}  // namespace keel::node
