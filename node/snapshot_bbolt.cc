// The key space as etcd's snapshot file; see snapshot_bbolt.h.
#include "node/snapshot_bbolt.h"

#include "runtime/executor.h"
#include "runtime/sha256.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/etcd_snapshot.h"

namespace keel::node {
namespace {

// Work between yields, so a large key space does not hold the loop
// (heartbeats) for long.
constexpr size_t kRevisionsPerYield = 4096;
constexpr uint64_t kHashBytesPerYield = 4 << 20;

std::string ParentOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Removes the unfinished file however the write ends.
struct RemovePartOnFailure {
  FileSystem& fs;
  std::string path;
  bool done = false;
  ~RemovePartOnFailure() {
    if (!done) (void)fs.Remove(path);
  }
};

}  // namespace

Task<absl::StatusOr<EtcdSnapshotFileSummary>> WriteEtcdSnapshotFile(
    Env& env, store::Mvcc& mvcc, const std::map<uint64_t, Member>& members,
    AuthRecords auth, std::string path) {
  FileSystem& fs = env.fs();
  const std::string part = path + ".part";
  if (fs.Stat(path).ok()) {
    co_return absl::AlreadyExistsError(StrCat("snapshot ", path, " exists"));
  }
  RemovePartOnFailure cleanup{fs, part};
  KEEL_CO_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                           fs.Open(part, {.create = true, .truncate = true}));
  store::EtcdExportExtras extras;
  for (const auto& [id, m] : members) {
    extras.members.push_back(store::EtcdMember{.id = id,
                                               .name = m.name,
                                               .peer_urls = m.peer_urls,
                                               .client_urls = m.client_urls,
                                               .is_learner = m.is_learner});
  }
  extras.auth.enabled = auth.enabled;
  extras.auth.revision = auth.revision;
  for (const auto& user : auth.users) extras.auth.users[user.name()] = user.SerializeAsString();
  for (const auto& role : auth.roles) extras.auth.roles[role.name()] = role.SerializeAsString();
  KEEL_CO_ASSIGN_OR_RETURN(std::unique_ptr<store::EtcdSnapshotExporter> exporter,
                           store::EtcdSnapshotExporter::Start(mvcc, *file, std::move(extras)));
  while (true) {
    KEEL_CO_ASSIGN_OR_RETURN(bool done, exporter->Step(kRevisionsPerYield));
    if (done) break;
    co_await Yield();
  }
  EtcdSnapshotFileSummary summary{.file_bytes = 0, .contents = exporter->summary()};
  exporter.reset();  // releases the LevelDB snapshot
  const uint64_t db_bytes = summary.contents.bbolt.file_bytes;
  Sha256 hash;
  for (uint64_t offset = 0; offset < db_bytes; offset += kHashBytesPerYield) {
    KEEL_CO_RETURN_IF_ERROR(store::HashFileRange(
        *file, offset, std::min(kHashBytesPerYield, db_bytes - offset), hash));
    co_await Yield();
  }
  const Sha256::Digest digest = hash.Finish();
  KEEL_CO_RETURN_IF_ERROR(file->WriteAt(
      db_bytes, std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())));
  KEEL_CO_RETURN_IF_ERROR(co_await file->Sync());
  file.reset();
  KEEL_CO_RETURN_IF_ERROR(fs.Rename(part, path));
  KEEL_CO_RETURN_IF_ERROR(co_await fs.SyncDir(ParentOf(path)));
  cleanup.done = true;
  summary.file_bytes = db_bytes + Sha256::kDigestBytes;
  KEEL_ASSERT(store::HasEtcdSnapshotHash(summary.file_bytes));
  co_return summary;
}

}  // namespace keel::node
