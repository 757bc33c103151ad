// POSIX files and directories behind keel's FileSystem interface.
#include "runtime/posix_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "runtime/assert.h"
#include "runtime/posix_errors.h"
#include "runtime/strings.h"

namespace keel {
namespace {

constexpr mode_t kFileMode = 0600;  // etcd's fileutil.PrivateFileMode
constexpr mode_t kDirMode = 0700;   // etcd's fileutil.PrivateDirMode

// Offsets travel as off_t, which is signed.
constexpr uint64_t kMaxOffset = std::numeric_limits<off_t>::max();

absl::Status PathError(int error, std::string_view operation,
                       std::string_view path) {
  return ErrnoToStatus(error, StrCat(operation, " ", path));
}

// A descriptor closed when its last holder lets go: the File, or a sync
// still running on the pool after the File was destroyed.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) { KEEL_ASSERT(fd >= 0); }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { ::close(fd_); }
  int get() const { return fd_; }

 private:
  const int fd_;
};

absl::Status SyncFile(int fd, const std::string& path) {
  int rc;
  do {
    rc = ::fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return PathError(errno, "fdatasync", path);
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PathError(errno, "open directory", dir);
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  const int error = rc == 0 ? 0 : errno;
  ::close(fd);
  if (error != 0) return PathError(error, "fsync directory", dir);
  return absl::OkStatus();
}

class PosixFile final : public File {
 public:
  PosixFile(PosixLoop& loop, IoPool& pool, std::shared_ptr<const OwnedFd> fd,
            std::string path)
      : loop_(loop), pool_(pool), fd_(std::move(fd)), path_(std::move(path)) {}

  absl::StatusOr<uint64_t> Size() const override {
    struct stat info;
    if (::fstat(fd_->get(), &info) != 0) {
      return PathError(errno, "stat", path_);
    }
    return static_cast<uint64_t>(info.st_size);
  }

  absl::Status Append(std::string_view data) override {
    // The end is asked of the kernel, not remembered, so a WriteAt or
    // Truncate in between moves it as it should. (O_APPEND would make
    // Linux's pwrite ignore its offset and break WriteAt.)
    absl::StatusOr<uint64_t> size = Size();
    if (!size.ok()) return size.status();
    return WriteAt(*size, data);
  }

  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    KEEL_ASSERT(offset <= kMaxOffset - data.size());
    size_t written = 0;
    while (written < data.size()) {
      const ssize_t n =
          ::pwrite(fd_->get(), data.data() + written, data.size() - written,
                   static_cast<off_t>(offset + written));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return PathError(errno, "write", path_);
      KEEL_ASSERT(n > 0);
      written += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReadAt(uint64_t offset, size_t n) const override {
    KEEL_ASSERT(offset <= kMaxOffset);
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_->get(), out.data() + got, n - got,
                                static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return PathError(errno, "read", path_);
      if (r == 0) break;  // end of file
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }

  absl::Status Truncate(uint64_t size) override {
    KEEL_ASSERT(size <= kMaxOffset);
    int rc;
    do {
      rc = ::ftruncate(fd_->get(), static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return PathError(errno, "truncate", path_);
    return absl::OkStatus();
  }

  Task<absl::Status> Sync() override {
    // The job owns a reference to the descriptor and a copy of the path,
    // never `this`: the File may be gone before the disk answers.
    return RunOnPool<absl::Status>(
        loop_, pool_,
        [fd = fd_, path = path_] { return SyncFile(fd->get(), path); });
  }

  absl::Status SyncNow() override { return SyncFile(fd_->get(), path_); }

 private:
  PosixLoop& loop_;
  IoPool& pool_;
  const std::shared_ptr<const OwnedFd> fd_;
  const std::string path_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) { KEEL_ASSERT(fd >= 0); }
  // Closing the descriptor releases the flock.
  ~PosixFileLock() override { ::close(fd_); }

 private:
  const int fd_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<File>> PosixFileSystem::Open(
    std::string_view path, OpenOptions options) {
  KEEL_ASSERT_MSG(!(options.read_only && options.truncate),
                  "truncating a read-only file");
  const std::string name(path);
  int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
  if (options.create) flags |= O_CREAT;
  if (options.create && options.exclusive) flags |= O_EXCL;
  if (options.truncate) flags |= O_TRUNC;
  int fd;
  do {
    fd = ::open(name.c_str(), flags, kFileMode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return PathError(errno, "open", path);
  auto owned = std::make_shared<const OwnedFd>(fd);
  // A directory opens fine read-only; it is still not a File.
  struct stat info;
  if (::fstat(fd, &info) != 0) return PathError(errno, "stat", path);
  if (S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(StrCat("open ", path, ": is a directory"));
  }
  return std::unique_ptr<File>(
      std::make_unique<PosixFile>(loop_, pool_, std::move(owned), name));
}

absl::Status PosixFileSystem::Rename(std::string_view from,
                                     std::string_view to) {
  const std::string source(from);
  const std::string target(to);
  if (::rename(source.c_str(), target.c_str()) != 0) {
    return ErrnoToStatus(errno, StrCat("rename ", from, " to ", to));
  }
  return absl::OkStatus();
}

absl::Status PosixFileSystem::Remove(std::string_view path) {
  const std::string name(path);
  if (::unlink(name.c_str()) != 0) return PathError(errno, "remove", path);
  return absl::OkStatus();
}

absl::Status PosixFileSystem::CreateDir(std::string_view path) {
  const std::string name(path);
  if (::mkdir(name.c_str(), kDirMode) != 0) {
    return PathError(errno, "create directory", path);
  }
  return absl::OkStatus();
}

absl::Status PosixFileSystem::RemoveDir(std::string_view path) {
  const std::string name(path);
  if (::rmdir(name.c_str()) != 0) {
    // Linux says ENOTEMPTY; POSIX also allows EEXIST for a non-empty one.
    const int error = errno == EEXIST ? ENOTEMPTY : errno;
    return PathError(error, "remove directory", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PosixFileSystem::List(
    std::string_view dir) const {
  const std::string name(dir);
  DIR* stream = ::opendir(name.c_str());
  if (stream == nullptr) return PathError(errno, "list", dir);
  std::vector<std::string> names;
  int error = 0;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) {
      error = errno;
      break;
    }
    const std::string_view entry_name(entry->d_name);
    if (entry_name == "." || entry_name == "..") continue;
    names.emplace_back(entry_name);
  }
  ::closedir(stream);
  if (error != 0) return PathError(error, "list", dir);
  // The kernel's order depends on hashing; keel's callers need a stable one.
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<FileInfo> PosixFileSystem::Stat(std::string_view path) const {
  const std::string name(path);
  struct stat info;
  if (::stat(name.c_str(), &info) != 0) return PathError(errno, "stat", path);
  FileInfo out;
  out.size = static_cast<uint64_t>(info.st_size);
  out.is_directory = S_ISDIR(info.st_mode);
  return out;
}

Task<absl::Status> PosixFileSystem::SyncDir(std::string_view dir) {
  return RunOnPool<absl::Status>(
      loop_, pool_, [dir = std::string(dir)] { return SyncDirectory(dir); });
}

absl::Status PosixFileSystem::SyncDirNow(std::string_view dir) {
  return SyncDirectory(std::string(dir));
}

absl::StatusOr<std::unique_ptr<FileLock>> PosixFileSystem::Lock(
    std::string_view path) {
  const std::string name(path);
  int fd;
  do {
    fd = ::open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return PathError(errno, "open lock", path);
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return absl::UnavailableError(
          StrCat("lock ", path, ": held by another process or handle"));
    }
    return PathError(error, "lock", path);
  }
  return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
}

}  // namespace keel
