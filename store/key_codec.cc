// Encodings of the MVCC tables; the layout is described in key_codec.h.
#include "store/key_codec.h"

#include "runtime/assert.h"

namespace keel::store {
namespace {

constexpr char kEscapeByte = '\x00';
constexpr char kEscapedZero = '\xff';
constexpr char kTerminator = '\x01';
constexpr char kPastTerminator = '\x02';

void AppendEscaped(std::string* out, std::string_view key) {
  for (char c : key) {
    out->push_back(c);
    if (c == kEscapeByte) out->push_back(kEscapedZero);
  }
}

void AppendRevisionVarints(std::string* out, Revision rev) {
  AppendVarint64(out, static_cast<uint64_t>(rev.main));
  AppendVarint64(out, static_cast<uint64_t>(rev.sub));
}

std::optional<Revision> ConsumeRevisionVarints(std::string_view* in) {
  std::optional<uint64_t> main = ConsumeVarint64(in);
  if (!main) return std::nullopt;
  std::optional<uint64_t> sub = ConsumeVarint64(in);
  if (!sub) return std::nullopt;
  return Revision{static_cast<int64_t>(*main), static_cast<int64_t>(*sub)};
}

constexpr uint8_t kRecordPut = 1;
constexpr uint8_t kRecordTombstone = 2;

}  // namespace

void AppendVarint64(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

std::optional<uint64_t> ConsumeVarint64(std::string_view* in) {
  uint64_t v = 0;
  for (size_t i = 0; i < in->size() && i < 10; ++i) {
    uint8_t byte = static_cast<uint8_t>((*in)[i]);
    v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in->remove_prefix(i + 1);
      return v;
    }
  }
  return std::nullopt;
}

std::string LatestKey(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  out.push_back(kLatestTag);
  out.append(key);
  return out;
}

std::string HistoryLowerBound(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 2 + kRevisionBytes + 1);
  out.push_back(kHistoryTag);
  AppendEscaped(&out, key);
  return out;
}

std::string HistoryPrefix(std::string_view key) {
  std::string out = HistoryLowerBound(key);
  out.push_back(kEscapeByte);
  out.push_back(kTerminator);
  return out;
}

std::string HistoryKey(std::string_view key, Revision rev) {
  std::string out = HistoryPrefix(key);
  AppendInvertedRevision(&out, rev);
  return out;
}

std::string HistoryKeyLimit(std::string_view key) {
  std::string out = HistoryLowerBound(key);
  out.push_back(kEscapeByte);
  out.push_back(kPastTerminator);
  return out;
}

std::optional<HistoryKeyParts> ParseHistoryKey(std::string_view history_key) {
  if (history_key.size() < 1 + 2 + kRevisionBytes) return std::nullopt;
  if (history_key[0] != kHistoryTag) return std::nullopt;
  std::string_view body =
      history_key.substr(1, history_key.size() - 1 - kRevisionBytes);
  HistoryKeyParts parts;
  parts.key.reserve(body.size());
  size_t i = 0;
  for (; i + 1 < body.size(); ++i) {
    char c = body[i];
    if (c != kEscapeByte) {
      parts.key.push_back(c);
      continue;
    }
    char next = body[i + 1];
    if (next == kTerminator) break;
    if (next != kEscapedZero) return std::nullopt;
    parts.key.push_back(kEscapeByte);
    ++i;
  }
  // The terminator must be the last two bytes before the revision.
  if (i + 2 != body.size()) return std::nullopt;
  parts.rev = DecodeInvertedRevision(history_key.data() + history_key.size() -
                                     kRevisionBytes);
  return parts;
}

std::string RevisionKey(Revision rev) {
  std::string out;
  out.reserve(1 + kRevisionBytes);
  out.push_back(kRevisionTag);
  AppendRevision(&out, rev);
  return out;
}

std::optional<Revision> ParseRevisionKey(std::string_view revision_key) {
  if (revision_key.size() != 1 + kRevisionBytes) return std::nullopt;
  if (revision_key[0] != kRevisionTag) return std::nullopt;
  return DecodeRevision(revision_key.data() + 1);
}

