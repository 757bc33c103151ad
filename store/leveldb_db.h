// LevelDb: a LevelDB database opened on keel's FileSystem through
// LevelDbEnv, that runs queued background work after every call.
//
// This is the one way keel code opens a LevelDB: it owns the Env adapter,
// and after each call it makes (Write, Get, every iterator step, snapshot
// calls) it runs the Env's queue dry, so in simulation a foreground call
// never finds background work waiting. Code that needs the raw handle uses
// db() and must call RunPending() after each call itself. (The Mvcc opens
// its DB with a LevelDbEnv and RunPending() as its after-call hook.)
//
// Closing: Close() shuts down cleanly (queued work runs, logs are synced).
// Destroying a LevelDb without Close() is what a kill does: the Env is
// abandoned first, so LevelDB's teardown writes nothing more.
#ifndef KEEL_STORE_LEVELDB_DB_H_
#define KEEL_STORE_LEVELDB_DB_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "leveldb/db.h"
#include "leveldb/iterator.h"
#include "leveldb/write_batch.h"
#include "runtime/clock.h"
#include "runtime/filesystem.h"
#include "runtime/log.h"
#include "store/leveldb_env.h"

namespace keel::store {

struct LevelDbOptions {
  std::string path;
  // Not owned; must outlive the LevelDb.
  FileSystem* fs = nullptr;
  Clock* clock = nullptr;
  Logger* log = nullptr;
  LevelDbBackground background = LevelDbBackground::kQueue;
  // Memtable size. Keep it small (64 KiB) in simulation: the flush it
  // queues must run before the next write needs room.
  size_t write_buffer_bytes = 4 << 20;
  size_t table_file_bytes = 2 << 20;
  bool create_if_missing = true;
  bool error_if_exists = false;
  // LevelDB's paranoid checks: refuse a damaged database rather than
  // quietly skip what it cannot read.
  bool paranoid_checks = true;
};

// Maps a non-ok LevelDB status: Corruption -> DataLoss, NotFound ->
// NotFound, anything else Internal.
absl::Status StatusFromLevelDb(const leveldb::Status& status);

class LevelDb {
 public:
  // Opens (creating if allowed) the database. DataLoss if LevelDB finds
  // corruption; Internal for I/O errors (a held lock included).
  static absl::StatusOr<std::unique_ptr<LevelDb>> Open(
      const LevelDbOptions& options);
  // Without Close(): a kill (see above).
  ~LevelDb();
  LevelDb(const LevelDb&) = delete;
  LevelDb& operator=(const LevelDb&) = delete;

  // Runs queued background work, then closes the database. The LevelDb is
  // unusable afterwards.
  void Close();

  // The raw handle; call RunPending() after each use.
  leveldb::DB* db() { return db_.get(); }
  LevelDbEnv& env() { return *env_; }
  void RunPending() { env_->RunPending(); }

  // Applies `batch` atomically; with `sync`, durably (and, with the closed
  // logs synced, every earlier write with it).
  absl::Status Write(leveldb::WriteBatch* batch, bool sync);
  absl::Status Put(std::string_view key, std::string_view value, bool sync);
  absl::Status Delete(std::string_view key, bool sync);
  // nullopt if absent.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key);

  // An iterator that runs pending work after every step.
  class Iterator {
   public:
    Iterator(LevelDb& db, leveldb::Iterator* it) : db_(db), it_(it) {}
    ~Iterator() {
      it_.reset();
      db_.RunPending();
    }
    void SeekToFirst() { it_->SeekToFirst(); db_.RunPending(); }
    void Seek(std::string_view key) {
      it_->Seek(leveldb::Slice(key.data(), key.size()));
      db_.RunPending();
    }
    void Next() { it_->Next(); db_.RunPending(); }
    bool Valid() const { return it_->Valid(); }
    std::string_view key() const {
      return std::string_view(it_->key().data(), it_->key().size());
    }
    std::string_view value() const {
      return std::string_view(it_->value().data(), it_->value().size());
    }
    absl::Status status() const {
      return it_->status().ok() ? absl::OkStatus() : StatusFromLevelDb(it_->status());
    }

   private:
    LevelDb& db_;
    std::unique_ptr<leveldb::Iterator> it_;
  };
  std::unique_ptr<Iterator> NewIterator();

  // LevelDB's figures, e.g. "leveldb.num-files-at-level0".
  std::string Property(std::string_view name);

 private:
  LevelDb() = default;

  std::unique_ptr<LevelDbEnv> env_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace keel::store

#endif  // KEEL_STORE_LEVELDB_DB_H_
