// Snapshot files of the key space, and the directory swap that installs one.
#include "node/snapshot_io.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "node/membership.h"
#include "runtime/assert.h"
#include "runtime/executor.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/key_codec.h"
#include "store/mvcc_snapshot.h"

namespace keel::node {

std::string SnapshotFilePath(const std::string& snap_dir, uint64_t term, uint64_t index) {
  return JoinPath(snap_dir, absl::StrFormat("%016x-%016x.snap", term, index));
}

std::vector<std::string> SnapshotFilesToPurge(const std::vector<std::string>& names,
                                              uint64_t installed_index, uint64_t max_snapshots) {
  // "<16 hex term>-<16 hex index>.snap"
  constexpr size_t kNameSize = 16 + 1 + 16 + 5;
  std::vector<std::pair<uint64_t, std::string>> installed;
  for (const std::string& name : names) {
    if (name.size() != kNameSize || name[16] != '-' || !name.ends_with(".snap")) continue;
    uint64_t term = 0, index = 0;
    if (!ParseId(name.substr(0, 16), &term) || !ParseId(name.substr(17, 16), &index)) continue;
    if (index <= installed_index) installed.emplace_back(index, name);
  }
  std::sort(installed.begin(), installed.end());
  const size_t keep = max_snapshots == 0 ? installed.size()
                                         : std::min<size_t>(installed.size(), max_snapshots);
  std::vector<std::string> purge;
  for (size_t i = 0; i + keep < installed.size(); i++) purge.push_back(installed[i].second);
  KEEL_ASSERT(purge.size() < installed.size() || installed.empty());
  return purge;
}

namespace {
// Records between yields while writing a snapshot, so a large key space
// does not hold the loop (heartbeats) for long.
constexpr int kRecordsPerYield = 4096;
}  // namespace

Task<absl::StatusOr<store::SnapshotFileSummary>> WriteSnapshotFile(
    Env& env, store::Mvcc& mvcc, std::string path, uint64_t member_id,
    uint64_t cluster_id) {
  auto snapshot = store::MvccSnapshot::Take(&mvcc);
  if (!snapshot.ok()) co_return snapshot.status();
  store::SnapshotFileMetadata metadata;
  metadata.revision = (*snapshot)->revision();
  metadata.compact_revision = mvcc.compact_revision();
  metadata.consistent_index = (*snapshot)->applied().index;
  metadata.consistent_term = (*snapshot)->applied().term;
  metadata.member_id = member_id;
  metadata.cluster_id = cluster_id;
  auto writer = store::SnapshotFileWriter::Create(env.fs(), path, metadata);
  if (!writer.ok()) co_return writer.status();
  std::string key, value;
  for (int n = 1;; n++) {
    auto more = (*snapshot)->NextRecord(&key, &value);
    if (!more.ok()) co_return more.status();
    if (!*more) break;
    absl::Status added = (*writer)->Add(key, value);
    if (!added.ok()) co_return added;
    if (n % kRecordsPerYield == 0) co_await Yield();
  }
  co_return co_await (*writer)->Finish();
}

absl::StatusOr<store::SnapshotFileMetadata> RestoreSnapshotFile(
    FileSystem& fs, const std::string& file, store::MvccOptions options,
    RestoreFileOptions restore) {
  KEEL_ASSIGN_OR_RETURN(
      auto reader,
      store::SnapshotFileReader::Open(fs, file,
                                      {.skip_hash_check = restore.skip_hash_check}));
  KEEL_ASSIGN_OR_RETURN(auto restorer, store::MvccRestorer::Create(options));
  std::string key, value;
  while (true) {
    KEEL_ASSIGN_OR_RETURN(bool more, reader->Next(&key, &value));
    if (!more) break;
    if (restore.drop_membership && !key.empty() && key[0] == store::kClusterTag) continue;
    KEEL_RETURN_IF_ERROR(restorer->AddRecord(key, value));
  }
  KEEL_ASSIGN_OR_RETURN(auto restored, restorer->Finish());
  if (restored->applied().index != reader->metadata().consistent_index) {
    return absl::DataLossError(StrCat(
        "snapshot ", file, " says index ", reader->metadata().consistent_index,
        " but its key space holds index ", restored->applied().index));
  }
  return reader->metadata();
}

absl::Status SwapKeySpace(FileSystem& fs, const std::string& live,
                          const std::string& fresh) {
  const std::string old = live + ".old";
  KEEL_RETURN_IF_ERROR(RemoveTree(fs, old));
  KEEL_RETURN_IF_ERROR(fs.Rename(live, old));
  KEEL_RETURN_IF_ERROR(fs.Rename(fresh, live));
  const size_t slash = live.find_last_of('/');
  KEEL_RETURN_IF_ERROR(fs.SyncDirNow(slash == std::string::npos ? "." : live.substr(0, slash)));
  return RemoveTree(fs, old);
}

absl::Status RecoverKeySpaceSwap(FileSystem& fs, const std::string& live) {
  const std::string fresh = live + ".restore";
  const std::string old = live + ".old";
  const bool live_exists = fs.Stat(live).ok();
  const bool fresh_exists = fs.Stat(fresh).ok();
  if (!live_exists && (fresh_exists || fs.Stat(old).ok())) {
    // The crash came between the two renames: the fresh copy is complete
    // (it is renamed only once restored and synced). With no fresh copy
    // either, the old one is all there is: put it back rather than remove
    // the only key space.
    KEEL_RETURN_IF_ERROR(fs.Rename(fresh_exists ? fresh : old, live));
    const size_t slash = live.find_last_of('/');
    KEEL_RETURN_IF_ERROR(fs.SyncDirNow(slash == std::string::npos ? "." : live.substr(0, slash)));
  } else {
    KEEL_RETURN_IF_ERROR(RemoveTree(fs, fresh));
  }
  return RemoveTree(fs, old);
}

absl::StatusOr<std::unique_ptr<FileSnapshotSource>> FileSnapshotSource::Open(
    FileSystem& fs, std::string path) {
  OpenOptions options;
  options.read_only = true;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, options));
  KEEL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  return std::unique_ptr<FileSnapshotSource>(
      new FileSnapshotSource(fs, std::move(path), std::move(file), size));
}

FileSnapshotSource::~FileSnapshotSource() {
  file_.reset();
  (void)fs_.Remove(path_);
}

Task<absl::StatusOr<std::string>> FileSnapshotSource::ReadChunk(size_t max_bytes) {
  if (offset_ >= size_) co_return std::string();
  const size_t n = static_cast<size_t>(std::min<uint64_t>(max_bytes, size_ - offset_));
  auto chunk = file_->ReadAt(offset_, n);
  if (!chunk.ok()) co_return chunk.status();
  if (chunk->size() != n) {
    co_return absl::DataLossError(StrCat("snapshot ", path_, " shrank while sending"));
  }
  offset_ += n;
  co_return std::move(*chunk);
}

}  // namespace keel::node
