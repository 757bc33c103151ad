// RaftLogFile: the `raft` scenario's write-ahead log, one append-only file of
// checksummed records holding a member's id, its raft entries and its hard
// states.
//
// Record (little endian):
//   masked crc32c u32 | payload length u32 | file offset u64 | type u8 |
//   payload
// The CRC covers everything after itself, including the record's own file
// offset, so a record that lands somewhere else fails its check there.
// Payloads: kMember a u64 member id, kEntry a raftpb::Entry, kHardState a
// raftpb::HardState. Entries replace a suffix the way raft's Ready asks:
// replaying an entry whose index is at or below the last one drops
// everything from that index first (etcd's WAL does the same), so the
// writer only ever appends.
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

enum class RaftRecordType : uint8_t {
  kMember = 1,
  kEntry = 2,
  kHardState = 3,
};

// What recovery found on disk.
struct RecoveredRaftLog {
  uint64_t member_id = 0;  // 0: no member record survived
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;  // contiguous from index 1
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

  // Makes every record written so far durable. Suspends. On failure the log
  // is broken: what the sync was to persist is undefined.
  Task<absl::Status> Sync();

  bool broken() const { return broken_; }
  uint64_t end() const { return end_; }

 private:
  RaftLogFile(std::unique_ptr<File> file, uint64_t end)
      : file_(std::move(file)), end_(end) {}

  std::unique_ptr<File> file_;
  uint64_t end_;
  bool broken_ = false;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RAFT_LOG_FILE_H_
