// KvService: the KV methods, each straight to the KV front end.
#include "node/kv_service.h"

namespace keel::node {

void KvService::Register(net::GrpcServer& grpc) {
  using namespace etcdserverpb;
  KvFrontend& kv = kv_;
  grpc.AddUnary<RangeRequest, RangeResponse>(
      "/etcdserverpb.KV/Range",
      [&kv](net::CallContext&, RangeRequest request) -> Task<absl::StatusOr<RangeResponse>> {
        co_return co_await kv.Range(std::move(request));
      });
  grpc.AddUnary<PutRequest, PutResponse>(
      "/etcdserverpb.KV/Put",
      [&kv](net::CallContext&, PutRequest request) -> Task<absl::StatusOr<PutResponse>> {
        co_return co_await kv.Put(std::move(request));
      });
  grpc.AddUnary<DeleteRangeRequest, DeleteRangeResponse>(
      "/etcdserverpb.KV/DeleteRange",
      [&kv](net::CallContext&,
            DeleteRangeRequest request) -> Task<absl::StatusOr<DeleteRangeResponse>> {
        co_return co_await kv.DeleteRange(std::move(request));
      });
  grpc.AddUnary<TxnRequest, TxnResponse>(
      "/etcdserverpb.KV/Txn",
      [&kv](net::CallContext&, TxnRequest request) -> Task<absl::StatusOr<TxnResponse>> {
        co_return co_await kv.Txn(std::move(request));
      });
  grpc.AddUnary<CompactionRequest, CompactionResponse>(
      "/etcdserverpb.KV/Compact",
      [&kv](net::CallContext&,
            CompactionRequest request) -> Task<absl::StatusOr<CompactionResponse>> {
        co_return co_await kv.Compact(std::move(request));
      });
}

}  // namespace keel::node
