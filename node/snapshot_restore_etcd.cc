// Restoring and inspecting etcd snapshots; see snapshot_restore_etcd.h.
#include "node/snapshot_restore_etcd.h"

#include "absl/strings/str_join.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/bbolt_reader.h"
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
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::Mvcc> restored, restorer->Finish());
  if (restored->current_revision() != summary.revision ||
      restored->applied().index != summary.applied.index) {
    return absl::DataLossError(StrCat(path, ": the restored key space does not match the file"));
  }
  return summary;
}

std::vector<std::string> NotCarried(const store::EtcdImportSummary& summary) {
  std::vector<std::string> lines;
  if (summary.users > 0 || summary.roles > 0 || summary.auth_enabled) {
    lines.push_back(StrCat(summary.users, " users and ", summary.roles, " roles",
                           summary.auth_enabled ? " (auth enabled)" : "",
                           ": keel has no auth store"));
  }
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
