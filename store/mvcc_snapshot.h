// A consistent point-in-time copy of a whole Mvcc, as a stream of chunks,
// and the restore of a fresh Mvcc from such a stream.
//
// The copy is of every LevelDB record (all tables, including the applied
// entry and the compaction state), read through a LevelDB snapshot, so
// applies may go on while it streams. A chunk is a run of records, each a
// varint key length, the key, a varint value length and the value. The
// snapshot feature adds framing and integrity checks around the chunks.
#ifndef KEEL_STORE_MVCC_SNAPSHOT_H_
#define KEEL_STORE_MVCC_SNAPSHOT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "leveldb/db.h"
#include "leveldb/write_batch.h"
#include "store/mvcc.h"
#include "store/mvcc_db.h"

namespace keel::store {

class MvccSnapshot final : public DbReader {
 public:
  // Makes the applied entry durable in the copy, then pins the DB's
  // current state. `mvcc` must outlive the snapshot; its later applies do
  // not show in the stream. Errors: LevelDB's.
  static absl::StatusOr<std::unique_ptr<MvccSnapshot>> Take(Mvcc* mvcc);
  ~MvccSnapshot() override;
  MvccSnapshot(const MvccSnapshot&) = delete;
  MvccSnapshot& operator=(const MvccSnapshot&) = delete;

  EntryId applied() const { return applied_; }
  int64_t revision() const { return revision_; }

  // The next chunk: whole records, stopping once it reaches `max_bytes`
  // (so at least one record). nullopt after the last record.
  absl::StatusOr<std::optional<std::string>> NextChunk(size_t max_bytes);

  // The next record alone; false after the last. For writers with a
  // framing of their own (the snapshot file).
  absl::StatusOr<bool> NextRecord(std::string* key, std::string* value);

  // The database is closing (MvccDb::Close): lets go of the iterator and
  // the LevelDB snapshot; every later read fails with ClosedDbError().
  void Abandon() override;

 private:
  MvccSnapshot(MvccDb* db, const leveldb::Snapshot* snapshot, EntryId applied,
               int64_t revision);

  MvccDb* db_;
  const leveldb::Snapshot* snapshot_;
  std::unique_ptr<DbIterator> it_;
  EntryId applied_;
  int64_t revision_;
};

class MvccRestorer {
 public:
  // Creates a new, empty database at options.path; an existing one there
  // is an error (Internal from LevelDB).
  static absl::StatusOr<std::unique_ptr<MvccRestorer>> Create(
      MvccOptions options);
  MvccRestorer(const MvccRestorer&) = delete;
  MvccRestorer& operator=(const MvccRestorer&) = delete;

  // Writes one chunk's records. DataLoss if the chunk is malformed.
  absl::Status AddChunk(std::string_view chunk);
  // Writes one record (batched; the batch goes out when it is large and at
  // Finish()).
  absl::Status AddRecord(std::string_view key, std::string_view value);
  // Makes everything durable with one synced write and opens the restored
  // store. The restorer is spent afterwards.
  absl::StatusOr<std::unique_ptr<Mvcc>> Finish();

 private:
  MvccRestorer(MvccOptions options, std::unique_ptr<MvccDb> db);

  absl::Status FlushRecords();

  MvccOptions options_;
  std::unique_ptr<MvccDb> db_;
  std::unique_ptr<leveldb::WriteBatch> pending_;
};

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_SNAPSHOT_H_
