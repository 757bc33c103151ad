// The `snapshot save` file: a member's whole key space at one revision, as
// opaque key/value records in checksummed chunks, with metadata and an
// integrity hash over the whole file (doc/snapshot_file_format.md).
//
// etcd appends a SHA-256 to its snapshot; keel has SHA-1 and CRC32C and no
// crypto dependency, so each chunk carries a CRC32C and the file ends with
// SHA-1 over the header and every chunk's SHA-1 (a hash list: any changed,
// missing, added or reordered byte changes it). The writer builds the file
// under "<path>.part" and renames it into place once it is durable, so a
// file at `path` is always complete. The reader checks everything before it
// returns a single record, and refuses a file whose hash does not match
// unless told to skip that check (as etcdctl's --skip-hash-check); a chunk
// that fails its own CRC is refused always.
#ifndef KEEL_STORE_SNAPSHOT_FILE_H_
#define KEEL_STORE_SNAPSHOT_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "runtime/task.h"

namespace keel::store {

struct SnapshotFileMetadata {
  int64_t revision = 0;           // the key space's current revision
  int64_t compact_revision = 0;   // the last compaction's revision
  uint64_t consistent_index = 0;  // the raft index the key space reflects
  uint64_t consistent_term = 0;
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  bool operator==(const SnapshotFileMetadata&) const = default;
};

struct SnapshotFileSummary {
  uint64_t records = 0;
  uint64_t chunks = 0;
  uint64_t file_bytes = 0;
  std::string hash_hex;  // the whole-file SHA-1, 40 hex digits
};

class SnapshotFileWriter {
 public:
  // Starts "<path>.part" (replacing any leftover one). Internal on I/O
  // errors; AlreadyExists if `path` exists. `chunk_bytes` bounds a chunk's
  // records (a larger record gets a chunk of its own).
  static absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> Create(
      FileSystem& fs, std::string path, SnapshotFileMetadata metadata,
      size_t chunk_bytes = 1 << 20);
  // Removes the unfinished ".part" file if Finish() did not succeed.
  ~SnapshotFileWriter();

  // Adds one record; written once its chunk is full. Internal on I/O
  // errors. Does not suspend.
  absl::Status Add(std::string_view key, std::string_view value);

  // Writes the last chunk and the trailer, syncs, renames the file to
  // `path` and syncs the directory. Suspends.
  Task<absl::StatusOr<SnapshotFileSummary>> Finish();

 private:
  SnapshotFileWriter(FileSystem& fs, std::string path, size_t chunk_bytes);
  absl::Status Write(std::string_view bytes);
  absl::Status WriteChunk();

  FileSystem& fs_;
  const std::string path_;
  const std::string part_path_;
  const size_t chunk_bytes_;
  std::unique_ptr<File> file_;
  uint64_t offset_ = 0;
  std::string chunk_;
  uint64_t chunk_records_ = 0;
  std::string hash_input_;  // header, then each chunk's SHA-1
  SnapshotFileSummary summary_;
  bool finished_ = false;
};

struct SnapshotFileReadOptions {
  // Accept a file whose whole-file hash is missing or does not match
  // (chunks must still pass their CRCs).
  bool skip_hash_check = false;
};

class SnapshotFileReader {
 public:
  // Opens `path` and verifies the header, every chunk, the trailer and the
  // hash before returning. NotFound if missing; DataLoss for damage (the
  // message names the file and offset), or for a hash mismatch unless
  // skipped; FailedPrecondition for a file that is not a keel snapshot.
  static absl::StatusOr<std::unique_ptr<SnapshotFileReader>> Open(
      FileSystem& fs, std::string path, SnapshotFileReadOptions options = {});

  const SnapshotFileMetadata& metadata() const { return metadata_; }
  const SnapshotFileSummary& summary() const { return summary_; }
  // False if the hash was skipped and did not match (or was missing).
  bool hash_verified() const { return hash_verified_; }

  // The next record in the order written; false at the end. DataLoss if a
  // chunk changed since Open. Does not suspend.
  absl::StatusOr<bool> Next(std::string* key, std::string* value);

 private:
  SnapshotFileReader() = default;
  absl::Status LoadChunk();

  std::unique_ptr<File> file_;
  std::string path_;
  SnapshotFileMetadata metadata_;
  SnapshotFileSummary summary_;
  bool hash_verified_ = false;
  uint64_t data_end_ = 0;     // where the trailer starts
  uint64_t next_chunk_ = 0;   // offset of the next chunk to load
  std::string chunk_;         // the loaded chunk's records
  size_t chunk_position_ = 0;
};

}  // namespace keel::store

#endif  // KEEL_STORE_SNAPSHOT_FILE_H_
