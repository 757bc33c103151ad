// The LevelDB handle under the MVCC key space, and how it is set up.
//
// MvccDb owns the leveldb::DB with its block cache and bloom filter, and is
// the only code that calls LevelDB for the Mvcc. After every call into the
// DB (a Get, a Write, each iterator step, and before closing) it runs
// `after_db_call`, so that an owner whose leveldb::Env queues background
// work instead of running it on a thread (the simulator's) can run that
// work there, on its own loop. Only CompactAllBlocking() calls
// CompactRange, and only with LevelDB's own background thread: it waits for
// background work, which would hang a queueing Env (so do the TEST_ methods,
// which nothing calls).
#ifndef KEEL_STORE_MVCC_DB_H_
#define KEEL_STORE_MVCC_DB_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "leveldb/db.h"
#include "leveldb/env.h"
#include "leveldb/iterator.h"
#include "leveldb/write_batch.h"

namespace keel::store {

struct MvccOptions {
  // Directory of the LevelDB database; created if missing.
  std::string path;
  // nullptr = leveldb::Env::Default(). Not owned; must outlive the Mvcc.
  leveldb::Env* env = nullptr;
  // Run after each DB call (see above). May be empty.
  std::function<void()> after_db_call;
  // LevelDB tuning; the defaults are what bench/mvcc_bench measured best.
  size_t write_buffer_bytes = 16 << 20;
  size_t block_cache_bytes = 8 << 20;
  size_t table_file_bytes = 2 << 20;
  int bloom_bits_per_key = 10;
  bool compression = false;
  // Refuse to open an existing database (snapshot restore wants a fresh
  // one).
  bool error_if_exists = false;
  // Upper bound on revisions one CompactStep() removes, so compaction never
  // holds the loop long (etcd's CompactionBatchLimit).
  int compaction_batch_limit = 1000;
};

// One iterator over the DB, at the DB's state when it was made (or at the
// snapshot given). Not thread-safe; must not outlive its MvccDb.
class DbIterator {
 public:
  DbIterator(leveldb::Iterator* it, const std::function<void()>* after);
  // An iterator over a closed database: empty, its status ClosedDbError().
  static std::unique_ptr<DbIterator> Closed(const std::function<void()>* after);
  ~DbIterator();
  DbIterator(const DbIterator&) = delete;
  DbIterator& operator=(const DbIterator&) = delete;

  void Seek(std::string_view target);
  void Next();
  bool Valid() const { return it_->Valid(); }
  std::string_view key() const;
  std::string_view value() const;
  // Ok unless the iterator met an I/O error or corruption.
  absl::Status status() const;

 private:
  void AfterCall() const;

  std::unique_ptr<leveldb::Iterator> it_;
  const std::function<void()>* after_;
  bool closed_ = false;
};

// A long-lived reader of an MvccDb (a snapshot being streamed across many
// loop turns): MvccDb::Close() tells it to let go of its iterator and
// LevelDB snapshot first.
class DbReader {
 public:
  virtual ~DbReader() = default;
  // Releases every LevelDB object the reader holds; its next read fails.
  virtual void Abandon() = 0;
};

class MvccDb {
 public:
  // Opens (creating if missing) the database at options.path. Errors:
  // whatever LevelDB reports (Internal, or DataLoss on corruption).
  static absl::StatusOr<std::unique_ptr<MvccDb>> Open(
      const MvccOptions& options);
  ~MvccDb();
  MvccDb(const MvccDb&) = delete;
  MvccDb& operator=(const MvccDb&) = delete;

  // The value at `key`, nullopt if absent. Reads at `snapshot` if given.
  absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key, const leveldb::Snapshot* snapshot = nullptr);
  // Applies `batch` atomically; `sync` waits for the log to reach disk.
  // After a failed write every later write fails with that error: LevelDB
  // leaves a record whose append failed in its log (a failed append does
  // not stop it, only a failed sync does), and that record may survive a
  // restart, so a later write built from the in-memory state (which never
  // saw it) would land after it and contradict it on replay.
  absl::Status Write(leveldb::WriteBatch* batch, bool sync);
  // The first write error, OK while every write has succeeded.
  const absl::Status& write_error() const { return write_error_; }
  std::unique_ptr<DbIterator> NewIterator(
      const leveldb::Snapshot* snapshot = nullptr);

  // A consistent point-in-time view; release it with ReleaseSnapshot.
  const leveldb::Snapshot* GetSnapshot();
  void ReleaseSnapshot(const leveldb::Snapshot* snapshot);

  // Runs the owner's hook; for callers that touched the DB in other ways.
  void AfterCall() const;

  // Compacts every level over the whole key range (leveldb::DB::
  // CompactRange): entries overwritten, deleted or removed by MVCC
  // compaction are dropped and the table files rewritten, so the files shrink
  // to the live data. Blocks until LevelDB's background thread has done it:
  // call it only with that thread (a queueing Env would wait forever) and
  // off the loop (Env::RunBlocking); the loop's calls go on meanwhile
  // (LevelDB is thread-safe). The database must stay open until it returns.
  void CompactAllBlocking();
  // The bytes of the live entries, keys plus values: what a full compaction
  // keeps, less LevelDB's per-entry framing and block overhead. Counted by
  // a scan at a LevelDB snapshot, so it costs a read of the whole key space;
  // off the loop under the rule above when the data is large.
  absl::StatusOr<int64_t> LiveBytes();

  // LevelDB's own figures (for benchmarks), e.g. "leveldb.stats".
  std::string Property(std::string_view name);

  // Closes the database under its users (the key space is being replaced):
  // registered readers abandon their iterators, LevelDB is shut down, and
  // from then on every call fails with Unavailable ("mvcc: the key space is
  // closed"); iterators made after are empty with that status. The object
  // stays valid for those who still point at it. Idempotent.
  void Close();
  bool closed() const { return db_ == nullptr; }
  // Long-lived readers, told to let go at Close(). A reader unregisters
  // before it is destroyed.
  void Register(DbReader* reader);
  void Unregister(DbReader* reader);

 private:
  MvccDb() = default;

  std::function<void()> after_db_call_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_policy_;
  std::unique_ptr<leveldb::Cache> block_cache_;
  std::unique_ptr<leveldb::DB> db_;
  std::vector<DbReader*> readers_;
  absl::Status write_error_;
};

// What every call on a closed MvccDb answers.
absl::Status ClosedDbError();

// Maps a non-ok LevelDB status: Corruption -> DataLoss, else Internal.
absl::Status FromLevelDb(const leveldb::Status& status);

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_DB_H_
