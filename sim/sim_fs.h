// SimDisk: one simulated machine's disk, with the durability rules of a
// real one and faults on demand.
//
// A disk survives its machine's process restarts; each process incarnation
// sees it through a FileSystem view (NewView). The durability model follows
// Linux on a journalling filesystem:
//  - A file has durable bytes and the writes (and truncates) made since its
//    last successful sync. Reads see everything written.
//  - Sync() makes the writes issued before it durable. It suspends for a
//    latency drawn from the seed; SyncNow() does the same at once.
//  - Directory entries (create, rename, remove, mkdir) are durable only after
//    SyncDir() of the directory that holds them.
//  - Crash() (power loss) keeps the durable bytes plus a seeded subset of the
//    unsynced writes, torn at 512-byte sectors: sometimes none, sometimes
//    all, sometimes a prefix, sometimes any subset of sectors (a sector not
//    written reads as what was there before, zeros past the old end). Each
//    directory comes back either as of its last SyncDir or as it was.
//
// Faults, one-shot (FailNextSyncs...) or as rates per operation
// (set_fault_rates), optionally limited to paths under a prefix:
//  - a failed fsync returns Internal, and the writes it was to persist are
//    then in an undefined state: a seeded subset becomes durable, the rest is
//    lost at the next crash although reads still return it (fsyncgate);
//  - a failed write returns Internal (EIO) or ResourceExhausted (ENOSPC)
//    after writing an unspecified prefix of the data;
//  - a read returns one bit flipped (the disk is not changed);
//  - a misdirected write lands some sectors away from its offset, silently;
//  - slow I/O makes syncs take much longer for a while.
// Misdirected writes and CorruptBit() can destroy durable data; damage_count()
// counts them so a checker knows when a loss is the disk's fault.
#ifndef KEEL_SIM_SIM_FS_H_
#define KEEL_SIM_SIM_FS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "runtime/random.h"
#include "runtime/task.h"
#include "runtime/time.h"

namespace keel::sim {

class SimWorld;
struct SimInode;

inline constexpr uint64_t kSectorBytes = 512;

struct DiskOptions {
  // Each Sync/SyncDir takes a latency uniform in [min, max].
  Duration sync_latency_min = Microseconds(100);
  Duration sync_latency_max = Milliseconds(2);
};

// Per-operation probabilities of each fault while set (all zero: none).
struct DiskFaultRates {
  double sync_error = 0;         // Sync/SyncDir fails with Internal
  double write_io_error = 0;     // a write fails with Internal (EIO)
  double write_no_space = 0;     // a write fails with ResourceExhausted
  double read_bit_flip = 0;      // a read returns one bit flipped
  double misdirected_write = 0;  // a write lands at the wrong offset
  // Only files whose path starts with this prefix ("" for every file).
  std::string path_prefix;
  // Misdirected writes only to files whose path also contains this ("" for
  // every file): a scenario aims destructive faults at what its system
  // claims to repair.
  std::string destructive_path_contains;
};

struct DiskStats {
  uint64_t writes = 0;
  uint64_t syncs = 0;
  uint64_t sync_failures = 0;
  uint64_t write_failures = 0;
  uint64_t read_bit_flips = 0;
  uint64_t misdirected_writes = 0;
  uint64_t corrupted_bits = 0;
  uint64_t crashes = 0;
};

class SimDisk {
 public:
  // `id` names the disk in the trace; `seed` seeds its crash and fault
  // choices.
  SimDisk(SimWorld& world, uint64_t id, std::string name, DiskOptions options,
          uint64_t seed);
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;
  ~SimDisk();

  const std::string& name() const { return name_; }

  // A FileSystem on this disk for one process incarnation (`owner`). The
  // view must not outlive the disk.
  std::unique_ptr<FileSystem> NewView(uint64_t owner);
  // Drops the locks `owner` holds (its process died).
  void ReleaseOwner(uint64_t owner);

  // Power loss: see the header comment. Locks are dropped. Call it only
  // when no process uses the disk (SimMachine::Crash kills first).
  void Crash();
  // Erases everything, durable or not, and the damage count.
  void Wipe();

