// Reading changes back from history, for watchers catching up from an old
// revision: the 'r' table in revision order, each entry completed with the
// version it wrote (from 'l' or 'h') and the one it superseded.
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "store/key_codec.h"
#include "store/mvcc.h"
#include "store/mvcc_errors.h"
#include "store/mvcc_read.h"

namespace keel::store {
namespace {

bool InRange(const KeyRange& range, std::string_view key) {
  if (range.single) return key == range.key;
  return key >= range.key && (!range.end || key < *range.end);
}

}  // namespace

absl::StatusOr<EventBatch> Mvcc::Events(std::string_view key,
                                        std::string_view range_end,
                                        int64_t after_revision,
                                        int64_t until_revision,
                                        size_t max_events) {
  // A closed store answers nothing rather than an empty history.
  if (closed()) return ClosedDbError();
  KEEL_ASSERT(max_events > 0);
  KEEL_ASSERT(after_revision >= 0);
  if (until_revision <= 0) until_revision = current_revision_;
  if (until_revision > current_revision_) return ErrFutureRev();
  if (after_revision + 1 < compact_revision_) return ErrCompacted();
  const KeyRange range = MakeKeyRange(key, range_end);

  MvccReader reader(db_.get(), nullptr);
  EventBatch batch;
  batch.last_revision = std::max(after_revision, until_revision);
  std::unique_ptr<DbIterator> it = db_->NewIterator();
  for (it->Seek(RevisionKey(Revision{after_revision + 1, 0})); it->Valid();
       it->Next()) {
    if (it->key()[0] != kRevisionTag) break;
    std::optional<Revision> rev = ParseRevisionKey(it->key());
    std::optional<RevEntry> entry = DecodeRevEntry(it->value());
    if (!rev || !entry) return CorruptRecord("revision");
    if (rev->main > until_revision) break;
    if (!InRange(range, entry->key)) continue;
    // Compaction at C keeps, of the changes at C, only the versions alive
    // at C: a tombstone goes, and so does a put that a later change in the
    // same txn superseded. Whether CompactStep() has reached them or not,
    // they are not reported.
    const bool compacted = rev->main <= compact_revision_;
    if (compacted) {
      if (entry->kind == ChangeKind::kDelete) continue;
      KEEL_ASSIGN_OR_RETURN(std::optional<StoredVersion> alive,
                            reader.At(entry->key, compact_revision_));
      if (!alive || alive->meta().mod != *rev) continue;
    }
    // Stop only between main revisions, so a txn's events stay together.
    // Deciding on reported events alone keeps the batches independent of
    // compaction progress.
    if (batch.events.size() >= max_events &&
        rev->main != batch.events.back().kv.mod_revision) {
      batch.last_revision = rev->main - 1;
      break;
    }
    Event event;
    std::optional<KeyValue> prev;
    // etcd reads prev_kv at revision - 1 and leaves it out when that is
    // compacted.
    if (entry->prev.main != 0 && rev->main - 1 >= compact_revision_) {
      KEEL_ASSIGN_OR_RETURN(prev, VersionAt(entry->key, entry->prev));
    }
    if (entry->kind == ChangeKind::kPut) {
      event.type = EventType::kPut;
      KEEL_ASSIGN_OR_RETURN(event.kv, VersionAt(entry->key, *rev));
    } else {
      KEEL_ASSERT(prev.has_value());
      event.type = EventType::kDelete;
      event.kv.key.assign(entry->key);
      event.kv.mod_revision = rev->main;
    }
    event.prev_kv = std::move(prev);
    batch.events.push_back(std::move(event));
  }
  KEEL_RETURN_IF_ERROR(it->status());
  return batch;
}

}  // namespace keel::store
