// Tests of keel's key space as an etcd database and back: random histories
// (puts, deletes, txns, leases, compactions finished or half done) exported
// to bbolt and imported into a fresh Mvcc read the same at every revision
// not compacted, with equal HashKV, leases, revision, compaction and
// applied entry; the exported key bucket hashes to keel's HashKV (etcd's
// layout, byte for byte); an etcd compaction scheduled but unfinished is
// finished by keel's; and the snapshot hash trailer and malformed
// databases are refused.
#include "runtime/random.h"

#include "runtime/crc32c.h"
#include "store/bbolt_reader.h"
#include "store/bbolt_writer.h"
#include "store/etcd_export.h"
#include "store/etcd_import.h"
#include "store/etcd_schema.h"
#include "store/etcd_snapshot.h"
#include "store/mvcc_snapshot.h"
#include "store/mvcc_test_util.h"
#include "store/string_file.h"

namespace keel::store {
namespace {

class EtcdSnapshotTest : public MvccTest {
 protected:
  StringFile Export(EtcdExportExtras extras = {}) {
    StringFile file;
    auto exporter = EtcdSnapshotExporter::Start(*mvcc_, file, std::move(extras));
    KEEL_ASSERT(exporter.ok());
    while (true) {
      absl::StatusOr<bool> done = (*exporter)->Step(7);
      KEEL_ASSERT(done.ok());
      if (*done) break;
    }
    exported_ = (*exporter)->summary();
    return file;
  }

  absl::StatusOr<std::unique_ptr<Mvcc>> Import(const StringFile& file) {
    auto reader = BboltReader::Open(file, file.data().size(), "snapshot.db");
    if (!reader.ok()) return reader.status();
    MvccOptions options = options_;
    options.path = "/imported-" + std::to_string(++imports_);
    auto restorer = MvccRestorer::Create(options);
    if (!restorer.ok()) return restorer.status();
    auto summary = ImportEtcdDatabase(**reader, [&](std::string_view k, std::string_view v) {
      return (*restorer)->AddRecord(k, v);
    });
    if (!summary.ok()) return summary.status();
    imported_ = *summary;
    return (*restorer)->Finish();
  }

  std::vector<KeyValue> All(Mvcc& mvcc, int64_t revision) {
    auto r = mvcc.Range(RangeRequest{.key = std::string(1, '\0'),
                                     .range_end = std::string(1, '\0'),
                                     .revision = revision});
    KEEL_ASSERT(r.ok());
    return r->kvs;
  }

  void ExpectSameKeySpace(Mvcc& imported) {
    ASSERT_EQ(imported.current_revision(), mvcc_->current_revision());
    ASSERT_EQ(imported.compact_revision(), mvcc_->compact_revision());
    ASSERT_EQ(imported.applied().index, mvcc_->applied().index);
    ASSERT_EQ(imported.applied().term, mvcc_->applied().term);
    absl::StatusOr<std::vector<LeaseRecord>> leases = mvcc_->Leases();
    ASSERT_TRUE(leases.ok());
    ASSERT_EQ(*imported.Leases(), *leases);
    for (const LeaseRecord& lease : *leases) {
      ASSERT_EQ(*imported.KeysOfLease(lease.id), *mvcc_->KeysOfLease(lease.id));
    }
    const int64_t first = std::max<int64_t>(mvcc_->compact_revision(), 1);
    for (int64_t rev = first; rev <= mvcc_->current_revision(); rev++) {
      ASSERT_EQ(All(imported, rev), All(*mvcc_, rev)) << "revision " << rev;
      if (rev > mvcc_->compact_revision()) {
        ASSERT_EQ(imported.HashKV(rev)->hash, mvcc_->HashKV(rev)->hash) << "revision " << rev;
      }
    }
    ASSERT_EQ(imported.Hash()->hash, mvcc_->Hash()->hash);
  }

