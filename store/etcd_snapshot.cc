// etcd's snapshot file: hash trailer and status; see etcd_snapshot.h.
#include "store/etcd_snapshot.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "runtime/crc32c.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/etcd_schema.h"

namespace keel::store {
namespace {
constexpr uint64_t kReadBytes = 1 << 20;

std::string DigestBytes(Sha256 hash) {
  const Sha256::Digest digest = hash.Finish();
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}
}  // namespace

absl::Status HashFileRange(const File& file, uint64_t offset, uint64_t n, Sha256& hash) {
  for (uint64_t done = 0; done < n;) {
    const uint64_t want = std::min(kReadBytes, n - done);
    KEEL_ASSIGN_OR_RETURN(std::string block, file.ReadAt(offset + done, want));
    if (block.size() != want) {
      return absl::DataLossError(StrCat("short read at offset ", offset + done));
    }
    hash.Update(block);
    done += want;
  }
  return absl::OkStatus();
}

absl::Status AppendEtcdSnapshotHash(File& file, uint64_t db_bytes) {
  Sha256 hash;
  KEEL_RETURN_IF_ERROR(HashFileRange(file, 0, db_bytes, hash));
  return file.WriteAt(db_bytes, DigestBytes(std::move(hash)));
}

absl::StatusOr<uint64_t> EtcdSnapshotDatabaseBytes(const File& file, uint64_t size,
                                                   bool skip_hash_check,
                                                   const std::string& path) {
  if (!HasEtcdSnapshotHash(size)) {
    if (!skip_hash_check) {
      return absl::FailedPreconditionError(
          StrCat(path, ": snapshot missing hash but --skip-hash-check=false"));
    }
    return size;
  }
  const uint64_t db_bytes = size - Sha256::kDigestBytes;
  if (skip_hash_check) return db_bytes;
  Sha256 hash;
  KEEL_RETURN_IF_ERROR(HashFileRange(file, 0, db_bytes, hash));
  KEEL_ASSIGN_OR_RETURN(std::string stored, file.ReadAt(db_bytes, Sha256::kDigestBytes));
  if (stored != DigestBytes(std::move(hash))) {
    return absl::DataLossError(
        StrCat(path, ": snapshot file's SHA-256 does not match its contents "
                     "(use --skip-hash-check to restore it anyway)"));
  }
  return db_bytes;
}

absl::StatusOr<EtcdDatabaseStatus> ReadEtcdDatabaseStatus(const BboltReader& db) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> problems, db.Check());
  if (!problems.empty()) {
    return absl::DataLossError(StrCat("snapshot file integrity check failed. ", problems.size(),
                                      " errors found.\n", absl::StrJoin(problems, "\n")));
  }
  EtcdDatabaseStatus status;
  status.total_size = db.size_bytes();
  uint32_t crc = 0;
  KEEL_RETURN_IF_ERROR(db.ForEach(db.root(), [&](const BboltItem& bucket) -> absl::Status {
    if (!bucket.is_bucket) {
      return absl::DataLossError(StrCat("cannot get hash of bucket ", bucket.key));
    }
    crc = crc32c::Extend(crc, bucket.key.data(), bucket.key.size());
    const bool key_bucket = bucket.key == kEtcdKeyBucket;
    KEEL_ASSIGN_OR_RETURN(BboltBucket b, DecodeBboltBucket(bucket.value));
    return db.ForEach(b, [&](const BboltItem& item) -> absl::Status {
      crc = crc32c::Extend(crc, item.key.data(), item.key.size());
      // A nested bucket's value reads as nil in bbolt's ForEach.
      if (!item.is_bucket) crc = crc32c::Extend(crc, item.value.data(), item.value.size());
      if (key_bucket && item.key.size() >= kEtcdRevisionKeyBytes) {
        status.revision = static_cast<int64_t>(DecodeBigEndian64(item.key.data()));
      }
      status.total_keys++;
      return absl::OkStatus();
    });
  }));
  status.hash = crc;
  return status;
}

}  // namespace keel::store
