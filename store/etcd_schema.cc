// etcd's key and value encodings; see etcd_schema.h.
#include "store/etcd_schema.h"

#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "proto/mvcc.pb.h"
#include "store/key_codec.h"
#include "store/kv_wire.h"

namespace keel::store {

std::string EtcdRevisionKey(Revision rev, bool tombstone) {
  std::string out;
  AppendEtcdRevisionKey(&out, rev, tombstone);
  return out;
}

std::optional<EtcdRevisionKeyParts> ParseEtcdRevisionKey(std::string_view key) {
  const bool tombstone = key.size() == kEtcdRevisionKeyBytes + 1;
  if (key.size() != kEtcdRevisionKeyBytes && !tombstone) return std::nullopt;
  if (key[8] != '_' || (tombstone && key.back() != 't')) return std::nullopt;
  const uint64_t main = DecodeBigEndian64(key.data());
  const uint64_t sub = DecodeBigEndian64(key.data() + 9);
  if (main > uint64_t{INT64_MAX} || sub > uint64_t{INT64_MAX}) return std::nullopt;
  return EtcdRevisionKeyParts{
      .rev = Revision{static_cast<int64_t>(main), static_cast<int64_t>(sub)},
      .tombstone = tombstone};
}

std::string EncodeEtcdKeyValue(const KeyValue& kv) {
  std::string out;
  AppendKeyValueWire(&out, kv);
  return out;
}

std::optional<KeyValue> DecodeEtcdKeyValue(std::string_view data) {
  mvccpb::KeyValue proto;
  if (!proto.ParseFromArray(data.data(), static_cast<int>(data.size()))) return std::nullopt;
  return KeyValue{.key = proto.key(),
                  .create_revision = proto.create_revision(),
                  .mod_revision = proto.mod_revision(),
                  .version = proto.version(),
                  .value = proto.value(),
                  .lease = proto.lease()};
}

std::string EncodeEtcdUint64(uint64_t v) {
  std::string out;
  AppendBigEndian64(&out, v);
  return out;
}

std::optional<uint64_t> DecodeEtcdUint64(std::string_view data) {
  if (data.size() != 8) return std::nullopt;
  return DecodeBigEndian64(data.data());
}

std::string EncodeEtcdLease(const LeaseRecord& lease) {
  // Fields 1, 2, 3, all int64 varints; zero values are left out.
  std::string out;
  const int64_t fields[] = {lease.id, lease.ttl_seconds, lease.remaining_ttl_seconds};
  for (int i = 0; i < 3; ++i) {
    if (fields[i] == 0) continue;
    out.push_back(static_cast<char>((i + 1) << 3));
    AppendVarint64(&out, static_cast<uint64_t>(fields[i]));
  }
  return out;
}

std::optional<LeaseRecord> DecodeEtcdLease(std::string_view data) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(data.data()),
                                            static_cast<int>(data.size()));
  LeaseRecord lease;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    if (field >= 1 && field <= 3 &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return std::nullopt;
      int64_t* targets[] = {&lease.id, &lease.ttl_seconds, &lease.remaining_ttl_seconds};
      *targets[field - 1] = static_cast<int64_t>(v);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (!in.ConsumedEntireMessage() || in.CurrentPosition() != static_cast<int>(data.size())) {
    return std::nullopt;
  }
  return lease;
}

std::string EtcdMemberKey(uint64_t id) { return absl::StrFormat("%x", id); }

namespace {

// A JSON string as Go's encoding/json writes it: quotes, backslashes and
// control characters escaped, and <, > and & as \u003c, \u003e, \u0026.
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (u < 0x20 || c == '<' || c == '>' || c == '&') {
      out->append(absl::StrFormat("\\u%04x", u));
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void AppendJsonStrings(std::string* out, const std::vector<std::string>& list) {
  out->push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, list[i]);
  }
  out->push_back(']');
}

}  // namespace

std::string EncodeEtcdMemberJson(const EtcdMember& member) {
  std::string out = absl::StrFormat("{\"id\":%u,\"peerURLs\":", member.id);
  if (member.peer_urls.empty()) {
    out += "null";  // a nil slice
  } else {
    AppendJsonStrings(&out, member.peer_urls);
  }
  if (member.is_learner) out += ",\"isLearner\":true";
  if (!member.name.empty()) {
    out += ",\"name\":";
    AppendJsonString(&out, member.name);
  }
  if (!member.client_urls.empty()) {
    out += ",\"clientURLs\":";
    AppendJsonStrings(&out, member.client_urls);
  }
  out.push_back('}');
  return out;
}

}  // namespace keel::store
