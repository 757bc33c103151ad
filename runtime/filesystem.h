// FileSystem: files and directories, with durability made explicit.
//
// A write is durable only after Sync() of its file returns OK, and a new or
// renamed directory entry only after SyncDir() of its directory. The
// simulator enforces exactly that on a crash (sim/sim_fs.h): it keeps the
// durable bytes plus a seeded subset of the rest, torn at sector boundaries.
// Production implements it with POSIX files (runtime/posix_fs.cc) and runs
// fdatasync on an I/O pool, so Sync() never blocks the loop.
//
// Data calls other than Sync complete without suspending: writes land in the
// page cache, which is fast, and LevelDB's Env adapter needs them that way.
#ifndef KEEL_RUNTIME_FILESYSTEM_H_
#define KEEL_RUNTIME_FILESYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/task.h"

namespace keel {

struct OpenOptions {
  bool create = false;     // create the file if it does not exist
  bool exclusive = false;  // with create: AlreadyExists if it exists
  bool truncate = false;   // empty the file on open
  bool read_only = false;
};

struct FileInfo {
  uint64_t size = 0;
  bool is_directory = false;
};

class File {
 public:
  // Closes the file. Unsynced writes stay pending, as after close(2): they
  // may be lost by a crash.
  virtual ~File() = default;

  // The current size, including unsynced writes.
  virtual absl::StatusOr<uint64_t> Size() const = 0;

  // Writes `data` at the end. Errors: Internal (EIO), ResourceExhausted
  // (ENOSPC). After an error the file's tail is unspecified.
  virtual absl::Status Append(std::string_view data) = 0;

  // Writes `data` at `offset`, extending the file if needed.
  virtual absl::Status WriteAt(uint64_t offset, std::string_view data) = 0;

  // Reads up to n bytes at `offset`; fewer only at the end of the file.
  // Returns what the disk returns: a flipped bit is the caller's checksum's
  // job to find.
  virtual absl::StatusOr<std::string> ReadAt(uint64_t offset,
                                             size_t n) const = 0;

  virtual absl::Status Truncate(uint64_t size) = 0;

  // Makes every write so far durable. Suspends; the loop keeps running.
  // Internal if the device reports an error, after which nothing unsynced
  // may be assumed durable (fsyncgate: do not retry and carry on).
  virtual Task<absl::Status> Sync() = 0;

  // Sync() that blocks the caller: for LevelDB's threads and its Env adapter.
  virtual absl::Status SyncNow() = 0;
};

// A held lock on a data directory; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // NotFound if the file does not exist and !create; AlreadyExists with
  // exclusive; FailedPrecondition if `path` is a directory.
  virtual absl::StatusOr<std::unique_ptr<File>> Open(std::string_view path,
                                                     OpenOptions options) = 0;

  // Atomically replaces `to` with `from`. Durable after SyncDir.
  virtual absl::Status Rename(std::string_view from, std::string_view to) = 0;
  // NotFound if missing.
  virtual absl::Status Remove(std::string_view path) = 0;
  // AlreadyExists if present; NotFound if the parent is missing.
  virtual absl::Status CreateDir(std::string_view path) = 0;
  // FailedPrecondition if not empty.
  virtual absl::Status RemoveDir(std::string_view path) = 0;
  // Entry names (not paths) in sorted order. NotFound if missing.
  virtual absl::StatusOr<std::vector<std::string>> List(
      std::string_view dir) const = 0;
  // NotFound if missing.
  virtual absl::StatusOr<FileInfo> Stat(std::string_view path) const = 0;

  // Makes the directory's entries (creates, renames, removes) durable.
  virtual Task<absl::Status> SyncDir(std::string_view dir) = 0;
  virtual absl::Status SyncDirNow(std::string_view dir) = 0;

  // Takes an exclusive lock on `path` (creating it), so two members cannot
  // share a data directory. Unavailable if someone holds it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      std::string_view path) = 0;
};

// Joins path components with '/'.
std::string JoinPath(std::string_view dir, std::string_view name);

// Creates `path` and any missing parents. OK if it already exists.
absl::Status CreateDirs(FileSystem& fs, std::string_view path);

// Removes `path` and, if it is a directory, everything under it. OK if it
// does not exist. Not atomic: a crash may leave part of it.
absl::Status RemoveTree(FileSystem& fs, std::string_view path);

}  // namespace keel

#endif  // KEEL_RUNTIME_FILESYSTEM_H_
