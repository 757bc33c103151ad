// The key space as a file: raft snapshots sent to a follower that is too
// far behind for the log, and installed there.
//
// A snapshot is written in the snapshot file format (store/snapshot_file.h:
// checksummed chunks, a whole-file hash), so a damaged transfer is refused
// before anything is replaced. Installing builds a fresh key space in a
// directory beside the live one and swaps the two with renames; a crash at
// any point leaves either the old key space or the new one, never a mix
// (RecoverKeySpaceSwap finishes or undoes a swap at start).
#ifndef KEEL_NODE_SNAPSHOT_IO_H_
#define KEEL_NODE_SNAPSHOT_IO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "net/peer_types.h"
#include "runtime/env.h"
#include "store/mvcc.h"
#include "store/snapshot_file.h"

namespace keel::node {

// "<snap_dir>/<term>-<index>.snap" (etcd's naming, in hex): where a raft
// snapshot received from the leader is kept until the key space holds it.
std::string SnapshotFilePath(const std::string& snap_dir, uint64_t term, uint64_t index);

// The snapshot files among `names` (a listing of the snap directory) that
// --max-snapshots lets go once the key space holds the snapshot at
// `installed_index`: of the files at or below it, all but the newest
// `max_snapshots` (0 keeps them all, as etcd's 0 means unlimited); the
// newest installed one is always kept, since a restart may need it. Files
// above `installed_index` (received, not yet installed) and names that are
// not snapshot files are never listed. Oldest first.
std::vector<std::string> SnapshotFilesToPurge(const std::vector<std::string>& names,
                                              uint64_t installed_index, uint64_t max_snapshots);

// Writes the whole key space, as of the call, to a snapshot file at `path`.
// Yields to the loop every few thousand records. Suspends.
Task<absl::StatusOr<store::SnapshotFileSummary>> WriteSnapshotFile(
    Env& env, store::Mvcc& mvcc, std::string path, uint64_t member_id,
    uint64_t cluster_id);

struct RestoreFileOptions {
  // Accept a whole-file hash mismatch (chunks must still pass their CRCs).
  bool skip_hash_check = false;
  // Leave out the sender's identity and membership (tag 'c'), for a
  // restore into a new cluster.
  bool drop_membership = false;
};

// Builds a key space in `options.path` (which must not exist) from the
// snapshot file at `file`, verified first. DataLoss for a damaged file.
// Returns the file's metadata.
absl::StatusOr<store::SnapshotFileMetadata> RestoreSnapshotFile(
    FileSystem& fs, const std::string& file, store::MvccOptions options,
    RestoreFileOptions restore = {});

// Replaces the directory `live` by `fresh` (both complete LevelDB
// directories): live -> live.old, fresh -> live, sync, remove live.old.
absl::Status SwapKeySpace(FileSystem& fs, const std::string& live,
                          const std::string& fresh);

// At start, before opening `live`: finishes a swap a crash interrupted
// (live missing, live.restore complete), or removes the leftovers of one
// that had not begun (live present: live.restore and live.old go). With
// live and live.restore both missing, live.old is renamed back to live.
absl::Status RecoverKeySpaceSwap(FileSystem& fs, const std::string& live);

// A snapshot file as the peer transport's source; the file is removed when
// the source is destroyed (once sent or abandoned).
class FileSnapshotSource final : public net::SnapshotSource {
 public:
  static absl::StatusOr<std::unique_ptr<FileSnapshotSource>> Open(FileSystem& fs,
                                                                  std::string path);
  ~FileSnapshotSource() override;
  uint64_t size_bytes() const override { return size_; }
  Task<absl::StatusOr<std::string>> ReadChunk(size_t max_bytes) override;

 private:
  FileSnapshotSource(FileSystem& fs, std::string path, std::unique_ptr<File> file,
                     uint64_t size)
      : fs_(fs), path_(std::move(path)), file_(std::move(file)), size_(size) {}

  FileSystem& fs_;
  const std::string path_;
  std::unique_ptr<File> file_;
  const uint64_t size_;
  uint64_t offset_ = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_SNAPSHOT_IO_H_
