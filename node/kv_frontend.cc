// KvFrontend: checks, linearizable reads, and proposals that wait for their
// entry to be applied.
#include "node/kv_frontend.h"

#include <utility>

#include "node/auth_applier.h"
#include "node/errors.h"
#include "node/kv_convert.h"
#include "node/quota.h"
#include "node/request_checks.h"
#include "node/self_repair.h"
#include "runtime/status_macros.h"

namespace keel::node {
namespace {

// A local read by `caller` that was permitted before it ran: if the auth
// store changed while it ran, it is refused as etcd's doSerialize does.
absl::Status RecheckRevision(const AuthStore& auth, const AuthInfo& caller) {
  if (caller.revision != 0 && caller.revision != auth.revision()) {
    return MakeError(EtcdError::kAuthOldRevision);
  }
  return absl::OkStatus();
}

}  // namespace


void KvFrontend::StopOnDamage(const absl::Status& read) {
  // A checksum failed under a read: the key space is damaged. The member
  // stops at once, serving nothing more from it, and repairs it on its
  // next start (node/self_repair.h); this caller gets the DataLoss.
  if (read.code() == absl::StatusCode::kDataLoss) parts_.life.Fail(KeySpaceDamage(read));
}

Task<absl::StatusOr<etcdserverpb::RangeResponse>> KvFrontend::Range(
    etcdserverpb::RangeRequest request, AuthInfo caller) {
  KEEL_CO_RETURN_IF_ERROR(CheckRangeRequest(request));
  if (!request.serializable()) KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
  const AuthStore& auth = parts_.key_space.auth();
  KEEL_CO_RETURN_IF_ERROR(auth.CheckRead(caller, request.key(), request.range_end()));
  auto response = WireResponse<etcdserverpb::RangeResponse>(
      parts_.key_space.mvcc().Range(FromWire(request)), parts_.headers);
  StopOnDamage(response.status());
  if (response.ok()) parts_.key_space.mvcc_metrics().Count(1, 0, 0);
  KEEL_CO_RETURN_IF_ERROR(RecheckRevision(auth, caller));
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::PutResponse>> KvFrontend::Put(
    etcdserverpb::PutRequest request, AuthInfo caller) {
  KEEL_CO_RETURN_IF_ERROR(CheckPutRequest(request));
  KEEL_CO_RETURN_IF_ERROR(parts_.no_space.Check(Quota::Cost(request)));
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_put() = std::move(request);
  co_return co_await parts_.proposer.ProposeFor<etcdserverpb::PutResponse>(
      std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::DeleteRangeResponse>> KvFrontend::DeleteRange(
    etcdserverpb::DeleteRangeRequest request, AuthInfo caller) {
  KEEL_CO_RETURN_IF_ERROR(CheckDeleteRequest(request));
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_delete_range() = std::move(request);
  co_return co_await parts_.proposer.ProposeFor<etcdserverpb::DeleteRangeResponse>(
      std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::TxnResponse>> KvFrontend::Txn(
    etcdserverpb::TxnRequest request, AuthInfo caller) {
  KEEL_CO_RETURN_IF_ERROR(CheckTxnRequest(request, max_txn_ops_));
  // Decided on the wire form: a writing txn is proposed as it came, so
  // only a txn of reads is converted for the store.
  if (TxnOnlyRanges(request)) {
    // etcd serves a txn of reads without a raft entry.
    if (!TxnIsSerializable(request)) KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
    const AuthStore& auth = parts_.key_space.auth();
    KEEL_CO_RETURN_IF_ERROR(CheckTxn(auth, caller, request));
    auto response = WireResponse<etcdserverpb::TxnResponse>(
        parts_.key_space.mvcc().ReadOnlyTxn(FromWire(request)), parts_.headers);
    StopOnDamage(response.status());
    if (response.ok()) parts_.key_space.mvcc_metrics().CountTxn(request, *response);
    KEEL_CO_RETURN_IF_ERROR(RecheckRevision(auth, caller));
    co_return response;
  }
  KEEL_CO_RETURN_IF_ERROR(parts_.no_space.Check(Quota::Cost(request)));
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_txn() = std::move(request);
  co_return co_await parts_.proposer.ProposeFor<etcdserverpb::TxnResponse>(
      std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::CompactionResponse>> KvFrontend::Compact(
    etcdserverpb::CompactionRequest request, AuthInfo caller) {
  const bool physical = request.physical();
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_compaction() = std::move(request);
  auto response = co_await parts_.proposer.ProposeFor<etcdserverpb::CompactionResponse>(
      std::move(proposal));
  if (!response.ok() || !physical) co_return response;
  // Physical: answer once the superseded revisions are gone, as etcd does.
  co_await parts_.compactor.WaitIdle();
  co_return response;
}

}  // namespace keel::node
