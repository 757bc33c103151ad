// Storage: how raft reads its stable log, and MemoryStorage, an in-memory
// implementation for tests and the simulator.
//
// raft keeps the entries it has not yet handed out for persistence in memory
// (its "unstable" log) and reads everything older through this interface.
// The application owns the Storage: it appends what Ready::entries holds,
// installs Ready::snapshot, records Ready::hard_state, and compacts the log
// once the state machine has a snapshot that covers a prefix.
//
// The contract raft relies on:
//   * Calls are synchronous and must not suspend or block on I/O; keel's
//     WAL-backed storage serves them from memory.
//   * The log is a contiguous run of entries (FirstIndex() .. LastIndex()),
//     preceded by the snapshot whose index is FirstIndex() - 1. Term() of
//     that snapshot index must still be answerable after compaction (a dummy
//     entry holds it); Term() of anything older returns kCompacted.
//   * An empty log with no snapshot has FirstIndex() == 1, LastIndex() == 0
//     and Term(0) == 0.
//   * Everything raft reads must be durable: raft only reads back what the
//     application persisted from an earlier Ready (and acknowledged with
//     Advance()).
//   * Errors raft branches on are made with MakeError (raft/errors.h):
//     kCompacted, kUnavailable and kSnapshotTemporarilyUnavailable, as each
//     method says. Any other error is fatal to raft (it asserts), as it is
//     in etcd: a member that cannot read its own log must stop.
#ifndef KEEL_RAFT_STORAGE_H_
#define KEEL_RAFT_STORAGE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/types.h"

namespace keel::raft {

struct InitialState {
  HardState hard_state;
  ConfState conf_state;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // The persisted HardState and the ConfState of the latest snapshot (or of
  // the bootstrap configuration). Called once, when raft starts.
  virtual absl::StatusOr<InitialState> GetInitialState() = 0;

  // Entries in [lo, hi), at most max_size encoded bytes but always at least
  // one entry when lo < hi. kCompacted if lo <= the snapshot index;
  // kUnavailable if the range is not held at all (raft treats that as fatal
  // for indexes it knows to exist). Requires hi <= LastIndex() + 1.
  virtual absl::StatusOr<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi,
                                                     uint64_t max_size) = 0;

  // The term of the entry at index, which must be in
  // [FirstIndex() - 1, LastIndex()]. kCompacted below that range,
  // kUnavailable above it.
  virtual absl::StatusOr<uint64_t> Term(uint64_t index) = 0;

  // Index of the last entry in the log (the snapshot index if the log is
  // empty).
  virtual absl::StatusOr<uint64_t> LastIndex() = 0;

  // Index of the first entry that may still be read with Entries(); older
  // entries were compacted into a snapshot.
  virtual absl::StatusOr<uint64_t> FirstIndex() = 0;

  // The most recent snapshot. kSnapshotTemporarilyUnavailable while one is
  // being produced; raft then waits and asks again later. The returned
  // snapshot is sent to a follower that needs it, so it must be non-empty
  // whenever FirstIndex() > 1.
  virtual absl::StatusOr<raftpb::Snapshot> Snapshot() = 0;
};

// An in-memory Storage. Not thread-safe (keel is single-threaded).
class MemoryStorage : public Storage {
 public:
  MemoryStorage();
  // An empty log whose configuration is `initial`, as a member started from
  // an empty snapshot of that configuration would find it.
  explicit MemoryStorage(const ConfState& initial);

  absl::StatusOr<InitialState> GetInitialState() override;
  absl::StatusOr<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi,
                                             uint64_t max_size) override;
  absl::StatusOr<uint64_t> Term(uint64_t index) override;
  absl::StatusOr<uint64_t> LastIndex() override;
  absl::StatusOr<uint64_t> FirstIndex() override;
  absl::StatusOr<raftpb::Snapshot> Snapshot() override;

  // Replaces the stored HardState.
  void SetHardState(const HardState& state);
  const HardState& hard_state() const { return hard_state_; }

  // Replaces the whole log by `snapshot`: entries are discarded and the
  // snapshot's index and term become the dummy entry. kSnapshotOutOfDate
  // if the held snapshot is not older.
  absl::Status ApplySnapshot(const raftpb::Snapshot& snapshot);

  // Records a snapshot of the state machine at `index` (which must be
  // applied, so <= LastIndex()), with the given configuration and data, and
  // returns it. Entries are kept; call Compact() to drop them.
  // kSnapshotOutOfDate if index is not newer than the held snapshot.
  absl::StatusOr<raftpb::Snapshot> CreateSnapshot(uint64_t index,
                                                  const ConfState* conf_state,
                                                  std::string data);

  // Discards the entries before compact_index; compact_index becomes the
  // dummy entry, so FirstIndex() becomes compact_index + 1. kCompacted if
  // that prefix is already gone. Requires compact_index <= LastIndex().
  absl::Status Compact(uint64_t compact_index);

  // Appends entries, first truncating any held entries at or after
  // entries[0].index (a leader overwrote them). Entries already compacted
  // are skipped. Requires entries to be contiguous with the held log.
  absl::Status Append(const std::vector<Entry>& entries);

 private:
  uint64_t first_index() const { return entries_[0].index() + 1; }
  uint64_t last_index() const {
    return entries_[0].index() + entries_.size() - 1;
  }

  HardState hard_state_;
  raftpb::Snapshot snapshot_;
  // entries_[0] is a dummy holding the snapshot's index and term.
  std::vector<Entry> entries_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_STORAGE_H_
