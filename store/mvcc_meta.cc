// Metadata and lease value encodings; see mvcc_meta.h.
#include "store/mvcc_meta.h"

#include <array>

#include "runtime/assert.h"
#include "store/key_codec.h"

namespace keel::store {
namespace {

// Decodes exactly `n` varints filling the whole of `data`.
template <size_t n>
std::optional<std::array<uint64_t, n>> DecodeVarints(std::string_view data) {
  std::array<uint64_t, n> out;
  for (size_t i = 0; i < n; ++i) {
    std::optional<uint64_t> v = ConsumeVarint64(&data);
    if (!v) return std::nullopt;
    out[i] = *v;
  }
  if (!data.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::string EncodeStateMeta(const StateMeta& meta) {
  KEEL_ASSERT(meta.current_revision >= 1);
  std::string out;
  AppendVarint64(&out, meta.applied.index);
  AppendVarint64(&out, meta.applied.term);
  AppendVarint64(&out, static_cast<uint64_t>(meta.current_revision));
  return out;
}

std::optional<StateMeta> DecodeStateMeta(std::string_view data) {
  auto v = DecodeVarints<3>(data);
  if (!v || (*v)[2] < 1) return std::nullopt;
  return StateMeta{EntryId{(*v)[0], (*v)[1]}, static_cast<int64_t>((*v)[2])};
}

std::string EncodeCompactMeta(const CompactMeta& meta) {
  KEEL_ASSERT(meta.compact_revision >= -1);
  std::string out;
  AppendVarint64(&out, static_cast<uint64_t>(meta.compact_revision + 1));
  AppendVarint64(&out, static_cast<uint64_t>(meta.next.main));
  AppendVarint64(&out, static_cast<uint64_t>(meta.next.sub));
  return out;
}

std::optional<CompactMeta> DecodeCompactMeta(std::string_view data) {
  auto v = DecodeVarints<3>(data);
  if (!v) return std::nullopt;
  return CompactMeta{static_cast<int64_t>((*v)[0]) - 1,
                     Revision{static_cast<int64_t>((*v)[1]),
                              static_cast<int64_t>((*v)[2])}};
}

std::string EncodeLeaseValue(const LeaseRecord& lease) {
  std::string out;
  AppendVarint64(&out, static_cast<uint64_t>(lease.ttl_seconds));
  AppendVarint64(&out, static_cast<uint64_t>(lease.remaining_ttl_seconds));
  return out;
}

std::optional<LeaseRecord> DecodeLeaseValue(int64_t id, std::string_view data) {
  auto v = DecodeVarints<2>(data);
  if (!v) return std::nullopt;
  return LeaseRecord{id, static_cast<int64_t>((*v)[0]),
                     static_cast<int64_t>((*v)[1])};
}

}  // namespace keel::store
