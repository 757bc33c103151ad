// Mvcc: opening, the apply bookkeeping (entries, commit, refusals), and the
// single-operation requests. Txns are in mvcc_txn.cc, compaction and hashes
// in mvcc_compact.cc, history in mvcc_history.cc, leases in mvcc_lease.cc.
#include "store/mvcc.h"

#include <utility>

#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "store/key_codec.h"
#include "store/mvcc_check.h"
#include "store/mvcc_errors.h"
#include "store/mvcc_meta.h"
#include "store/mvcc_range.h"
#include "store/mvcc_write.h"

namespace keel::store {

absl::StatusOr<std::unique_ptr<Mvcc>> Mvcc::Open(MvccOptions options) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<MvccDb> db, MvccDb::Open(options));
  return Open(std::move(options), std::move(db));
}

absl::StatusOr<std::unique_ptr<Mvcc>> Mvcc::Open(MvccOptions options,
                                                 std::unique_ptr<MvccDb> db) {
  KEEL_ASSERT(db != nullptr);
  std::unique_ptr<Mvcc> mvcc(new Mvcc(std::move(options), std::move(db)));
  KEEL_RETURN_IF_ERROR(mvcc->Load());
  return mvcc;
}

Mvcc::Mvcc(MvccOptions options, std::unique_ptr<MvccDb> db)
    : options_(std::move(options)), db_(std::move(db)) {
  KEEL_ASSERT(options_.compaction_batch_limit > 0);
}

Mvcc::~Mvcc() = default;

absl::Status Mvcc::Load() {
  KEEL_ASSIGN_OR_RETURN(std::optional<std::string> state,
                        db_->Get(MetaKey(kStateMetaName)));
  if (state) {
    std::optional<StateMeta> meta = DecodeStateMeta(*state);
    if (!meta) return absl::DataLossError("mvcc: malformed state metadata");
    applied_ = meta->applied;
    current_revision_ = meta->current_revision;
  }
  KEEL_ASSIGN_OR_RETURN(std::optional<std::string> compact,
                        db_->Get(MetaKey(kCompactMetaName)));
  if (compact) {
    std::optional<CompactMeta> meta = DecodeCompactMeta(*compact);
    if (!meta) return absl::DataLossError("mvcc: malformed compact metadata");
    compact_revision_ = meta->compact_revision;
    compact_next_ = meta->next;
  }
  KEEL_ASSIGN_OR_RETURN(std::vector<LeaseRecord> leases, Leases());
  for (const LeaseRecord& lease : leases) lease_ids_.insert(lease.id);
  KEEL_ASSERT(current_revision_ >= 1);
  KEEL_ASSERT(compact_revision_ <= current_revision_);
  return absl::OkStatus();
}

absl::Status Mvcc::CheckEntry(EntryId entry) const {
  if (closed()) return ClosedDbError();
  if (entry.index <= applied_.index) return ErrAlreadyApplied();
  KEEL_ASSERT(entry.term >= applied_.term);
  return absl::OkStatus();
}

absl::Status Mvcc::Refuse(EntryId entry, absl::Status status) {
  KEEL_ASSERT(!status.ok());
  const bool request_error =
      IsCompacted(status) || IsFutureRev(status) || IsKeyNotFound(status) ||
      IsEmptyKey(status) || IsValueProvided(status) ||
      IsLeaseProvided(status) || IsDuplicateKey(status) ||
      IsLeaseNotFound(status);
  if (request_error) applied_ = entry;
  return status;
}

std::unique_ptr<MvccWrite> Mvcc::BeginWrite(bool track_overlay) {
  return std::make_unique<MvccWrite>(db_.get(), current_revision_,
                                     track_overlay, listener_ != nullptr);
}

absl::Status Mvcc::Commit(EntryId entry, MvccWrite* write, bool force) {
  KEEL_ASSERT(write->begin_revision() == current_revision_);
  const bool changed = write->changed();
  const int64_t revision = write->read_revision();
  if (changed || force) {
    write->batch()->Put(MetaKey(kStateMetaName),
                        EncodeStateMeta(StateMeta{entry, revision}));
    // Buggify: an apply synced now and then (as SyncBarrier() does), so
    // LevelDB's log is durable at points other than the barriers.
    KEEL_RETURN_IF_ERROR(db_->Write(write->batch(), /*sync=*/Buggify()));
  }
  current_revision_ = revision;
  applied_ = entry;
  if (changed && listener_ != nullptr) {
    listener_->OnApply(revision, *write->events());
  }
  return absl::OkStatus();
}

