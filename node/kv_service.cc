// KvService: the KV methods, each straight to the KV front end with the
// caller its token names.
#include "node/kv_service.h"

#include "runtime/status_macros.h"

namespace keel::node {

void KvService::Register(net::GrpcServer& grpc) {
  using namespace etcdserverpb;
  KvFrontend& kv = kv_;
  AuthFrontend& auth = auth_;
  grpc.AddUnary<RangeRequest, RangeResponse>(
      "/etcdserverpb.KV/Range",
      [&kv, &auth](net::CallContext& context,
                   RangeRequest request) -> Task<absl::StatusOr<RangeResponse>> {
        KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth.Caller(context));
        co_return co_await kv.Range(std::move(request), std::move(caller));
      });
  grpc.AddUnary<PutRequest, PutResponse>(
      "/etcdserverpb.KV/Put",
      [&kv, &auth](net::CallContext& context,
                   PutRequest request) -> Task<absl::StatusOr<PutResponse>> {
        KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth.Caller(context));
        co_return co_await kv.Put(std::move(request), std::move(caller));
      });
  grpc.AddUnary<DeleteRangeRequest, DeleteRangeResponse>(
      "/etcdserverpb.KV/DeleteRange",
      [&kv, &auth](net::CallContext& context,
                   DeleteRangeRequest request) -> Task<absl::StatusOr<DeleteRangeResponse>> {
        KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth.Caller(context));
        co_return co_await kv.DeleteRange(std::move(request), std::move(caller));
      });
  grpc.AddUnary<TxnRequest, TxnResponse>(
      "/etcdserverpb.KV/Txn",
      [&kv, &auth](net::CallContext& context,
                   TxnRequest request) -> Task<absl::StatusOr<TxnResponse>> {
        KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth.Caller(context));
        co_return co_await kv.Txn(std::move(request), std::move(caller));
      });
  grpc.AddUnary<CompactionRequest, CompactionResponse>(
      "/etcdserverpb.KV/Compact",
      [&kv, &auth](net::CallContext& context,
                   CompactionRequest request) -> Task<absl::StatusOr<CompactionResponse>> {
        KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth.Caller(context));
        co_return co_await kv.Compact(std::move(request), std::move(caller));
      });
}

}  // namespace keel::node
