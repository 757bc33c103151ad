// The insides of SimDisk (internal to sim/): inodes, and the File,
// FileSystem and FileLock a process sees.
//
// An inode is shared by the directory entries that name it (cached and
// durable) and by open files, so a removed file stays readable through an
// open handle, and a crash can bring back an entry whose removal was never
// synced.
#ifndef KEEL_SIM_SIM_FS_INTERNAL_H_
#define KEEL_SIM_SIM_FS_INTERNAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/filesystem.h"
#include "sim/sim_fs.h"

namespace keel::sim {

struct SimInode {
  // A write (or, with truncate set, a truncate to `offset`) not yet durable.
  struct PendingWrite {
    uint64_t seq;
    bool truncate;
    uint64_t offset;
    std::string bytes;
  };
  using Entries = std::map<std::string, std::shared_ptr<SimInode>>;

  SimInode(uint64_t id, bool is_dir) : id(id), is_dir(is_dir) {}

  const uint64_t id;
  const bool is_dir;
  // Files: what reads see, what a crash keeps for sure, and the difference.
  std::string data;
  std::string durable;
  std::vector<PendingWrite> pending;
  uint64_t next_seq = 1;
  // Bumped by each failed sync; a sync that overlaps one fails too.
  uint64_t sync_failures = 0;
  // Directories: entries as they are, and as of the last SyncDir.
  Entries entries;
  Entries durable_entries;
};

// Applies a write of `bytes` at `offset` to `content`, zero-filling a gap.
void ApplyWrite(std::string& content, uint64_t offset, std::string_view bytes);
// Applies one pending operation to `content`.
void ApplyPending(std::string& content, const SimInode::PendingWrite& op);

class SimFile : public File {
 public:
  SimFile(SimDisk* disk, std::shared_ptr<SimInode> inode, std::string path,
          bool read_only)
      : disk_(disk),
        inode_(std::move(inode)),
        path_(std::move(path)),
        read_only_(read_only) {}

  absl::StatusOr<uint64_t> Size() const override;
  absl::Status Append(std::string_view data) override;
  absl::Status WriteAt(uint64_t offset, std::string_view data) override;
  absl::StatusOr<std::string> ReadAt(uint64_t offset, size_t n) const override;
  absl::Status Truncate(uint64_t size) override;
  Task<absl::Status> Sync() override;
  absl::Status SyncNow() override;

 private:
  absl::Status CheckWritable() const;

  SimDisk* disk_;
  std::shared_ptr<SimInode> inode_;
  std::string path_;
  bool read_only_;
};

class SimFileLock : public FileLock {
 public:
  SimFileLock(SimDisk* disk, std::string path, uint64_t token)
      : disk_(disk), path_(std::move(path)), token_(token) {}
  ~SimFileLock() override;

 private:
  SimDisk* disk_;
  std::string path_;
  uint64_t token_;
};

class SimFileSystem : public FileSystem {
 public:
  SimFileSystem(SimDisk* disk, uint64_t owner) : disk_(disk), owner_(owner) {}

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
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      std::string_view path) override;

 private:
  SimDisk* disk_;
  uint64_t owner_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_FS_INTERNAL_H_