  // A random history over a few keys: puts (some with leases), deletes of
  // single keys and ranges, txns, lease grants and revokes, compactions
  // (some left half done).
  void RandomHistory(uint64_t seed, int steps) {
    Random rng(seed);
    std::vector<int64_t> leases;
    for (int i = 0; i < steps; i++) {
      const std::string key = "k" + std::to_string(rng.Next() % 12);
      switch (rng.Next() % 10) {
        case 0:
          leases.push_back(100 + i);
          GrantLease(leases.back(), 30 + i);
          break;
        case 1:
          if (!leases.empty()) {
            const size_t at = rng.Next() % leases.size();
            ASSERT_TRUE(mvcc_->RevokeLease(NextEntry(), leases[at]).ok());
            leases.erase(leases.begin() + static_cast<ptrdiff_t>(at));
          }
          break;
        case 2:
          Delete(key, rng.Next() % 2 ? "" : "k5");
          break;
        case 3: {
          TxnRequest txn;
          txn.success = {PutOp(key + "a", "t" + std::to_string(i)), PutOp(key + "b", "u"),
                         DeleteOp("k1")};
          ASSERT_TRUE(Txn(txn).ok());
          break;
        }
        case 4:
          if (rng.Next() % 3 == 0 && mvcc_->current_revision() > mvcc_->compact_revision() &&
              mvcc_->current_revision() > 2) {
            const uint64_t span =
                static_cast<uint64_t>(mvcc_->current_revision() - mvcc_->compact_revision());
            const int64_t at = mvcc_->compact_revision() + 1 + static_cast<int64_t>(rng.Next() % span);
            ASSERT_TRUE(mvcc_->Compact(NextEntry(), at).ok());
            if (rng.Next() % 2) CompactFully();
          }
          break;
        default: {
          const int64_t lease = !leases.empty() && rng.Next() % 3 == 0 ? leases[rng.Next() % leases.size()] : 0;
          Put(key, std::string(rng.Next() % 40, static_cast<char>('a' + i % 26)), lease);
        }
      }
    }
  }

