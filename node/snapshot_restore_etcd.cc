// Restoring and inspecting etcd snapshots; see snapshot_restore_etcd.h.
#include "node/snapshot_restore_etcd.h"

#include "absl/strings/str_join.h"
#include "node/auth_store.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/bbolt_reader.h"
#include "store/etcd_schema.h"
#include "store/mvcc_snapshot.h"

namespace keel::node {
namespace {

struct OpenedDatabase {
  std::unique_ptr<File> file;
  std::unique_ptr<store::BboltReader> reader;
};

absl::StatusOr<OpenedDatabase> OpenDatabase(FileSystem& fs, const std::string& path,
                                            bool check_hash) {
  OpenedDatabase db;
  KEEL_ASSIGN_OR_RETURN(db.file, fs.Open(path, {.read_only = true}));
  KEEL_ASSIGN_OR_RETURN(uint64_t size, db.file->Size());
  uint64_t db_bytes = size;
  if (check_hash) {
    KEEL_ASSIGN_OR_RETURN(db_bytes, store::EtcdSnapshotDatabaseBytes(*db.file, size,
                                                                     /*skip_hash_check=*/false,
                                                                     path));
  } else if (store::HasEtcdSnapshotHash(size)) {
    db_bytes = size - Sha256::kDigestBytes;
  }
  KEEL_ASSIGN_OR_RETURN(db.reader, store::BboltReader::Open(*db.file, db_bytes, path));
  return db;
}

// etcd's auth buckets as the auth store's records. DataLoss for a user or
// role that does not parse.
absl::StatusOr<AuthRecords> ReadAuthBuckets(const store::BboltReader& db) {
  AuthRecords records;
  KEEL_ASSIGN_OR_RETURN(std::optional<store::BboltBucket> auth,
                        db.OpenBucket(db.root(), store::kEtcdAuthBucket));
  if (auth) {
    KEEL_ASSIGN_OR_RETURN(std::optional<std::string> enabled,
                          db.Get(*auth, store::kEtcdAuthEnabledKey));
    records.enabled = enabled && *enabled == std::string(1, '\1');
    KEEL_ASSIGN_OR_RETURN(std::optional<std::string> revision,
                          db.Get(*auth, store::kEtcdAuthRevisionKey));
    if (revision) {
      std::optional<uint64_t> decoded = store::DecodeEtcdUint64(*revision);
      if (!decoded) return absl::DataLossError("etcd snapshot: malformed authRevision");
      records.revision = *decoded;
    }
  }
  auto read_all = [&](std::string_view bucket_name, auto& out) -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(std::optional<store::BboltBucket> bucket,
                          db.OpenBucket(db.root(), bucket_name));
    if (!bucket) return absl::OkStatus();
    return db.ForEach(*bucket, [&](const store::BboltItem& item) {
      auto& record = out.emplace_back();
      if (!record.ParseFromArray(item.value.data(), static_cast<int>(item.value.size()))) {
        return absl::DataLossError(StrCat("etcd snapshot: a record of ", bucket_name,
                                          " does not parse"));
      }
      return absl::OkStatus();
    });
  };
  KEEL_RETURN_IF_ERROR(read_all(store::kEtcdAuthUsersBucket, records.users));
  KEEL_RETURN_IF_ERROR(read_all(store::kEtcdAuthRolesBucket, records.roles));
  return records;
}

}  // namespace

absl::StatusOr<bool> IsEtcdSnapshotFile(FileSystem& fs, const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, {.read_only = true}));
  KEEL_ASSIGN_OR_RETURN(
      std::string head, file->ReadAt(0, store::kBboltPageHeaderBytes + store::kBboltMetaBytes));
  return head.size() == store::kBboltPageHeaderBytes + store::kBboltMetaBytes &&
         store::LooksLikeBbolt(head);
}

absl::StatusOr<store::EtcdImportSummary> RestoreEtcdKeySpace(FileSystem& fs,
                                                             const std::string& path,
                                                             store::MvccOptions options,
                                                             bool skip_hash_check) {
  KEEL_ASSIGN_OR_RETURN(OpenedDatabase db, OpenDatabase(fs, path, !skip_hash_check));
  // Nothing is written until the whole database has passed bbolt's check:
  // a damaged file is refused, not half restored.
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> problems, db.reader->Check());
  if (!problems.empty()) {
    return absl::DataLossError(StrCat(path, ": snapshot file integrity check failed. ",
                                      problems.size(), " errors found.\n",
                                      absl::StrJoin(problems, "\n")));
  }
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::MvccRestorer> restorer,
                        store::MvccRestorer::Create(options));
  KEEL_ASSIGN_OR_RETURN(
      store::EtcdImportSummary summary,
      store::ImportEtcdDatabase(*db.reader, [&](std::string_view key, std::string_view value) {
        return restorer->AddRecord(key, value);
      }));
  KEEL_ASSIGN_OR_RETURN(AuthRecords auth, ReadAuthBuckets(*db.reader));
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::Mvcc> restored, restorer->Finish());
  AuthStore auth_store(*restored->db());
  KEEL_RETURN_IF_ERROR(auth_store.ReplaceAll(auth));
  KEEL_RETURN_IF_ERROR(restored->SyncBarrier());
  if (restored->current_revision() != summary.revision ||
      restored->applied().index != summary.applied.index) {
    return absl::DataLossError(StrCat(path, ": the restored key space does not match the file"));
  }
  return summary;
}

std::vector<std::string> NotCarried(const store::EtcdImportSummary& summary) {
  std::vector<std::string> lines;
  if (summary.alarms > 0) {
    lines.push_back(StrCat(summary.alarms, " alarms: keel keeps no alarms"));
  }
  return lines;
}

absl::StatusOr<store::EtcdDatabaseStatus> ReadEtcdSnapshotStatus(FileSystem& fs,
                                                                 const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(OpenedDatabase db, OpenDatabase(fs, path, /*check_hash=*/false));
  return store::ReadEtcdDatabaseStatus(*db.reader);
}

}  // namespace keel::node
