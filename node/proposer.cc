// Proposer: ids, waiting for the applied result, and etcd's timeout causes.
#include "node/proposer.h"

#include "net/grpc_wire.h"
#include "node/errors.h"

namespace keel::node {

uint64_t Proposer::NewRequestId() {
  // Random ids never repeat an id of an earlier incarnation of this member
  // still in the log (a counter restarting at 1 would); the seed makes them
  // reproducible in simulation.
  while (true) {
    const uint64_t id = env_.random().Next();
    if (id != 0 && !waiters_.Waiting(id)) return id;
  }
}

Task<ApplyResult> Proposer::Propose(internal::InternalRaftRequest request) {
  auto holder = life_.EnterRequest();
  if (!holder.ok()) co_return ApplyResult{holder.status()};
  const uint64_t id = NewRequestId();
  request.mutable_header()->set_id(id);
  std::string data = request.SerializeAsString();
  if (data.size() > static_cast<size_t>(options_.max_request_bytes)) {
    co_return ApplyResult{MakeError(EtcdError::kRequestTooLarge)};
  }
  const Duration timeout = options_.request_timeout;
  const TimePoint start = env_.clock().Now();
  absl::Status queued = raft_.Propose(id, std::move(data), start + timeout);
  if (!queued.ok()) {
    failed_.Inc();
    co_return ApplyResult{queued};
  }
  Waiter waiter(waiters_, id);
  const bool answered = co_await env_.clock().WithTimeout(timeout, waiter.Wait());
  if (!answered) {
    failed_.Inc();
    co_return ApplyResult{ProposalTimeout(start)};
  }
  KEEL_ASSERT(waiter.done());
  co_return std::move(waiter.result());
}

Task<absl::Status> Proposer::ProposeConfChange(raft::ConfChange change) {
  auto holder = life_.EnterRequest();
  if (!holder.ok()) co_return holder.status();
  const uint64_t id = NewRequestId();
  change.set_id(id);
  Clock& clock = env_.clock();
  const TimePoint start = clock.Now();
  const TimePoint deadline = start + options_.request_timeout;
  Waiter waiter(waiters_, id);
  while (!waiter.done() && !life_.stopping()) {
    if (clock.Now() >= deadline) {
      failed_.Inc();
      co_return ProposalTimeout(start);
    }
    if (raft_.ProposeConfChange(change).ok()) {
      // Taken (appended by the leader, or forwarded to it): wait for the
      // apply. A forward lost on the way times out, as etcd's does.
      const bool answered = co_await clock.WithTimeout(deadline - clock.Now(), waiter.Wait());
      if (!answered) {
        failed_.Inc();
        co_return ProposalTimeout(start);
      }
      break;
    }
    const Duration pause = std::min<Duration>(
        Milliseconds(raft_.config().heartbeat_interval_ms), deadline - clock.Now());
    (void)co_await clock.WithTimeout(pause, waiter.Wait());
  }
  if (!waiter.done()) co_return MakeError(EtcdError::kStopped);
  co_return waiter.result().status;
}

absl::Status Proposer::ProposalTimeout(TimePoint start) const {
  const uint64_t leader = raft_.leader();
  if (leader == 0 && raft_.leaderless_since() <= start) {
    return net::ContextDeadlineExceeded();
  }
  const std::optional<TimePoint> elected_at = raft_.leader_elected_at();
  if (elected_at.has_value() && start < *elected_at &&
      start > *elected_at - Milliseconds(2 * options_.election_timeout_ms)) {
    return MakeError(EtcdError::kTimeoutDueToLeaderFail);
  }
  auto connected_since_start = [&](uint64_t peer) {
    const net::PeerStatus status = raft_.PeerStatus(peer);
    return status.active && status.active_since <= start;
  };
  if (leader != 0 && raft_.started()) {
    if (leader == raft_.id()) {
      // Counting every member, this one included, as etcd does.
      const auto& members = members_.members();
      size_t connected = 0;
      for (const auto& [member_id, member] : members) {
        if (member_id == raft_.id() || connected_since_start(member_id)) connected++;
      }
      if (connected < members.size() / 2 + 1) {
        return MakeError(EtcdError::kTimeoutDueToConnectionLost);
      }
    } else if (!connected_since_start(leader)) {
      return MakeError(EtcdError::kTimeoutDueToConnectionLost);
    }
  }
  return MakeError(EtcdError::kTimeout);
}

}  // namespace keel::node
