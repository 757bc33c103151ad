// Wal: raft's write-ahead log, a directory of segment files of checksummed
// records (doc/wal_format.md).
//
// The raft loop appends a Ready's records (snapshot marker, entries, hard
// state) without waiting, then calls Sync() once: one fsync covers them all
// (group commit). A segment that has reached options.segment_bytes is
// closed at the next Sync() and a new one started; segments a snapshot
// covers are released by ReleaseTo(). Open() recovers: a torn tail (the
// write a crash interrupted) is cut off and the cut synced; damage anywhere
// else is a DataLoss error naming the file and offset, and nothing of it is
// returned.
//
// Single user: calls must not overlap (one Sync() or ReleaseTo() at a time,
// and no appends while one is in flight). After any I/O error the Wal is
// broken: every later call fails, and the member must stop (a failed fsync
// leaves the unsynced writes in an unknown state; retrying would lie).
#ifndef KEEL_STORE_WAL_H_
#define KEEL_STORE_WAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/raft.pb.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/wal_format.h"
#include "store/wal_replay.h"

namespace keel::store {

struct WalOptions {
  // The WAL's own directory (e.g. <data-dir>/member/wal); nothing else may
  // live in it.
  std::string dir;
  // A segment is closed once it holds at least this many bytes.
  uint64_t segment_bytes = kDefaultWalSegmentBytes;
  // etcd's --max-wals: once there are more segments than this, ReleaseTo()
  // removes the oldest ones a snapshot covers (never an uncovered one). 0
  // keeps every segment.
  int max_segments = kDefaultWalMaxSegments;
};

// Whose WAL this is, written in every segment header, so that a data
// directory of another member or cluster is refused.
struct WalIdentity {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  bool operator==(const WalIdentity&) const = default;
};

// What Open() found, besides the state itself.
struct WalRecoveryReport {
  WalIdentity identity;
  size_t segments = 0;
  uint64_t records = 0;
  // Bytes cut from the end of the last segment (a torn write), and where.
  uint64_t torn_bytes = 0;
  std::string torn_file;
  uint64_t torn_offset = 0;
};

class Wal {
 public:
  // Whether `dir` holds a WAL (a completed Create).
  static bool Exists(FileSystem& fs, std::string_view dir);

  // Creates a WAL whose log is empty and whose configuration is `initial`
  // (recorded as a snapshot marker at index 0). Crash safe: it is built in
  // "<dir>.tmp" and renamed into place, so after a crash the WAL either
  // exists whole or not at all. AlreadyExists if `dir` exists. Suspends.
  static Task<absl::StatusOr<std::unique_ptr<Wal>>> Create(
      Env& env, WalOptions options, WalIdentity identity,
      raftpb::ConfState initial);

  // Recovers the WAL in options.dir into *state (and *report, if given)
  // and opens it for appending after the last good record. NotFound if
  // there is no WAL; FailedPrecondition if it belongs to another member or
  // cluster than `expected` (a zero id is not checked); DataLoss for
  // damage, naming the file and offset. Suspends.
  static Task<absl::StatusOr<std::unique_ptr<Wal>>> Open(
      Env& env, WalOptions options, WalIdentity expected, WalState* state,
      WalRecoveryReport* report = nullptr);

  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends without waiting for the disk (records are buffered and written
  // to the page cache at the latest by Sync()). Each entry's index must be
  // at most last_index() + 1 and above the snapshot: a lower index
  // overwrites the entries from there on. The error of a broken Wal, or
  // the write's error (which breaks it).
  absl::Status AppendEntries(const std::vector<raftpb::Entry>& entries);
  absl::Status AppendHardState(const raftpb::HardState& hard_state);
  // A snapshot raft installed: the log is replaced by it. Its index must be
  // above the current snapshot's.
  absl::Status AppendSnapshot(const raftpb::SnapshotMetadata& snapshot);
  // The state machine's snapshot at an index <= last_index(): entries up to
  // it are compacted. Its index must be above the current snapshot's.
  absl::Status AppendCompaction(const raftpb::SnapshotMetadata& snapshot);

  // Writes the buffered records to the file (the page cache) without
  // waiting for the disk; a crash may keep any part of them. The error of
  // a broken Wal, or the write's error (which breaks it).
  absl::Status Flush();

  // Makes everything appended so far durable with one fsync, then starts a
  // new segment if the current one is full. Internal on an I/O error
  // (the Wal is then broken). Suspends.
  Task<absl::Status> Sync();

  // Removes the oldest segments whose entries are all at or below `index`
  // (which a durable snapshot covers) while more than options.max_segments
  // remain, then syncs the directory. Suspends.
  Task<absl::Status> ReleaseTo(uint64_t index);

  uint64_t last_index() const { return last_index_; }
  const raftpb::SnapshotMetadata& snapshot() const { return snapshot_; }
  const WalIdentity& identity() const { return identity_; }
  // The segment files, oldest first.
  std::vector<std::string> segment_names() const;
  // Bytes in the segment being written, buffered ones included.
  uint64_t tail_bytes() const { return offset_ + buffer_.size(); }
  const absl::Status& broken() const { return broken_; }

 private:
  struct Segment {
    uint64_t seq;
    uint64_t first_index;
    std::string name;
  };

  Wal(Env& env, WalOptions options, WalIdentity identity);

  absl::Status AppendRecord(WalRecordType type, std::string_view payload);
  absl::Status Break(absl::Status status);
  // The records a new segment starts with: its header, the latest
  // snapshot marker and the hard state.
  std::string SegmentPrologue(uint64_t seq, uint64_t first_index) const;
  // Closes the full segment and starts the next one.
  Task<absl::Status> Cut();
  std::string PathOf(std::string_view name) const;

  static Task<absl::Status> Recover(Wal* wal, std::vector<Segment> segments,
                                    WalIdentity expected, WalState* state,
                                    WalRecoveryReport* report);

  Env& env_;
  const WalOptions options_;
  WalIdentity identity_;
  std::vector<Segment> segments_;  // back() is being written
  std::unique_ptr<File> file_;     // segments_.back()'s
  uint64_t offset_ = 0;            // bytes written to file_
  uint64_t synced_offset_ = 0;     // bytes of file_ known durable
  std::string buffer_;             // records not yet written to file_
  uint64_t last_index_ = 0;
  raftpb::HardState hard_state_;
  raftpb::SnapshotMetadata snapshot_;
  absl::Status broken_;
  bool busy_ = false;  // a Sync or ReleaseTo is in flight
};

// "<seq>-<first index>.wal", both 16 hex digits.
std::string WalSegmentName(uint64_t seq, uint64_t first_index);
// Parses a segment file name. False for any other name.
bool ParseWalSegmentName(std::string_view name, uint64_t* seq,
                         uint64_t* first_index);

}  // namespace keel::store

#endif  // KEEL_STORE_WAL_H_
