// LevelDB setup and the after-each-call hook; see mvcc_db.h.
#include "store/mvcc_db.h"

#include <algorithm>

#include "leveldb/cache.h"
#include "leveldb/filter_policy.h"
#include "leveldb/options.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/strings.h"

namespace keel::store {
namespace {

// The Buggify() settings of Open: the smallest memtable, block and table
// cache LevelDB accepts (it clamps smaller ones), and a block cache of a
// few blocks.
constexpr size_t kMinWriteBufferBytes = 64 << 10;
constexpr size_t kMinBlockBytes = 1 << 10;
constexpr int kMinOpenFiles = 64 + 10;
constexpr size_t kTinyBlockCacheBytes = 16 << 10;

}  // namespace

absl::Status FromLevelDb(const leveldb::Status& status) {
  KEEL_ASSERT(!status.ok());
  std::string text = status.ToString();
  if (status.IsCorruption()) return absl::DataLossError(AsAbsl(text));
  return absl::InternalError(AsAbsl(text));
}

DbIterator::DbIterator(leveldb::Iterator* it, const std::function<void()>* after)
    : it_(it), after_(after) {
  KEEL_ASSERT(it != nullptr);
}

DbIterator::~DbIterator() {
  it_.reset();
  AfterCall();
}

void DbIterator::AfterCall() const {
  if (*after_) (*after_)();
}

void DbIterator::Seek(std::string_view target) {
  it_->Seek(leveldb::Slice(target.data(), target.size()));
  AfterCall();
}

void DbIterator::Next() {
  KEEL_ASSERT(it_->Valid());
  it_->Next();
  AfterCall();
}

std::string_view DbIterator::key() const {
  leveldb::Slice k = it_->key();
  return std::string_view(k.data(), k.size());
}

std::string_view DbIterator::value() const {
  leveldb::Slice v = it_->value();
  return std::string_view(v.data(), v.size());
}

std::unique_ptr<DbIterator> DbIterator::Closed(const std::function<void()>* after) {
  auto it = std::make_unique<DbIterator>(leveldb::NewEmptyIterator(), after);
  it->closed_ = true;
  return it;
}

absl::Status DbIterator::status() const {
  if (closed_) return ClosedDbError();
  leveldb::Status s = it_->status();
  return s.ok() ? absl::OkStatus() : FromLevelDb(s);
}

absl::StatusOr<std::unique_ptr<MvccDb>> MvccDb::Open(
    const MvccOptions& options) {
  KEEL_ASSERT(!options.path.empty());
  KEEL_ASSERT(options.bloom_bits_per_key >= 0);
  std::unique_ptr<MvccDb> db(new MvccDb());
  db->after_db_call_ = options.after_db_call;
  if (options.bloom_bits_per_key > 0) {
    db->filter_policy_.reset(
        leveldb::NewBloomFilterPolicy(options.bloom_bits_per_key));
  }
  // Buggify: a block cache of a few blocks, so reads go to the table
  // files (and their checksums) instead of memory.
  db->block_cache_.reset(
      leveldb::NewLRUCache(Buggify() ? kTinyBlockCacheBytes : options.block_cache_bytes));

  leveldb::Options leveldb_options;
  if (options.env != nullptr) leveldb_options.env = options.env;
  leveldb_options.create_if_missing = true;
  // Refuse a damaged database rather than quietly skip what LevelDB cannot
  // read: a member never serves data it knows may be corrupt.
  leveldb_options.paranoid_checks = true;
  leveldb_options.error_if_exists = options.error_if_exists;
  leveldb_options.write_buffer_size = options.write_buffer_bytes;
  // Buggify: LevelDB's smallest memtable, so memtables are flushed and
  // level-0 files compacted many times a run.
  if (Buggify()) leveldb_options.write_buffer_size = kMinWriteBufferBytes;
  leveldb_options.max_file_size = options.table_file_bytes;
  // Buggify: the smallest blocks LevelDB takes, each key its own restart
  // point, so a table holds many blocks and index entries.
  if (Buggify()) {
    leveldb_options.block_size = kMinBlockBytes;
    leveldb_options.block_restart_interval = 1;
  }
  // Buggify: LevelDB's smallest table cache, so table files are closed and
  // reopened as reads move between them.
  if (Buggify()) leveldb_options.max_open_files = kMinOpenFiles;
  leveldb_options.block_cache = db->block_cache_.get();
  leveldb_options.filter_policy = db->filter_policy_.get();
  leveldb_options.compression = options.compression
                                    ? leveldb::kSnappyCompression
                                    : leveldb::kNoCompression;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(leveldb_options, options.path, &raw);
  db->AfterCall();
  if (!s.ok()) return FromLevelDb(s);
  db->db_.reset(raw);
  return db;
}

MvccDb::~MvccDb() {
  // Background work still queued must run before LevelDB's destructor
  // waits for it.
  AfterCall();
  db_.reset();
  AfterCall();
}

void MvccDb::AfterCall() const {
  if (after_db_call_) after_db_call_();
}

absl::Status ClosedDbError() {
  return absl::UnavailableError("mvcc: the key space is closed");
}

void MvccDb::Register(DbReader* reader) {
  KEEL_ASSERT(reader != nullptr);
  KEEL_ASSERT(!closed());
  readers_.push_back(reader);
}

void MvccDb::Unregister(DbReader* reader) {
  auto it = std::find(readers_.begin(), readers_.end(), reader);
  if (it != readers_.end()) readers_.erase(it);
}

void MvccDb::Close() {
  if (closed()) return;
  // Readers first: LevelDB requires every iterator and snapshot released
  // before the database goes.
  std::vector<DbReader*> readers = std::move(readers_);
  readers_.clear();
  for (DbReader* reader : readers) reader->Abandon();
  db_.reset();
  block_cache_.reset();
  AfterCall();
  KEEL_ASSERT(closed());
}

void MvccDb::CompactAllBlocking() {
  KEEL_ASSERT(!closed());
  // No AfterCall(): off the loop, and with a background thread the hook is
  // empty (a queueing Env never gets here).
  db_->CompactRange(nullptr, nullptr);
}

absl::StatusOr<int64_t> MvccDb::LiveBytes() {
  if (closed()) return ClosedDbError();
  // No block cache fill: a scan of everything would evict what reads use.
  leveldb::ReadOptions read_options;
  read_options.fill_cache = false;
  read_options.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read_options));
  int64_t total = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AfterCall();
    total += static_cast<int64_t>(it->key().size() + it->value().size());
  }
  leveldb::Status s = it->status();
  it.reset();
  AfterCall();
  if (!s.ok()) return FromLevelDb(s);
  return total;
}

