// LevelDb: opening, calls that run pending work, and the two ways to close.
#include "store/leveldb_db.h"

#include <utility>

#include "leveldb/options.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::store {

absl::Status StatusFromLevelDb(const leveldb::Status& status) {
  KEEL_ASSERT(!status.ok());
  const std::string text = status.ToString();
  if (status.IsCorruption()) return absl::DataLossError(AsAbsl(text));
  if (status.IsNotFound()) return absl::NotFoundError(AsAbsl(text));
  return absl::InternalError(AsAbsl(text));
}

absl::StatusOr<std::unique_ptr<LevelDb>> LevelDb::Open(
    const LevelDbOptions& options) {
  KEEL_ASSERT(options.fs != nullptr && options.clock != nullptr);
  KEEL_ASSERT(options.log != nullptr && !options.path.empty());
  std::unique_ptr<LevelDb> db(new LevelDb());
  db->env_ = std::make_unique<LevelDbEnv>(*options.fs, *options.clock,
                                          *options.log, options.background);
  leveldb::Options leveldb_options;
  leveldb_options.env = db->env_.get();
  leveldb_options.create_if_missing = options.create_if_missing;
  leveldb_options.error_if_exists = options.error_if_exists;
  leveldb_options.paranoid_checks = options.paranoid_checks;
  leveldb_options.write_buffer_size = options.write_buffer_bytes;
  leveldb_options.max_file_size = options.table_file_bytes;
  leveldb_options.compression = leveldb::kNoCompression;
  leveldb::DB* raw = nullptr;
  const leveldb::Status opened =
      leveldb::DB::Open(leveldb_options, options.path, &raw);
  db->RunPending();
  if (!opened.ok()) return StatusFromLevelDb(opened);
  db->db_.reset(raw);
  return db;
}

LevelDb::~LevelDb() {
  if (db_ == nullptr) return;
  env_->Abandon();
  env_->RunPending();
  db_.reset();
  env_->RunPending();
}

void LevelDb::Close() {
  KEEL_ASSERT(db_ != nullptr);
  env_->RunPending();
  db_.reset();
  env_->RunPending();
}

absl::Status LevelDb::Write(leveldb::WriteBatch* batch, bool sync) {
  KEEL_ASSERT(db_ != nullptr);
  leveldb::WriteOptions write_options;
  write_options.sync = sync;
  const leveldb::Status written = db_->Write(write_options, batch);
  RunPending();
  return written.ok() ? absl::OkStatus() : StatusFromLevelDb(written);
}

absl::Status LevelDb::Put(std::string_view key, std::string_view value,
                          bool sync) {
  leveldb::WriteBatch batch;
  batch.Put(leveldb::Slice(key.data(), key.size()),
            leveldb::Slice(value.data(), value.size()));
  return Write(&batch, sync);
}

absl::Status LevelDb::Delete(std::string_view key, bool sync) {
  leveldb::WriteBatch batch;
  batch.Delete(leveldb::Slice(key.data(), key.size()));
  return Write(&batch, sync);
}

absl::StatusOr<std::optional<std::string>> LevelDb::Get(std::string_view key) {
  KEEL_ASSERT(db_ != nullptr);
  std::string value;
  leveldb::ReadOptions read_options;
  read_options.verify_checksums = true;
  const leveldb::Status got = db_->Get(
      read_options, leveldb::Slice(key.data(), key.size()), &value);
  RunPending();
  if (got.IsNotFound()) return std::optional<std::string>();
  if (!got.ok()) return StatusFromLevelDb(got);
  return std::optional<std::string>(std::move(value));
}

std::unique_ptr<LevelDb::Iterator> LevelDb::NewIterator() {
  KEEL_ASSERT(db_ != nullptr);
  leveldb::ReadOptions read_options;
  read_options.verify_checksums = true;
  auto it = std::make_unique<Iterator>(*this, db_->NewIterator(read_options));
  RunPending();
  return it;
}

std::string LevelDb::Property(std::string_view name) {
  KEEL_ASSERT(db_ != nullptr);
  std::string value;
  db_->GetProperty(leveldb::Slice(name.data(), name.size()), &value);
  return value;
}

}  // namespace keel::store
