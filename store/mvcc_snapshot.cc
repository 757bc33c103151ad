// Snapshot streaming and restore; see mvcc_snapshot.h.
#include "store/mvcc_snapshot.h"

#include <utility>

#include "leveldb/write_batch.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "store/key_codec.h"

namespace keel::store {

absl::StatusOr<std::unique_ptr<MvccSnapshot>> MvccSnapshot::Take(Mvcc* mvcc) {
  KEEL_ASSERT(mvcc != nullptr);
  // Entries that changed nothing are recorded only in memory until the
  // next write; write them so the copy carries the true applied entry.
  KEEL_RETURN_IF_ERROR(mvcc->SyncBarrier());
  MvccDb* db = mvcc->db();
  const leveldb::Snapshot* snapshot = db->GetSnapshot();
  if (snapshot == nullptr) return ClosedDbError();
  return std::unique_ptr<MvccSnapshot>(
      new MvccSnapshot(db, snapshot, mvcc->applied(), mvcc->current_revision()));
}

MvccSnapshot::MvccSnapshot(MvccDb* db, const leveldb::Snapshot* snapshot,
                           EntryId applied, int64_t revision)
    : db_(db),
      snapshot_(snapshot),
      it_(db->NewIterator(snapshot)),
      applied_(applied),
      revision_(revision) {
  KEEL_ASSERT(snapshot != nullptr);
  it_->Seek(std::string_view());
  db_->Register(this);
}

MvccSnapshot::~MvccSnapshot() {
  if (snapshot_ == nullptr) return;  // abandoned: the database is gone
  db_->Unregister(this);
  Abandon();
}

void MvccSnapshot::Abandon() {
  if (snapshot_ == nullptr) return;
  it_.reset();
  db_->ReleaseSnapshot(snapshot_);
  snapshot_ = nullptr;
}

absl::StatusOr<std::optional<std::string>> MvccSnapshot::NextChunk(
    size_t max_bytes) {
  KEEL_ASSERT(max_bytes > 0);
  if (snapshot_ == nullptr) return ClosedDbError();
  if (!it_->Valid()) {
    KEEL_RETURN_IF_ERROR(it_->status());
    return std::optional<std::string>();
  }
  std::string chunk;
  while (it_->Valid() && chunk.size() < max_bytes) {
    AppendVarint64(&chunk, it_->key().size());
    chunk.append(it_->key());
    AppendVarint64(&chunk, it_->value().size());
    chunk.append(it_->value());
    it_->Next();
  }
  KEEL_RETURN_IF_ERROR(it_->status());
  return std::optional<std::string>(std::move(chunk));
}

absl::StatusOr<bool> MvccSnapshot::NextRecord(std::string* key, std::string* value) {
  if (snapshot_ == nullptr) return ClosedDbError();
  if (!it_->Valid()) {
    KEEL_RETURN_IF_ERROR(it_->status());
    return false;
  }
  key->assign(it_->key());
  value->assign(it_->value());
  it_->Next();
  return true;
}

absl::StatusOr<std::unique_ptr<MvccRestorer>> MvccRestorer::Create(
    MvccOptions options) {
  options.error_if_exists = true;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<MvccDb> db, MvccDb::Open(options));
  options.error_if_exists = false;
  return std::unique_ptr<MvccRestorer>(
      new MvccRestorer(std::move(options), std::move(db)));
}

MvccRestorer::MvccRestorer(MvccOptions options, std::unique_ptr<MvccDb> db)
    : options_(std::move(options)), db_(std::move(db)) {}

absl::Status MvccRestorer::AddChunk(std::string_view chunk) {
  KEEL_ASSERT(db_ != nullptr);
  leveldb::WriteBatch batch;
  while (!chunk.empty()) {
    std::optional<uint64_t> key_size = ConsumeVarint64(&chunk);
    if (!key_size || *key_size > chunk.size()) {
      return absl::DataLossError("mvcc: malformed snapshot chunk");
    }
    std::string_view key = chunk.substr(0, *key_size);
    chunk.remove_prefix(*key_size);
    std::optional<uint64_t> value_size = ConsumeVarint64(&chunk);
    if (!value_size || *value_size > chunk.size()) {
      return absl::DataLossError("mvcc: malformed snapshot chunk");
    }
    std::string_view value = chunk.substr(0, *value_size);
    chunk.remove_prefix(*value_size);
    batch.Put(leveldb::Slice(key.data(), key.size()),
              leveldb::Slice(value.data(), value.size()));
  }
  return db_->Write(&batch, /*sync=*/false);
}

absl::Status MvccRestorer::AddRecord(std::string_view key, std::string_view value) {
  KEEL_ASSERT(db_ != nullptr);
  if (pending_ == nullptr) pending_ = std::make_unique<leveldb::WriteBatch>();
  pending_->Put(leveldb::Slice(key.data(), key.size()),
                leveldb::Slice(value.data(), value.size()));
  // Bounded batches keep memory flat for a large key space.
  if (pending_->ApproximateSize() >= (1u << 20)) return FlushRecords();
  return absl::OkStatus();
}

absl::Status MvccRestorer::FlushRecords() {
  if (pending_ == nullptr) return absl::OkStatus();
  absl::Status status = db_->Write(pending_.get(), /*sync=*/false);
  pending_.reset();
  return status;
}

absl::StatusOr<std::unique_ptr<Mvcc>> MvccRestorer::Finish() {
  KEEL_ASSERT(db_ != nullptr);
  KEEL_RETURN_IF_ERROR(FlushRecords());
  leveldb::WriteBatch empty;
  KEEL_RETURN_IF_ERROR(db_->Write(&empty, /*sync=*/true));
  return Mvcc::Open(std::move(options_), std::move(db_));
}

}  // namespace keel::store
