// RaftLog: raft's view of its log, stitched together from the stable part
// (read through Storage) and the unstable tail (UnstableLog), plus the
// commit and apply cursors.
//
// Invariant: applied <= committed <= LastIndex(), and every index in
// [FirstIndex() - 1, LastIndex()] has a known term.
#ifndef KEEL_RAFT_RAFT_LOG_H_
#define KEEL_RAFT_RAFT_LOG_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/log_unstable.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace keel::raft {

class RaftLog {
 public:
  // Starts with everything in storage stable and committed/applied at the
  // storage's snapshot. max_next_entries_size bounds the bytes NextEntries
  // returns at once.
  RaftLog(Storage& storage, uint64_t max_next_entries_size);

  // Appends entries from a leader's MsgApp whose previous entry is
  // (index, log_term), truncating any conflicting suffix, and commits up to
  // min(committed, last new index). Returns the last index the message
  // covered, or nullopt if (index, log_term) does not match our log.
  std::optional<uint64_t> MaybeAppend(uint64_t index, uint64_t log_term,
                                      uint64_t committed,
                                      std::vector<Entry> entries);

  // Appends entries to the unstable tail (truncating at entries[0].index);
  // returns the new last index. Requires entries[0].index > committed.
  uint64_t Append(std::vector<Entry> entries);

  // The index of the first entry whose term differs from ours (or that we
  // do not have), or 0 when all of them match.
  uint64_t FindConflict(const std::vector<Entry>& entries) const;

  // The largest index <= index whose term is <= term (or whose term is
  // unknown because it is compacted). Used to skip a whole term at a time
  // when a follower rejects an append.
  uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Entries not yet handed out for persistence.
  const std::vector<Entry>& UnstableEntries() const {
    return unstable_.entries();
  }
  // Committed entries not yet applied (at most max_next_entries_size
  // bytes, at least one entry).
  std::vector<Entry> NextEntries() const;
  bool HasNextEntries() const;

  // The pending unstable snapshot, else the storage's snapshot.
  absl::StatusOr<raftpb::Snapshot> Snapshot() const;

  uint64_t FirstIndex() const;
  uint64_t LastIndex() const;
  uint64_t LastTerm() const;

  // The term of index: 0 outside [FirstIndex()-1, LastIndex()], kCompacted
  // or kUnavailable when storage says so.
  absl::StatusOr<uint64_t> Term(uint64_t index) const;
  // Term(), with 0 for a compacted index. Asserts on other errors.
  uint64_t ZeroTermOnCompacted(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;

  // Entries from index on, at most max_size bytes (at least one entry).
  absl::StatusOr<std::vector<Entry>> EntriesFrom(uint64_t index,
                                                 uint64_t max_size) const;
  // Every entry from FirstIndex() on.
  std::vector<Entry> AllEntries() const;
  // Entries in [lo, hi); kCompacted if lo < FirstIndex().
  absl::StatusOr<std::vector<Entry>> Slice(uint64_t lo, uint64_t hi,
                                           uint64_t max_size) const;

  // Whether a log ending in (last_index, term) is at least as up to date
  // as ours (Raft paper, 5.4.1).
  bool IsUpToDate(uint64_t last_index, uint64_t term) const;

  // Advances committed to max_index if the entry there has `term` (only
  // entries of the leader's term are committed by counting replicas).
  bool MaybeCommit(uint64_t max_index, uint64_t term);
  // Advances committed; never moves it back. Requires to <= LastIndex().
  void CommitTo(uint64_t to);
  // Advances applied. Requires applied <= index <= committed.
  void AppliedTo(uint64_t index);

  void StableTo(uint64_t index, uint64_t term) {
    unstable_.StableTo(index, term);
  }
  void StableSnapshotTo(uint64_t index) { unstable_.StableSnapshotTo(index); }

  // Replaces the log by a snapshot and commits up to it.
  void Restore(raftpb::Snapshot snapshot);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  const UnstableLog& unstable() const { return unstable_; }
  // Only for loading a persisted HardState at startup.
  void set_committed(uint64_t committed) { committed_ = committed; }

 private:
  absl::Status CheckOutOfBounds(uint64_t lo, uint64_t hi) const;

  Storage& storage_;
  UnstableLog unstable_;
  uint64_t committed_;
  uint64_t applied_;
  uint64_t max_next_entries_size_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_RAFT_LOG_H_
