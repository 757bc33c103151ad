// LockService: Lock and Unlock over the member's Contention.
#include "node/lock_service.h"

#include "runtime/status_macros.h"

namespace keel::node {

Task<absl::StatusOr<int64_t>> SessionLease(LeaseService& leases, net::CallContext& context,
                                           int64_t lease) {
  if (lease != 0) co_return lease;
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(kSessionTtlSeconds);
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> granted =
      co_await leases.Grant(context, std::move(grant));
  if (!granted.ok()) co_return granted.status();
  co_return granted->id();
}

Task<absl::StatusOr<v3lockpb::LockResponse>> LockService::Lock(net::CallContext& context,
                                                               v3lockpb::LockRequest request) {
  KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth_.Caller(context));
  KEEL_CO_ASSIGN_OR_RETURN(int64_t lease,
                           co_await SessionLease(leases_, context, request.lease()));
  KEEL_CO_ASSIGN_OR_RETURN(
      Contender held,
      co_await contention_.Lock(std::move(*request.mutable_name()), lease, std::move(caller)));
  v3lockpb::LockResponse response;
  *response.mutable_header() = std::move(held.header);
  response.set_key(std::move(held.key));
  co_return response;
}

Task<absl::StatusOr<v3lockpb::UnlockResponse>> LockService::Unlock(
    net::CallContext& context, v3lockpb::UnlockRequest request) {
  KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth_.Caller(context));
  KEEL_CO_ASSIGN_OR_RETURN(
      etcdserverpb::ResponseHeader header,
      co_await contention_.Unlock(std::move(*request.mutable_key()), std::move(caller)));
  v3lockpb::UnlockResponse response;
  *response.mutable_header() = std::move(header);
  co_return response;
}

void LockService::Register(net::GrpcServer& grpc) {
  grpc.AddUnary<v3lockpb::LockRequest, v3lockpb::LockResponse>(
      "/v3lockpb.Lock/Lock",
      [this](net::CallContext& context, v3lockpb::LockRequest request) {
        return Lock(context, std::move(request));
      });
  grpc.AddUnary<v3lockpb::UnlockRequest, v3lockpb::UnlockResponse>(
      "/v3lockpb.Lock/Unlock",
      [this](net::CallContext& context, v3lockpb::UnlockRequest request) {
        return Unlock(context, std::move(request));
      });
}

}  // namespace keel::node