  EtcdExportSummary exported_;
  EtcdImportSummary imported_;
  int imports_ = 0;
};

TEST_F(EtcdSnapshotTest, RandomHistoriesRoundTrip) {
  for (uint64_t seed = 1; seed <= 12; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    options_.path = "/mvcc-" + std::to_string(seed);
    Open();
    index_ = 0;
    RandomHistory(seed, 150);
    const StringFile file = Export();
    auto imported = Import(file);
    ASSERT_TRUE(imported.ok()) << imported.status();
    ExpectSameKeySpace(**imported);
    EXPECT_EQ(imported_.revisions, exported_.revisions);
    EXPECT_EQ(imported_.leases, exported_.leases);
    EXPECT_TRUE(imported_.term_recorded);
  }
}

// etcd's HashKV over an uncompacted key bucket is the CRC of the whole
// bucket (past a compaction it leaves out versions its index would not
// keep at the hash revision, which the round trip compares instead).
TEST_F(EtcdSnapshotTest, UncompactedKeyBucketHashesAsKeelsHashKV) {
  for (int i = 0; i < 300; i++) {
    if (i % 7 == 3) {
      Delete("k" + std::to_string(i % 13));
    } else {
      Put("k" + std::to_string(i % 13), std::string(i % 17, 'v'));
    }
  }
  const StringFile file = Export();
  auto reader = BboltReader::Open(file, file.data().size(), "snapshot.db");
  ASSERT_TRUE(reader.ok());
  auto keys = (*reader)->OpenBucket((*reader)->root(), kEtcdKeyBucket);
  ASSERT_TRUE(keys.ok() && keys->has_value());
  uint32_t crc = crc32c::Value("key", 3);
  ASSERT_TRUE((*reader)->ForEach(**keys, [&](const BboltItem& item) {
    crc = crc32c::Extend(crc, item.key.data(), item.key.size());
    crc = crc32c::Extend(crc, item.value.data(), item.value.size());
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(crc, mvcc_->HashKV(0)->hash);
}

TEST_F(EtcdSnapshotTest, ExportedDatabasePassesBboltsCheckAndHasEtcdsBuckets) {
  RandomHistory(5, 100);
  EtcdExportExtras extras;
  extras.members = {{.id = 0x8e9e05c52164694d, .name = "infra1",
                     .peer_urls = {"http://127.0.0.1:2380"},
                     .client_urls = {"http://127.0.0.1:2379"}}};
  extras.removed_members = {0x1234};
  const StringFile file = Export(extras);
  auto reader = BboltReader::Open(file, file.data().size(), "snapshot.db");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*(*reader)->Check(), std::vector<std::string>());
  std::vector<std::string> buckets;
  ASSERT_TRUE((*reader)->ForEach((*reader)->root(), [&](const BboltItem& item) {
    buckets.emplace_back(item.key);
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(buckets, (std::vector<std::string>{"alarm", "auth", "authRoles", "authUsers",
                                               "cluster", "key", "lease", "members",
                                               "members_removed", "meta"}));
  auto members = (*reader)->OpenBucket((*reader)->root(), kEtcdMembersBucket);
  auto member = (*reader)->Get(**members, "8e9e05c52164694d");
  ASSERT_TRUE(member.ok() && member->has_value());
  EXPECT_EQ(**member,
            "{\"id\":10276657743932975437,\"peerURLs\":[\"http://127.0.0.1:2380\"],"
            "\"name\":\"infra1\",\"clientURLs\":[\"http://127.0.0.1:2379\"]}");
  auto meta = (*reader)->OpenBucket((*reader)->root(), kEtcdMetaBucket);
  auto index = (*reader)->Get(**meta, kEtcdConsistentIndexKey);
  ASSERT_TRUE(index.ok() && index->has_value());
  EXPECT_EQ(DecodeEtcdUint64(**index), mvcc_->applied().index);
  auto status = ReadEtcdDatabaseStatus(**reader);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->total_size, file.data().size());
  EXPECT_GT(status->total_keys, exported_.revisions);
}

TEST_F(EtcdSnapshotTest, EmptyKeySpaceRoundTrips) {
  const StringFile file = Export();
  auto imported = Import(file);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ((*imported)->current_revision(), 1);
  EXPECT_EQ((*imported)->compact_revision(), -1);
  // An empty applied index becomes 1: a restored log starts at an entry.
  EXPECT_EQ(imported_.applied.index, 1u);
}

// etcd writes scheduledCompactRev, then removes revisions in batches, then
// finishedCompactRev. A snapshot taken in between holds revisions the
// compaction will remove; keel's compaction finishes the job.
TEST_F(EtcdSnapshotTest, UnfinishedEtcdCompactionIsFinishedByKeel) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("b", "1");  // 4
  Delete("b");    // 5
  Put("a", "3");  // 6
  StringFile file = Export();
  // Make the file say: compaction at 5 scheduled, none finished.
  StringFile edited;
  {
    auto reader = BboltReader::Open(file, file.data().size(), "in");
    ASSERT_TRUE(reader.ok());
    BboltWriter writer(edited);
    ASSERT_TRUE((*reader)->ForEach((*reader)->root(), [&](const BboltItem& bucket) {
      EXPECT_TRUE(writer.BeginBucket(bucket.key).ok());
      auto b = DecodeBboltBucket(bucket.value);
      EXPECT_TRUE((*reader)->ForEach(*b, [&](const BboltItem& item) {
        if (bucket.key == kEtcdMetaBucket && item.key == kEtcdTermKey) {
          EXPECT_TRUE(writer.Put(kEtcdScheduledCompactKey,
                                 EtcdRevisionKey(Revision{5, 0}, false)).ok());
        }
        return writer.Put(item.key, item.value);
      }).ok());
      return writer.EndBucket();
    }).ok());
    ASSERT_TRUE(writer.Finish().ok());
  }
  auto imported = Import(edited);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ((*imported)->compact_revision(), 5);
  EXPECT_TRUE((*imported)->compaction_pending());
  for (int i = 0; i < 10 && (*imported)->compaction_pending(); i++) {
    ASSERT_TRUE((*imported)->CompactStep().ok());
  }
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 5).ok());
  CompactFully();
  EXPECT_EQ(All(**imported, 5), All(*mvcc_, 5));
  EXPECT_EQ((*imported)->HashKV(6)->hash, mvcc_->HashKV(6)->hash);
}

TEST_F(EtcdSnapshotTest, MalformedKeyBucketIsDataLoss) {
  StringFile file;
  BboltWriter writer(file);
  ASSERT_TRUE(writer.BeginBucket(kEtcdKeyBucket).ok());
  ASSERT_TRUE(writer.Put("not-a-revision-key", "x").ok());
  ASSERT_TRUE(writer.EndBucket().ok());
  ASSERT_TRUE(writer.BeginBucket(kEtcdMetaBucket).ok());
  ASSERT_TRUE(writer.EndBucket().ok());
  ASSERT_TRUE(writer.Finish().ok());
  auto imported = Import(file);
  EXPECT_TRUE(absl::IsDataLoss(imported.status())) << imported.status();
}

TEST_F(EtcdSnapshotTest, DatabaseWithoutKeyBucketIsNotEtcds) {
  StringFile file;
  BboltWriter writer(file);
  ASSERT_TRUE(writer.BeginBucket("other").ok());
  ASSERT_TRUE(writer.EndBucket().ok());
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(Import(file).status()));
}

TEST_F(EtcdSnapshotTest, HashTrailerIsCheckedUnlessSkipped) {
  Put("a", "1");
  StringFile file = Export();
  const uint64_t db_bytes = file.data().size();
  EXPECT_TRUE(absl::IsFailedPrecondition(
      EtcdSnapshotDatabaseBytes(file, db_bytes, false, "s.db").status()));
  EXPECT_EQ(*EtcdSnapshotDatabaseBytes(file, db_bytes, true, "s.db"), db_bytes);
  ASSERT_TRUE(AppendEtcdSnapshotHash(file, db_bytes).ok());
  ASSERT_TRUE(HasEtcdSnapshotHash(file.data().size()));
  EXPECT_EQ(*EtcdSnapshotDatabaseBytes(file, file.data().size(), false, "s.db"), db_bytes);
  file.data()[db_bytes - 1] ^= 1;
  auto damaged = EtcdSnapshotDatabaseBytes(file, file.data().size(), false, "s.db");
  EXPECT_TRUE(absl::IsDataLoss(damaged.status())) << damaged.status();
  EXPECT_EQ(*EtcdSnapshotDatabaseBytes(file, file.data().size(), true, "s.db"), db_bytes);
}

TEST(EtcdSchemaTest, LeaseAndRevisionEncodingsRoundTrip) {
  const LeaseRecord lease{.id = 0x694d77aa9e3b1c05, .ttl_seconds = 60, .remaining_ttl_seconds = 0};
  EXPECT_EQ(DecodeEtcdLease(EncodeEtcdLease(lease)), lease);
  EXPECT_EQ(EncodeEtcdLease(LeaseRecord{.id = 1, .ttl_seconds = 2, .remaining_ttl_seconds = 3}),
            std::string("\x08\x01\x10\x02\x18\x03", 6));
  EXPECT_FALSE(DecodeEtcdLease(std::string("\x08", 1)).has_value());
  const std::string key = EtcdRevisionKey(Revision{5, 2}, true);
  ASSERT_EQ(key.size(), 18u);
  auto parts = ParseEtcdRevisionKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->rev, (Revision{5, 2}));
  EXPECT_TRUE(parts->tombstone);
  EXPECT_FALSE(ParseEtcdRevisionKey(key.substr(0, 16)).has_value());
  EXPECT_EQ(EncodeEtcdMemberJson({.id = 1, .name = "a<b"}), "{\"id\":1,\"peerURLs\":null,\"name\":\"a\\u003cb\"}");
}

}  // namespace
}  // namespace keel::store
