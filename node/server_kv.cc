// The KV requests: checks, linearizable reads, and proposals that wait for
// their entry to be applied.
#include <utility>

#include "net/grpc_wire.h"
#include "node/errors.h"
#include "node/kv_convert.h"
#include "node/request_checks.h"
#include "node/server.h"
#include "store/mvcc_check.h"

namespace keel::node {

uint64_t Server::NewRequestId() {
  // Random ids never repeat an id of an earlier incarnation of this member
  // still in the log (a counter restarting at 1 would); the seed makes them
  // reproducible in simulation.
  while (true) {
    const uint64_t id = env_.random().Next();
    if (id != 0) return id;
  }
}

Task<ApplyResult> Server::Propose(internal::InternalRaftRequest request) {
  auto holder = gate_.Enter();
  if (!holder.ok() || stopping_) co_return ApplyResult{MakeError(EtcdError::kStopped)};
  if (proposals_.size() + dropped_.size() >= kMaxPendingProposals) {
    co_return ApplyResult{MakeError(EtcdError::kTooManyRequests)};
  }
  const uint64_t id = NewRequestId();
  request.mutable_header()->set_id(id);
  std::string data = request.SerializeAsString();
  if (data.size() > static_cast<size_t>(config_.max_request_bytes)) {
    co_return ApplyResult{MakeError(EtcdError::kRequestTooLarge)};
  }
  Waiter waiter(waiters_, id);
  const Duration timeout = request_timeout();
  const TimePoint start = env_.clock().Now();
  proposals_.push_back(Proposal{id, std::move(data), start + timeout});
  work_.Set();
  const bool answered = co_await env_.clock().WithTimeout(timeout, waiter.Wait());
  if (!answered) co_return ApplyResult{ProposalTimeout(start)};
  co_return std::move(waiter.result());
}

absl::Status Server::ProposalTimeout(TimePoint start) const {
  if (leader_ == 0 && leaderless_since_ <= start) {
    return net::ContextDeadlineExceeded();
  }
  if (leader_elected_at_.has_value() && start < *leader_elected_at_ &&
      start > *leader_elected_at_ - Milliseconds(2 * config_.election_timeout_ms)) {
    return MakeError(EtcdError::kTimeoutDueToLeaderFail);
  }
  auto connected_since_start = [&](uint64_t peer) {
    const net::PeerStatus status = transport_->status(peer);
    return status.active && status.active_since <= start;
  };
  if (leader_ != 0 && transport_ != nullptr) {
    if (leader_ == id_) {
      // Counting every member, this one included, as etcd does.
      const auto& members = members_->members();
      size_t connected = 0;
      for (const auto& [member_id, member] : members) {
        if (member_id == id_ || connected_since_start(member_id)) connected++;
      }
      if (connected < members.size() / 2 + 1) {
        return MakeError(EtcdError::kTimeoutDueToConnectionLost);
      }
    } else if (!connected_since_start(leader_)) {
      return MakeError(EtcdError::kTimeoutDueToConnectionLost);
    }
  }
  return MakeError(EtcdError::kTimeout);
}

template <typename Response>
Task<absl::StatusOr<Response>> Server::ProposeFor(
    internal::InternalRaftRequest request) {
  ApplyResult result = co_await Propose(std::move(request));
  if (!result.status.ok()) co_return result.status;
  Response* response = std::get_if<Response>(&result.response);
  KEEL_ASSERT(response != nullptr);
  co_return std::move(*response);
}

void Server::FailReads(const absl::Status& status) {
  auto fail = [&status](ReadBatch& batch) {
    batch.status = status;
    batch.done.Set();
  };
  if (open_read_ != nullptr) fail(*open_read_);
  open_read_.reset();
  for (auto& [id, batch] : reads_in_flight_) fail(*batch);
  reads_in_flight_.clear();
}

Task<absl::Status> Server::LinearizableBarrier() {
  auto holder = gate_.Enter();
  if (!holder.ok() || stopping_) co_return MakeError(EtcdError::kStopped);
  // Join the batch that has not been sent yet: its ReadIndex is issued after
  // this read arrived, which is what linearizability needs.
  if (open_read_ == nullptr) {
    open_read_ = std::make_shared<ReadBatch>();
    work_.Set();
  }
  std::shared_ptr<ReadBatch> batch = open_read_;
  const TimePoint deadline = env_.clock().Now() + request_timeout();
  const bool answered =
      co_await env_.clock().WithTimeout(request_timeout(), batch->done.Wait());
  if (!answered) co_return MakeError(EtcdError::kTimeout);
  if (!batch->status.ok()) co_return batch->status;
  KEEL_ASSERT(batch->index.has_value());
  const Duration left = deadline - env_.clock().Now();
  const bool applied = co_await env_.clock().WithTimeout(
      left > Duration::zero() ? left : Duration::zero(), WaitApplied(*batch->index));
  if (!applied) co_return MakeError(EtcdError::kTimeoutWaitAppliedIndex);
  if (stopping_) co_return MakeError(EtcdError::kStopped);
  co_return absl::OkStatus();
}

Task<absl::StatusOr<etcdserverpb::RangeResponse>> Server::Range(
    etcdserverpb::RangeRequest request) {
  absl::Status checked = CheckRangeRequest(request);
  if (!checked.ok()) co_return checked;
  if (!request.serializable()) {
    absl::Status barrier = co_await LinearizableBarrier();
    if (!barrier.ok()) co_return barrier;
  }
  auto result = mvcc_->Range(FromWire(request));
  if (!result.ok()) co_return FromStoreError(result.status());
  etcdserverpb::RangeResponse response;
  ToWire(std::move(*result), &response);
  *response.mutable_header() = Header(response.header().revision());
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::PutResponse>> Server::Put(
    etcdserverpb::PutRequest request) {
  absl::Status checked = CheckPutRequest(request);
  if (!checked.ok()) co_return checked;
  internal::InternalRaftRequest proposal;
  *proposal.mutable_put() = std::move(request);
  co_return co_await ProposeFor<etcdserverpb::PutResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::DeleteRangeResponse>> Server::DeleteRange(
    etcdserverpb::DeleteRangeRequest request) {
  absl::Status checked = CheckDeleteRequest(request);
  if (!checked.ok()) co_return checked;
  internal::InternalRaftRequest proposal;
  *proposal.mutable_delete_range() = std::move(request);
  co_return co_await ProposeFor<etcdserverpb::DeleteRangeResponse>(
      std::move(proposal));
}

namespace {

bool IsSerializable(const etcdserverpb::TxnRequest& request) {
  for (const auto* ops : {&request.success(), &request.failure()}) {
    for (const auto& op : *ops) {
      if (op.has_request_range() && !op.request_range().serializable()) return false;
      if (op.has_request_txn() && !IsSerializable(op.request_txn())) return false;
    }
  }
  return true;
}

}  // namespace

Task<absl::StatusOr<etcdserverpb::TxnResponse>> Server::Txn(
    etcdserverpb::TxnRequest request) {
  absl::Status checked = CheckTxnRequest(request, config_.max_txn_ops);
  if (!checked.ok()) co_return checked;
  store::TxnRequest txn = FromWire(request);
  if (store::IsReadOnlyTxn(txn)) {
    // etcd serves a txn of reads without a raft entry.
    if (!IsSerializable(request)) {
      absl::Status barrier = co_await LinearizableBarrier();
      if (!barrier.ok()) co_return barrier;
    }
    auto result = mvcc_->ReadOnlyTxn(txn);
    if (!result.ok()) co_return FromStoreError(result.status());
    etcdserverpb::TxnResponse response;
    ToWire(std::move(*result), &response);
    *response.mutable_header() = Header(response.header().revision());
    co_return response;
  }
  internal::InternalRaftRequest proposal;
  *proposal.mutable_txn() = std::move(request);
  co_return co_await ProposeFor<etcdserverpb::TxnResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::CompactionResponse>> Server::Compact(
    etcdserverpb::CompactionRequest request) {
  const bool physical = request.physical();
  internal::InternalRaftRequest proposal;
  *proposal.mutable_compaction() = std::move(request);
  auto response =
      co_await ProposeFor<etcdserverpb::CompactionResponse>(std::move(proposal));
  if (!response.ok() || !physical) co_return response;
  // Physical: answer once the superseded revisions are gone, as etcd does.
  while (mvcc_->compaction_pending() && !stopping_) {
    co_await compaction_done_.Wait();
  }
  co_return response;
}

}  // namespace keel::node
