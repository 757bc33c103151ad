// Reading an etcd backend database (a bbolt file with etcd 3.4's or 3.5's
// buckets, as `etcdctl snapshot save` downloads it) into keel's key-space
// tables: the way from a running etcd cluster to keel.
//
// The key bucket is read twice in revision order: first to learn each
// key's last revision, then to write every revision as keel lays it out
// (key_codec.h): a key's last version, if live, in 'l' (with its lease in
// 'a'), every other version and every tombstone in 'h', and each change in
// 'r' linked to the live version it superseded. So the keys, their
// create/mod revisions, versions and leases, and every revision etcd had
// not compacted, read back as they did in etcd. Leases come from the lease
// bucket; the applied entry from consistent_index (and term, which only
// etcd 3.5 records); a compaction from finishedCompactRev, and one etcd had
// scheduled but not finished is left for keel's compaction to finish.
// Memory holds each key once (no values).
//
// Users, roles and the auth switch are counted in the summary; node/
// (snapshot_restore_etcd.cc) carries them into its auth store. Alarms are
// counted and not carried. Membership is not carried either (a restore
// replaces it).
#ifndef KEEL_STORE_ETCD_IMPORT_H_
#define KEEL_STORE_ETCD_IMPORT_H_

#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "store/bbolt_reader.h"
#include "store/mvcc_types.h"

namespace keel::store {

struct EtcdImportSummary {
  EntryId applied;                          // written as keel's applied entry
  bool term_recorded = false;               // false: etcd 3.4 (term 1 is used)
  int64_t revision = 1;                     // the key space's current revision
  int64_t compact_revision = -1;            // -1: never compacted
  uint64_t revisions = 0;                   // entries of the key bucket
  uint64_t live_keys = 0;
  uint64_t leases = 0;
  // Not carried into keel.
  uint64_t members = 0;
  uint64_t users = 0;
  uint64_t roles = 0;
  uint64_t alarms = 0;
  bool auth_enabled = false;
};

// Receives keel's records (LevelDB key, value), in no particular order.
using KeelRecordSink = absl::FunctionRef<absl::Status(std::string_view, std::string_view)>;

// Reads `db`'s key, lease and meta buckets and writes keel's tables for
// them to `sink`. FailedPrecondition if `db` has no key or meta bucket (not
// an etcd database); DataLoss for malformed keys or values and for the
// reader's damage; the sink's errors.
absl::StatusOr<EtcdImportSummary> ImportEtcdDatabase(const BboltReader& db, KeelRecordSink sink);

}  // namespace keel::store

#endif  // KEEL_STORE_ETCD_IMPORT_H_
