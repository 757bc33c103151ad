// etcd's KeyValue and revision bytes; see kv_wire.h.
#include "store/kv_wire.h"

#include "store/key_codec.h"

namespace keel::store {
namespace {

// Protobuf field keys: (field number << 3) | wire type.
constexpr char kWireKeyTag = 0x0a;       // 1, length-delimited
constexpr char kWireCreateTag = 0x10;    // 2, varint
constexpr char kWireModTag = 0x18;       // 3, varint
constexpr char kWireVersionTag = 0x20;   // 4, varint
constexpr char kWireValueTag = 0x2a;     // 5, length-delimited
constexpr char kWireLeaseTag = 0x30;     // 6, varint

void AppendBytesField(std::string* out, char tag, const std::string& bytes) {
  if (bytes.empty()) return;
  out->push_back(tag);
  AppendVarint64(out, bytes.size());
  out->append(bytes);
}

void AppendIntField(std::string* out, char tag, int64_t v) {
  if (v == 0) return;
  out->push_back(tag);
  AppendVarint64(out, static_cast<uint64_t>(v));
}

}  // namespace

void AppendKeyValueWire(std::string* out, const KeyValue& kv) {
  AppendBytesField(out, kWireKeyTag, kv.key);
  AppendIntField(out, kWireCreateTag, kv.create_revision);
  AppendIntField(out, kWireModTag, kv.mod_revision);
  AppendIntField(out, kWireVersionTag, kv.version);
  AppendBytesField(out, kWireValueTag, kv.value);
  AppendIntField(out, kWireLeaseTag, kv.lease);
}

void AppendEtcdRevisionKey(std::string* out, Revision rev, bool tombstone) {
  AppendBigEndian64(out, static_cast<uint64_t>(rev.main));
  out->push_back('_');
  AppendBigEndian64(out, static_cast<uint64_t>(rev.sub));
  if (tombstone) out->push_back('t');
}

}  // namespace keel::store
