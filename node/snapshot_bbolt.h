// The key space as etcd's `snapshot save` file: a bbolt database with
// etcd 3.4's buckets followed by its SHA-256 (store/etcd_export.h,
// store/etcd_snapshot.h), which `etcdctl snapshot status` reads and
// `etcdctl snapshot restore` restores into a real etcd: the file
// Maintenance.Snapshot streams as it is (no envelope). Raft snapshots
// between keel members keep keel's own format (snapshot_io.h).
#ifndef KEEL_NODE_SNAPSHOT_BBOLT_H_
#define KEEL_NODE_SNAPSHOT_BBOLT_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "node/auth_store.h"
#include "node/membership.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/etcd_export.h"
#include "store/mvcc.h"

namespace keel::node {

struct EtcdSnapshotFileSummary {
  uint64_t file_bytes = 0;  // the database and its 32-byte hash
  store::EtcdExportSummary contents;
};

// Writes the key space, as of the call, to `path`: built as
// "<path>.part", synced and renamed into place, so a file at `path` is
// always complete. `members` go in etcd's members bucket (etcd's restore
// replaces them; etcd's own snapshots carry them); `auth` in its auth,
// authUsers and authRoles buckets, so a real etcd restored from the file
// keeps the users, roles and the auth switch. Applies may go on
// meanwhile; they do not show. Yields to the loop every few thousand
// revisions and every few MiB hashed. Errors: the store's (DataLoss for a
// malformed record) and the file system's; the ".part" file is removed on
// failure. Suspends.
Task<absl::StatusOr<EtcdSnapshotFileSummary>> WriteEtcdSnapshotFile(
    Env& env, store::Mvcc& mvcc, const std::map<uint64_t, Member>& members,
    AuthRecords auth, std::string path);

}  // namespace keel::node

#endif  // KEEL_NODE_SNAPSHOT_BBOLT_H_
