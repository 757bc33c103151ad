// LevelDbEnv's files and info logger: LevelDB's file interfaces over keel
// Files. See leveldb_env.h for the durability rules they implement.
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <utility>

#include "runtime/assert.h"
#include "runtime/strings.h"
#include "store/leveldb_env.h"
#include "store/leveldb_env_log_scan.h"

namespace keel::store {
namespace {

// LevelDB's log writer appends a few bytes at a time and flushes after each
// record; buffering up to this much turns that into one write per record.
constexpr size_t kWriteBufferBytes = 64 << 10;

leveldb::Status Abandoned(const std::string& name) {
  return leveldb::Status::IOError(name, "the process is shutting down");
}

bool IsLogFile(const std::string& name) {
  return name.size() >= 4 && name.compare(name.size() - 4, 4, ".log") == 0;
}

class SequentialFile final : public leveldb::SequentialFile {
 public:
  // Reads stop at `limit` (the valid prefix of a log-format file).
  SequentialFile(LevelDbEnv& env, std::string name, std::unique_ptr<File> file,
                 uint64_t limit)
      : env_(env), name_(std::move(name)), file_(std::move(file)), limit_(limit) {}

  leveldb::Status Read(size_t n, leveldb::Slice* result, char* scratch) override {
    *result = leveldb::Slice();
    if (env_.abandoned()) return Abandoned(name_);
    if (offset_ >= limit_) return leveldb::Status::OK();
    n = std::min<uint64_t>(n, limit_ - offset_);
    auto data = file_->ReadAt(offset_, n);
    if (!data.ok()) return ToLevelDb(data.status(), name_);
    KEEL_ASSERT(data->size() <= n);
    std::memcpy(scratch, data->data(), data->size());
    *result = leveldb::Slice(scratch, data->size());
    offset_ += data->size();
    return leveldb::Status::OK();
  }

  leveldb::Status Skip(uint64_t n) override {
    offset_ += n;
    return leveldb::Status::OK();
  }

 private:
  LevelDbEnv& env_;
  const std::string name_;
  std::unique_ptr<File> file_;
  const uint64_t limit_;
  uint64_t offset_ = 0;
};

class RandomAccessFile final : public leveldb::RandomAccessFile {
 public:
  RandomAccessFile(LevelDbEnv& env, std::string name, std::unique_ptr<File> file)
      : env_(env), name_(std::move(name)), file_(std::move(file)) {}

  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result,
                       char* scratch) const override {
    *result = leveldb::Slice();
    if (env_.abandoned()) return Abandoned(name_);
    auto data = file_->ReadAt(offset, n);
    if (!data.ok()) return ToLevelDb(data.status(), name_);
    KEEL_ASSERT(data->size() <= n);
    std::memcpy(scratch, data->data(), data->size());
    *result = leveldb::Slice(scratch, data->size());
    return leveldb::Status::OK();
  }

 private:
  LevelDbEnv& env_;
  const std::string name_;
  std::unique_ptr<File> file_;
};

class WritableFile final : public leveldb::WritableFile {
 public:
  WritableFile(LevelDbEnv& env, std::string name, std::unique_ptr<File> file,
               uint64_t size, bool created)
      : env_(env),
        name_(std::move(name)),
        file_(std::move(file)),
        size_(size),
        dir_synced_(!created) {}

  // LevelDB deletes its current log and MANIFEST without Close() when the
  // DB closes; a clean close still keeps (and for a log, syncs) them. After
  // Abandon() nothing is written: that is a kill.
  ~WritableFile() override {
    if (file_ != nullptr && !env_.abandoned()) Close();
  }

  leveldb::Status Append(const leveldb::Slice& data) override {
    if (env_.abandoned()) return Abandoned(name_);
    KEEL_ASSERT(file_ != nullptr);
    buffer_.append(data.data(), data.size());
    if (buffer_.size() >= kWriteBufferBytes) return Flush();
    return leveldb::Status::OK();
  }

  leveldb::Status Flush() override {
    if (env_.abandoned()) return Abandoned(name_);
    if (buffer_.empty()) return leveldb::Status::OK();
    absl::Status written = file_->WriteAt(size_, buffer_);
    if (!written.ok()) return ToLevelDb(written, name_);
    size_ += buffer_.size();
    buffer_.clear();
    return leveldb::Status::OK();
  }

  leveldb::Status Sync() override {
    leveldb::Status flushed = Flush();
    if (!flushed.ok()) return flushed;
    absl::Status synced = file_->SyncNow();
    if (synced.ok() && !dir_synced_) {
      // A synced write to a file whose name a crash can still take away
      // would not be durable.
      synced = env_.fs().SyncDirNow(LevelDbParentDir(name_));
      if (synced.ok()) dir_synced_ = true;
    }
    return synced.ok() ? leveldb::Status::OK() : ToLevelDb(synced, name_);
  }

