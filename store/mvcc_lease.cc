// Leases in the Mvcc: the persisted lease table ('e'), the index of keys
// attached to each lease ('a', maintained by MvccWrite), and revoke, which
// deletes a lease's keys at one revision as etcd's lessor does.
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "store/key_codec.h"
#include "store/mvcc.h"
#include "store/mvcc_errors.h"
#include "store/mvcc_meta.h"
#include "store/mvcc_write.h"

namespace keel::store {

absl::StatusOr<std::vector<std::string>> Mvcc::KeysOfLease(int64_t lease) {
  // A closed store answers nothing rather than an empty key space.
  if (closed()) return ClosedDbError();
  const std::string prefix = LeaseKeyPrefix(lease);
  std::vector<std::string> keys;
  std::unique_ptr<DbIterator> it = db_->NewIterator();
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view k = it->key();
    if (k.substr(0, prefix.size()) != prefix) break;
    keys.emplace_back(k.substr(prefix.size()));
  }
  KEEL_RETURN_IF_ERROR(it->status());
  return keys;
}

absl::StatusOr<std::vector<LeaseRecord>> Mvcc::Leases() {
  // A closed store answers nothing rather than an empty key space.
  if (closed()) return ClosedDbError();
  std::vector<LeaseRecord> leases;
  std::unique_ptr<DbIterator> it = db_->NewIterator();
  for (it->Seek(std::string(1, kLeaseTag)); it->Valid(); it->Next()) {
    if (it->key()[0] != kLeaseTag) break;
    std::optional<int64_t> id = ParseLeaseTableKey(it->key());
    std::optional<LeaseRecord> lease =
        id ? DecodeLeaseValue(*id, it->value()) : std::nullopt;
    if (!lease) return absl::DataLossError("mvcc: malformed lease record");
    leases.push_back(*lease);
  }
  KEEL_RETURN_IF_ERROR(it->status());
  return leases;
}

absl::Status Mvcc::PutLeases(EntryId entry,
                             std::span<const LeaseRecord> leases) {
  KEEL_RETURN_IF_ERROR(CheckEntry(entry));
  std::unique_ptr<MvccWrite> write = BeginWrite(/*track_overlay=*/false);
  for (const LeaseRecord& lease : leases) {
    KEEL_ASSERT(lease.id != 0);
    write->batch()->Put(LeaseTableKey(lease.id), EncodeLeaseValue(lease));
  }
  KEEL_RETURN_IF_ERROR(Commit(entry, write.get(), /*force=*/true));
  for (const LeaseRecord& lease : leases) lease_ids_.insert(lease.id);
  return absl::OkStatus();
}

absl::StatusOr<DeleteRangeResult> Mvcc::RevokeLease(EntryId entry,
                                                    int64_t lease) {
  KEEL_RETURN_IF_ERROR(CheckEntry(entry));
  if (!lease_ids_.contains(lease)) return Refuse(entry, ErrLeaseNotFound());
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> keys, KeysOfLease(lease));
  std::unique_ptr<MvccWrite> write = BeginWrite(/*track_overlay=*/false);
  MvccReader reader = write->reader();
  for (const std::string& key : keys) {
    KEEL_ASSIGN_OR_RETURN(std::optional<StoredVersion> version,
                          reader.Latest(key));
    if (!version || version->meta().lease != lease) {
      return absl::DataLossError("mvcc: lease index names a key not on it");
    }
    write->Delete(key, *version);
  }
  write->batch()->Delete(LeaseTableKey(lease));
  KEEL_RETURN_IF_ERROR(Commit(entry, write.get(), /*force=*/true));
  lease_ids_.erase(lease);
  return DeleteRangeResult{.revision = current_revision_,
                           .deleted = static_cast<int64_t>(keys.size()),
                           .prev_kvs = {}};
}

}  // namespace keel::store
