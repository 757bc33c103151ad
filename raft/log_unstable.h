// UnstableLog: the tail of the raft log that the application has not yet
// persisted, plus a snapshot received from the leader that it has not yet
// installed.
//
// Entries in [offset, offset + entries.size()) live here until the
// application reports them stable (StableTo). A snapshot here precedes the
// entries: when present, offset == snapshot index + 1.
#ifndef KEEL_RAFT_LOG_UNSTABLE_H_
#define KEEL_RAFT_LOG_UNSTABLE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "raft/types.h"

namespace keel::raft {

class UnstableLog {
 public:
  explicit UnstableLog(uint64_t offset) : offset_(offset) {}

  // The first index if a snapshot is held (snapshot index + 1).
  std::optional<uint64_t> MaybeFirstIndex() const;
  // The last index, if any entry or snapshot is held.
  std::optional<uint64_t> MaybeLastIndex() const;
  // The term of index, if it is held here (or is the snapshot's index).
  std::optional<uint64_t> MaybeTerm(uint64_t index) const;

  // The application persisted everything up to (index, term). Ignored if
  // the entry at index has since been replaced by one of another term, or
  // index is not held here.
  void StableTo(uint64_t index, uint64_t term);
  // The application installed the snapshot at index.
  void StableSnapshotTo(uint64_t index);

  // Replaces everything by the snapshot.
  void Restore(raftpb::Snapshot snapshot);

  // Appends entries, first dropping any held entries at or after
  // entries[0].index. Requires entries to be non-empty and contiguous.
  void TruncateAndAppend(std::vector<Entry> entries);

  // Copies of the entries in [lo, hi); requires offset <= lo <= hi <= end.
  std::vector<Entry> Slice(uint64_t lo, uint64_t hi) const;

  uint64_t offset() const { return offset_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::optional<raftpb::Snapshot>& snapshot() const { return snapshot_; }

 private:
  void CheckBounds(uint64_t lo, uint64_t hi) const;

  std::optional<raftpb::Snapshot> snapshot_;
  std::vector<Entry> entries_;
  uint64_t offset_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_LOG_UNSTABLE_H_
