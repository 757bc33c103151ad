// Lessor: etcd's leases (lease/lessor.go), on keel's Mvcc.
//
// Two halves with different rules:
//  - The apply side runs on every member, from applied raft entries, and is
//    deterministic: Grant, Revoke, Checkpoint and Expire change the lease
//    table in the Mvcc (and the keys attached to a lease) exactly as every
//    other member does at the same index. The in-memory table mirrors the
//    Mvcc's persisted one and is rebuilt from it by Load().
//  - The leader side (the "primary" lessor) is local: it keeps each lease's
//    expiry on this member's clock, renews on keepalive, finds expired
//    leases and due checkpoints for the server to propose, and forgets all
//    of it on Demote(). Promote() gives every lease its remaining TTL plus
//    an extension counted from now, so leases never expire because the
//    cluster was leaderless for a while, and a lease the old leader kept
//    alive gets a full TTL from the new one.
//
// The keys attached to a lease live in the Mvcc's lease index
// (Mvcc::KeysOfLease), not here. Nothing here suspends; the server's lease
// loop (server_lease.cc) turns FindExpired/FindDueCheckpoints into
// proposals.
#ifndef KEEL_NODE_LESSOR_H_
#define KEEL_NODE_LESSOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/rpc.pb.h"
#include "runtime/clock.h"
#include "runtime/executor.h"
#include "runtime/failpoints.h"
#include "runtime/time.h"
#include "store/mvcc.h"

namespace keel::node {

// LessorOptions' layout differs between the builds (runtime/failpoints.h).
KEEL_FAILPOINT_BUILD_TAG();

// etcd's MaxLeaseTTL: a grant asking for more is refused.
inline constexpr int64_t kMaxLeaseTtlSeconds = 9'000'000'000;
// etcd's leaseRevokeRate: expired leases revoked per second at most.
inline constexpr int kLeaseRevokeRate = 1000;
// etcd's leaseCheckpointRate and maxLeaseCheckpointBatchSize.
inline constexpr int kLeaseCheckpointRate = 1000;
inline constexpr size_t kMaxLeaseCheckpointBatch = 1000;
// etcd's defaultLeaseCheckpointInterval.
inline constexpr Duration kDefaultLeaseCheckpointInterval = Seconds(5 * 60);

struct LessorOptions {
  LessorOptions() {}
  // Grants (and loaded leases) below this are raised to it: etcd's
  // minLeaseTTL, ceil(1.5 x election timeout) in seconds.
  int64_t min_ttl_seconds = 1;
  // --experimental-enable-lease-checkpoint: the leader checkpoints
  // remaining TTLs, and a new leader (or a restarted member) resumes leases
  // from their checkpointed remaining TTL instead of the full TTL.
  bool checkpoint_enabled = false;
  Duration checkpoint_interval = kDefaultLeaseCheckpointInterval;
  // How long after an expired lease was handed out for revocation it is
  // handed out again if it still exists (etcd: the request timeout).
  Duration expired_retry_interval = Seconds(7);
#if KEEL_FAILPOINTS
  // A deliberate defect, failpoint build only (failpoints::ServerBugs's
  // lease_early_expiry): Renew answers as usual but leaves the expiry where
  // it was, so a lease kept alive expires anyway.
  bool failpoint_ignore_keepalives = false;
#endif
};

// etcd's minLeaseTTL for a member with these raft timings.
int64_t MinLeaseTtlSeconds(int64_t election_timeout_ms, int64_t heartbeat_interval_ms);

// What a leader knows about one lease (LeaseTimeToLive).
struct LeaseInfo {
  int64_t id = 0;
  int64_t granted_ttl_seconds = 0;
  // Whole seconds left before expiry, in [0, granted]; only meaningful on
  // the primary.
  int64_t remaining_seconds = 0;
};

enum class RenewOutcome {
  kRenewed,     // ttl_seconds is the granted TTL the lease now has left
  kNotPrimary,  // this member does not hold leases' expiries: ask the leader
  kNotFound,    // no such lease
  kExpired,     // expired and not yet revoked: wait for the revoke
};

struct RenewResult {
  RenewOutcome outcome = RenewOutcome::kNotFound;
  int64_t ttl_seconds = 0;
};

class Lessor {
 public:
  // `clock` and `mvcc` must outlive the lessor.
  Lessor(Clock& clock, store::Mvcc& mvcc, LessorOptions options);
  Lessor(const Lessor&) = delete;
  Lessor& operator=(const Lessor&) = delete;

  // Rebuilds the table from the Mvcc's persisted leases (TTLs below the
  // minimum raised, as etcd does). Every lease starts with no expiry: this
  // member is not primary. DataLoss if the table is malformed.
  absl::Status Load();
  // After a snapshot replaced the key space: the lessor works on `mvcc`
  // from now on, with the leases it holds (not primary any more).
  absl::Status Reload(store::Mvcc& mvcc);
  // After a defragmentation swapped in a copy of the same store: reads and
  // writes go to `mvcc`; the leases and the leader's expiry state stay.
  void Repoint(store::Mvcc& mvcc) { mvcc_ = &mvcc; }

