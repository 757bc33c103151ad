// LeaseCoordinator: lease requests and the leader's lease loop.
#include "node/lease_coordinator.h"

#include <deque>
#include <utility>

#include "node/auth_applier.h"
#include "node/errors.h"
#include "node/membership.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/when.h"

namespace keel::node {
namespace {

Task<void> SleepUntil(Clock& clock, TimePoint deadline) {
  co_await clock.SleepUntil(deadline);
}

Task<void> WaitOn(WaitQueue& queue) { co_await queue.Wait(); }

}  // namespace

void LeaseCoordinator::Start() { parts_.env.Spawn(LeaseLoop()); }

bool LeaseCoordinator::PrimaryNow() const {
  return parts_.raft.is_leader() && lessor().IsPrimaryFor(parts_.raft.term());
}

void LeaseCoordinator::OnLeaderEntryApplied(uint64_t term) {
  if (!parts_.raft.is_leader() || term != parts_.raft.term()) return;
  parts_.key_space.lessor().Promote(Milliseconds(options_.election_timeout_ms), term);
  KEEL_ASSERT(PrimaryNow());
}

Task<void> LeaseCoordinator::WaitChange(TimePoint deadline) {
  std::vector<Task<void>> race;
  race.push_back(WaitOn(parts_.key_space.lessor().changed()));
  race.push_back(WaitOn(parts_.raft.leader_changed()));
  race.push_back(stop_.Wait());
  race.push_back(SleepUntil(parts_.env.clock(), deadline));
  co_await WhenAny(std::move(race));
}

Task<absl::Status> LeaseCoordinator::WaitPrimary(TimePoint deadline) {
  while (true) {
    if (parts_.life.stopping()) co_return MakeError(EtcdError::kStopped);
    if (!parts_.raft.is_leader()) co_return MakeError(EtcdError::kNotLeader);
    if (PrimaryNow()) co_return absl::OkStatus();
    if (parts_.env.clock().Now() >= deadline) co_return MakeError(EtcdError::kTimeout);
    co_await WaitChange(deadline);
  }
}

Task<absl::Status> LeaseCoordinator::CatchUp() {
  const uint64_t commit = parts_.raft.commit_index();
  const bool applied = co_await parts_.env.clock().WithTimeout(
      kLeaseApplyTimeout, parts_.applied.WaitFor(commit));
  if (!applied) co_return MakeError(EtcdError::kTimeoutWaitAppliedIndex);
  co_return absl::OkStatus();
}

int64_t LeaseCoordinator::NextLeaseId() {
  // etcd's idutil.Generator: the member ID's low 16 bits, then 40 bits of
  // wall-clock milliseconds at the first use, then an 8-bit counter that
  // may carry into the timestamp; the top bit cleared (IDs are positive).
  constexpr int kSuffixBits = 48;
  constexpr uint64_t kSuffixMask = (uint64_t{1} << kSuffixBits) - 1;
  if (lease_id_suffix_ == 0) {
    const uint64_t unix_ms =
        static_cast<uint64_t>(parts_.env.clock().WallUnixMicros() / 1000);
    lease_id_suffix_ = (unix_ms & ((uint64_t{1} << 40) - 1)) << 8;
  }
  lease_id_suffix_++;
  const uint64_t id =
      ((parts_.raft.id() & 0xffff) << kSuffixBits) | (lease_id_suffix_ & kSuffixMask);
  return static_cast<int64_t>(id & ~(uint64_t{1} << 63));
}

// ---- requests ----

Task<absl::StatusOr<etcdserverpb::LeaseGrantResponse>> LeaseCoordinator::Grant(
    etcdserverpb::LeaseGrantRequest request) {
  if (request.ttl() > kMaxLeaseTtlSeconds) {
    co_return MakeError(EtcdError::kLeaseTTLTooLarge);
  }
  KEEL_CO_RETURN_IF_ERROR(parts_.no_space.Check(Quota::Cost(request)));
  // etcd picks the ID before proposing, so every member applies the same
  // one; only positive IDs, and not one this member knows to be taken.
  while (request.id() == 0) {
    const int64_t id = NextLeaseId();
    if (id != 0 && !lessor().Lookup(id).has_value()) request.set_id(id);
  }
  KEEL_ASSERT(request.id() != 0);
  internal::InternalRaftRequest proposal;
  *proposal.mutable_lease_grant() = std::move(request);
  co_return co_await parts_.proposer.ProposeFor<etcdserverpb::LeaseGrantResponse>(
      std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> LeaseCoordinator::Revoke(
    etcdserverpb::LeaseRevokeRequest request, AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_lease_revoke() = std::move(request);
  co_return co_await parts_.proposer.ProposeFor<etcdserverpb::LeaseRevokeResponse>(
      std::move(proposal));
}

Task<absl::StatusOr<int64_t>> LeaseCoordinator::Renew(int64_t id) {
  auto holder = parts_.life.EnterRequest();
  if (!holder.ok()) co_return holder.status();
  if (!parts_.raft.is_leader()) co_return MakeError(EtcdError::kNotLeader);
  const TimePoint deadline = parts_.env.clock().Now() + options_.request_timeout;
  KEEL_CO_RETURN_IF_ERROR(co_await CatchUp());
  bool checkpoint_cleared = false;
  while (true) {
    KEEL_CO_RETURN_IF_ERROR(co_await WaitPrimary(deadline));
    if (lessor().HasCheckpoint(id) && !checkpoint_cleared) {
      // The checkpointed remaining TTL is stale once the lease is renewed:
      // clear it through raft, or the next leader would resume from it.
      checkpoint_cleared = true;
      internal::InternalRaftRequest clear;
      clear.mutable_header()->set_leader_term(parts_.raft.term());
      etcdserverpb::LeaseCheckpoint* checkpoint =
          clear.mutable_lease_checkpoint()->add_checkpoints();
      checkpoint->set_id(id);
      checkpoint->set_remaining_ttl(0);
      ApplyResult result = co_await parts_.proposer.Propose(std::move(clear));
      if (!result.status.ok()) {
        parts_.env.log().Warn("failed to clear a lease checkpoint",
                              {{"lease-id", FormatId(static_cast<uint64_t>(id))},
                               {"error", result.status.ToString()}});
      }
      continue;
    }
    // Renewing on the primary only: re-checked after every wait above.
    KEEL_ASSERT(PrimaryNow());
    const RenewResult renew = parts_.key_space.lessor().Renew(id);
    switch (renew.outcome) {
      case RenewOutcome::kRenewed:
        co_return renew.ttl_seconds;
      case RenewOutcome::kNotFound:
        co_return MakeError(EtcdError::kLeaseNotFound);
      case RenewOutcome::kNotPrimary:
      case RenewOutcome::kExpired:
        // Expired: the revoke is on its way (or leadership is); wait for it.
        if (parts_.env.clock().Now() >= deadline) co_return MakeError(EtcdError::kTimeout);
        co_await WaitChange(deadline);
        break;
    }
  }
}

Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> LeaseCoordinator::TimeToLive(
    etcdserverpb::LeaseTimeToLiveRequest request) {
  auto holder = parts_.life.EnterRequest();
  if (!holder.ok()) co_return holder.status();
  if (!parts_.raft.is_leader()) co_return MakeError(EtcdError::kNotLeader);
  const TimePoint deadline = parts_.env.clock().Now() + options_.request_timeout;
  KEEL_CO_RETURN_IF_ERROR(co_await CatchUp());
  KEEL_CO_RETURN_IF_ERROR(co_await WaitPrimary(deadline));
  std::optional<LeaseInfo> info = lessor().Lookup(request.id());
  if (!info.has_value()) co_return MakeError(EtcdError::kLeaseNotFound);
  etcdserverpb::LeaseTimeToLiveResponse response;
  *response.mutable_header() = parts_.headers.Make();
  response.set_id(request.id());
  response.set_ttl(info->remaining_seconds);
  response.set_grantedttl(info->granted_ttl_seconds);
  if (request.keys()) {
    absl::StatusOr<std::vector<std::string>> keys =
        parts_.key_space.mvcc().KeysOfLease(request.id());
    if (!keys.ok()) co_return keys.status();
    for (std::string& key : *keys) response.add_keys(std::move(key));
  }
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::LeaseLeasesResponse>> LeaseCoordinator::Leases() {
  KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
  etcdserverpb::LeaseLeasesResponse response;
  *response.mutable_header() = parts_.headers.Make();
  for (int64_t id : lessor().IdsByExpiry()) response.add_leases()->set_id(id);
  co_return response;
}

// ---- the leader's loop ----

Task<void> LeaseCoordinator::LeaseLoop() {
  MemberLife::LoopGuard guard(parts_.life);
  Lessor& lessor = parts_.key_space.lessor();
  TimePoint next_round = parts_.env.clock().Now();
  while (!parts_.life.stopping()) {
    // Leadership lost (or won again in a later term without this member
    // noticing the loss): forget every expiry at once.
    if (lessor.primary() && !PrimaryNow()) lessor.Demote();
    const TimePoint now = parts_.env.clock().Now();
    if (now >= next_round) {
      // Buggify: rounds at a quarter of the interval, so expiries are found
      // and proposed at other moments than usual.
      next_round = now + (Buggify() ? kLeaseLoopInterval / 4 : kLeaseLoopInterval);
      if (PrimaryNow() && !revoking_) {
        // Half the per-second rate each half second, as etcd does.
        std::vector<int64_t> expired = lessor.FindExpired(kLeaseRevokeRate / 2);
        if (!expired.empty()) {
          revoking_ = true;
          parts_.env.Spawn(RevokeExpired(std::move(expired)));
        }
      }
      if (PrimaryNow() && options_.checkpoint_enabled && !checkpointing_) {
        std::vector<std::vector<etcdserverpb::LeaseCheckpoint>> batches;
        for (int i = 0; i < kLeaseCheckpointRate / 2; i++) {
          auto due = lessor.FindDueCheckpoints(kMaxLeaseCheckpointBatch);
          if (due.empty()) break;
          const bool full = due.size() == kMaxLeaseCheckpointBatch;
          batches.push_back(std::move(due));
          if (!full) break;
        }
        if (!batches.empty()) {
          checkpointing_ = true;
          parts_.env.Spawn(Checkpoint(std::move(batches)));
        }
      }
    }
    std::vector<Task<void>> race;
    race.push_back(SleepUntil(parts_.env.clock(), next_round));
    race.push_back(WaitOn(parts_.raft.leader_changed()));
    race.push_back(stop_.Wait());
    co_await WhenAny(std::move(race));
  }
}

Task<void> LeaseCoordinator::RevokeExpired(std::vector<int64_t> ids) {
  MemberLife::LoopGuard guard(parts_.life);
  KEEL_ASSERT(revoking_);
  std::deque<int64_t> queue(ids.begin(), ids.end());
  const uint64_t term = parts_.raft.term();
  auto worker = [](LeaseCoordinator* self, std::deque<int64_t>* queue,
                   uint64_t term) -> Task<void> {
    while (!queue->empty() && !self->parts_.life.stopping() && self->parts_.raft.is_leader() &&
           self->lessor().IsPrimaryFor(term)) {
      const int64_t id = queue->front();
      queue->pop_front();
      internal::InternalRaftRequest expire;
      expire.mutable_lease_expire()->add_ids(id);
      expire.mutable_header()->set_leader_term(term);
      ApplyResult result = co_await self->parts_.proposer.Propose(std::move(expire));
      if (!result.status.ok()) {
        self->parts_.env.log().Warn("failed to revoke an expired lease",
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
  revoking_ = false;
}

Task<void> LeaseCoordinator::Checkpoint(
    std::vector<std::vector<etcdserverpb::LeaseCheckpoint>> batches) {
  MemberLife::LoopGuard guard(parts_.life);
  KEEL_ASSERT(checkpointing_);
  const uint64_t term = parts_.raft.term();
  for (auto& batch : batches) {
    if (parts_.life.stopping() || !PrimaryNow()) break;
    internal::InternalRaftRequest proposal;
    proposal.mutable_header()->set_leader_term(term);
    for (auto& checkpoint : batch) {
      *proposal.mutable_lease_checkpoint()->add_checkpoints() = std::move(checkpoint);
    }
    ApplyResult result = co_await parts_.proposer.Propose(std::move(proposal));
    if (!result.status.ok()) {
      parts_.env.log().Warn("failed to checkpoint leases",
                            {{"error", result.status.ToString()}});
    }
  }
  checkpointing_ = false;
}

}  // namespace keel::node