absl::StatusOr<std::optional<std::string>> MvccDb::Get(
    std::string_view key, const leveldb::Snapshot* snapshot) {
  if (closed()) return ClosedDbError();
  leveldb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  read_options.verify_checksums = true;
  std::string value;
  leveldb::Status s =
      db_->Get(read_options, leveldb::Slice(key.data(), key.size()), &value);
  AfterCall();
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromLevelDb(s);
  return std::optional<std::string>(std::move(value));
}

absl::Status MvccDb::Write(leveldb::WriteBatch* batch, bool sync) {
  KEEL_ASSERT(batch != nullptr);
  if (closed()) return ClosedDbError();
  if (!write_error_.ok()) return write_error_;
  leveldb::WriteOptions write_options;
  write_options.sync = sync;
  leveldb::Status s = db_->Write(write_options, batch);
  AfterCall();
  if (!s.ok()) write_error_ = FromLevelDb(s);
  return write_error_;
}

std::unique_ptr<DbIterator> MvccDb::NewIterator(
    const leveldb::Snapshot* snapshot) {
  if (closed()) return DbIterator::Closed(&after_db_call_);
  leveldb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  read_options.verify_checksums = true;
  auto it = std::make_unique<DbIterator>(db_->NewIterator(read_options),
                                         &after_db_call_);
  AfterCall();
  return it;
}

const leveldb::Snapshot* MvccDb::GetSnapshot() {
  if (closed()) return nullptr;
  const leveldb::Snapshot* snapshot = db_->GetSnapshot();
  AfterCall();
  return snapshot;
}

void MvccDb::ReleaseSnapshot(const leveldb::Snapshot* snapshot) {
  KEEL_ASSERT(snapshot != nullptr);
  KEEL_ASSERT(!closed());  // readers release theirs before Close() goes on
  db_->ReleaseSnapshot(snapshot);
  AfterCall();
}

std::string MvccDb::Property(std::string_view name) {
  std::string value;
  if (closed()) return value;
  db_->GetProperty(leveldb::Slice(name.data(), name.size()), &value);
  return value;
}

}  // namespace keel::store
