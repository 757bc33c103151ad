// LeaseCoordinator: leases as a member serves them (etcd's lessor plumbing
// in EtcdServer).
//
// Grants and revokes are raft proposals, applied by the Lessor on every
// member (through the applier chain). Renewals and TimeToLive are answered
// by the leader's lessor, which holds the expiries; on another member they
// fail with kNotLeader and the Lease service forwards them. The lease loop
// runs on every member but works only while this member's lessor is
// primary: it proposes the revocation of expired leases and, with
// --experimental-enable-lease-checkpoint, the remaining TTLs of long
// leases. The lessor is promoted when the leader applies the first entry of
// its term (OnLeaderEntryApplied, from the apply loop) and demoted here as
// soon as the leadership is gone.
#ifndef KEEL_NODE_LEASE_COORDINATOR_H_
#define KEEL_NODE_LEASE_COORDINATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/applied_index.h"
#include "node/key_space.h"
#include "node/member_life.h"
#include "node/no_space_alarm.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "node/read_index.h"
#include "node/response_header.h"
#include "proto/rpc.pb.h"
#include "runtime/env.h"

namespace keel::node {

struct LeaseCoordinatorOptions {
  int64_t election_timeout_ms = 1000;
  bool checkpoint_enabled = false;
  // etcd's ReqTimeout.
  Duration request_timeout = Seconds(7);
};

// The parts a LeaseCoordinator works with; all must outlive it.
struct LeaseParts {
  Env& env;
  KeySpace& key_space;
  RaftNode& raft;
  Proposer& proposer;
  AppliedIndex& applied;
  ReadIndexBatcher& reads;
  const ResponseHeaders& headers;
  NoSpaceAlarm& no_space;
  MemberLife& life;
};

class LeaseCoordinator {
 public:
  LeaseCoordinator(LeaseParts parts, LeaseCoordinatorOptions options)
      : parts_(parts), options_(options) {}
  LeaseCoordinator(const LeaseCoordinator&) = delete;
  LeaseCoordinator& operator=(const LeaseCoordinator&) = delete;

  // Starts the lease loop in the member's process.
  void Start();
  // The member is stopping: wakes every lease wait.
  void Interrupt() { stop_.Set(); }

  // Grants through raft; an ID of 0 gets a fresh positive one. Errors:
  // kLeaseTTLTooLarge and kNoSpace (before proposing), kLeaseExist,
  // Propose's.
  Task<absl::StatusOr<etcdserverpb::LeaseGrantResponse>> Grant(
      etcdserverpb::LeaseGrantRequest request);
  // Revokes through raft, stamped with `caller` (the auth applier checks
  // write permission on the lease's keys). kLeaseNotFound, Propose's and
  // the auth applier's errors.
  Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> Revoke(
      etcdserverpb::LeaseRevokeRequest request, AuthInfo caller);
  // Revoke() for an anonymous caller (a forwarder, not a coroutine: see
  // KvFrontend's anonymous forms).
  Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> Revoke(
      etcdserverpb::LeaseRevokeRequest request) {
    return Revoke(std::move(request), AuthInfo{});
  }
  // On the leader: renews lease `id` and returns its TTL. kNotLeader if
  // this member is not the leader (the caller forwards), kLeaseNotFound,
  // kTimeoutWaitAppliedIndex, kTimeout, kStopped. Suspends.
  Task<absl::StatusOr<int64_t>> Renew(int64_t id);
  // On the leader: the lease's remaining and granted TTL (and keys if
  // asked). kNotLeader, kLeaseNotFound and Renew's other errors.
  Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> TimeToLive(
      etcdserverpb::LeaseTimeToLiveRequest request);
  // Every lease, soonest expiry first (etcd's order), after a linearizable
  // barrier. The barrier's errors.
  Task<absl::StatusOr<etcdserverpb::LeaseLeasesResponse>> Leases();

  // The apply loop applied the empty entry a leader appends at the start of
  // `term`: everything earlier leaders committed is applied here, so the
  // lessor takes over expiries (etcd promotes at the same point), extending
  // every lease by an election timeout.
  void OnLeaderEntryApplied(uint64_t term);

  const Lessor& lessor() const { return parts_.key_space.lessor(); }

 private:
  Task<void> LeaseLoop();
  Task<void> RevokeExpired(std::vector<int64_t> ids);
  Task<void> Checkpoint(std::vector<std::vector<etcdserverpb::LeaseCheckpoint>> batches);
  // True while this member is the leader and its lessor was promoted in
  // the current term.
  bool PrimaryNow() const;
  // Waits (until `deadline`) for this member's lessor to be primary.
  // kNotLeader, kTimeout, kStopped.
  Task<absl::Status> WaitPrimary(TimePoint deadline);
  // Waits until the lessor or the leader changes, the member stops, or
  // `deadline` passes.
  Task<void> WaitChange(TimePoint deadline);
  // Waits until everything committed is applied (a grant committed before
  // a keepalive must be visible to it). kTimeoutWaitAppliedIndex.
  Task<absl::Status> CatchUp();
  // A fresh lease ID in etcd's format (never 0 unless the counter wraps:
  // the caller retries).
  int64_t NextLeaseId();

  LeaseParts parts_;
  const LeaseCoordinatorOptions options_;
  // Set once when the member stops (wakes lease waits).
  Event stop_;
  // The leader's expiry and checkpoint proposals in flight.
  bool revoking_ = false;
  bool checkpointing_ = false;
  // NextLeaseId's counter: 0 until the first grant.
  uint64_t lease_id_suffix_ = 0;
};

// How often the leader looks for expired leases and due checkpoints
// (etcd's lessor runLoop).
inline constexpr Duration kLeaseLoopInterval = Milliseconds(500);
// Expired-lease revocations in flight at once (etcd's maxPendingRevokes).
inline constexpr size_t kMaxPendingLeaseRevokes = 16;
// How long a lease request waits for the applier to catch up with the
// commit index (etcd's applyTimeout).
inline constexpr Duration kLeaseApplyTimeout = Seconds(1);

}  // namespace keel::node

#endif  // KEEL_NODE_LEASE_COORDINATOR_H_
