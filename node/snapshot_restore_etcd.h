// The etcd side of `keelutl snapshot restore` and `snapshot status`: a
// file saved from a real etcd (a bbolt database, with or without its
// SHA-256) read into a keel key space (store/etcd_import.h), and etcdctl's
// status of such a file.
#ifndef KEEL_NODE_SNAPSHOT_RESTORE_ETCD_H_
#define KEEL_NODE_SNAPSHOT_RESTORE_ETCD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "store/etcd_import.h"
#include "store/etcd_snapshot.h"
#include "store/mvcc_db.h"

namespace keel::node {

// Whether `path` starts with a bbolt meta page (an etcd snapshot) rather
// than keel's snapshot format. NotFound if missing.
absl::StatusOr<bool> IsEtcdSnapshotFile(FileSystem& fs, const std::string& path);

// Builds a key space in `options.path` (which must not exist) from the
// etcd snapshot at `path`: the hash is checked first (unless skipped, as
// etcd's restore), then the whole database is checked as bbolt's Tx.Check
// does, then imported. DataLoss for damage or a hash mismatch;
// FailedPrecondition for a file without a hash and no skip, or a database
// that is not etcd's. Users, roles and the auth switch come along.
absl::StatusOr<store::EtcdImportSummary> RestoreEtcdKeySpace(FileSystem& fs,
                                                             const std::string& path,
                                                             store::MvccOptions options,
                                                             bool skip_hash_check);

// What keel did not carry over from an etcd snapshot, one line each
// (alarms); empty if nothing was lost. Users, roles and the auth switch
// are restored into the auth store.
std::vector<std::string> NotCarried(const store::EtcdImportSummary& summary);

// etcdctl's `snapshot status` of the etcd snapshot at `path` (the hash is
// not checked, as etcdctl does not).
absl::StatusOr<store::EtcdDatabaseStatus> ReadEtcdSnapshotStatus(FileSystem& fs,
                                                                 const std::string& path);

}  // namespace keel::node

#endif  // KEEL_NODE_SNAPSHOT_RESTORE_ETCD_H_