absl::Status Mvcc::SkipEntry(EntryId entry) {
  KEEL_RETURN_IF_ERROR(CheckEntry(entry));
  applied_ = entry;
  return absl::OkStatus();
}

absl::Status Mvcc::SyncBarrier() {
  leveldb::WriteBatch batch;
  batch.Put(MetaKey(kStateMetaName),
            EncodeStateMeta(StateMeta{applied_, current_revision_}));
  return db_->Write(&batch, /*sync=*/true);
}

absl::StatusOr<RangeResult> Mvcc::Range(const RangeRequest& request) {
  // A closed store answers nothing rather than an empty key space.
  if (closed()) return ClosedDbError();
  ReadView view{.db_revision = current_revision_,
                .read_revision = current_revision_,
                .overlay = nullptr,
                .compact_revision = compact_revision_};
  return RunRange(db_.get(), view, request);
}

absl::Status Mvcc::CheckLease(int64_t lease) const {
  if (lease != 0 && !lease_ids_.contains(lease)) return ErrLeaseNotFound();
  return absl::OkStatus();
}

absl::StatusOr<PutResult> Mvcc::ApplyPut(MvccWrite* write,
                                         const PutRequest& r) {
  PutArgs args{.key = r.key, .value = std::nullopt, .lease = std::nullopt,
               .want_prev = r.prev_kv};
  if (!r.ignore_value) args.value = r.value;
  if (!r.ignore_lease) args.lease = r.lease;
  KEEL_ASSIGN_OR_RETURN(std::optional<KeyValue> prev, write->Put(args));
  KEEL_ASSERT(write->changed());
  return PutResult{.revision = write->read_revision(),
                   .prev_kv = std::move(prev)};
}

absl::StatusOr<DeleteRangeResult> Mvcc::ApplyDelete(
    MvccWrite* write, const DeleteRangeRequest& r) {
  KEEL_ASSIGN_OR_RETURN(
      DeleteOutcome outcome,
      write->DeleteRange(MakeKeyRange(r.key, r.range_end), r.prev_kv));
  // As etcd: a delete that removes nothing reports the txn's revision so
  // far, which is the next one only if something earlier changed.
  return DeleteRangeResult{.revision = write->read_revision(),
                           .deleted = outcome.deleted,
                           .prev_kvs = std::move(outcome.prev_kvs)};
}

absl::StatusOr<PutResult> Mvcc::Put(EntryId entry, const PutRequest& request) {
  KEEL_RETURN_IF_ERROR(CheckEntry(entry));
  if (absl::Status s = CheckPut(request); !s.ok()) return Refuse(entry, s);
  if (absl::Status s = CheckLease(request.lease); !s.ok()) {
    return Refuse(entry, s);
  }
  std::unique_ptr<MvccWrite> write = BeginWrite(/*track_overlay=*/false);
  absl::StatusOr<PutResult> result = ApplyPut(write.get(), request);
  if (!result.ok()) return Refuse(entry, result.status());
  KEEL_RETURN_IF_ERROR(Commit(entry, write.get(), /*force=*/false));
  KEEL_ASSERT(result->revision == current_revision_);
  return result;
}

absl::StatusOr<DeleteRangeResult> Mvcc::DeleteRange(
    EntryId entry, const DeleteRangeRequest& request) {
  KEEL_RETURN_IF_ERROR(CheckEntry(entry));
  if (absl::Status s = CheckDeleteRange(request); !s.ok()) {
    return Refuse(entry, s);
  }
  // The keys are collected before any is deleted, so no overlay is needed.
  std::unique_ptr<MvccWrite> write = BeginWrite(/*track_overlay=*/false);
  KEEL_ASSIGN_OR_RETURN(DeleteRangeResult result,
                        ApplyDelete(write.get(), request));
  KEEL_RETURN_IF_ERROR(Commit(entry, write.get(), /*force=*/false));
  KEEL_ASSERT(result.revision == current_revision_);
  return result;
}

}  // namespace keel::store
