// The Lessor: lease table, apply-side changes through the Mvcc, and the
// primary's expiry and checkpoint queues. See lessor.h.
#include "node/lessor.h"

#include <algorithm>
#include <limits>

#include "node/errors.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"

namespace keel::node {
namespace {

// t + d, saturating: a TTL of kMaxLeaseTtlSeconds is 9e18 ns, near the
// top of the clock's range.
TimePoint After(TimePoint t, Duration d) {
  KEEL_ASSERT(d >= Duration::zero());
  const int64_t now = ToNanoseconds(t);
  const int64_t add = d.count();
  if (add > std::numeric_limits<int64_t>::max() - now) return TimePoint::max();
  return FromNanoseconds(now + add);
}

Duration TtlDuration(int64_t seconds) {
  KEEL_ASSERT(seconds >= 0);
  KEEL_ASSERT(seconds <= kMaxLeaseTtlSeconds);
  return Seconds(seconds);
}

}  // namespace

int64_t MinLeaseTtlSeconds(int64_t election_timeout_ms, int64_t heartbeat_interval_ms) {
  KEEL_ASSERT(heartbeat_interval_ms > 0);
  // etcd: (3 * electionTicks / 2) ticks of the heartbeat, rounded up to a
  // whole second.
  const int64_t election_ticks = election_timeout_ms / heartbeat_interval_ms;
  const int64_t min_ms = (3 * election_ticks / 2) * heartbeat_interval_ms;
  return std::max<int64_t>(1, (min_ms + 999) / 1000);
}

Lessor::Lessor(Clock& clock, store::Mvcc& mvcc, LessorOptions options)
    : clock_(clock), mvcc_(&mvcc), options_(options) {
  KEEL_ASSERT(options_.min_ttl_seconds >= 1);
  KEEL_ASSERT(options_.checkpoint_interval > Duration::zero());
}

absl::Status Lessor::Load() {
  KEEL_ASSIGN_OR_RETURN(std::vector<store::LeaseRecord> records, mvcc_->Leases());
  leases_.clear();
  expiry_queue_.clear();
  checkpoint_queue_.clear();
  primary_term_.reset();
  for (const store::LeaseRecord& record : records) {
    if (record.id == 0 || record.ttl_seconds < 0 || record.remaining_ttl_seconds < 0) {
      return absl::DataLossError("lease table holds a malformed lease");
    }
    Lease lease;
    lease.id = record.id;
    lease.ttl_seconds = std::clamp(record.ttl_seconds, options_.min_ttl_seconds,
                                   kMaxLeaseTtlSeconds);
    lease.remaining_ttl_seconds = std::min(record.remaining_ttl_seconds, kMaxLeaseTtlSeconds);
    leases_.emplace(lease.id, lease);
  }
  return absl::OkStatus();
}

absl::Status Lessor::Reload(store::Mvcc& mvcc) {
  mvcc_ = &mvcc;
  absl::Status status = Load();
  changed_.WakeAll();
  return status;
}

absl::Status Lessor::Refuse(store::EntryId entry, absl::Status status) {
  KEEL_ASSERT(!status.ok());
  absl::Status skipped = mvcc_->SkipEntry(entry);
  if (!skipped.ok()) return skipped;
  return status;
}

store::LeaseRecord Lessor::Record(const Lease& lease) const {
  return store::LeaseRecord{lease.id, lease.ttl_seconds, lease.remaining_ttl_seconds};
}

// ---- apply side ----

absl::StatusOr<int64_t> Lessor::Grant(store::EntryId entry, int64_t id,
                                      int64_t ttl_seconds) {
  if (id == 0) return Refuse(entry, MakeError(EtcdError::kLeaseNotFound));
  if (ttl_seconds > kMaxLeaseTtlSeconds) {
    return Refuse(entry, MakeError(EtcdError::kLeaseTTLTooLarge));
  }
  if (leases_.contains(id)) return Refuse(entry, MakeError(EtcdError::kLeaseExist));
  Lease lease;
  lease.id = id;
  lease.ttl_seconds = std::max(ttl_seconds, options_.min_ttl_seconds);
  const store::LeaseRecord record = Record(lease);
  KEEL_RETURN_IF_ERROR(mvcc_->PutLeases(entry, {&record, 1}));
  Lease& stored = leases_.emplace(id, lease).first->second;
  if (primary()) {
    Refresh(stored, Duration::zero());
    ScheduleCheckpoint(stored);
  }
  KEEL_ASSERT(stored.ttl_seconds >= options_.min_ttl_seconds);
  return stored.ttl_seconds;
}

absl::StatusOr<int64_t> Lessor::Revoke(store::EntryId entry, int64_t id) {
  absl::StatusOr<store::DeleteRangeResult> result = mvcc_->RevokeLease(entry, id);
  if (!result.ok()) return FromStoreError(result.status());
  auto it = leases_.find(id);
  KEEL_ASSERT_MSG(it != leases_.end(), "the Mvcc revoked a lease the lessor did not have");
  Dequeue(it->second);
  UnscheduleCheckpoint(it->second);
  leases_.erase(it);
  changed_.WakeAll();
  return result->revision;
}

absl::Status Lessor::Checkpoint(store::EntryId entry,
                                const etcdserverpb::LeaseCheckpointRequest& request) {
  std::vector<store::LeaseRecord> records;
  std::vector<int64_t> updated;
  for (const etcdserverpb::LeaseCheckpoint& checkpoint : request.checkpoints()) {
    auto it = leases_.find(checkpoint.id());
    if (it == leases_.end()) continue;
    it->second.remaining_ttl_seconds =
        std::clamp<int64_t>(checkpoint.remaining_ttl(), 0, kMaxLeaseTtlSeconds);
    updated.push_back(checkpoint.id());
  }
  if (updated.empty()) return mvcc_->SkipEntry(entry);
  // One record per lease, even if the request names a lease twice.
  std::sort(updated.begin(), updated.end());
  updated.erase(std::unique(updated.begin(), updated.end()), updated.end());
  for (int64_t id : updated) records.push_back(Record(leases_.at(id)));
  KEEL_RETURN_IF_ERROR(mvcc_->PutLeases(entry, records));
  if (primary()) {
    for (int64_t id : updated) ScheduleCheckpoint(leases_.at(id));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Lessor::Expire(store::EntryId entry, const std::vector<int64_t>& ids) {
  std::vector<int64_t> existing;
  for (int64_t id : ids) {
    if (leases_.contains(id)) existing.push_back(id);
  }
  std::sort(existing.begin(), existing.end());
  existing.erase(std::unique(existing.begin(), existing.end()), existing.end());
  if (existing.empty()) {
    KEEL_RETURN_IF_ERROR(mvcc_->SkipEntry(entry));
    return 0;
  }
  if (existing.size() > 1) {
    return Refuse(entry, absl::InvalidArgumentError(
                             "a lease expiry entry may revoke one lease only"));
  }
  absl::StatusOr<int64_t> revoked = Revoke(entry, existing.front());
  if (!revoked.ok()) return revoked.status();
  return 1;
}

// ---- leader side ----

int64_t Lessor::StartingTtlSeconds(const Lease& lease) const {
  if (options_.checkpoint_enabled && lease.remaining_ttl_seconds > 0) {
    return std::min(lease.remaining_ttl_seconds, lease.ttl_seconds);
  }
  return lease.ttl_seconds;
}

void Lessor::Refresh(Lease& lease, Duration extend) {
  KEEL_ASSERT(primary());
  const TimePoint expiry =
      After(After(clock_.Now(), extend), TtlDuration(StartingTtlSeconds(lease)));
  lease.expiry = expiry;
  Enqueue(lease, expiry);
}

void Lessor::Enqueue(Lease& lease, TimePoint at) {
  Dequeue(lease);
  lease.queued_at = at;
  expiry_queue_.insert({at, lease.id});
}

void Lessor::Dequeue(Lease& lease) {
  if (lease.queued_at.has_value()) {
    expiry_queue_.erase({*lease.queued_at, lease.id});
    lease.queued_at.reset();
  }
}

void Lessor::UnscheduleCheckpoint(Lease& lease) {
  if (lease.checkpoint_at.has_value()) {
    checkpoint_queue_.erase({*lease.checkpoint_at, lease.id});
    lease.checkpoint_at.reset();
  }
}

void Lessor::ScheduleCheckpoint(Lease& lease) {
  if (!options_.checkpoint_enabled || !primary()) return;
  UnscheduleCheckpoint(lease);
  // A lease with less than an interval to live is not worth checkpointing.
  if (Seconds(StartingTtlSeconds(lease)) <= options_.checkpoint_interval) return;
  const TimePoint at = After(clock_.Now(), options_.checkpoint_interval);
  lease.checkpoint_at = at;
  checkpoint_queue_.insert({at, lease.id});
}

void Lessor::Promote(Duration extend, uint64_t term) {
  KEEL_ASSERT(extend >= Duration::zero());
  Demote();
  primary_term_ = term;
  for (auto& [id, lease] : leases_) {
    Refresh(lease, extend);
    ScheduleCheckpoint(lease);
  }
  if (leases_.size() >= static_cast<size_t>(kLeaseRevokeRate)) SpreadExpiries(extend);
  changed_.WakeAll();
}

void Lessor::SpreadExpiries(Duration extend) {
  // etcd's Promote: if many leases would expire within the same second,
  // push the surplus later so revocations stay near 3/4 of the revoke rate.
  std::vector<Lease*> order;
  order.reserve(leases_.size());
  for (auto& [id, lease] : leases_) order.push_back(&lease);
  std::sort(order.begin(), order.end(), [](const Lease* a, const Lease* b) {
    return std::pair(*a->expiry, a->id) < std::pair(*b->expiry, b->id);
  });
  const TimePoint now = clock_.Now();
  const int64_t target_per_second = (3 * kLeaseRevokeRate) / 4;
  Duration base_window = *order.front()->expiry - now;
  Duration next_window = base_window + Seconds(1);
  int64_t expires = 0;
  for (Lease* lease : order) {
    const Duration remaining = *lease->expiry - now;
    if (remaining > next_window) {
      base_window = remaining;
      next_window = base_window + Seconds(1);
      expires = 1;
      continue;
    }
    expires++;
    if (expires <= target_per_second) continue;
    const Duration rate_delay =
        Seconds(1) * expires / target_per_second - (remaining - base_window);
    const Duration delay = std::max(rate_delay, Duration::zero());
    next_window = base_window + delay;
    Refresh(*lease, delay + extend);
    ScheduleCheckpoint(*lease);
  }
}

void Lessor::Demote() {
  for (auto& [id, lease] : leases_) {
    lease.expiry.reset();
    lease.queued_at.reset();
    lease.checkpoint_at.reset();
  }
  expiry_queue_.clear();
  checkpoint_queue_.clear();
  if (primary_term_.has_value()) {
    primary_term_.reset();
    changed_.WakeAll();
  }
}

RenewResult Lessor::Renew(int64_t id) {
  if (!primary()) return {RenewOutcome::kNotPrimary, 0};
  auto it = leases_.find(id);
  if (it == leases_.end()) return {RenewOutcome::kNotFound, 0};
  Lease& lease = it->second;
  KEEL_ASSERT(lease.expiry.has_value());
  if (*lease.expiry <= clock_.Now()) return {RenewOutcome::kExpired, 0};
#if KEEL_FAILPOINTS
  if (options_.failpoint_ignore_keepalives) return {RenewOutcome::kRenewed, lease.ttl_seconds};
#endif
  // A keepalive restores the full TTL (the server clears any checkpoint
  // through raft first, see HasCheckpoint).
  const TimePoint expiry = After(clock_.Now(), TtlDuration(lease.ttl_seconds));
  lease.expiry = expiry;
  Enqueue(lease, expiry);
  return {RenewOutcome::kRenewed, lease.ttl_seconds};
}

bool Lessor::HasCheckpoint(int64_t id) const {
  auto it = leases_.find(id);
  return options_.checkpoint_enabled && it != leases_.end() &&
         it->second.remaining_ttl_seconds > 0;
}

std::optional<LeaseInfo> Lessor::Lookup(int64_t id) const {
  auto it = leases_.find(id);
  if (it == leases_.end()) return std::nullopt;
  const Lease& lease = it->second;
  LeaseInfo info;
  info.id = id;
  info.granted_ttl_seconds = lease.ttl_seconds;
  info.remaining_seconds = lease.ttl_seconds;
  if (lease.expiry.has_value()) {
    const Duration left = *lease.expiry - clock_.Now();
    // Whole seconds, truncated as etcd's int64(Remaining().Seconds()); never
    // more than granted (a new leader's extension is not the client's).
    const int64_t seconds = left <= Duration::zero() ? 0 : left / Seconds(1);
    info.remaining_seconds = std::min(seconds, lease.ttl_seconds);
  }
  KEEL_ASSERT(info.remaining_seconds >= 0);
  return info;
}

std::vector<int64_t> Lessor::Ids() const {
  std::vector<int64_t> ids;
  ids.reserve(leases_.size());
  for (const auto& [id, lease] : leases_) ids.push_back(id);
  return ids;
}

std::vector<int64_t> Lessor::IdsByExpiry() const {
  // Leases without an expiry (not primary) sort last, as etcd's never-
  // expiring ones do; ties by ID keep the order deterministic.
  std::vector<std::pair<TimePoint, int64_t>> order;
  order.reserve(leases_.size());
  for (const auto& [id, lease] : leases_) {
    order.emplace_back(lease.expiry.value_or(TimePoint::max()), id);
  }
  std::sort(order.begin(), order.end());
  std::vector<int64_t> ids;
  ids.reserve(order.size());
  for (const auto& [expiry, id] : order) ids.push_back(id);
  KEEL_ASSERT(ids.size() == leases_.size());
  return ids;
}

std::vector<int64_t> Lessor::FindExpired(size_t limit) {
  std::vector<int64_t> expired;
  if (!primary()) return expired;
  const TimePoint now = clock_.Now();
  while (expired.size() < limit && !expiry_queue_.empty()) {
    const auto [at, id] = *expiry_queue_.begin();
    if (at > now) break;
    expiry_queue_.erase(expiry_queue_.begin());
    auto it = leases_.find(id);
    if (it == leases_.end() || it->second.queued_at != at) continue;
    Lease& lease = it->second;
    lease.queued_at.reset();
    KEEL_ASSERT(lease.expiry.has_value());
    if (*lease.expiry <= now) {
      expired.push_back(id);
      // Handed out again later if the revoke did not happen.
      Enqueue(lease, After(now, options_.expired_retry_interval));
    } else {
      Enqueue(lease, *lease.expiry);
    }
  }
  return expired;
}

std::vector<etcdserverpb::LeaseCheckpoint> Lessor::FindDueCheckpoints(size_t limit) {
  std::vector<etcdserverpb::LeaseCheckpoint> due;
  if (!primary() || !options_.checkpoint_enabled) return due;
  const TimePoint now = clock_.Now();
  while (due.size() < limit && !checkpoint_queue_.empty()) {
    const auto [at, id] = *checkpoint_queue_.begin();
    if (at > now) break;
    checkpoint_queue_.erase(checkpoint_queue_.begin());
    auto it = leases_.find(id);
    if (it == leases_.end() || it->second.checkpoint_at != at) continue;
    Lease& lease = it->second;
    lease.checkpoint_at.reset();
    if (!lease.expiry.has_value() || *lease.expiry <= now) continue;
    // Rounded up, as etcd does, so a checkpoint never shortens a lease.
    const Duration left = *lease.expiry - now;
    const int64_t remaining = (left + Seconds(1) - Nanoseconds(1)) / Seconds(1);
    if (remaining >= lease.ttl_seconds) {
      // Still inside a new leader's extension: nothing to record yet.
      ScheduleCheckpoint(lease);
      continue;
    }
    etcdserverpb::LeaseCheckpoint checkpoint;
    checkpoint.set_id(id);
    checkpoint.set_remaining_ttl(remaining);
    due.push_back(std::move(checkpoint));
  }
  return due;
}

}  // namespace keel::node
