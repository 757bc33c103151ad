// RecordLog: the `disk` scenario's storage engine, an append-only file of
// checksummed records.
//
// On-disk record (little endian):
//   masked crc32c u32 | payload length u32 | file offset u64 |
//   origin u32 | incarnation u32 | sequence u64 | payload
// The CRC covers everything after itself, including the record's own file
// offset, so a record that a misdirected write put somewhere else fails its
// check there. The rules it lives by, which the scenario checks:
//  - A record is acknowledged only after a Sync that covers it succeeded.
//  - Recovery keeps the longest prefix of valid records and truncates the
//    rest (a torn tail, or damage; either way it is reported).
//  - A failed Sync leaves the unsynced bytes undefined (fsyncgate), so the
//    log truncates back to what the last good sync covered, refuses all
//    further work (broken()), and its process restarts and recovers.
//  - A failed write is truncated away and refused; the log carries on.
//  - Reads are retried when a checksum fails, since a read may flip a bit
//    that the disk does not hold; a record that stays bad is never returned.
#ifndef KEEL_SIM_SCENARIOS_RECORD_LOG_H_
#define KEEL_SIM_SCENARIOS_RECORD_LOG_H_

#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace keel::sim {

struct RecordId {
  uint32_t origin = 0;       // the sending machine's index
  uint32_t incarnation = 0;  // the sender's incarnation
  uint64_t seq = 0;          // per sender incarnation, from 1
  auto operator<=>(const RecordId&) const = default;
};

std::string FormatRecordId(const RecordId& id);

// The payload every record with this id carries (16 to 512 bytes drawn from
// the id), so any record read back can be checked without a copy.
std::string PayloadFor(const RecordId& id);
// PayloadFor(id) == payload, without building the expected payload.
bool PayloadMatches(const RecordId& id, std::string_view payload);

struct Record {
  RecordId id;
  std::string payload;
};

inline constexpr size_t kRecordHeaderBytes = 32;
inline constexpr size_t kMaxPayloadBytes = 4096;
// How often a read whose checksum fails is retried before the record is
// judged bad.
inline constexpr int kReadAttempts = 8;

// What a scan of the log found.
struct ScanReport {
  bool scanned = false;         // false if the scan never ran
  std::vector<Record> records;  // the valid prefix, in order
  uint64_t valid_bytes = 0;     // where the valid prefix ends
  uint64_t file_bytes = 0;      // the file's size
  // Anything after the valid prefix: a torn tail after a crash, damage
  // otherwise.
  bool invalid_tail() const { return valid_bytes < file_bytes; }
};

class RecordLog {
 public:
  // Opens (creating) `dir`/records.log on env.fs(), making the directory
  // entries durable, scans it into *report, truncates anything after the
  // valid prefix and syncs. Errors: whatever the disk returns (the caller
  // should stop and let its process restart); *report is filled (scanned)
  // if the scan ran before the error, since the truncate may have happened.
  static Task<absl::StatusOr<std::unique_ptr<RecordLog>>> Open(
      Env& env, std::string dir, ScanReport* report);

  // Writes a record at the end (not durable yet). On a write error the
  // partial record is truncated away and the error returned.
  // FailedPrecondition once broken.
  absl::Status Write(const Record& record);

  // Makes every record written so far durable. Suspends. On failure the log
  // truncates back to the last synced end and is broken from then on.
  Task<absl::Status> Sync();

  // Reads the whole log back and checks every record (with read retries).
  // Errors only if the disk refuses the reads.
  absl::StatusOr<ScanReport> Scan() const;

  bool broken() const { return broken_; }
  uint64_t end() const { return end_; }

 private:
  RecordLog(Env& env, std::unique_ptr<File> file, uint64_t end)
      : env_(env), file_(std::move(file)), end_(end), synced_end_(end) {}

  Env& env_;
  std::unique_ptr<File> file_;
  uint64_t end_;         // where the next record goes
  uint64_t synced_end_;  // what the last good sync covered
  bool broken_ = false;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RECORD_LOG_H_
