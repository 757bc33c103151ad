// RaftLogFile: the `raft` scenario's write-ahead log, one append-only file of
// checksummed records holding a member's id, its raft entries, its hard
// states and its snapshots.
//
// Record (little endian):
//   masked crc32c u32 | payload length u32 | file offset u64 | type u8 |
//   payload
// The CRC covers everything after itself, including the record's own file
// offset, so a record that lands somewhere else fails its check there.
// Payloads: kMember a u64 member id, kEntry a raftpb::Entry, kHardState a
// raftpb::HardState, kSnapshot a raftpb::Snapshot (metadata and data).
// Entries replace a suffix the way raft's Ready asks: replaying an entry
// whose index is at or below the last one drops everything from that index
// first (etcd's WAL does the same), so the writer only ever appends.
// A snapshot record at (i, t) replaces the log up to i: if the entries
// replayed so far hold index i with term t (the member compacted its own
// log), entries after i are kept and the rest dropped; otherwise (a
// leader's snapshot replaced a log that diverged or fell behind, as
// MemoryStorage::ApplySnapshot does) every entry is dropped. Entries at or
// below the snapshot's index replayed later are skipped: they are compacted.
//
// Recovery (Open) reads records until the first one that does not check
// out (reads are retried, since a read may flip a bit the disk does not
// hold), then decides what that record is:
//   - a torn tail, if it runs past the end of the file or one of its
//     sector-aligned pieces is all zeros (what the sectors of an append that
//     a crash lost read as): it and everything after it are dropped;
//   - corruption otherwise: Open fails with DataLoss, and the member must
//     not start (it would forget votes and entries it promised to keep).
// The recovered state is then rewritten into a fresh file, synced, renamed
// over the log and the directory synced: after a failed fsync the page
// cache may still show bytes the disk has lost (fsyncgate), so nothing read
// back is trusted as durable until it has been written and synced again.
//
// The rewrite always puts the snapshot (if any) first. Once the file has
// grown well past that rewrite (kShrinkFactor times it, and at least
// kMinShrinkBytes), MaybeShrink() rewrites it the same crash-safe way, so
// compaction bounds the file as well as memory.
//
// After any write or sync error the log is broken() and refuses further
// work: its member must stop and recover from disk in a new process.
#ifndef KEEL_SIM_SCENARIOS_RAFT_LOG_FILE_H_
#define KEEL_SIM_SCENARIOS_RAFT_LOG_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/raft.pb.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace keel::sim {

inline constexpr size_t kRaftRecordHeaderBytes = 17;
inline constexpr size_t kMaxRaftRecordBytes = 16 << 20;
// How often a read whose checksum fails is retried before the record is
// judged bad.
inline constexpr int kRaftLogReadAttempts = 8;
// MaybeShrink() rewrites the file once it holds more than this many times
// the bytes its state needs, and at least kMinShrinkBytes.
inline constexpr uint64_t kShrinkFactor = 2;
inline constexpr uint64_t kMinShrinkBytes = 64 << 10;

enum class RaftRecordType : uint8_t {
  kMember = 1,
  kEntry = 2,
  kHardState = 3,
  kSnapshot = 4,
};

// What recovery found on disk.
struct RecoveredRaftLog {
  uint64_t member_id = 0;  // 0: no member record survived
  raftpb::HardState hard_state;
  // The newest snapshot; metadata().index() == 0 when there is none.
  raftpb::Snapshot snapshot;
  // Contiguous from snapshot.metadata().index() + 1.
  std::vector<raftpb::Entry> entries;
  uint64_t records = 0;
  uint64_t file_bytes = 0;
  uint64_t valid_bytes = 0;  // where the torn tail (if any) began
  bool torn_tail() const { return valid_bytes < file_bytes; }
};

// Encodes one record to be written at `offset`. Exposed for tests that
// build damaged files.
std::string EncodeRaftRecord(RaftRecordType type, std::string_view payload,
                             uint64_t offset);

class RaftLogFile {
 public:
  // Opens (creating) `dir`/raft.log on env.fs(), recovers it into *out as
  // the header describes, and leaves a durable copy of exactly that state as
  // the log. Errors: DataLoss for corruption (with the offset), whatever
  // the disk returns otherwise (the caller stops; its process restarts).
  // Suspends.
  static Task<absl::StatusOr<std::unique_ptr<RaftLogFile>>> Open(
      Env& env, std::string dir, RecoveredRaftLog* out);

  // Appends records (not durable until Sync): the member id, then
  // `entries`, then `hard_state` if not null, in one write. On an error the
  // log is broken. FailedPrecondition once broken.
  absl::Status Write(uint64_t member_id, const std::vector<raftpb::Entry>& entries,
                     const raftpb::HardState* hard_state);
  absl::Status Write(const std::vector<raftpb::Entry>& entries,
                     const raftpb::HardState* hard_state) {
    return Write(0, entries, hard_state);
  }

  // Appends a snapshot record (not durable until Sync). The snapshot must
  // be newer than the last one written. On an error the log is broken.
  // FailedPrecondition once broken.
  absl::Status WriteSnapshot(const raftpb::Snapshot& snapshot);

  // Makes every record written so far durable. Suspends. On failure the log
  // is broken: what the sync was to persist is undefined.
  Task<absl::Status> Sync();

  // Rewrites the file to just its state (as Open does: fresh file, sync,
  // rename, sync the directory) if it has grown past kShrinkFactor times
  // that state. Call only when everything written is synced. On an error
  // the log is broken (the old or the new file is on disk, both whole).
  // Suspends.
  Task<absl::Status> MaybeShrink();

  bool broken() const { return broken_; }
  uint64_t end() const { return end_; }
  uint64_t shrinks() const { return shrinks_; }
  // What replaying the file gives: the member id, newest snapshot, entries
  // after it and hard state.
  const RecoveredRaftLog& state() const { return state_; }

 private:
  RaftLogFile(Env& env, std::string dir, std::unique_ptr<File> file,
              uint64_t end, RecoveredRaftLog state)
      : env_(env), dir_(std::move(dir)), file_(std::move(file)), end_(end),
        state_(std::move(state)) {}

  absl::Status Append(const std::string& batch);

  Env& env_;
  const std::string dir_;
  std::unique_ptr<File> file_;
  uint64_t end_;
  // Kept in step with every write, so a shrink needs no read.
  RecoveredRaftLog state_;
  bool broken_ = false;
  uint64_t shrinks_ = 0;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RAFT_LOG_FILE_H_
