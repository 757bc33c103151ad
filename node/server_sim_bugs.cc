// Deliberate defects that only keel-sim turns on (ServerConfig::sim_bugs),
// to show that the simulator's checkers catch a server breaking its
// promises. Nothing here runs unless a SimBugs switch is set, and no flag
// of tools/keel sets one (node/server_config.h).
//
// ack_before_sync: the leader answers its own put, delete or txn as soon as
// the entry is in its log, unpersisted and uncommitted. The answer is the
// result the entry would have if applied next: previewed on the key space
// once every earlier entry is applied (so it is right whenever the entry
// does commit). If the leader crashes, or is cut off and replaced, before
// the entry reaches a quorum, the acknowledged write is lost: the
// durability and linearizability checkers must say so.
#include <utility>

#include "node/errors.h"
#include "node/kv_convert.h"
#include "node/server.h"

namespace keel::node {
namespace {

// A put or delete as the only operation of a txn, so one preview serves
// all three write requests.
store::TxnRequest AsTxn(store::RequestOp op) {
  store::TxnRequest txn;
  txn.success.push_back(std::move(op));
  return txn;
}

}  // namespace

void Server::NoteEarlyAck(const Proposal& proposal) {
  KEEL_ASSERT(config_.sim_bugs.ack_before_sync);
  const raft::Raft& raft = raw_->raft();
  // A follower forwards the proposal; only a leader knows its index.
  if (raft.state() != raft::StateType::kLeader) return;
  if (early_acks_.size() >= kMaxPendingProposals) return;
  EarlyAck ack;
  if (!ack.request.ParseFromString(proposal.data)) return;
  using Request = internal::InternalRaftRequest;
  const auto kind = ack.request.request_case();
  if (kind != Request::kPut && kind != Request::kDeleteRange && kind != Request::kTxn) return;
  ack.id = proposal.id;
  ack.term = raft.term();
  // A leader appends a proposal at once, at the end of its log.
  early_acks_[raft.log().LastIndex()] = std::move(ack);
}

void Server::AckEarly() {
  if (early_acks_.empty()) return;
  const raft::Raft& raft = raw_->raft();
  const uint64_t applied = mvcc_->applied().index;
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
  waiters_.Deliver(ack.id, PreviewWrite(ack.request));
}

ApplyResult Server::PreviewWrite(const internal::InternalRaftRequest& request) {
  using Request = internal::InternalRaftRequest;
  store::TxnRequest txn;
  switch (request.request_case()) {
    case Request::kPut: txn = AsTxn({FromWire(request.put())}); break;
    case Request::kDeleteRange: txn = AsTxn({FromWire(request.delete_range())}); break;
    case Request::kTxn: txn = FromWire(request.txn()); break;
    default: KEEL_ASSERT_MSG(false, "not a write request");
  }
  auto result = mvcc_->PreviewTxn(txn);
  if (!result.ok()) return ApplyResult{FromStoreError(result.status())};
  // Headers as the applier fills them (ApplyRequest).
  ApplyResult out;
  if (request.request_case() == Request::kTxn) {
    etcdserverpb::TxnResponse response;
    ToWire(std::move(*result), &response);
    *response.mutable_header() = Header(response.header().revision());
    out.response = std::move(response);
    return out;
  }
  KEEL_ASSERT(result->responses.size() == 1);
  auto& op = result->responses.front().response;
  if (request.request_case() == Request::kPut) {
    etcdserverpb::PutResponse response;
    ToWire(std::move(std::get<store::PutResult>(op)), &response);
    *response.mutable_header() = Header(response.header().revision());
    out.response = std::move(response);
  } else {
    etcdserverpb::DeleteRangeResponse response;
    ToWire(std::move(std::get<store::DeleteRangeResult>(op)), &response);
    *response.mutable_header() = Header(response.header().revision());
    out.response = std::move(response);
  }
  return out;
}

}  // namespace keel::node
