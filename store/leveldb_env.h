// LevelDbEnv: LevelDB's Env on keel's FileSystem, Clock and Logger, so the
// same LevelDB runs on real files in production and on the simulated disk.
//
// Files map one to one onto keel Files. Locks are keel FileSystem locks.
// NowMicros() reads keel's monotonic Clock; LevelDB's info log goes to
// keel's Logger at debug level (LevelDB's own POSIX logger would write wall
// clock time into the simulation).
//
// Background work runs in one of two modes:
//  - kQueue (the simulator, and anywhere a thread is not wanted):
//    Schedule() only queues; the owner calls RunPending() after every DB
//    call and iterator step, on its own loop. A foreground LevelDB call
//    must then never wait for background work (it would wait forever);
//    the owner makes sure of that by running the queue dry after each call
//    and keeping memtables small (write_buffer_size 64 KiB in simulation:
//    the flush it queued has run before the next write needs room). If
//    LevelDB nonetheless announces such a wait (its "waiting..." log line
//    before MakeRoomForWrite blocks), the process aborts with that message
//    instead of hanging. StartThread() aborts.
//  - kThread (production): a real background thread
//    (runtime/background_thread.h) runs compactions, as LevelDB expects.
//
// Durability: a "*.log" file is synced when LevelDB closes it (at every
// memtable switch), so a crash can never keep a later synced write while
// losing earlier unsynced ones (google/leveldb#193); a new file's directory
// entry is synced on its first Sync(), and RenameFile() (how LevelDB
// switches CURRENT) syncs the directory; if that sync fails, the Env
// abandons itself (see Abandon() below), since the rename is done and
// LevelDB, told it failed, would delete the MANIFEST CURRENT names. A crash may keep any subset of a
// file's unsynced sectors, so before LevelDB reads a log or MANIFEST to
// recover, the Env shows it only the valid prefix (leveldb_env_log_scan.h)
// and refuses a damaged one with Corruption (which paranoid_checks turns
// into a failed Open; without it LevelDB would skip the file).
//
// Abandon() models kill -9 for an owner about to destroy its DB without a
// clean shutdown: from then on every file operation fails, so LevelDB's
// teardown writes nothing more.
#ifndef KEEL_STORE_LEVELDB_ENV_H_
#define KEEL_STORE_LEVELDB_ENV_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "leveldb/env.h"
#include "leveldb/status.h"
#include "runtime/background_thread.h"
#include "store/leveldb_background.h"
#include "runtime/clock.h"
#include "runtime/filesystem.h"
#include "runtime/log.h"

namespace keel::store {

struct LevelDbEnvStats {
  uint64_t scheduled = 0;         // background items queued
  uint64_t ran = 0;               // background items RunPending() ran
  uint64_t slowdowns = 0;         // SleepForMicroseconds calls (L0 >= 8)
  uint64_t logs_synced_on_close = 0;
};

class LevelDbEnv final : public leveldb::Env {
 public:
  // `fs`, `clock` and `log` must outlive the Env and every DB opened on it.
  LevelDbEnv(FileSystem& fs, Clock& clock, Logger& log,
             LevelDbBackground background = LevelDbBackground::kQueue);
  // Thread mode: waits for the background thread's queue to run dry.
  ~LevelDbEnv() override;

  // Queue mode: runs queued background work, including work it queues in
  // turn, until none is left, on the caller's thread. Must not be called
  // from inside a LevelDB call. Returns how many items ran (0 in thread
  // mode).
  int RunPending();
  size_t pending() const { return queue_.size(); }

  // Every file operation fails from now on (see the header comment).
  void Abandon() { abandoned_.store(true); }
  bool abandoned() const { return abandoned_.load(); }

  // For the negative control of the crash test only: logs LevelDB closes
  // are no longer synced (google/leveldb#193 comes back).
  void DisableLogSyncOnCloseForTesting() { sync_logs_on_close_.store(false); }
  bool sync_logs_on_close() const { return sync_logs_on_close_.load(); }

  LevelDbBackground background() const { return background_; }
  LevelDbEnvStats stats() const;

  // leveldb::Env.
  leveldb::Status NewSequentialFile(const std::string& name,
                                    leveldb::SequentialFile** result) override;
  leveldb::Status NewRandomAccessFile(
      const std::string& name, leveldb::RandomAccessFile** result) override;
  leveldb::Status NewWritableFile(const std::string& name,
                                  leveldb::WritableFile** result) override;
  leveldb::Status NewAppendableFile(const std::string& name,
                                    leveldb::WritableFile** result) override;
  bool FileExists(const std::string& name) override;
  leveldb::Status GetChildren(const std::string& dir,
                              std::vector<std::string>* result) override;
  leveldb::Status RemoveFile(const std::string& name) override;
  leveldb::Status CreateDir(const std::string& name) override;
  leveldb::Status RemoveDir(const std::string& name) override;
  leveldb::Status GetFileSize(const std::string& name, uint64_t* size) override;
  leveldb::Status RenameFile(const std::string& from,
                             const std::string& to) override;
  leveldb::Status LockFile(const std::string& name,
                           leveldb::FileLock** lock) override;
  leveldb::Status UnlockFile(leveldb::FileLock* lock) override;
  void Schedule(void (*function)(void*), void* arg) override;
  void StartThread(void (*function)(void*), void* arg) override;
  leveldb::Status GetTestDirectory(std::string* path) override;
  leveldb::Status NewLogger(const std::string& name,
                            leveldb::Logger** result) override;
  uint64_t NowMicros() override;
  void SleepForMicroseconds(int micros) override;

  // For the file and logger classes (leveldb_env_files.cc).
  FileSystem& fs() { return fs_; }
  Logger& log() { return log_; }
  void CountLogSyncedOnClose() { logs_synced_on_close_++; }
  // Called with each info-log line; aborts in queue mode on a line that
  // announces a foreground wait for background work.
  void CheckInfoLine(std::string_view line);

 private:
  leveldb::Status OpenWritable(const std::string& name, bool truncate,
                               leveldb::WritableFile** result);

  FileSystem& fs_;
  Clock& clock_;
  Logger& log_;
  const LevelDbBackground background_;
  std::atomic<bool> abandoned_{false};
  std::atomic<bool> sync_logs_on_close_{true};
  std::deque<std::pair<void (*)(void*), void*>> queue_;
  // Atomic: in thread mode both threads count.
  std::atomic<uint64_t> scheduled_{0};
  std::atomic<uint64_t> ran_{0};
  std::atomic<uint64_t> slowdowns_{0};
  std::atomic<uint64_t> logs_synced_on_close_{0};
  // Declared last: destroyed first, so queued work finishes while
  // everything above still exists.
  std::unique_ptr<BackgroundThread> thread_;
};

// keel Status -> LevelDB Status: NotFound stays NotFound, the rest IOError.
leveldb::Status ToLevelDb(const absl::Status& status, const std::string& context);

// The directory part of a path ("." when it has none).
std::string LevelDbParentDir(const std::string& path);

}  // namespace keel::store

#endif  // KEEL_STORE_LEVELDB_ENV_H_
