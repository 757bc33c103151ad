// Proposer: requests that go through raft, and their callers waiting for
// the applied result (etcd's processInternalRaftRequest).
//
// Propose() gives the request a fresh random id, registers a waiter under
// it and queues it with the RaftNode; the applier delivers the entry's
// result by id (Deliver). A caller that gives up (its deadline, or its
// connection gone) destroys its waiter, and the raft node withdraws the
// proposal if it has not handed it to raft yet. A proposal not applied
// within the request timeout answers as etcd does, telling its causes
// apart (ProposalTimeout).
#ifndef KEEL_NODE_PROPOSER_H_
#define KEEL_NODE_PROPOSER_H_

#include <cstdint>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/apply_result.h"
#include "node/member_life.h"
#include "node/member_store.h"
#include "node/raft_node.h"
#include "node/waiters.h"
#include "proto/internal.pb.h"
#include "runtime/env.h"
#include "runtime/metrics.h"

namespace keel::node {

struct ProposerOptions {
  // etcd's ReqTimeout: 5 s plus two election timeouts.
  Duration request_timeout = Seconds(7);
  int64_t election_timeout_ms = 1000;
  // --max-request-bytes: a larger proposal is refused before raft.
  int64_t max_request_bytes = 1572864;
};

class Proposer {
 public:
  // Every reference must outlive the proposer.
  Proposer(Env& env, RaftNode& raft, const MemberStore& members, MemberLife& life,
           ProposerOptions options)
      : env_(env), raft_(raft), members_(members), life_(life), options_(options) {}
  Proposer(const Proposer&) = delete;
  Proposer& operator=(const Proposer&) = delete;

  // Proposes `request` through raft and waits for it to be applied here.
  // Errors: kRequestTooLarge, kTooManyRequests, kStopped, a timeout as
  // ProposalTimeout names it, or the request's own error from the applier.
  // Suspends.
  Task<ApplyResult> Propose(internal::InternalRaftRequest request);

  // Proposes a membership change through raft (etcd's configure): gives it
  // a fresh id and waits until it is applied here. OK, the member list's
  // refusal (ClusterMembership::Validate), kStopped, or a timeout as
  // ProposalTimeout names it. A change raft drops (no leader yet, another
  // change pending) is offered again every heartbeat until the deadline.
  // Suspends.
  Task<absl::Status> ProposeConfChange(raft::ConfChange change);

  // Propose() for a request answered with a `Response`.
  template <typename Response>
  Task<absl::StatusOr<Response>> ProposeFor(internal::InternalRaftRequest request);

  // What a proposal made at `start` that timed out reports, as etcd tells
  // its causes apart (clients match the text):
  //  - DeadlineExceeded "context deadline exceeded" if this member has
  //    known no leader since `start`: the proposal never reached raft (etcd's
  //    raft takes no proposal without a leader);
  //  - kTimeoutDueToLeaderFail if a leader was elected after `start` and at
  //    most two election timeouts before it (the old leader likely took the
  //    proposal down with it);
  //  - kTimeoutDueToConnectionLost if the connection to the leader (on the
  //    leader: to a quorum) was not up the whole time since `start`;
  //  - else kTimeout.
  // The gRPC deadline of a write reports this too.
  absl::Status ProposalTimeout(TimePoint start) const;

  // ---- the raft node's and the applier's side ----

  // Whether the caller of `id` still waits.
  bool Waiting(uint64_t id) const { return waiters_.Waiting(id); }
  // Delivers the result of `id` to its caller, if it still waits.
  void Deliver(uint64_t id, ApplyResult result) { waiters_.Deliver(id, std::move(result)); }
  // Fails every waiting caller (the member is stopping).
  void FailAll(const absl::Status& status) { waiters_.FailAll(status); }
  size_t waiting() const { return waiters_.size(); }
  // Proposals raft refused or that timed out (etcd's
  // etcd_server_proposals_failed_total).
  uint64_t failed() const { return failed_.value(); }

  const ProposerOptions& options() const { return options_; }

 private:
  uint64_t NewRequestId();

  Env& env_;
  RaftNode& raft_;
  const MemberStore& members_;
  MemberLife& life_;
  const ProposerOptions options_;
  WaiterRegistry waiters_;
  metrics::Counter failed_;
};

// The response an applied proposal carries, or its error.
template <typename Response>
absl::StatusOr<Response> ResponseOf(ApplyResult result) {
  if (!result.status.ok()) return result.status;
  Response* response = std::get_if<Response>(&result.response);
  KEEL_ASSERT(response != nullptr);
  return std::move(*response);
}

template <typename Response>
Task<absl::StatusOr<Response>> Proposer::ProposeFor(internal::InternalRaftRequest request) {
  co_return ResponseOf<Response>(co_await Propose(std::move(request)));
}

}  // namespace keel::node

#endif  // KEEL_NODE_PROPOSER_H_
