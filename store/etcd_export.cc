// Writing keel's key space as etcd's backend database; see etcd_export.h.
#include "store/etcd_export.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "store/key_codec.h"
#include "store/mvcc_meta.h"
#include "store/mvcc_read.h"

namespace keel::store {

absl::StatusOr<std::unique_ptr<EtcdSnapshotExporter>> EtcdSnapshotExporter::Start(
    Mvcc& mvcc, File& file, EtcdExportExtras extras) {
  // Entries that changed nothing are recorded only in memory until the
  // next write; write them so the view carries the true applied entry.
  KEEL_RETURN_IF_ERROR(mvcc.SyncBarrier());
  MvccDb* db = mvcc.db();
  std::unique_ptr<EtcdSnapshotExporter> exporter(
      new EtcdSnapshotExporter(db, db->GetSnapshot(), file, std::move(extras)));
  exporter->summary_.applied = mvcc.applied();
  exporter->summary_.revision = mvcc.current_revision();
  exporter->summary_.compact_revision = mvcc.compact_revision();
  exporter->cursor_ = std::make_unique<EtcdKeyBucketCursor>(db, exporter->snapshot_,
                                                            mvcc.compact_revision());
  KEEL_RETURN_IF_ERROR(exporter->WriteLeadingBuckets());
  return exporter;
}

EtcdSnapshotExporter::EtcdSnapshotExporter(MvccDb* db, const leveldb::Snapshot* snapshot,
                                           File& file, EtcdExportExtras extras)
    : db_(db), snapshot_(snapshot), writer_(file), extras_(std::move(extras)) {
  KEEL_ASSERT(snapshot != nullptr);
}

EtcdSnapshotExporter::~EtcdSnapshotExporter() {
  cursor_.reset();
  db_->ReleaseSnapshot(snapshot_);
}

absl::Status EtcdSnapshotExporter::WriteLeadingBuckets() {
  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdAlarmBucket));
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());
  // etcd writes authEnabled only once auth was switched; absent reads as
  // disabled. Keys in bbolt's order: authEnabled < authRevision.
  const EtcdAuthBuckets& auth = extras_.auth;
  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdAuthBucket));
  if (auth.enabled) KEEL_RETURN_IF_ERROR(writer_.Put(kEtcdAuthEnabledKey, std::string(1, '\1')));
  KEEL_RETURN_IF_ERROR(writer_.Put(kEtcdAuthRevisionKey, EncodeEtcdUint64(auth.revision)));
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());
  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdAuthRolesBucket));
  for (const auto& [name, role] : auth.roles) KEEL_RETURN_IF_ERROR(writer_.Put(name, role));
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());
  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdAuthUsersBucket));
  for (const auto& [name, user] : auth.users) KEEL_RETURN_IF_ERROR(writer_.Put(name, user));
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());
  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdClusterBucket));
  KEEL_RETURN_IF_ERROR(writer_.Put(kEtcdClusterVersionKey, extras_.cluster_version));
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());
  return writer_.BeginBucket(kEtcdKeyBucket);
}

absl::StatusOr<bool> EtcdSnapshotExporter::Step(size_t max_revisions) {
  KEEL_ASSERT(max_revisions > 0);
  if (done_) return true;
  for (size_t visited = 0; visited < max_revisions;) {
    KEEL_ASSIGN_OR_RETURN(std::optional<EtcdKeyBucketEntry> entry, cursor_->Next(&visited));
    if (!entry) {
      KEEL_RETURN_IF_ERROR(WriteTrailingBuckets());
      KEEL_ASSIGN_OR_RETURN(summary_.bbolt, writer_.Finish());
      done_ = true;
      return true;
    }
    KEEL_RETURN_IF_ERROR(writer_.Put(EtcdRevisionKey(entry->rev, entry->tombstone),
                                     EncodeEtcdKeyValue(entry->kv)));
    summary_.revisions++;
  }
  return false;
}

EtcdKeyBucketCursor::EtcdKeyBucketCursor(MvccDb* db, const leveldb::Snapshot* snapshot,
                                         int64_t compact_revision)
    : db_(db),
      snapshot_(snapshot),
      compact_revision_(compact_revision),
      it_(db->NewIterator(snapshot)) {
  it_->Seek(RevisionKey(Revision{0, 0}));
}

