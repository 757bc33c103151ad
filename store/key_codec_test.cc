// The table encodings: history keys keep user-key order with any bytes and
// parse back, records and revision entries round-trip, and keel's etcd
// KeyValue bytes equal libprotobuf's for mvccpb.KeyValue.
#include "store/key_codec.h"

#include <string>

#include "gtest/gtest.h"
#include "proto/mvcc.pb.h"
#include "rapidcheck/gtest.h"
#include "store/kv_wire.h"

namespace keel::store {
namespace {

RC_GTEST_PROP(KeyCodec, HistoryKeysSortByKeyThenNewestFirst,
              (std::string a, std::string b, int64_t ra, int64_t rb)) {
  RC_PRE(!a.empty() && !b.empty());
  ra = ra < 0 ? -(ra + 1) : ra;
  rb = rb < 0 ? -(rb + 1) : rb;
  std::string ka = HistoryKey(a, Revision{ra, 0});
  std::string kb = HistoryKey(b, Revision{rb, 0});
  if (a != b) {
    RC_ASSERT((ka < kb) == (a < b));
    // A key's whole history lies between its bounds.
    RC_ASSERT((ka < HistoryLowerBound(b)) == (a < b));
    RC_ASSERT((ka < HistoryKeyLimit(b)) == (a < b));
  } else {
    RC_ASSERT((ka < kb) == (ra > rb));
    RC_ASSERT(HistoryLowerBound(a) < ka);
    RC_ASSERT(ka < HistoryKeyLimit(a));
  }
  std::optional<HistoryKeyParts> parts = ParseHistoryKey(ka);
  RC_ASSERT(parts.has_value());
  RC_ASSERT(parts->key == a);
  RC_ASSERT(parts->rev == (Revision{ra, 0}));
}

TEST(KeyCodec, RecordsRoundTrip) {
  RecordMeta meta{.mod = {7, 3}, .create_revision = 5, .version = 2,
                  .lease = 1LL << 62};
  const std::string encoded = EncodeRecord(meta, "value");
  std::optional<DecodedRecord> put = DecodeRecord(encoded);
  ASSERT_TRUE(put.has_value());
  EXPECT_EQ(put->meta.mod, (Revision{7, 3}));
  EXPECT_EQ(put->meta.lease, 1LL << 62);
  EXPECT_EQ(put->value, "value");
  RecordMeta tomb{.mod = {9, 0}, .tombstone = true};
  const std::string tomb_encoded = EncodeRecord(tomb, "");
  std::optional<DecodedRecord> dead = DecodeRecord(tomb_encoded);
  ASSERT_TRUE(dead.has_value());
  EXPECT_TRUE(dead->meta.tombstone);
  EXPECT_FALSE(DecodeRecord("\x03").has_value());
  EXPECT_FALSE(DecodeRecord(std::string("\x01\x80", 2)).has_value());
}

TEST(KeyCodec, RevisionEntriesRoundTrip) {
  std::string data = EncodeRevEntry(
      RevEntry{.kind = ChangeKind::kDelete, .prev = {4, 1},
                            .key = std::string_view("k\0y", 3)});
  std::optional<RevEntry> entry = DecodeRevEntry(data);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->kind, ChangeKind::kDelete);
  EXPECT_EQ(entry->prev, (Revision{4, 1}));
  EXPECT_EQ(entry->key, std::string_view("k\0y", 3));
  EXPECT_EQ(ParseRevisionKey(RevisionKey({300, 2})), (Revision{300, 2}));
  EXPECT_LT(RevisionKey({255, 9}), RevisionKey({256, 0}));
}

RC_GTEST_PROP(KeyCodec, KeyValueBytesMatchProtobuf,
              (std::string key, std::string value, int64_t create, int64_t mod,
               int64_t version, int64_t lease)) {
  KeyValue kv{key, create, mod, version, value, lease};
  std::string ours;
  AppendKeyValueWire(&ours, kv);
  mvccpb::KeyValue proto;
  proto.set_key(key);
  proto.set_create_revision(create);
  proto.set_mod_revision(mod);
  proto.set_version(version);
  proto.set_value(value);
  proto.set_lease(lease);
  std::string theirs;
  RC_ASSERT(proto.SerializeToString(&theirs));
  RC_ASSERT(ours == theirs);
}

}  // namespace
}  // namespace keel::store
