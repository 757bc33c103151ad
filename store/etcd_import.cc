// Reading an etcd database into keel's tables; see etcd_import.h.
#include "store/etcd_import.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/etcd_schema.h"
#include "store/key_codec.h"
#include "store/mvcc_meta.h"

namespace keel::store {
namespace {

absl::Status Malformed(std::string_view bucket, std::string_view what) {
  return absl::DataLossError(StrCat("etcd database: ", bucket, " bucket: ", what));
}

// A key-bucket entry, checked.
struct KeyEntry {
  Revision rev;
  bool tombstone = false;
  KeyValue kv;
};

absl::StatusOr<KeyEntry> ParseKeyEntry(const BboltItem& item) {
  std::optional<EtcdRevisionKeyParts> parts = ParseEtcdRevisionKey(item.key);
  if (item.is_bucket || !parts) return Malformed(kEtcdKeyBucket, "malformed revision key");
  std::optional<KeyValue> kv = DecodeEtcdKeyValue(item.value);
  if (!kv || kv->key.empty()) {
    return Malformed(kEtcdKeyBucket, StrCat("malformed KeyValue at revision ", parts->rev.main));
  }
  if (!parts->tombstone &&
      (kv->mod_revision != parts->rev.main || kv->create_revision < 1 ||
       kv->create_revision > kv->mod_revision || kv->version < 1)) {
    return Malformed(kEtcdKeyBucket,
                     StrCat("KeyValue at revision ", parts->rev.main, " has mod revision ",
                            kv->mod_revision, ", create revision ", kv->create_revision,
                            ", version ", kv->version));
  }
  return KeyEntry{.rev = parts->rev, .tombstone = parts->tombstone, .kv = std::move(*kv)};
}

// Where each key stands while the key bucket is read.
struct KeyState {
  Revision last;        // pass 1: the key's last revision in the bucket
  Revision live;        // pass 2: its live version so far (main 0: none)
};

absl::StatusOr<uint64_t> CountItems(const BboltReader& db, std::string_view name) {
  KEEL_ASSIGN_OR_RETURN(std::optional<BboltBucket> bucket, db.OpenBucket(db.root(), name));
  uint64_t n = 0;
  if (!bucket) return n;
  KEEL_RETURN_IF_ERROR(db.ForEach(*bucket, [&](const BboltItem&) {
    n++;
    return absl::OkStatus();
  }));
  return n;
}

absl::Status ImportLeases(const BboltReader& db, KeelRecordSink sink,
                          EtcdImportSummary* summary) {
  KEEL_ASSIGN_OR_RETURN(std::optional<BboltBucket> bucket,
                        db.OpenBucket(db.root(), kEtcdLeaseBucket));
  if (!bucket) return absl::OkStatus();
  return db.ForEach(*bucket, [&](const BboltItem& item) -> absl::Status {
    std::optional<uint64_t> id = DecodeEtcdUint64(item.key);
    std::optional<LeaseRecord> lease = DecodeEtcdLease(item.value);
    if (item.is_bucket || !id || !lease || lease->id != static_cast<int64_t>(*id) ||
        lease->id == 0) {
      return Malformed(kEtcdLeaseBucket, "malformed lease");
    }
    summary->leases++;
    return sink(LeaseTableKey(lease->id), EncodeLeaseValue(*lease));
  });
}

// consistent_index, term and the compaction; writes keel's metadata.
absl::Status ImportMeta(const BboltReader& db, const BboltBucket& meta, KeelRecordSink sink,
                        int64_t last_main, EtcdImportSummary* summary) {
  auto read_u64 = [&](std::string_view key) -> absl::StatusOr<std::optional<uint64_t>> {
    KEEL_ASSIGN_OR_RETURN(std::optional<std::string> raw, db.Get(meta, key));
    if (!raw) return std::optional<uint64_t>();
    std::optional<uint64_t> v = DecodeEtcdUint64(*raw);
    if (!v) return Malformed(kEtcdMetaBucket, StrCat("malformed ", key));
    return v;
  };
  auto read_rev = [&](std::string_view key) -> absl::StatusOr<int64_t> {
    KEEL_ASSIGN_OR_RETURN(std::optional<std::string> raw, db.Get(meta, key));
    if (!raw) return int64_t{-1};
    std::optional<EtcdRevisionKeyParts> rev = ParseEtcdRevisionKey(*raw);
    if (!rev || rev->tombstone) return Malformed(kEtcdMetaBucket, StrCat("malformed ", key));
    return rev->rev.main;
  };
  KEEL_ASSIGN_OR_RETURN(std::optional<uint64_t> index, read_u64(kEtcdConsistentIndexKey));
  KEEL_ASSIGN_OR_RETURN(std::optional<uint64_t> term, read_u64(kEtcdTermKey));
  KEEL_ASSIGN_OR_RETURN(int64_t finished, read_rev(kEtcdFinishedCompactKey));
  KEEL_ASSIGN_OR_RETURN(int64_t scheduled, read_rev(kEtcdScheduledCompactKey));
  // A restored member's log starts at the applied entry: it must be one.
  summary->applied = EntryId{.index = std::max<uint64_t>(index.value_or(0), 1),
                             .term = std::max<uint64_t>(term.value_or(0), 1)};
  summary->term_recorded = term.has_value();
  summary->compact_revision = std::max(finished, scheduled);
  if (summary->compact_revision == 0) summary->compact_revision = -1;
  // As etcd's restore: revisions a compaction emptied still count.
  summary->revision = std::max<int64_t>({last_main, summary->compact_revision, 1});
  KEEL_RETURN_IF_ERROR(sink(MetaKey(kStateMetaName),
                            EncodeStateMeta(StateMeta{summary->applied, summary->revision})));
  if (summary->compact_revision > 0) {
    // What etcd finished is done; keel's compaction does the rest.
    const Revision next{finished > 0 ? finished + 1 : 0, 0};
    KEEL_RETURN_IF_ERROR(sink(MetaKey(kCompactMetaName),
                              EncodeCompactMeta(CompactMeta{summary->compact_revision, next})));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EtcdImportSummary> ImportEtcdDatabase(const BboltReader& db, KeelRecordSink sink) {
  KEEL_ASSIGN_OR_RETURN(std::optional<BboltBucket> keys, db.OpenBucket(db.root(), kEtcdKeyBucket));
  KEEL_ASSIGN_OR_RETURN(std::optional<BboltBucket> meta,
                        db.OpenBucket(db.root(), kEtcdMetaBucket));
  if (!keys || !meta) {
    return absl::FailedPreconditionError("not an etcd database (no key or meta bucket)");
  }
  EtcdImportSummary summary;

  // Pass 1: each key's last revision.
  absl::flat_hash_map<std::string, KeyState> state;
  int64_t last_main = 0;
  KEEL_RETURN_IF_ERROR(db.ForEach(*keys, [&](const BboltItem& item) -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(KeyEntry e, ParseKeyEntry(item));
    state[e.kv.key].last = e.rev;
    last_main = e.rev.main;
    summary.revisions++;
    return absl::OkStatus();
  }));

  // Pass 2: every version where keel keeps it, and the change log.
  KEEL_RETURN_IF_ERROR(db.ForEach(*keys, [&](const BboltItem& item) -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(KeyEntry e, ParseKeyEntry(item));
    KeyState& key = state[e.kv.key];
    const std::string& k = e.kv.key;
    RevEntry change{.kind = e.tombstone ? ChangeKind::kDelete : ChangeKind::kPut,
                    .prev = key.live,
                    .key = k};
    KEEL_RETURN_IF_ERROR(sink(RevisionKey(e.rev), EncodeRevEntry(change)));
    if (e.tombstone) {
      key.live = Revision{};
      return sink(HistoryKey(k, e.rev), EncodeRecord(RecordMeta{.mod = e.rev, .tombstone = true}, {}));
    }
    key.live = e.rev;
    const RecordMeta record{.mod = e.rev,
                            .create_revision = e.kv.create_revision,
                            .version = e.kv.version,
                            .lease = e.kv.lease,
                            .tombstone = false};
    if (key.last != e.rev) return sink(HistoryKey(k, e.rev), EncodeRecord(record, e.kv.value));
    summary.live_keys++;
    if (e.kv.lease != 0) KEEL_RETURN_IF_ERROR(sink(LeaseKeyKey(e.kv.lease, k), {}));
    return sink(LatestKey(k), EncodeRecord(record, e.kv.value));
  }));

  KEEL_RETURN_IF_ERROR(ImportLeases(db, sink, &summary));
  KEEL_RETURN_IF_ERROR(ImportMeta(db, *meta, sink, last_main, &summary));

  KEEL_ASSIGN_OR_RETURN(summary.members, CountItems(db, kEtcdMembersBucket));
  KEEL_ASSIGN_OR_RETURN(summary.users, CountItems(db, kEtcdAuthUsersBucket));
  KEEL_ASSIGN_OR_RETURN(summary.roles, CountItems(db, kEtcdAuthRolesBucket));
  KEEL_ASSIGN_OR_RETURN(summary.alarms, CountItems(db, kEtcdAlarmBucket));
  KEEL_ASSIGN_OR_RETURN(std::optional<BboltBucket> auth, db.OpenBucket(db.root(), kEtcdAuthBucket));
  if (auth) {
    KEEL_ASSIGN_OR_RETURN(std::optional<std::string> enabled, db.Get(*auth, kEtcdAuthEnabledKey));
    summary.auth_enabled = enabled && *enabled == std::string(1, '\1');
  }
  return summary;
}

}  // namespace keel::store
