// etcd's `snapshot save` file around a bbolt database: the database, then
// the SHA-256 of it (32 bytes). etcdctl tells the two kinds of file apart
// by size: a database is whole pages, so a file whose size is 32 past a
// multiple of 512 carries the hash. Also `snapshot status` of such a file,
// computed as etcdctl 3.4 computes it.
#ifndef KEEL_STORE_ETCD_SNAPSHOT_H_
#define KEEL_STORE_ETCD_SNAPSHOT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "runtime/sha256.h"
#include "store/bbolt_reader.h"

namespace keel::store {

// Whether a file of `size` bytes ends with the SHA-256 of the rest.
inline bool HasEtcdSnapshotHash(uint64_t size) {
  return size % 512 == Sha256::kDigestBytes;
}

// Adds bytes [offset, offset + n) of `file` to `hash`. DataLoss if the file
// is shorter. Does not suspend; callers that must not block long read a
// piece at a time.
absl::Status HashFileRange(const File& file, uint64_t offset, uint64_t n, Sha256& hash);

// Appends the SHA-256 of the first `db_bytes` bytes of `file` to it.
absl::Status AppendEtcdSnapshotHash(File& file, uint64_t db_bytes);

// The bytes of the database in a `snapshot save` file of `size` bytes,
// after checking the hash unless `skip_hash_check`. As etcd's restore: a
// file without a hash needs `skip_hash_check` (FailedPrecondition
// otherwise, "snapshot missing hash but --skip-hash-check=false"); a hash
// that does not match is DataLoss. Reads the whole file when checking.
absl::StatusOr<uint64_t> EtcdSnapshotDatabaseBytes(const File& file, uint64_t size,
                                                   bool skip_hash_check,
                                                   const std::string& path);

// etcdctl's `snapshot status` of a database: CRC-32C over each root
// bucket's name and every key and value in it, the main revision of the
// key bucket's last key, the count of keys in every bucket, and the size
// bbolt reports (high-water mark times page size). As etcdctl, refuses a
// database that fails bbolt's consistency check (DataLoss listing the
// problems).
struct EtcdDatabaseStatus {
  uint32_t hash = 0;
  int64_t revision = 0;
  uint64_t total_keys = 0;
  uint64_t total_size = 0;
};
absl::StatusOr<EtcdDatabaseStatus> ReadEtcdDatabaseStatus(const BboltReader& db);

}  // namespace keel::store

#endif  // KEEL_STORE_ETCD_SNAPSHOT_H_
