// Staging puts and deletes into one WriteBatch; see mvcc_write.h and the
// table layout in key_codec.h.
#include "store/mvcc_write.h"

#include <string>
#include <utility>

#include "runtime/assert.h"
#include "store/mvcc_errors.h"

namespace keel::store {

MvccWrite::MvccWrite(MvccDb* db, int64_t begin_revision, bool track_overlay,
                     bool collect_events)
    : db_(db),
      begin_revision_(begin_revision),
      track_overlay_(track_overlay),
      collect_events_(collect_events) {
  KEEL_ASSERT(db != nullptr);
  KEEL_ASSERT(begin_revision >= 1);
}

ReadView MvccWrite::view(int64_t compact_revision) const {
  return ReadView{.db_revision = begin_revision_,
                  .read_revision = read_revision(),
                  .overlay = &overlay_,
                  .compact_revision = compact_revision};
}

Revision MvccWrite::NextRevision() {
  return Revision{begin_revision_ + 1, next_sub_++};
}

absl::StatusOr<std::optional<KeyValue>> MvccWrite::Put(const PutArgs& args) {
  KEEL_ASSERT(!args.key.empty());
  absl::StatusOr<std::optional<StoredVersion>> found =
      reader().Latest(args.key);
  if (!found.ok()) return found.status();
  const std::optional<StoredVersion>& prev = *found;
  if ((!args.value || !args.lease) && !prev) return ErrKeyNotFound();

  const Revision rev = NextRevision();
  RecordMeta meta;
  meta.mod = rev;
  meta.create_revision = prev ? prev->meta().create_revision : rev.main;
  meta.version = prev ? prev->meta().version + 1 : 1;
  meta.lease = args.lease ? *args.lease : prev->meta().lease;
  std::string_view value = args.value ? *args.value : prev->value();
  std::string encoded = EncodeRecord(meta, value);

  RevEntry entry{.kind = ChangeKind::kPut, .prev = {}, .key = args.key};
  if (prev) {
    const RecordMeta& old = prev->meta();
    KEEL_ASSERT(old.mod < rev);
    entry.prev = old.mod;
    batch_.Put(HistoryKey(args.key, old.mod), prev->encoded());
    if (old.lease != 0 && old.lease != meta.lease) {
      batch_.Delete(LeaseKeyKey(old.lease, args.key));
    }
  }
  if (meta.lease != 0 && (!prev || prev->meta().lease != meta.lease)) {
    batch_.Put(LeaseKeyKey(meta.lease, args.key), leveldb::Slice());
  }
  batch_.Put(LatestKey(args.key), encoded);
  batch_.Put(RevisionKey(rev), EncodeRevEntry(entry));

  std::optional<KeyValue> prev_kv;
  if (prev && (args.want_prev || collect_events_)) {
    prev_kv = ToKeyValue(args.key, prev->meta(), prev->value());
  }
  if (collect_events_) {
    events_.push_back(Event{.type = EventType::kPut,
                            .kv = ToKeyValue(args.key, meta, value),
                            .prev_kv = prev_kv});
  }
  if (track_overlay_) {
    overlay_.insert_or_assign(std::string(args.key),
                              StoredVersion(meta, std::move(encoded)));
  }
  if (!args.want_prev) prev_kv.reset();
  return prev_kv;
}

void MvccWrite::Delete(std::string_view key, const StoredVersion& prev) {
  const RecordMeta& old = prev.meta();
  KEEL_ASSERT(!old.tombstone);
  const Revision rev = NextRevision();
  KEEL_ASSERT(old.mod < rev);
  RecordMeta tombstone;
  tombstone.mod = rev;
  tombstone.tombstone = true;
  std::string encoded = EncodeRecord(tombstone, {});

  batch_.Put(HistoryKey(key, old.mod), prev.encoded());
  batch_.Put(HistoryKey(key, rev), encoded);
  batch_.Delete(LatestKey(key));
  if (old.lease != 0) batch_.Delete(LeaseKeyKey(old.lease, key));
  batch_.Put(RevisionKey(rev),
             EncodeRevEntry(RevEntry{
                 .kind = ChangeKind::kDelete, .prev = old.mod, .key = key}));

  if (collect_events_) {
    KeyValue deleted;
    deleted.key.assign(key);
    deleted.mod_revision = rev.main;
    events_.push_back(Event{.type = EventType::kDelete,
                            .kv = std::move(deleted),
                            .prev_kv = ToKeyValue(key, old, prev.value())});
  }
  if (track_overlay_) {
    overlay_.insert_or_assign(std::string(key),
                              StoredVersion(tombstone, std::move(encoded)));
  }
}

absl::StatusOr<DeleteOutcome> MvccWrite::DeleteRange(const KeyRange& range,
                                                     bool want_prev) {
  // Collect first: the deletions change the overlay being read.
  std::vector<std::pair<std::string, StoredVersion>> doomed;
  absl::Status status = reader().VisitLatest(
      range, /*use_overlay=*/true, [&](const VersionView& v) {
        doomed.emplace_back(std::string(v.key),
                            StoredVersion(*v.meta, EncodeRecord(*v.meta, v.value)));
      });
  if (!status.ok()) return status;
  DeleteOutcome outcome;
  outcome.deleted = static_cast<int64_t>(doomed.size());
  for (const auto& [key, prev] : doomed) {
    if (want_prev) {
      outcome.prev_kvs.push_back(ToKeyValue(key, prev.meta(), prev.value()));
    }
    Delete(key, prev);
  }
  return outcome;
}

}  // namespace keel::store
