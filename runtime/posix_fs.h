// PosixFileSystem: keel's FileSystem on POSIX files.
//
// Data calls (Append, WriteAt, ReadAt, Truncate, Size) are plain pread,
// pwrite, ftruncate and fstat on the descriptor, so they complete at once
// and are safe from any thread as long as threads use distinct files, which
// is how LevelDB's background thread uses them. Sync() and SyncDir() run
// fdatasync / fsync on the I/O pool and resume on the loop, so the loop never
// waits for the disk; SyncNow() and SyncDirNow() block their caller.
//
// A sync in flight holds its own reference to the descriptor, so destroying
// the File (or the awaiting frame) cannot close it under the pool thread or
// let the number be reused by another file mid-sync.
//
// Errors: ENOENT is NotFound, EEXIST AlreadyExists, ENOSPC ResourceExhausted,
// EIO Internal, a directory where a file was expected FailedPrecondition.
// Files are created 0600 and directories 0700, as etcd does.
#ifndef KEEL_RUNTIME_POSIX_FS_H_
#define KEEL_RUNTIME_POSIX_FS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "runtime/io_pool.h"
#include "runtime/posix_loop.h"
#include "runtime/task.h"

namespace keel {

class PosixFileSystem final : public FileSystem {
 public:
  // Syncs run on `pool` and resume on `loop`; both must outlive every File
  // and every sync in flight.
  PosixFileSystem(PosixLoop& loop, IoPool& pool) : loop_(loop), pool_(pool) {}

  absl::StatusOr<std::unique_ptr<File>> Open(std::string_view path,
                                             OpenOptions options) override;
  absl::Status Rename(std::string_view from, std::string_view to) override;
  absl::Status Remove(std::string_view path) override;
  absl::Status CreateDir(std::string_view path) override;
  absl::Status RemoveDir(std::string_view path) override;
  absl::StatusOr<std::vector<std::string>> List(
      std::string_view dir) const override;
  absl::StatusOr<FileInfo> Stat(std::string_view path) const override;
  Task<absl::Status> SyncDir(std::string_view dir) override;
  absl::Status SyncDirNow(std::string_view dir) override;
  // flock(LOCK_EX | LOCK_NB) on `path`: exclusive between processes and
  // between two Lock() calls of one process. Unavailable if held.
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      std::string_view path) override;

 private:
  PosixLoop& loop_;
  IoPool& pool_;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_POSIX_FS_H_