absl::StatusOr<std::optional<EtcdKeyBucketEntry>> EtcdKeyBucketCursor::Next(size_t* visited) {
  MvccReader reader(db_, nullptr, snapshot_);
  for (; it_->Valid() && it_->key()[0] == kRevisionTag; it_->Next()) {
    if (visited != nullptr) ++*visited;
    std::optional<Revision> rev = ParseRevisionKey(it_->key());
    std::optional<RevEntry> change = DecodeRevEntry(it_->value());
    if (!rev || !change) return CorruptRecord("revision");
    EtcdKeyBucketEntry entry{.rev = *rev,
                             .tombstone = change->kind == ChangeKind::kDelete,
                             .kv = {}};
    if (rev->main <= compact_revision_) {
      // etcd keeps, at or below the compaction, only what is visible there.
      if (entry.tombstone) continue;
      KEEL_ASSIGN_OR_RETURN(std::optional<StoredVersion> visible,
                            reader.At(change->key, compact_revision_));
      if (!visible || visible->meta().mod != *rev) continue;
      entry.kv = ToKeyValue(change->key, visible->meta(), visible->value());
    } else if (entry.tombstone) {
      entry.kv.key.assign(change->key);
    } else {
      // A key changes at most once per main revision, so the version
      // visible at this main revision is the one this change wrote.
      KEEL_ASSIGN_OR_RETURN(std::optional<StoredVersion> version,
                            reader.At(change->key, rev->main));
      if (!version || version->meta().mod != *rev) {
        return absl::DataLossError("mvcc: a revision's version is missing");
      }
      entry.kv = ToKeyValue(change->key, version->meta(), version->value());
    }
    it_->Next();
    return std::optional<EtcdKeyBucketEntry>(std::move(entry));
  }
  KEEL_RETURN_IF_ERROR(it_->status());
  return std::optional<EtcdKeyBucketEntry>();
}

absl::Status EtcdSnapshotExporter::WriteTrailingBuckets() {
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());  // key

  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdLeaseBucket));
  // 'e' keys carry the lease ID big-endian, as etcd's lease bucket does,
  // so the table's order is the bucket's.
  std::unique_ptr<DbIterator> leases = db_->NewIterator(snapshot_);
  for (leases->Seek(std::string(1, kLeaseTag));
       leases->Valid() && leases->key()[0] == kLeaseTag; leases->Next()) {
    std::optional<int64_t> id = ParseLeaseTableKey(leases->key());
    std::optional<LeaseRecord> lease = id ? DecodeLeaseValue(*id, leases->value()) : std::nullopt;
    if (!lease) return absl::DataLossError("mvcc: malformed lease record");
    KEEL_RETURN_IF_ERROR(writer_.Put(EncodeEtcdUint64(static_cast<uint64_t>(lease->id)),
                                     EncodeEtcdLease(*lease)));
    summary_.leases++;
  }
  KEEL_RETURN_IF_ERROR(leases->status());
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());

  // Member keys are hex without leading zeros: their order is not the IDs'.
  std::vector<std::pair<std::string, std::string>> members;
  for (const EtcdMember& m : extras_.members) {
    members.emplace_back(EtcdMemberKey(m.id), EncodeEtcdMemberJson(m));
  }
  std::sort(members.begin(), members.end());
  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdMembersBucket));
  for (const auto& [key, value] : members) KEEL_RETURN_IF_ERROR(writer_.Put(key, value));
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());
  std::vector<std::string> removed;
  for (uint64_t id : extras_.removed_members) removed.push_back(EtcdMemberKey(id));
  std::sort(removed.begin(), removed.end());
  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdMembersRemovedBucket));
  for (const std::string& key : removed) {
    KEEL_RETURN_IF_ERROR(writer_.Put(key, kEtcdRemovedMemberValue));
  }
  KEEL_RETURN_IF_ERROR(writer_.EndBucket());

  KEEL_RETURN_IF_ERROR(writer_.BeginBucket(kEtcdMetaBucket));
  KEEL_RETURN_IF_ERROR(
      writer_.Put(kEtcdConsistentIndexKey, EncodeEtcdUint64(summary_.applied.index)));
  const int64_t compacted = summary_.compact_revision;
  if (compacted > 0) {
    const std::string rev = EtcdRevisionKey(Revision{compacted, 0}, false);
    KEEL_RETURN_IF_ERROR(writer_.Put(kEtcdFinishedCompactKey, rev));
    KEEL_RETURN_IF_ERROR(writer_.Put(kEtcdScheduledCompactKey, rev));
  }
  KEEL_RETURN_IF_ERROR(writer_.Put(kEtcdTermKey, EncodeEtcdUint64(summary_.applied.term)));
  return writer_.EndBucket();
}

}  // namespace keel::store
