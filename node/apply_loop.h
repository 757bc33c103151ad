// ApplyLoop: committed entries, in index order, into the state machine
// (etcd's applyAll).
//
// It takes what the raft node commits: a leader's snapshot is installed
// into the key space first; then each entry is applied exactly once —
// normal entries through the applier chain, membership changes to raft's
// configuration and the member list — and its result delivered to the
// proposal's waiter if it was proposed here. Entries the key space already
// holds (a replay after a restart, or below an installed snapshot) are
// skipped. After each batch the log may be compacted behind it.
//
// Invariants (asserted): entries arrive with contiguous indexes after the
// log's snapshot; nothing is applied that is not both committed and
// persisted on this member.
#ifndef KEEL_NODE_APPLY_LOOP_H_
#define KEEL_NODE_APPLY_LOOP_H_

#include <cstdint>

#include "absl/status/status.h"
#include "node/applied_index.h"
#include "node/applier.h"
#include "node/cluster_membership.h"
#include "node/key_space.h"
#include "node/lease_coordinator.h"
#include "node/member_life.h"
#include "node/no_space_alarm.h"
#include "node/proposer.h"
#include "node/raft_node.h"
#include "runtime/env.h"
#include "runtime/metrics.h"

namespace keel::node {

// The parts the apply loop drives; all must outlive it.
struct ApplyParts {
  Env& env;
  RaftNode& raft;
  KeySpace& key_space;
  Applier& applier;  // the head of the chain
  Proposer& proposer;
  ClusterMembership& membership;
  LeaseCoordinator& leases;
  NoSpaceAlarm& no_space;
  AppliedIndex& applied;
  MemberLife& life;
  // Applies slower than this are logged (etcd's
  // --experimental-warning-apply-duration).
  Duration warning_apply_duration = Milliseconds(100);
};

// Watches the apply loop (keel-sim's failpoints). Null in production.
class ApplyObserver {
 public:
  virtual ~ApplyObserver() = default;
  // `entry` was applied (or skipped as already held).
  virtual void OnApplied(const raft::Entry& entry) = 0;
};

class ApplyLoop {
 public:
  explicit ApplyLoop(ApplyParts parts);
  ApplyLoop(const ApplyLoop&) = delete;
  ApplyLoop& operator=(const ApplyLoop&) = delete;

  // Starts the loop in the member's process.
  void Start();
  void set_observer(ApplyObserver* observer) { observer_ = observer; }

  // Leader snapshots installed since the member started.
  int snapshots_installed() const { return snapshots_installed_; }

  // For /metrics (node/metrics_endpoint.h).
  struct Metrics {
    // etcd's slowApplies: entries applied slower than
    // --experimental-warning-apply-duration.
    metrics::Counter slow_apply;
    // The time to write one batch of committed entries into the key space
    // (LevelDB writes, unsynced): keel's counterpart of etcd's bbolt batch
    // commit, etcd_disk_backend_commit_duration_seconds.
    metrics::Histogram backend_commit_seconds{metrics::DiskDurationBuckets()};
    // Entries per applied batch (keel_apply_batch_entries).
    metrics::Histogram apply_batch_entries{metrics::BatchSizeBuckets()};
  };
  const Metrics& metrics() const { return metrics_; }

 private:
  Task<void> Loop();
  absl::Status InstallSnapshot(const raftpb::Snapshot& snapshot);
  absl::Status ApplyEntry(const raft::Entry& entry);
  absl::Status ApplyNormal(const raft::Entry& entry);
  absl::Status ApplyConfChange(const raft::Entry& entry);
  absl::Status ApplyConfChangeV2(const raft::Entry& entry);
  // Whether the key space already holds `entry` (a replay).
  bool Applied(const raft::Entry& entry) const;

  ApplyParts parts_;
  // The index of the last entry handed to ApplyEntry (or of the installed
  // snapshot): the next must follow it.
  uint64_t last_index_;
  int snapshots_installed_ = 0;
  ApplyObserver* observer_ = nullptr;
  Metrics metrics_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_APPLY_LOOP_H_