  // ---- apply side: every member, deterministic. Each call consumes
  // `entry` in the Mvcc exactly once, also when it refuses the request. ----

  // Grants lease `id` with `ttl_seconds` (raised to the minimum). Returns
  // the TTL granted. kLeaseExist if the id is taken; kLeaseNotFound for id
  // 0; kLeaseTTLTooLarge above kMaxLeaseTtlSeconds; store errors.
  absl::StatusOr<int64_t> Grant(store::EntryId entry, int64_t id, int64_t ttl_seconds);
  // Revokes lease `id`, deleting its keys at one revision. Returns the
  // revision after the revoke. kLeaseNotFound; store errors.
  absl::StatusOr<int64_t> Revoke(store::EntryId entry, int64_t id);
  // Records remaining TTLs (0 clears a checkpoint) of the leases that
  // exist; others are ignored, as etcd does. Store errors only.
  absl::Status Checkpoint(store::EntryId entry,
                          const etcdserverpb::LeaseCheckpointRequest& request);
  // Revokes whichever of `ids` still exist (the leader's expiry). At most
  // one lease per entry can be revoked (Mvcc::RevokeLease takes the entry);
  // if several listed leases still exist the entry is refused with
  // InvalidArgument and nothing changes. Returns the number revoked.
  absl::StatusOr<int> Expire(store::EntryId entry, const std::vector<int64_t>& ids);

  // ---- leader side: local to this member ----

  // Becomes primary for raft term `term`: every lease expires its
  // remaining TTL (the checkpointed one when checkpointing is on, else the
  // full TTL) plus `extend` from now, spread out when there are more than
  // kLeaseRevokeRate leases, as etcd does.
  void Promote(Duration extend, uint64_t term);
  // Stops being primary: no lease has an expiry any more. Idempotent.
  void Demote();
  bool primary() const { return primary_term_.has_value(); }
  // True if primary since the promotion in `term`.
  bool IsPrimaryFor(uint64_t term) const {
    return primary_term_.has_value() && *primary_term_ == term;
  }

  // Renews `id` to its full TTL (keepalive).
  RenewResult Renew(int64_t id);
  // True if checkpointing is on and `id` has a checkpointed remaining TTL,
  // which a keepalive must clear through raft (so a later leader does not
  // resume the lease from a stale checkpoint).
  bool HasCheckpoint(int64_t id) const;
  // The lease, if it exists.
  std::optional<LeaseInfo> Lookup(int64_t id) const;
  // All lease ids, ascending.
  std::vector<int64_t> Ids() const;
  // All lease ids, soonest expiry first (etcd's LeaseLeases order on the
  // leader); leases without an expiry last, by id.
  std::vector<int64_t> IdsByExpiry() const;
  size_t size() const { return leases_.size(); }

  // On the primary: up to `limit` leases whose expiry has passed, in expiry
  // order. Each is handed out again only after expired_retry_interval if it
  // is still there. Empty when not primary.
  std::vector<int64_t> FindExpired(size_t limit);
  // On the primary with checkpointing on: up to `limit` checkpoints due now
  // (leases whose remaining TTL is below their TTL).
  std::vector<etcdserverpb::LeaseCheckpoint> FindDueCheckpoints(size_t limit);

  // Woken on every promote, demote and revoke (what a renew of an expired
  // lease waits for).
  WaitQueue& changed() { return changed_; }

 private:
  struct Lease {
    int64_t id = 0;
    int64_t ttl_seconds = 0;
    // Checkpointed remaining TTL; 0 means none (use the full TTL).
    int64_t remaining_ttl_seconds = 0;
    // On the primary; nullopt means never (not primary).
    std::optional<TimePoint> expiry;
    // Its keys in expiry_queue_ and checkpoint_queue_, if queued.
    std::optional<TimePoint> queued_at;
    std::optional<TimePoint> checkpoint_at;
  };
  using Queue = absl::btree_set<std::pair<TimePoint, int64_t>>;

  // The TTL a refresh starts from: the checkpoint if in use, else the TTL.
  int64_t StartingTtlSeconds(const Lease& lease) const;
  void Refresh(Lease& lease, Duration extend);
  void Enqueue(Lease& lease, TimePoint at);
  void Dequeue(Lease& lease);
  void ScheduleCheckpoint(Lease& lease);
  void UnscheduleCheckpoint(Lease& lease);
  void SpreadExpiries(Duration extend);
  store::LeaseRecord Record(const Lease& lease) const;
  absl::Status Refuse(store::EntryId entry, absl::Status status);

  Clock& clock_;
  store::Mvcc* mvcc_;
  const LessorOptions options_;
  std::map<int64_t, Lease> leases_;
  std::optional<uint64_t> primary_term_;
  // (time to look at the lease, id), primary only.
  Queue expiry_queue_;
  Queue checkpoint_queue_;
  WaitQueue changed_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_LESSOR_H_
