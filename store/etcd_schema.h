// etcd 3.4's schema over bbolt: the buckets of its backend database and
// how keys and values are encoded in them (doc/bbolt_format.md, "etcd's
// buckets"). Used to write keel's key space as an etcd snapshot and to
// read an etcd snapshot into keel.
#ifndef KEEL_STORE_ETCD_SCHEMA_H_
#define KEEL_STORE_ETCD_SCHEMA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/mvcc_types.h"
#include "store/revision.h"

namespace keel::store {

// The buckets, in the byte order bbolt keeps them in its root.
inline constexpr std::string_view kEtcdAlarmBucket = "alarm";
inline constexpr std::string_view kEtcdAuthBucket = "auth";
inline constexpr std::string_view kEtcdAuthRolesBucket = "authRoles";
inline constexpr std::string_view kEtcdAuthUsersBucket = "authUsers";
inline constexpr std::string_view kEtcdClusterBucket = "cluster";
inline constexpr std::string_view kEtcdKeyBucket = "key";
inline constexpr std::string_view kEtcdLeaseBucket = "lease";
inline constexpr std::string_view kEtcdMembersBucket = "members";
inline constexpr std::string_view kEtcdMembersRemovedBucket = "members_removed";
inline constexpr std::string_view kEtcdMetaBucket = "meta";

// Keys of the meta, auth and cluster buckets.
inline constexpr std::string_view kEtcdConsistentIndexKey = "consistent_index";
inline constexpr std::string_view kEtcdFinishedCompactKey = "finishedCompactRev";
inline constexpr std::string_view kEtcdScheduledCompactKey = "scheduledCompactRev";
inline constexpr std::string_view kEtcdTermKey = "term";  // etcd 3.5
inline constexpr std::string_view kEtcdAuthEnabledKey = "authEnabled";
inline constexpr std::string_view kEtcdAuthRevisionKey = "authRevision";
inline constexpr std::string_view kEtcdClusterVersionKey = "clusterVersion";

// A member being removed leaves this value under its ID in members_removed.
inline constexpr std::string_view kEtcdRemovedMemberValue = "removed";

// ---- the key bucket ----

// main (8, big-endian), '_', sub (8, big-endian), then 't' for a tombstone.
inline constexpr size_t kEtcdRevisionKeyBytes = 17;
std::string EtcdRevisionKey(Revision rev, bool tombstone);
struct EtcdRevisionKeyParts {
  Revision rev;
  bool tombstone = false;
};
// nullopt if `key` is not a revision key.
std::optional<EtcdRevisionKeyParts> ParseEtcdRevisionKey(std::string_view key);

// mvccpb.KeyValue, as etcd marshals it.
std::string EncodeEtcdKeyValue(const KeyValue& kv);
// nullopt if `data` is not a KeyValue.
std::optional<KeyValue> DecodeEtcdKeyValue(std::string_view data);

// ---- meta, lease, members ----

// A u64 as etcd stores consistent_index, term, authRevision and lease IDs.
std::string EncodeEtcdUint64(uint64_t v);
// nullopt unless `data` is exactly 8 bytes.
std::optional<uint64_t> DecodeEtcdUint64(std::string_view data);

// leasepb.Lease {ID, TTL, RemainingTTL}.
std::string EncodeEtcdLease(const LeaseRecord& lease);
std::optional<LeaseRecord> DecodeEtcdLease(std::string_view data);

struct EtcdMember {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
};
// The members bucket's key for `id`: lower-case hex, no leading zeros.
std::string EtcdMemberKey(uint64_t id);
// The member as etcd's membership store marshals it (Go's encoding/json
// of membership.Member: id, peerURLs, isLearner if set, name and
// clientURLs if not empty).
std::string EncodeEtcdMemberJson(const EtcdMember& member);

}  // namespace keel::store

#endif  // KEEL_STORE_ETCD_SCHEMA_H_