  void set_fault_rates(DiskFaultRates rates);
  const DiskFaultRates& fault_rates() const { return rates_; }
  // One-shot faults, applied to the next operations of their kind (on any
  // path), before the rates are consulted.
  void FailNextSyncs(int n = 1) { fail_syncs_ += n; }
  // `code` is kInternal (EIO) or kResourceExhausted (ENOSPC).
  void FailNextWrites(absl::StatusCode code, int n = 1);
  void FlipBitOnNextReads(int n = 1) { flip_reads_ += n; }
  void MisdirectNextWrites(int n = 1) { misdirect_writes_ += n; }
  // Syncs issued before `until` take a latency uniform in [min, max].
  void SlowSyncsUntil(TimePoint until, Duration min, Duration max);
  // Flips bit `bit` of byte `offset` of the file, in the cached and the
  // durable bytes alike (bit rot). NotFound, or OutOfRange past the end.
  absl::Status CorruptBit(std::string_view path, uint64_t offset, int bit);
  // CorruptBit at a seeded place in the durable bytes of a seeded file
  // (one whose path contains `path_contains`, if not empty).
  // Returns "path@offset"; NotFound if no such file has durable bytes.
  absl::StatusOr<std::string> RotRandomBit(std::string_view path_contains = "");

  const DiskStats& stats() const { return stats_; }
  // Faults since the last Wipe that may have destroyed durable data.
  uint64_t damage_count() const { return damage_count_; }

  // What a crash keeping no unsynced state would leave at `path`: NotFound
  // if the path is not durable, else the file's durable bytes. For tests.
  absl::StatusOr<std::string> DurableContents(std::string_view path) const;
  // A hash of every file and directory, cached and durable. For tests.
  uint64_t StateHash() const;

 private:
  friend class SimFile;
  friend class SimFileSystem;
  friend class SimFileLock;

  struct LockHolder {
    uint64_t owner;
    uint64_t token;
  };
  enum class WriteFault { kNone, kIoError, kNoSpace, kMisdirected };

  // Path helpers. Paths are '/'-separated; "" and "/" are the root.
  absl::StatusOr<std::vector<std::string>> Split(std::string_view path) const;
  std::shared_ptr<SimInode> Lookup(const std::vector<std::string>& parts) const;
  // The directory holding `parts.back()`. NotFound if it is missing.
  absl::StatusOr<std::shared_ptr<SimInode>> Parent(
      const std::vector<std::string>& parts) const;
  std::shared_ptr<SimInode> NewInode(bool is_dir);

  // File operations (SimFile forwards here).
  absl::Status Write(SimInode& inode, const std::string& path,
                     std::optional<uint64_t> offset, std::string_view data);
  absl::Status Truncate(SimInode& inode, uint64_t size);
  absl::StatusOr<std::string> Read(const SimInode& inode,
                                   const std::string& path, uint64_t offset,
                                   size_t n);
  Task<absl::Status> SyncFile(std::shared_ptr<SimInode> inode,
                              std::string path);
  absl::Status FinishSync(SimInode& inode, const std::string& path,
                          uint64_t upto_seq, uint64_t failures_at_start);
  Task<absl::Status> SyncDirectory(std::string path);
  absl::Status FinishSyncDir(SimInode& dir, const std::string& path,
                             std::map<std::string, std::shared_ptr<SimInode>>
                                 snapshot);

  bool Matches(const std::string& path) const;
  bool TakeSyncFault(const std::string& path);
  WriteFault TakeWriteFault(const std::string& path);
  Duration SyncLatency();
  // Makes a seeded subset of `inode`'s pending writes durable and forgets
  // the rest (a crash, or the aftermath of a failed fsync). `keep_mode` picks
  // none/all/prefix/subset; -1 draws it.
  void SettlePending(SimInode& inode, int keep_mode);

  SimWorld& world_;
  const uint64_t id_;
  const std::string name_;
  const DiskOptions options_;
  Random random_;
  std::shared_ptr<SimInode> root_;
  uint64_t next_inode_id_ = 1;
  std::map<std::string, LockHolder> locks_;
  uint64_t next_lock_token_ = 1;
  DiskFaultRates rates_;
  int fail_syncs_ = 0;
  int fail_writes_ = 0;
  absl::StatusCode fail_write_code_ = absl::StatusCode::kInternal;
  int flip_reads_ = 0;
  int misdirect_writes_ = 0;
  TimePoint slow_until_{};
  Duration slow_min_{};
  Duration slow_max_{};
  DiskStats stats_;
  uint64_t damage_count_ = 0;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_FS_H_
