// The KV service on gRPC: /etcdserverpb.KV/{Range,Put,DeleteRange,Txn,Compact}.
#include "node/errors.h"
#include "node/services.h"

namespace keel::node {

absl::Status CheckLeaderRequirement(const net::CallContext& context,
                                    const Server& server) {
  std::optional<std::string_view> has_leader = context.Get("hasleader");
  if (has_leader.has_value() && *has_leader == "true" && server.leader() == 0) {
    return MakeError(EtcdError::kNoLeader);
  }
  return absl::OkStatus();
}

void AnswerDeadlineAsProposalTimeout(net::CallContext& context, Server& server) {
  const TimePoint start = server.env().clock().Now();
  context.deadline_status = [&server, start] { return server.ProposalTimeout(start); };
}

namespace {

// Whether a txn writes, in either branch or a nested txn (a txn of reads is
// served without a proposal).
bool TxnWrites(const etcdserverpb::TxnRequest& txn) {
  for (const auto* branch : {&txn.success(), &txn.failure()}) {
    for (const etcdserverpb::RequestOp& op : *branch) {
      if (op.has_request_put() || op.has_request_delete_range()) return true;
      if (op.has_request_txn() && TxnWrites(op.request_txn())) return true;
    }
  }
  return false;
}

}  // namespace

void RegisterKvService(net::GrpcServer& grpc, Server& server) {
  using namespace etcdserverpb;
  grpc.AddUnary<RangeRequest, RangeResponse>(
      "/etcdserverpb.KV/Range",
      [&server](net::CallContext& ctx,
                RangeRequest request) -> Task<absl::StatusOr<RangeResponse>> {
        absl::Status leader = CheckLeaderRequirement(ctx, server);
        if (!leader.ok()) co_return leader;
        co_return co_await server.Range(std::move(request));
      });
  grpc.AddUnary<PutRequest, PutResponse>(
      "/etcdserverpb.KV/Put",
      [&server](net::CallContext& ctx,
                PutRequest request) -> Task<absl::StatusOr<PutResponse>> {
        absl::Status leader = CheckLeaderRequirement(ctx, server);
        if (!leader.ok()) co_return leader;
        AnswerDeadlineAsProposalTimeout(ctx, server);
        co_return co_await server.Put(std::move(request));
      });
  grpc.AddUnary<DeleteRangeRequest, DeleteRangeResponse>(
      "/etcdserverpb.KV/DeleteRange",
      [&server](net::CallContext& ctx, DeleteRangeRequest request)
          -> Task<absl::StatusOr<DeleteRangeResponse>> {
        absl::Status leader = CheckLeaderRequirement(ctx, server);
        if (!leader.ok()) co_return leader;
        AnswerDeadlineAsProposalTimeout(ctx, server);
        co_return co_await server.DeleteRange(std::move(request));
      });
  grpc.AddUnary<TxnRequest, TxnResponse>(
      "/etcdserverpb.KV/Txn",
      [&server](net::CallContext& ctx,
                TxnRequest request) -> Task<absl::StatusOr<TxnResponse>> {
        absl::Status leader = CheckLeaderRequirement(ctx, server);
        if (!leader.ok()) co_return leader;
        if (TxnWrites(request)) AnswerDeadlineAsProposalTimeout(ctx, server);
        co_return co_await server.Txn(std::move(request));
      });
  grpc.AddUnary<CompactionRequest, CompactionResponse>(
      "/etcdserverpb.KV/Compact",
      [&server](net::CallContext& ctx, CompactionRequest request)
          -> Task<absl::StatusOr<CompactionResponse>> {
        absl::Status leader = CheckLeaderRequirement(ctx, server);
        if (!leader.ok()) co_return leader;
        AnswerDeadlineAsProposalTimeout(ctx, server);
        co_return co_await server.Compact(std::move(request));
      });
}

}  // namespace keel::node
