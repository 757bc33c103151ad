// WalRaftStorage: raft's Storage, served from memory and made durable by a
// store::Wal. It lives in node/, which joins raft and store; store/ knows
// nothing of raft.
//
// raft reads its stable log synchronously, so the entries since the last
// snapshot live in a raft::MemoryStorage (etcd keeps them in its
// MemoryStorage the same way) and the Wal is their durable copy. The raft
// loop hands each Ready to Save(), which appends the Ready's records, syncs
// once, and only then updates the memory copy, so raft never reads back
// anything that is not durable. Once the state machine durably covers an
// index, Compact() records that in the WAL, drops the entries from memory
// and releases the segments the snapshot covers.
//
// Snapshot() returns metadata only (index, term, configuration): the
// state machine's data lives in the store, and the node layer attaches it
// when it sends a snapshot to a follower.
#ifndef KEEL_NODE_WAL_RAFT_STORAGE_H_
#define KEEL_NODE_WAL_RAFT_STORAGE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/storage.h"
#include "runtime/env.h"
#include "runtime/metrics.h"
#include "runtime/task.h"
#include "store/wal.h"

namespace keel::node {

class WalRaftStorage final : public raft::Storage {
 public:
  // A new member's storage: an empty log with configuration `initial`.
  // Errors as store::Wal::Create. Suspends.
  static Task<absl::StatusOr<std::unique_ptr<WalRaftStorage>>> Create(
      Env& env, store::WalOptions options, store::WalIdentity identity,
      raftpb::ConfState initial);

  // A restarting member's storage, recovered from its WAL. Errors as
  // store::Wal::Open (NotFound, FailedPrecondition for another member's
  // data, DataLoss for damage). Suspends.
  static Task<absl::StatusOr<std::unique_ptr<WalRaftStorage>>> Open(
      Env& env, store::WalOptions options, store::WalIdentity expected);

  // raft::Storage, all from memory; never suspend.
  absl::StatusOr<raft::InitialState> GetInitialState() override;
  absl::StatusOr<std::vector<raft::Entry>> Entries(uint64_t lo, uint64_t hi,
                                                   uint64_t max_size) override;
  absl::StatusOr<uint64_t> Term(uint64_t index) override;
  absl::StatusOr<uint64_t> LastIndex() override;
  absl::StatusOr<uint64_t> FirstIndex() override;
  absl::StatusOr<raftpb::Snapshot> Snapshot() override;

  // Persists one Ready: `snapshot` if not empty (it replaces the log), then
  // `entries` (overwriting any held entries from entries[0].index on), then
  // `hard_state` if not empty, with a single fsync (or, without
  // `must_sync`, as Ready::must_sync allows for a commit index alone, no
  // fsync; with set_unsafe_no_fsync, none unless there is a snapshot);
  // then updates memory. Entries must be contiguous with the log
  // (raft guarantees it). The WAL's error (the member must stop) on
  // failure. Suspends.
  Task<absl::Status> Save(raftpb::HardState hard_state,
                          std::vector<raftpb::Entry> entries,
                          raftpb::Snapshot snapshot, bool must_sync = true);

  // Records that the state machine durably holds everything up to `index`
  // (<= the last entry) with configuration `conf_state`: the marker is
  // synced, memory keeps the entries after `index`, and covered segments
  // are released. kSnapshotOutOfDate (raft/errors.h) if `index` is not
  // above the current snapshot. Suspends.
  Task<absl::Status> Compact(uint64_t index, raftpb::ConfState conf_state);

  // etcd's --unsafe-no-fsync: Save() writes and flushes entries and hard
  // states but never fsyncs them (a power failure loses them). A snapshot
  // record and Compact()'s marker are still synced: they are rare, and
  // segments are removed on their strength.
  void set_unsafe_no_fsync(bool no_fsync) { unsafe_no_fsync_ = no_fsync; }
  bool unsafe_no_fsync() const { return unsafe_no_fsync_; }

  const raftpb::HardState& hard_state() const { return memory_.hard_state(); }
  const store::WalRecoveryReport& recovery() const { return recovery_; }
  store::Wal& wal() { return *wal_; }
  // The time of each WAL fsync Save and Compact make (etcd's
  // etcd_disk_wal_fsync_duration_seconds).
  const metrics::Histogram& fsync_seconds() const { return fsync_seconds_; }

 private:
  WalRaftStorage(Clock& clock, std::unique_ptr<store::Wal> wal, const store::WalState& state);
  // wal_->Sync(), timed.
  Task<absl::Status> TimedSync();

  Clock& clock_;
  std::unique_ptr<store::Wal> wal_;
  raft::MemoryStorage memory_;
  metrics::Histogram fsync_seconds_{metrics::DiskDurationBuckets()};
  store::WalRecoveryReport recovery_;
  bool unsafe_no_fsync_ = false;
};

}  // namespace keel::node

#endif  // KEEL_NODE_WAL_RAFT_STORAGE_H_
