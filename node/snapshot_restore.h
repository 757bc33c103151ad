// `keelutl snapshot restore`: a new member's data directory from a
// `snapshot save` file, under a new cluster identity. The file may be
// keel's own (store/snapshot_file.h) or one saved from a real etcd 3.4 or
// 3.5 (a bbolt database, node/snapshot_restore_etcd.h): the migration path
// from etcd.
//
// As etcd's restore does, the key space keeps every key and revision of the
// snapshot while the membership is replaced by --initial-cluster: new member
// and cluster IDs (from the URLs and --initial-cluster-token), a WAL that
// starts at a raft snapshot of the key space's consistent index, and a
// configuration of exactly those members. Every member of the new cluster is
// restored from the same file with the same flags, so all start with equal
// logs, key spaces and configuration; the member then starts with
// `keel --initial-cluster-state new` (or any state: its data decides).
#ifndef KEEL_NODE_SNAPSHOT_RESTORE_H_
#define KEEL_NODE_SNAPSHOT_RESTORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/snapshot_file.h"

namespace keel::node {

struct RestoreOptions {
  RestoreOptions() {}
  std::string snapshot_path;
  std::string name = "default";
  std::string data_dir;  // empty: "<name>.keel"
  std::string wal_dir;   // empty: "<data_dir>/member/wal"
  std::string initial_cluster = "default=http://localhost:2380";
  std::string initial_cluster_token = "etcd-cluster";
  std::vector<std::string> initial_advertise_peer_urls = {"http://localhost:2380"};
  bool skip_hash_check = false;
};

struct RestoreResult {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  uint64_t raft_index = 0;  // where the new WAL's log starts
  int64_t revision = 0;
  std::string data_dir;
  // What an etcd snapshot held that keel could not carry (users, roles,
  // alarms), one line each, for the operator.
  std::vector<std::string> not_carried;
};

// Builds the data directory, in an existing empty one or a new one.
// InvalidArgument for bad flags (etcd's messages); FailedPrecondition if
// the data directory is not empty ("data-dir ... not empty or could not be
// read", as etcdutl) or the file is not a snapshot; DataLoss for a damaged
// file or a hash mismatch (unless skipped). A failed restore removes what
// it created (an existing directory stays, empty). Suspends (WAL sync).
Task<absl::StatusOr<RestoreResult>> RestoreSnapshot(Env& env, RestoreOptions options);

// `snapshot status`: etcdctl's hash, revision, total keys and total size,
// of either kind of file (for etcd's, exactly as etcdctl computes them).
struct SnapshotStatus {
  uint32_t hash = 0;       // the first 32 bits of the file's hash
  int64_t revision = 0;
  uint64_t total_keys = 0;  // records: every revision of every key, plus metadata
  uint64_t total_size = 0;  // bytes on disk
};
absl::StatusOr<SnapshotStatus> ReadSnapshotStatus(FileSystem& fs, const std::string& path);

}  // namespace keel::node

#endif  // KEEL_NODE_SNAPSHOT_RESTORE_H_
