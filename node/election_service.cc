// ElectionService: the five election methods over the member's Contention.
#include "node/election_service.h"

#include "node/lock_service.h"
#include "runtime/status_macros.h"

namespace keel::node {
namespace {

// etcd's v3election ErrMissingLeaderKey.
absl::Status MissingLeaderKey() {
  return absl::UnknownError("\"leader\" field must be provided");
}

}  // namespace

Task<absl::StatusOr<v3electionpb::CampaignResponse>> ElectionService::Campaign(
    net::CallContext& context, v3electionpb::CampaignRequest request) {
  KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth_.Caller(context));
  KEEL_CO_ASSIGN_OR_RETURN(int64_t lease,
                           co_await SessionLease(leases_, context, request.lease()));
  KEEL_CO_ASSIGN_OR_RETURN(Contender held,
                           co_await contention_.Campaign(request.name(), lease,
                                                         std::move(*request.mutable_value()),
                                                         std::move(caller)));
  v3electionpb::CampaignResponse response;
  *response.mutable_header() = std::move(held.header);
  v3electionpb::LeaderKey* leader = response.mutable_leader();
  leader->set_name(std::move(*request.mutable_name()));
  leader->set_key(std::move(held.key));
  leader->set_rev(held.revision);
  leader->set_lease(lease);
  co_return response;
}

Task<absl::StatusOr<v3electionpb::ProclaimResponse>> ElectionService::Proclaim(
    net::CallContext& context, v3electionpb::ProclaimRequest request) {
  if (!request.has_leader()) co_return MissingLeaderKey();
  KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth_.Caller(context));
  const v3electionpb::LeaderKey& leader = request.leader();
  KEEL_CO_ASSIGN_OR_RETURN(
      etcdserverpb::ResponseHeader header,
      co_await contention_.Proclaim(leader.key(), leader.rev(), leader.lease(),
                                    std::move(*request.mutable_value()), std::move(caller)));
  v3electionpb::ProclaimResponse response;
  *response.mutable_header() = std::move(header);
  co_return response;
}

Task<absl::StatusOr<v3electionpb::LeaderResponse>> ElectionService::Leader(
    net::CallContext& context, v3electionpb::LeaderRequest request) {
  KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth_.Caller(context));
  KEEL_CO_ASSIGN_OR_RETURN(
      etcdserverpb::RangeResponse first,
      co_await contention_.Leader(std::move(*request.mutable_name()), std::move(caller)));
  v3electionpb::LeaderResponse response;
  *response.mutable_header() = std::move(*first.mutable_header());
  *response.mutable_kv() = std::move(*first.mutable_kvs(0));
  co_return response;
}

Task<absl::StatusOr<v3electionpb::ResignResponse>> ElectionService::Resign(
    net::CallContext& context, v3electionpb::ResignRequest request) {
  if (!request.has_leader()) co_return MissingLeaderKey();
  KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth_.Caller(context));
  KEEL_CO_ASSIGN_OR_RETURN(etcdserverpb::ResponseHeader header,
                           co_await contention_.Resign(request.leader().key(),
                                                       request.leader().rev(),
                                                       std::move(caller)));
  v3electionpb::ResignResponse response;
  *response.mutable_header() = std::move(header);
  co_return response;
}

Task<absl::Status> ElectionService::Observe(net::CallContext& context,
                                            v3electionpb::LeaderRequest request,
                                            ObserveStream& stream) {
  KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth_.Caller(context));
  co_return co_await contention_.Observe(
      std::move(*request.mutable_name()), std::move(caller),
      [&stream](etcdserverpb::ResponseHeader header,
                mvccpb::KeyValue kv) -> Task<absl::Status> {
        v3electionpb::LeaderResponse response;
        *response.mutable_header() = std::move(header);
        *response.mutable_kv() = std::move(kv);
        co_return co_await stream.Write(response);
      });
}

void ElectionService::Register(net::GrpcServer& grpc) {
  using namespace v3electionpb;
  grpc.AddUnary<CampaignRequest, CampaignResponse>(
      "/v3electionpb.Election/Campaign",
      [this](net::CallContext& context, CampaignRequest request) {
        return Campaign(context, std::move(request));
      });
  grpc.AddUnary<ProclaimRequest, ProclaimResponse>(
      "/v3electionpb.Election/Proclaim",
      [this](net::CallContext& context, ProclaimRequest request) {
        return Proclaim(context, std::move(request));
      });
  grpc.AddUnary<LeaderRequest, LeaderResponse>(
      "/v3electionpb.Election/Leader",
      [this](net::CallContext& context, LeaderRequest request) {
        return Leader(context, std::move(request));
      });
  grpc.AddServerStream<LeaderRequest, LeaderResponse>(
      "/v3electionpb.Election/Observe",
      [this](net::CallContext& context, LeaderRequest request, ObserveStream& stream) {
        return Observe(context, std::move(request), stream);
      });
  grpc.AddUnary<ResignRequest, ResignResponse>(
      "/v3electionpb.Election/Resign",
      [this](net::CallContext& context, ResignRequest request) {
        return Resign(context, std::move(request));
      });
}

}  // namespace keel::node
