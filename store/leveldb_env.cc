// LevelDbEnv: directory operations, locks, time, logging and background
// work. The file classes are in leveldb_env_files.cc.
#include "store/leveldb_env.h"

#include <utility>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::store {
namespace {

class KeelFileLock final : public leveldb::FileLock {
 public:
  explicit KeelFileLock(std::unique_ptr<keel::FileLock> lock)
      : lock_(std::move(lock)) {}

 private:
  std::unique_ptr<keel::FileLock> lock_;
};

leveldb::Status Abandoned(const std::string& name) {
  return leveldb::Status::IOError(name, "the process is shutting down");
}

}  // namespace

leveldb::Status ToLevelDb(const absl::Status& status, const std::string& context) {
  KEEL_ASSERT(!status.ok());
  const std::string message(AsStd(status.message()));
  if (absl::IsNotFound(status)) return leveldb::Status::NotFound(context, message);
  return leveldb::Status::IOError(context, message);
}

std::string LevelDbParentDir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

LevelDbEnv::LevelDbEnv(FileSystem& fs, Clock& clock, Logger& log,
                       LevelDbBackground background)
    : fs_(fs), clock_(clock), log_(log), background_(background) {
  if (background_ == LevelDbBackground::kThread) {
    thread_ = std::make_unique<BackgroundThread>();
  }
}

LevelDbEnv::~LevelDbEnv() {
  KEEL_ASSERT_MSG(queue_.empty(),
                  "LevelDbEnv destroyed with background work still queued");
  thread_.reset();
}

LevelDbEnvStats LevelDbEnv::stats() const {
  return {.scheduled = scheduled_.load(),
          .ran = ran_.load(),
          .slowdowns = slowdowns_.load(),
          .logs_synced_on_close = logs_synced_on_close_.load()};
}

int LevelDbEnv::RunPending() {
  int ran = 0;
  while (!queue_.empty()) {
    auto [function, arg] = queue_.front();
    queue_.pop_front();
    function(arg);
    ran++;
    ran_++;
  }
  return ran;
}

void LevelDbEnv::Schedule(void (*function)(void*), void* arg) {
  KEEL_ASSERT(function != nullptr);
  scheduled_++;
  if (background_ == LevelDbBackground::kThread) {
    thread_->Schedule(function, arg);
    return;
  }
  // Called under LevelDB's mutex, which the work takes again: it can only
  // run later, from RunPending().
  queue_.emplace_back(function, arg);
}

void LevelDbEnv::StartThread(void (*function)(void*), void* arg) {
  // LevelDB's DB never calls it; only its tests and tools do.
  KEEL_ASSERT_MSG(false, "LevelDbEnv::StartThread is not supported");
}

void LevelDbEnv::SleepForMicroseconds(int micros) {
  slowdowns_++;
  // LevelDB's only sleep is the 1 ms write slowdown at 8 level-0 files.
  // In queue mode it must not block (and cannot help: the compaction it
  // waits for runs on this very thread), so it is only counted.
  if (background_ == LevelDbBackground::kThread) {
    BackgroundThread::SleepForMicroseconds(micros);
  }
}

uint64_t LevelDbEnv::NowMicros() {
  return static_cast<uint64_t>(ToNanoseconds(clock_.Now()) / 1000);
}

void LevelDbEnv::CheckInfoLine(std::string_view line) {
  if (background_ != LevelDbBackground::kQueue) return;
  // MakeRoomForWrite logs these just before it blocks on background work
  // ("Current memtable full; waiting...", "Too many L0 files; waiting...").
  KEEL_ASSERT_MSG(line.find("waiting...") == std::string_view::npos,
                  "a LevelDB foreground call waits for queued background work "
                  "(it would hang): run RunPending() after every DB call and "
                  "keep write_buffer_size small");
}

bool LevelDbEnv::FileExists(const std::string& name) {
  if (abandoned()) return false;
  return fs_.Stat(name).ok();
}

leveldb::Status LevelDbEnv::GetChildren(const std::string& dir,
                                        std::vector<std::string>* result) {
  result->clear();
  if (abandoned()) return Abandoned(dir);
  auto names = fs_.List(dir);
  if (!names.ok()) return ToLevelDb(names.status(), dir);
  *result = std::move(*names);
  return leveldb::Status::OK();
}

leveldb::Status LevelDbEnv::RemoveFile(const std::string& name) {
  if (abandoned()) return Abandoned(name);
  absl::Status removed = fs_.Remove(name);
  return removed.ok() ? leveldb::Status::OK() : ToLevelDb(removed, name);
}

leveldb::Status LevelDbEnv::CreateDir(const std::string& name) {
  if (abandoned()) return Abandoned(name);
  const bool existed = fs_.Stat(name).ok();
  absl::Status created = CreateDirs(fs_, name);
  // A new directory's entry (and any new parent's) must be durable before
  // a synced write inside it can be.
  for (std::string dir = name; created.ok() && !existed;) {
    dir = LevelDbParentDir(dir);
    created = fs_.SyncDirNow(dir);
    if (dir == "." || dir == "/") break;
  }
  return created.ok() ? leveldb::Status::OK() : ToLevelDb(created, name);
}

leveldb::Status LevelDbEnv::RemoveDir(const std::string& name) {
  if (abandoned()) return Abandoned(name);
  absl::Status removed = fs_.RemoveDir(name);
  return removed.ok() ? leveldb::Status::OK() : ToLevelDb(removed, name);
}

leveldb::Status LevelDbEnv::GetFileSize(const std::string& name, uint64_t* size) {
  *size = 0;
  if (abandoned()) return Abandoned(name);
  auto info = fs_.Stat(name);
  if (!info.ok()) return ToLevelDb(info.status(), name);
  *size = info->size;
  return leveldb::Status::OK();
}

leveldb::Status LevelDbEnv::RenameFile(const std::string& from,
                                       const std::string& to) {
  if (abandoned()) return Abandoned(from);
  absl::Status renamed = fs_.Rename(from, to);
  if (!renamed.ok()) return ToLevelDb(renamed, from);
  // LevelDB installs a new CURRENT by renaming a synced temporary file over
  // it; without a directory sync a crash could bring back the old name
  // after the files it named were deleted.
  absl::Status synced = fs_.SyncDirNow(LevelDbParentDir(to));
  if (!synced.ok()) {
    // The rename has happened (in the page cache) but may not be durable.
    // LevelDB takes an error as "not renamed" and would delete the new
    // MANIFEST that CURRENT now names, and the old one after a later
    // success: either leaves CURRENT dangling. As after any failed fsync,
    // write nothing more; the owner must reopen.
    Abandon();
    return ToLevelDb(synced, to);
  }
  return leveldb::Status::OK();
}

leveldb::Status LevelDbEnv::LockFile(const std::string& name,
                                     leveldb::FileLock** lock) {
  *lock = nullptr;
  if (abandoned()) return Abandoned(name);
  auto held = fs_.Lock(name);
  if (!held.ok()) return ToLevelDb(held.status(), StrCat("lock ", name));
  *lock = new KeelFileLock(std::move(*held));
  return leveldb::Status::OK();
}

leveldb::Status LevelDbEnv::UnlockFile(leveldb::FileLock* lock) {
  delete lock;
  return leveldb::Status::OK();
}

leveldb::Status LevelDbEnv::GetTestDirectory(std::string* path) {
  *path = "leveldb-test";
  return CreateDir(*path);
}

}  // namespace keel::store
