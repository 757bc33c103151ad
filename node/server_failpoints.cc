// Server failpoints: ack_before_sync (see server_failpoints.h).
#if KEEL_FAILPOINTS

#include "node/server_failpoints.h"

#include <utility>

#include "node/errors.h"
#include "node/kv_convert.h"

namespace keel::node::failpoints {
namespace {

// A put or delete as the only operation of a txn, so one preview serves
// all three write requests.
store::TxnRequest AsTxn(store::RequestOp op) {
  store::TxnRequest txn;
  txn.success.push_back(std::move(op));
  return txn;
}

}  // namespace

std::unique_ptr<ServerFailpoints> ServerFailpoints::Install(
    const ServerBugs& bugs, RaftNode& raft, ApplyLoop& apply_loop, KeySpace& key_space,
    Proposer& proposer, const ResponseHeaders& headers) {
  if (!bugs.ack_before_sync) return nullptr;
  std::unique_ptr<ServerFailpoints> failpoints(
      new ServerFailpoints(raft, key_space, proposer, headers));
  raft.set_observer(failpoints.get());
  apply_loop.set_observer(failpoints.get());
  return failpoints;
}

void ServerFailpoints::OnProposed(uint64_t id, const std::string& data,
                                  const raft::Raft& raft) {
  // A follower forwards the proposal; only a leader knows its index.
  if (raft.state() != raft::StateType::kLeader) return;
  if (early_acks_.size() >= kMaxPendingProposals) return;
  EarlyAck ack;
  if (!ack.request.ParseFromString(data)) return;
  using Request = internal::InternalRaftRequest;
  const auto kind = ack.request.request_case();
  if (kind != Request::kPut && kind != Request::kDeleteRange && kind != Request::kTxn) return;
  ack.id = id;
  ack.term = raft.term();
  // A leader appends a proposal at once, at the end of its log.
  early_acks_[raft.log().LastIndex()] = std::move(ack);
}

void ServerFailpoints::AckEarly() {
  if (early_acks_.empty()) return;
  const raft::Raft& raft = raft_.raw_node().raft();
  const uint64_t applied = key_space_.mvcc().applied().index;
  // At or below the applied index the applier has answered them.
  early_acks_.erase(early_acks_.begin(), early_acks_.upper_bound(applied));
  auto it = early_acks_.find(applied + 1);
  if (it == early_acks_.end()) return;
  // The entry at that index is still this proposal only while this member
  // leads in the term it appended it.
  if (raft.state() != raft::StateType::kLeader || raft.term() != it->second.term) {
    early_acks_.clear();
    return;
  }
  EarlyAck ack = std::move(it->second);
  early_acks_.erase(it);
  proposer_.Deliver(ack.id, PreviewWrite(ack.request));
}

ApplyResult ServerFailpoints::PreviewWrite(const internal::InternalRaftRequest& request) {
  using Request = internal::InternalRaftRequest;
  store::TxnRequest txn;
  switch (request.request_case()) {
    case Request::kPut: txn = AsTxn({FromWire(request.put())}); break;
    case Request::kDeleteRange: txn = AsTxn({FromWire(request.delete_range())}); break;
    case Request::kTxn: txn = FromWire(request.txn()); break;
    default: KEEL_ASSERT_MSG(false, "not a write request");
  }
  auto result = store::failpoints::PreviewTxn(key_space_.mvcc(), txn);
  if (!result.ok()) return ApplyResult{FromStoreError(result.status())};
  // Headers as the backend applier fills them.
  ApplyResult out;
  if (request.request_case() == Request::kTxn) {
    etcdserverpb::TxnResponse response;
    ToWire(std::move(*result), &response);
    *response.mutable_header() = headers_.Make(response.header().revision());
    out.response = std::move(response);
    return out;
  }
  KEEL_ASSERT(result->responses.size() == 1);
  auto& op = result->responses.front().response;
  if (request.request_case() == Request::kPut) {
    etcdserverpb::PutResponse response;
    ToWire(std::move(std::get<store::PutResult>(op)), &response);
    *response.mutable_header() = headers_.Make(response.header().revision());
    out.response = std::move(response);
  } else {
    etcdserverpb::DeleteRangeResponse response;
    ToWire(std::move(std::get<store::DeleteRangeResult>(op)), &response);
    *response.mutable_header() = headers_.Make(response.header().revision());
    out.response = std::move(response);
  }
  return out;
}

}  // namespace keel::node::failpoints

#endif  // KEEL_FAILPOINTS
