// The server's lease requests and the leader's lease loop.
//
// Grants and revokes are raft proposals applied by the Lessor on every
// member (server_apply.cc). Renewals and TimeToLive are answered by the
// leader's lessor, which holds the expiries; a member that is not the
// leader answers kNotLeader and the Lease service forwards the request
// (lease_service.cc). The lease loop runs on every member but works only
// while this member's lessor is primary: it proposes the revocation of
// expired leases and, with --experimental-enable-lease-checkpoint, the
// remaining TTLs of long leases. The lessor is promoted when the leader
// applies the first entry of its term (server_apply.cc) and demoted here as
// soon as the leadership is gone.
#include <deque>
#include <utility>

#include "node/errors.h"
#include "node/membership.h"
#include "node/server.h"
#include "runtime/status_macros.h"
#include "runtime/when.h"

namespace keel::node {
namespace {

Task<void> SleepUntil(Clock& clock, TimePoint deadline) {
  co_await clock.SleepUntil(deadline);
}

Task<void> WaitOn(WaitQueue& queue) { co_await queue.Wait(); }

// The response an applied proposal carries, or its error.
template <typename Response>
absl::StatusOr<Response> ResponseOf(ApplyResult result) {
  if (!result.status.ok()) return result.status;
  Response* response = std::get_if<Response>(&result.response);
  KEEL_ASSERT(response != nullptr);
  return std::move(*response);
}

}  // namespace

absl::Status Server::InitLessor() {
  LessorOptions options;
  options.min_ttl_seconds =
      MinLeaseTtlSeconds(config_.election_timeout_ms, config_.heartbeat_interval_ms);
  options.checkpoint_enabled = config_.enable_lease_checkpoint;
  options.checkpoint_interval = Milliseconds(config_.lease_checkpoint_interval_ms);
  options.expired_retry_interval = request_timeout();
  options.sim_bug_ignore_keepalives = config_.sim_bugs.lease_early_expiry;
  lessor_ = std::make_unique<Lessor>(env_.clock(), *mvcc_, options);
  return lessor_->Load();
}

bool Server::LessorPrimaryNow() const {
  return is_leader() && lessor_->IsPrimaryFor(term_);
}

Task<void> Server::WaitLeaseChange(TimePoint deadline) {
  std::vector<Task<void>> race;
  race.push_back(WaitOn(lessor_->changed()));
  race.push_back(WaitOn(leader_changed_));
  race.push_back(lease_stop_.Wait());
  race.push_back(SleepUntil(env_.clock(), deadline));
  co_await WhenAny(std::move(race));
}

Task<absl::Status> Server::WaitLessorPrimary(TimePoint deadline) {
  while (true) {
    if (stopping_) co_return MakeError(EtcdError::kStopped);
    if (!is_leader()) co_return MakeError(EtcdError::kNotLeader);
    if (LessorPrimaryNow()) co_return absl::OkStatus();
    if (env_.clock().Now() >= deadline) co_return MakeError(EtcdError::kTimeout);
    co_await WaitLeaseChange(deadline);
  }
}

int64_t Server::NextLeaseId() {
  // etcd's idutil.Generator: the member ID's low 16 bits, then 40 bits of
  // wall-clock milliseconds at the first use, then an 8-bit counter that
  // may carry into the timestamp; the top bit cleared (IDs are positive).
  constexpr int kSuffixBits = 48;
  constexpr uint64_t kSuffixMask = (uint64_t{1} << kSuffixBits) - 1;
  if (lease_id_suffix_ == 0) {
    const uint64_t unix_ms = static_cast<uint64_t>(env_.clock().WallUnixMicros() / 1000);
    lease_id_suffix_ = (unix_ms & ((uint64_t{1} << 40) - 1)) << 8;
  }
  lease_id_suffix_++;
  const uint64_t id = ((id_ & 0xffff) << kSuffixBits) | (lease_id_suffix_ & kSuffixMask);
  return static_cast<int64_t>(id & ~(uint64_t{1} << 63));
}

// ---- requests ----

Task<absl::StatusOr<etcdserverpb::LeaseGrantResponse>> Server::LeaseGrant(
    etcdserverpb::LeaseGrantRequest request) {
  if (request.ttl() > kMaxLeaseTtlSeconds) {
    co_return MakeError(EtcdError::kLeaseTTLTooLarge);
  }
  // etcd picks the ID before proposing, so every member applies the same
  // one; only positive IDs, and not one this member knows to be taken.
  while (request.id() == 0) {
    const int64_t id = NextLeaseId();
    if (id != 0 && !lessor_->Lookup(id).has_value()) request.set_id(id);
  }
  internal::InternalRaftRequest proposal;
  *proposal.mutable_lease_grant() = std::move(request);
  co_return ResponseOf<etcdserverpb::LeaseGrantResponse>(
      co_await Propose(std::move(proposal)));
}

Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> Server::LeaseRevoke(
    etcdserverpb::LeaseRevokeRequest request) {
  internal::InternalRaftRequest proposal;
  *proposal.mutable_lease_revoke() = std::move(request);
  co_return ResponseOf<etcdserverpb::LeaseRevokeResponse>(
      co_await Propose(std::move(proposal)));
}

Task<absl::StatusOr<int64_t>> Server::LeaseRenew(int64_t id) {
  auto holder = gate_.Enter();
  if (!holder.ok() || stopping_) co_return MakeError(EtcdError::kStopped);
  if (!is_leader()) co_return MakeError(EtcdError::kNotLeader);
  const TimePoint deadline = env_.clock().Now() + request_timeout();
  // A grant committed before the keepalive must be visible to it.
  const bool applied = co_await env_.clock().WithTimeout(
      kLeaseApplyTimeout, WaitApplied(commit_index_));
  if (!applied) co_return MakeError(EtcdError::kTimeoutWaitAppliedIndex);
  bool checkpoint_cleared = false;
  while (true) {
    KEEL_CO_RETURN_IF_ERROR(co_await WaitLessorPrimary(deadline));
    if (lessor_->HasCheckpoint(id) && !checkpoint_cleared) {
      // The checkpointed remaining TTL is stale once the lease is renewed:
      // clear it through raft, or the next leader would resume from it.
      checkpoint_cleared = true;
      internal::InternalRaftRequest clear;
      etcdserverpb::LeaseCheckpoint* checkpoint =
          clear.mutable_lease_checkpoint()->add_checkpoints();
      checkpoint->set_id(id);
      checkpoint->set_remaining_ttl(0);
      ApplyResult result = co_await Propose(std::move(clear));
      if (!result.status.ok()) {
        env_.log().Warn("failed to clear a lease checkpoint",
                        {{"lease-id", FormatId(static_cast<uint64_t>(id))},
                         {"error", result.status.ToString()}});
      }
      continue;
    }
    const RenewResult renew = lessor_->Renew(id);
    switch (renew.outcome) {
      case RenewOutcome::kRenewed:
        co_return renew.ttl_seconds;
      case RenewOutcome::kNotFound:
        co_return MakeError(EtcdError::kLeaseNotFound);
      case RenewOutcome::kNotPrimary:
      case RenewOutcome::kExpired:
        // Expired: the revoke is on its way (or leadership is); wait for it.
        if (env_.clock().Now() >= deadline) co_return MakeError(EtcdError::kTimeout);
        co_await WaitLeaseChange(deadline);
        break;
    }
  }
}

Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> Server::LeaseTimeToLive(
    etcdserverpb::LeaseTimeToLiveRequest request) {
  auto holder = gate_.Enter();
  if (!holder.ok() || stopping_) co_return MakeError(EtcdError::kStopped);
  if (!is_leader()) co_return MakeError(EtcdError::kNotLeader);
  const TimePoint deadline = env_.clock().Now() + request_timeout();
  const bool applied = co_await env_.clock().WithTimeout(
      kLeaseApplyTimeout, WaitApplied(commit_index_));
  if (!applied) co_return MakeError(EtcdError::kTimeoutWaitAppliedIndex);
  KEEL_CO_RETURN_IF_ERROR(co_await WaitLessorPrimary(deadline));
  std::optional<LeaseInfo> info = lessor_->Lookup(request.id());
  if (!info.has_value()) co_return MakeError(EtcdError::kLeaseNotFound);
  etcdserverpb::LeaseTimeToLiveResponse response;
  *response.mutable_header() = Header();
  response.set_id(request.id());
  response.set_ttl(info->remaining_seconds);
  response.set_grantedttl(info->granted_ttl_seconds);
  if (request.keys()) {
    absl::StatusOr<std::vector<std::string>> keys = mvcc_->KeysOfLease(request.id());
    if (!keys.ok()) co_return keys.status();
    for (std::string& key : *keys) response.add_keys(std::move(key));
  }
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::LeaseLeasesResponse>> Server::LeaseLeases() {
  KEEL_CO_RETURN_IF_ERROR(co_await LinearizableBarrier());
  etcdserverpb::LeaseLeasesResponse response;
  *response.mutable_header() = Header();
  for (int64_t id : lessor_->IdsByExpiry()) response.add_leases()->set_id(id);
  co_return response;
}

// ---- the leader's loop ----

Task<void> Server::LeaseLoop() {
  LoopGuard guard(*this);
  TimePoint next_round = env_.clock().Now();
  while (!stopping_) {
    // Leadership lost (or won again in a later term without this member
    // noticing the loss): forget every expiry at once.
    if (lessor_->primary() && !LessorPrimaryNow()) lessor_->Demote();
    const TimePoint now = env_.clock().Now();
    if (now >= next_round) {
      next_round = now + kLeaseLoopInterval;
      if (LessorPrimaryNow() && !revoking_leases_) {
        // Half the per-second rate each half second, as etcd does.
        std::vector<int64_t> expired = lessor_->FindExpired(kLeaseRevokeRate / 2);
        if (!expired.empty()) {
          revoking_leases_ = true;
          env_.Spawn(RevokeExpiredLeases(std::move(expired)));
        }
      }
      if (LessorPrimaryNow() && config_.enable_lease_checkpoint &&
          !checkpointing_leases_) {
        std::vector<std::vector<etcdserverpb::LeaseCheckpoint>> batches;
        for (int i = 0; i < kLeaseCheckpointRate / 2; i++) {
          auto due = lessor_->FindDueCheckpoints(kMaxLeaseCheckpointBatch);
          if (due.empty()) break;
          const bool full = due.size() == kMaxLeaseCheckpointBatch;
          batches.push_back(std::move(due));
          if (!full) break;
        }
        if (!batches.empty()) {
          checkpointing_leases_ = true;
          env_.Spawn(CheckpointLeases(std::move(batches)));
        }
      }
    }
    std::vector<Task<void>> race;
    race.push_back(SleepUntil(env_.clock(), next_round));
    race.push_back(WaitOn(leader_changed_));
    race.push_back(lease_stop_.Wait());
    co_await WhenAny(std::move(race));
  }
}

Task<void> Server::RevokeExpiredLeases(std::vector<int64_t> ids) {
  LoopGuard guard(*this);
  KEEL_ASSERT(revoking_leases_);
  std::deque<int64_t> queue(ids.begin(), ids.end());
  const uint64_t term = term_;
  auto worker = [](Server* server, std::deque<int64_t>* queue,
                   uint64_t term) -> Task<void> {
    while (!queue->empty() && !server->stopping_ && server->is_leader() &&
           server->lessor_->IsPrimaryFor(term)) {
      const int64_t id = queue->front();
      queue->pop_front();
      internal::InternalRaftRequest expire;
      expire.mutable_lease_expire()->add_ids(id);
      ApplyResult result = co_await server->Propose(std::move(expire));
      if (!result.status.ok()) {
        server->env_.log().Warn("failed to revoke an expired lease",
                                {{"lease-id", FormatId(static_cast<uint64_t>(id))},
                                 {"error", result.status.ToString()}});
      }
    }
  };
  std::vector<Task<void>> workers;
  for (size_t i = 0; i < kMaxPendingLeaseRevokes && i < ids.size(); i++) {
    workers.push_back(worker(this, &queue, term));
  }
  co_await WhenAll(std::move(workers));
  revoking_leases_ = false;
}

Task<void> Server::CheckpointLeases(
    std::vector<std::vector<etcdserverpb::LeaseCheckpoint>> batches) {
  LoopGuard guard(*this);
  KEEL_ASSERT(checkpointing_leases_);
  for (auto& batch : batches) {
    if (stopping_ || !LessorPrimaryNow()) break;
    internal::InternalRaftRequest proposal;
    for (auto& checkpoint : batch) {
      *proposal.mutable_lease_checkpoint()->add_checkpoints() = std::move(checkpoint);
    }
    ApplyResult result = co_await Propose(std::move(proposal));
    if (!result.status.ok()) {
      env_.log().Warn("failed to checkpoint leases",
                      {{"error", result.status.ToString()}});
    }
  }
  checkpointing_leases_ = false;
}

}  // namespace keel::node