std::string LeaseKeyPrefix(int64_t lease) {
  std::string out;
  out.push_back(kLeaseKeyTag);
  AppendBigEndian64(&out, static_cast<uint64_t>(lease));
  return out;
}

std::string LeaseKeyKey(int64_t lease, std::string_view key) {
  std::string out = LeaseKeyPrefix(lease);
  out.append(key);
  return out;
}

std::string LeaseTableKey(int64_t lease) {
  std::string out;
  out.push_back(kLeaseTag);
  AppendBigEndian64(&out, static_cast<uint64_t>(lease));
  return out;
}

std::optional<int64_t> ParseLeaseTableKey(std::string_view lease_key) {
  if (lease_key.size() != 9 || lease_key[0] != kLeaseTag) return std::nullopt;
  return static_cast<int64_t>(DecodeBigEndian64(lease_key.data() + 1));
}

std::string MetaKey(std::string_view name) {
  std::string out;
  out.push_back(kMetaTag);
  out.append(name);
  return out;
}

void AppendRecord(std::string* out, const RecordMeta& meta,
                  std::string_view value) {
  if (meta.tombstone) {
    KEEL_ASSERT(value.empty());
    out->push_back(static_cast<char>(kRecordTombstone));
    AppendRevisionVarints(out, meta.mod);
    return;
  }
  KEEL_ASSERT(meta.version > 0);
  out->push_back(static_cast<char>(kRecordPut));
  AppendRevisionVarints(out, meta.mod);
  AppendVarint64(out, static_cast<uint64_t>(meta.create_revision));
  AppendVarint64(out, static_cast<uint64_t>(meta.version));
  AppendVarint64(out, static_cast<uint64_t>(meta.lease));
  out->append(value);
}

std::string EncodeRecord(const RecordMeta& meta, std::string_view value) {
  std::string out;
  out.reserve(value.size() + 24);
  AppendRecord(&out, meta, value);
  return out;
}

std::optional<DecodedRecord> DecodeRecord(std::string_view data) {
  if (data.empty()) return std::nullopt;
  uint8_t kind = static_cast<uint8_t>(data[0]);
  data.remove_prefix(1);
  DecodedRecord record;
  std::optional<Revision> mod = ConsumeRevisionVarints(&data);
  if (!mod) return std::nullopt;
  record.meta.mod = *mod;
  if (kind == kRecordTombstone) {
    if (!data.empty()) return std::nullopt;
    record.meta.tombstone = true;
    return record;
  }
  if (kind != kRecordPut) return std::nullopt;
  std::optional<uint64_t> create = ConsumeVarint64(&data);
  std::optional<uint64_t> version = create ? ConsumeVarint64(&data) : std::nullopt;
  std::optional<uint64_t> lease = version ? ConsumeVarint64(&data) : std::nullopt;
  if (!lease) return std::nullopt;
  record.meta.create_revision = static_cast<int64_t>(*create);
  record.meta.version = static_cast<int64_t>(*version);
  record.meta.lease = static_cast<int64_t>(*lease);
  record.value = data;
  return record;
}

std::string EncodeRevEntry(const RevEntry& entry) {
  std::string out;
  out.reserve(entry.key.size() + 12);
  out.push_back(static_cast<char>(entry.kind));
  AppendRevisionVarints(&out, entry.prev);
  out.append(entry.key);
  return out;
}

std::optional<RevEntry> DecodeRevEntry(std::string_view data) {
  if (data.empty()) return std::nullopt;
  RevEntry entry;
  uint8_t kind = static_cast<uint8_t>(data[0]);
  if (kind != static_cast<uint8_t>(ChangeKind::kPut) &&
      kind != static_cast<uint8_t>(ChangeKind::kDelete)) {
    return std::nullopt;
  }
  entry.kind = static_cast<ChangeKind>(kind);
  data.remove_prefix(1);
  std::optional<Revision> prev = ConsumeRevisionVarints(&data);
  if (!prev || data.empty()) return std::nullopt;
  entry.prev = *prev;
  entry.key = data;
  return entry;
}

}  // namespace keel::store
