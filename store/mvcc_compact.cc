// Compaction and the key-space hashes.
//
// Compact(C) records C; CompactStep() then walks the 'r' table from where
// it stopped up to C. Each change at r <= C superseded at most one version
// (its RevEntry's prev): that version, being superseded at or before C, is
// invisible to every read at or above C, so its 'h' record and 'r' entry
// go. A tombstone at or before C goes too. What is left at or below C is
// the version of each key alive at C, which is etcd's "keep" set. Reads
// never see the difference mid-way: a read at R >= C finds its version
// before any stale one, since 'h' is newest first.
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/crc32c.h"
#include "runtime/status_macros.h"
#include "store/key_codec.h"
#include "store/kv_wire.h"
#include "store/mvcc.h"
#include "store/mvcc_errors.h"
#include "store/mvcc_meta.h"
#include "store/mvcc_read.h"
#include "store/mvcc_write.h"

namespace keel::store {
namespace {

// The 'r' entry under `it`, or nullopt once past the table or `last_main`.
struct RevCursor {
  Revision rev;
  RevEntry entry;
};

absl::StatusOr<std::optional<RevCursor>> ReadRevEntry(const DbIterator& it,
                                                      int64_t last_main) {
  if (!it.Valid() || it.key()[0] != kRevisionTag) {
    return std::optional<RevCursor>();
  }
  std::optional<Revision> rev = ParseRevisionKey(it.key());
  std::optional<RevEntry> entry = DecodeRevEntry(it.value());
  if (!rev || !entry) return CorruptRecord("revision");
  if (rev->main > last_main) return std::optional<RevCursor>();
  return std::optional<RevCursor>(RevCursor{*rev, *entry});
}

}  // namespace

void Mvcc::StageCompactMeta(MvccWrite* write, int64_t compact_revision) const {
  write->batch()->Put(
      MetaKey(kCompactMetaName),
      EncodeCompactMeta(CompactMeta{compact_revision, compact_next_}));
}

absl::StatusOr<int64_t> Mvcc::Compact(EntryId entry, int64_t revision) {
  KEEL_RETURN_IF_ERROR(CheckEntry(entry));
  if (revision <= compact_revision_) return Refuse(entry, ErrCompacted());
  if (revision > current_revision_) return Refuse(entry, ErrFutureRev());
  std::unique_ptr<MvccWrite> write = BeginWrite(/*track_overlay=*/false);
  StageCompactMeta(write.get(), revision);
  KEEL_RETURN_IF_ERROR(Commit(entry, write.get(), /*force=*/true));
  compact_revision_ = revision;
  return current_revision_;
}

bool Mvcc::compaction_pending() const {
  return compact_next_.main <= compact_revision_;
}

absl::StatusOr<bool> Mvcc::CompactStep() {
  if (!compaction_pending()) return true;
  leveldb::WriteBatch batch;
  Revision next{compact_revision_ + 1, 0};
  int removed = 0;
  // Buggify: one revision per step, so compaction is interleaved with
  // applies, reads and crashes at every point of its walk.
  const int batch_limit = Buggify() ? 1 : options_.compaction_batch_limit;
  std::unique_ptr<DbIterator> it = db_->NewIterator();
  for (it->Seek(RevisionKey(compact_next_));; it->Next()) {
    KEEL_ASSIGN_OR_RETURN(std::optional<RevCursor> cursor,
                          ReadRevEntry(*it, compact_revision_));
    if (!cursor) break;
    if (removed == batch_limit) {
      next = cursor->rev;
      break;
    }
    const RevEntry& e = cursor->entry;
    if (e.prev.main != 0) {
      batch.Delete(RevisionKey(e.prev));
      batch.Delete(HistoryKey(e.key, e.prev));
    }
    if (e.kind == ChangeKind::kDelete) {
      batch.Delete(RevisionKey(cursor->rev));
      batch.Delete(HistoryKey(e.key, cursor->rev));
    }
    ++removed;
  }
  KEEL_RETURN_IF_ERROR(it->status());
  KEEL_ASSERT(compact_next_ <= next);
  batch.Put(MetaKey(kCompactMetaName),
            EncodeCompactMeta(CompactMeta{compact_revision_, next}));
  KEEL_RETURN_IF_ERROR(db_->Write(&batch, /*sync=*/false));
  compact_next_ = next;
  return !compaction_pending();
}

absl::StatusOr<KeyValue> Mvcc::VersionAt(std::string_view key, Revision rev) {
  KEEL_ASSIGN_OR_RETURN(std::optional<std::string> latest,
                        db_->Get(LatestKey(key)));
  std::optional<StoredVersion> version;
  if (latest) {
    version = StoredVersion::Decode(std::move(*latest));
    if (!version) return CorruptRecord("latest");
  }
  if (!version || version->meta().mod != rev) {
    KEEL_ASSIGN_OR_RETURN(std::optional<std::string> old,
                          db_->Get(HistoryKey(key, rev)));
    if (!old) return absl::DataLossError("mvcc: a revision's version is missing");
    version = StoredVersion::Decode(std::move(*old));
    if (!version || version->meta().tombstone) return CorruptRecord("history");
  }
  return ToKeyValue(key, version->meta(), version->value());
}

absl::StatusOr<KvHash> Mvcc::HashKV(int64_t revision) {
  // A closed store answers nothing rather than an empty key space.
  if (closed()) return ClosedDbError();
  if (revision > 0 && revision <= compact_revision_) return ErrCompacted();
  if (revision > current_revision_) return ErrFutureRev();
  if (revision <= 0) revision = current_revision_;
  uint32_t crc = crc32c::Value("key", 3);
  std::string bytes;
  MvccReader reader(db_.get(), nullptr);
  std::unique_ptr<DbIterator> it = db_->NewIterator();
  for (it->Seek(RevisionKey(Revision{0, 0}));; it->Next()) {
    KEEL_ASSIGN_OR_RETURN(std::optional<RevCursor> cursor,
                          ReadRevEntry(*it, revision));
    if (!cursor) break;
    const RevEntry& e = cursor->entry;
    const bool tombstone = e.kind == ChangeKind::kDelete;
    KeyValue kv;
    if (cursor->rev.main <= compact_revision_) {
      // At or below the compaction only the versions visible at `revision`
      // count, whether or not CompactStep() has removed the others yet.
      if (tombstone) continue;
      KEEL_ASSIGN_OR_RETURN(std::optional<StoredVersion> visible,
                            reader.At(e.key, revision));
      if (!visible || visible->meta().mod != cursor->rev) continue;
      kv = ToKeyValue(e.key, visible->meta(), visible->value());
    } else if (tombstone) {
      kv.key.assign(e.key);
    } else {
      KEEL_ASSIGN_OR_RETURN(kv, VersionAt(e.key, cursor->rev));
    }
    bytes.clear();
    AppendEtcdRevisionKey(&bytes, cursor->rev, tombstone);
    crc = crc32c::Extend(crc, bytes.data(), bytes.size());
    bytes.clear();
    AppendKeyValueWire(&bytes, kv);
    crc = crc32c::Extend(crc, bytes.data(), bytes.size());
  }
  KEEL_RETURN_IF_ERROR(it->status());
  return KvHash{crc, current_revision_, compact_revision_};
}

absl::StatusOr<KvHash> Mvcc::Hash() {
  // A closed store answers nothing rather than an empty key space.
  if (closed()) return ClosedDbError();
  uint32_t crc = 0;
  std::string bytes;
  MvccReader reader(db_.get(), nullptr);
  KEEL_RETURN_IF_ERROR(reader.VisitLatest(
      KeyRange{.key = std::string_view("\0", 1), .end = std::nullopt,
               .single = false},
      /*use_overlay=*/false, [&](const VersionView& v) {
        bytes.clear();
        AppendKeyValueWire(&bytes, ToKeyValue(v));
        crc = crc32c::Extend(crc, bytes.data(), bytes.size());
      }));
  return KvHash{crc, current_revision_, compact_revision_};
}

}  // namespace keel::store
