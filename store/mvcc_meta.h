// The Mvcc's metadata records ('m' table) and lease table values.
//
//   'm' "state"   -> applied index, applied term, current revision
//   'm' "compact" -> compact revision + 1, next revision to compact
//   'e' lease     -> ttl, remaining ttl
//
// All varints. The state record is rewritten in every apply's batch, so the
// applied entry on disk always matches the changes on disk.
#ifndef KEEL_STORE_MVCC_META_H_
#define KEEL_STORE_MVCC_META_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/mvcc_types.h"
#include "store/revision.h"

namespace keel::store {

inline constexpr std::string_view kStateMetaName = "state";
inline constexpr std::string_view kCompactMetaName = "compact";

struct StateMeta {
  EntryId applied;
  int64_t current_revision = 1;
};
std::string EncodeStateMeta(const StateMeta& meta);
std::optional<StateMeta> DecodeStateMeta(std::string_view data);

struct CompactMeta {
  int64_t compact_revision = -1;
  Revision next;
};
std::string EncodeCompactMeta(const CompactMeta& meta);
std::optional<CompactMeta> DecodeCompactMeta(std::string_view data);

std::string EncodeLeaseValue(const LeaseRecord& lease);
// The id comes from the key; nullopt if the value is malformed.
std::optional<LeaseRecord> DecodeLeaseValue(int64_t id, std::string_view data);

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_META_H_
