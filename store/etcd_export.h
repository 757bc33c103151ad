// EtcdSnapshotExporter: keel's key space written as etcd's backend
// database (a bbolt file with etcd 3.4's buckets, doc/bbolt_format.md), so
// that `etcdctl snapshot status` reads it and `etcdctl snapshot restore`
// restores it into a real etcd.
//
// It copies a consistent view of the Mvcc (a LevelDB snapshot taken after
// one synced write of the applied entry, as MvccSnapshot does), so applies
// may go on while it writes:
//   key    every revision not compacted, in revision order: each put's
//          KeyValue and each deletion's tombstone; at or below the compacted
//          revision C only the version of each key alive at C (etcd's keep
//          set), whether or not keel's own compaction has finished removing
//          the rest;
//   lease  the lease table;
//   meta   consistent_index and term (the applied entry), and the
//          compaction (finishedCompactRev, scheduledCompactRev) if any;
//   members, members_removed, cluster: from the caller (node/ knows them);
//   auth, authRoles, authUsers: from the caller (node/auth_store.h): the
//          switch, the revision, and each user and role as authpb bytes;
//   alarm: empty.
// The work is cut in steps so a server can yield between them.
#ifndef KEEL_STORE_ETCD_EXPORT_H_
#define KEEL_STORE_ETCD_EXPORT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "leveldb/db.h"
#include "runtime/filesystem.h"
#include "store/bbolt_writer.h"
#include "store/etcd_schema.h"
#include "store/mvcc.h"

namespace keel::store {

// One entry of the key bucket etcd would hold for keel's key space.
struct EtcdKeyBucketEntry {
  Revision rev;
  bool tombstone = false;
  KeyValue kv;  // a tombstone's holds only the key
};

// The key bucket etcd would hold for keel's key space, one entry at a time
// in revision order: every change after the compaction, and at or below
// it the version of each key alive there (etcd's keep set), whether or not
// keel's compaction has removed the rest yet.
class EtcdKeyBucketCursor {
 public:
  // Reads `db` as of `snapshot` (null: as it is), which must outlive the
  // cursor, as must `db`.
  EtcdKeyBucketCursor(MvccDb* db, const leveldb::Snapshot* snapshot, int64_t compact_revision);

  // The next entry; nullopt after the last. `visited` counts the changes
  // read (kept or not), for callers that bound their work per step.
  // DataLoss for a malformed record; LevelDB's errors.
  absl::StatusOr<std::optional<EtcdKeyBucketEntry>> Next(size_t* visited = nullptr);

 private:
  MvccDb* db_;
  const leveldb::Snapshot* snapshot_;
  const int64_t compact_revision_;
  std::unique_ptr<DbIterator> it_;
};

// etcd's auth store as its buckets hold it.
struct EtcdAuthBuckets {
  bool enabled = false;
  uint64_t revision = 1;  // a fresh etcd's
  // name -> authpb.User / authpb.Role bytes; ordered as bbolt's keys.
  std::map<std::string, std::string> users;
  std::map<std::string, std::string> roles;
};

struct EtcdExportExtras {
  std::vector<EtcdMember> members;
  EtcdAuthBuckets auth;
  std::vector<uint64_t> removed_members;
  std::string cluster_version = "3.4.0";
};

struct EtcdExportSummary {
  EntryId applied;
  int64_t revision = 0;           // the key space's current revision
  int64_t compact_revision = -1;  // -1 if never compacted
  uint64_t revisions = 0;         // entries in the key bucket
  uint64_t leases = 0;
  BboltWriteSummary bbolt;        // set once done
};

class EtcdSnapshotExporter {
 public:
  // Pins the view and starts writing `file` (empty; written from offset
  // 0). `mvcc` and `file` must outlive the exporter; later applies do not
  // show. Errors: LevelDB's.
  static absl::StatusOr<std::unique_ptr<EtcdSnapshotExporter>> Start(Mvcc& mvcc, File& file,
                                                                     EtcdExportExtras extras);
  ~EtcdSnapshotExporter();
  EtcdSnapshotExporter(const EtcdSnapshotExporter&) = delete;
  EtcdSnapshotExporter& operator=(const EtcdSnapshotExporter&) = delete;

  // Writes up to `max_revisions` more entries of the key bucket; once they
  // are all written, the remaining buckets and the meta pages. True when
  // the file is complete (not synced). DataLoss for a malformed record;
  // LevelDB's and the File's errors.
  absl::StatusOr<bool> Step(size_t max_revisions);

  const EtcdExportSummary& summary() const { return summary_; }

 private:
  EtcdSnapshotExporter(MvccDb* db, const leveldb::Snapshot* snapshot, File& file,
                       EtcdExportExtras extras);

  absl::Status WriteLeadingBuckets();
  absl::Status WriteTrailingBuckets();

  MvccDb* db_;
  const leveldb::Snapshot* snapshot_;
  std::unique_ptr<EtcdKeyBucketCursor> cursor_;
  BboltWriter writer_;
  const EtcdExportExtras extras_;
  EtcdExportSummary summary_;
  bool done_ = false;
};

}  // namespace keel::store

#endif  // KEEL_STORE_ETCD_EXPORT_H_