  leveldb::Status Close() override {
    if (file_ == nullptr) return leveldb::Status::OK();
    leveldb::Status status;
    if (IsLogFile(name_) && env_.sync_logs_on_close()) {
      // google/leveldb#193: LevelDB never syncs a log it switches away
      // from, so a later synced write could survive a crash that loses
      // this one's unsynced tail. Syncing here keeps every recovered
      // state a prefix of the writes.
      status = Sync();
      if (status.ok()) env_.CountLogSyncedOnClose();
    } else {
      status = Flush();
    }
    file_.reset();
    return status;
  }

 private:
  LevelDbEnv& env_;
  const std::string name_;
  std::unique_ptr<File> file_;
  uint64_t size_;  // bytes written to file_
  std::string buffer_;
  bool dir_synced_;
};

class InfoLogger final : public leveldb::Logger {
 public:
  explicit InfoLogger(LevelDbEnv& env) : env_(env) {}

  void Logv(const char* format, std::va_list ap) override {
    char buffer[512];
    std::va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buffer, sizeof(buffer), format, copy);
    va_end(copy);
    if (n < 0) return;
    std::string_view line(buffer, std::min<size_t>(n, sizeof(buffer) - 1));
    while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    env_.CheckInfoLine(line);
    env_.log().Debug("leveldb", {{"msg", line}});
  }

 private:
  LevelDbEnv& env_;
};

}  // namespace

leveldb::Status LevelDbEnv::NewSequentialFile(const std::string& name,
                                              leveldb::SequentialFile** result) {
  *result = nullptr;
  if (abandoned()) return Abandoned(name);
  auto file = fs_.Open(name, {.read_only = true});
  if (!file.ok()) return ToLevelDb(file.status(), name);
  auto size = (*file)->Size();
  if (!size.ok()) return ToLevelDb(size.status(), name);
  uint64_t limit = *size;
  if (IsLevelDbLogFormatFile(name)) {
    // LevelDB reads logs only to recover: show it the valid prefix alone.
    auto data = (*file)->ReadAt(0, *size);
    if (!data.ok()) return ToLevelDb(data.status(), name);
    const LevelDbLogScan scan = ScanLevelDbLog(*data);
    if (scan.corrupt) {
      return leveldb::Status::Corruption(
          name, StrCat(scan.problem, " at offset ", scan.bad_offset));
    }
    if (scan.torn) {
      log_.Warn("ignoring the torn tail of a LevelDB log",
                {{"file", name},
                 {"offset", scan.valid_bytes},
                 {"bytes", data->size() - scan.valid_bytes},
                 {"reason", scan.problem}});
    }
    limit = scan.valid_bytes;
  }
  *result = new SequentialFile(*this, name, std::move(*file), limit);
  return leveldb::Status::OK();
}

leveldb::Status LevelDbEnv::NewRandomAccessFile(
    const std::string& name, leveldb::RandomAccessFile** result) {
  *result = nullptr;
  if (abandoned()) return Abandoned(name);
  auto file = fs_.Open(name, {.read_only = true});
  if (!file.ok()) return ToLevelDb(file.status(), name);
  *result = new RandomAccessFile(*this, name, std::move(*file));
  return leveldb::Status::OK();
}

leveldb::Status LevelDbEnv::OpenWritable(const std::string& name, bool truncate,
                                         leveldb::WritableFile** result) {
  *result = nullptr;
  if (abandoned()) return Abandoned(name);
  const bool existed = fs_.Stat(name).ok();
  auto file = fs_.Open(name, {.create = true, .truncate = truncate});
  if (!file.ok()) return ToLevelDb(file.status(), name);
  auto size = (*file)->Size();
  if (!size.ok()) return ToLevelDb(size.status(), name);
  *result = new WritableFile(*this, name, std::move(*file), *size, !existed);
  return leveldb::Status::OK();
}

leveldb::Status LevelDbEnv::NewWritableFile(const std::string& name,
                                            leveldb::WritableFile** result) {
  return OpenWritable(name, /*truncate=*/true, result);
}

leveldb::Status LevelDbEnv::NewAppendableFile(const std::string& name,
                                              leveldb::WritableFile** result) {
  return OpenWritable(name, /*truncate=*/false, result);
}

leveldb::Status LevelDbEnv::NewLogger(const std::string& name,
                                      leveldb::Logger** result) {
  *result = new InfoLogger(*this);
  return leveldb::Status::OK();
}

}  // namespace keel::store
