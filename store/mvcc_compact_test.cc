// Compaction and hashes: etcd's errors for Compact, physical removal in
// bounded steps that survive reopening, reads at and above the compacted
// revision unchanged at every step, and HashKV/Hash independent of how far
// compaction has got (mvcc kvstore_compaction.go, kvstore.go HashByRev).
#include <string>

#include "gtest/gtest.h"
#include "runtime/crc32c.h"
#include "store/key_codec.h"
#include "store/mvcc_snapshot.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

const std::string kAll("\0", 1);

class MvccCompactTest : public MvccTest {
 protected:
  // Counts the stored records of one table (by tag).
  int CountRecords(char tag) {
    std::unique_ptr<DbIterator> it = mvcc_->db()->NewIterator();
    int n = 0;
    for (it->Seek(std::string(1, tag)); it->Valid() && it->key()[0] == tag;
         it->Next()) {
      ++n;
    }
    return n;
  }
  // A history with overwrites, deletes and recreations: revisions 2..13.
  void WriteHistory() {
    Put("a", "1");   // 2
    Put("b", "1");   // 3
    Put("a", "2");   // 4
    Delete("b");     // 5
    Put("c", "1");   // 6
    Put("a", "3");   // 7
    Put("b", "2");   // 8
    Delete("c");     // 9
    Put("d", "1");   // 10
    Put("a", "4");   // 11
    Delete("d");     // 12
    Put("d", "2");   // 13
  }
  // Everything readable at revisions from..to, as text.
  std::string Snapshot(int64_t from, int64_t to) {
    std::string out;
    for (int64_t rev = from; rev <= to; ++rev) {
      for (const KeyValue& kv :
           Range(RangeRequest{.key = kAll, .range_end = kAll, .revision = rev})
               .kvs) {
        out += std::to_string(rev) + ":" + kv.key + "=" + kv.value + "@" +
               std::to_string(kv.mod_revision) + "/" +
               std::to_string(kv.version) + " ";
      }
    }
    return out;
  }
};

TEST_F(MvccCompactTest, CompactingAtOrBelowTheCompactedRevisionIsCompacted) {
  WriteHistory();
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 6).ok());
  EXPECT_TRUE(IsCompacted(mvcc_->Compact(NextEntry(), 6).status()));
  EXPECT_TRUE(IsCompacted(mvcc_->Compact(NextEntry(), 3).status()));
  EXPECT_TRUE(IsFutureRev(mvcc_->Compact(NextEntry(), 14).status()));
  absl::StatusOr<int64_t> header = mvcc_->Compact(NextEntry(), 13);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, 13);
  EXPECT_EQ(mvcc_->compact_revision(), 13);
}

TEST_F(MvccCompactTest, CompactionRemovesExactlyTheSupersededVersions) {
  WriteHistory();
  const std::string readable = Snapshot(9, 13);
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 9).ok());
  CompactFully();
  EXPECT_EQ(Snapshot(9, 13), readable);
  // Alive at 9: a@7 (superseded at 11, so in history) and b@8. Left in
  // history: a@7, and d@10 with its tombstone at 12.
  EXPECT_EQ(CountRecords(kHistoryTag), 3);  // a@7, d@10, d tombstone@12
  EXPECT_EQ(CountRecords(kRevisionTag), 6);  // 7, 8, 10, 11, 12, 13
}

TEST_F(MvccCompactTest, CompactionStepsAreBoundedAndResumeAfterReopen) {
  options_.compaction_batch_limit = 2;
  Reopen();
  WriteHistory();
  const std::string readable = Snapshot(11, 13);
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 11).ok());
  absl::StatusOr<bool> done = mvcc_->CompactStep();
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  EXPECT_EQ(Snapshot(11, 13), readable);
  ASSERT_TRUE(mvcc_->SyncBarrier().ok());
  Reopen();
  EXPECT_TRUE(mvcc_->compaction_pending());
  EXPECT_EQ(mvcc_->compact_revision(), 11);
  int steps = 0;
  while (mvcc_->compaction_pending()) {
    ASSERT_TRUE(mvcc_->CompactStep().ok());
    EXPECT_EQ(Snapshot(11, 13), readable);
    ++steps;
  }
  EXPECT_EQ(steps, 4);  // the 8 changes up to 11 left after the first step
  EXPECT_EQ(CountRecords(kRevisionTag), 5);  // b@8, d@10, a@11, 12, 13
}

TEST_F(MvccCompactTest, HashKVIsTheSameWhateverTheCompactionProgress) {
  options_.compaction_batch_limit = 3;
  Reopen();
  WriteHistory();
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 10).ok());
  absl::StatusOr<KvHash> before = mvcc_->HashKV(12);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->compact_revision, 10);
  EXPECT_EQ(before->revision, 13);
  while (mvcc_->compaction_pending()) {
    ASSERT_TRUE(mvcc_->CompactStep().ok());
    absl::StatusOr<KvHash> during = mvcc_->HashKV(12);
    ASSERT_TRUE(during.ok());
    EXPECT_EQ(during->hash, before->hash);
  }
  EXPECT_NE(mvcc_->HashKV(13)->hash, before->hash);
  EXPECT_TRUE(IsCompacted(mvcc_->HashKV(10).status()));
  EXPECT_TRUE(IsFutureRev(mvcc_->HashKV(14).status()));
}

TEST_F(MvccCompactTest, HashKVMatchesEtcdForAKnownHistory) {
  // etcd 3.4 hashes "key", then per revision the bolt key and the
  // marshaled KeyValue. Built by hand here for: put foo=bar at 2, delete
  // foo at 3.
  Put("foo", "bar");
  Delete("foo");
  std::string bytes = "key";
  bytes += std::string("\0\0\0\0\0\0\0\x02_\0\0\0\0\0\0\0\0", 17);
  bytes += std::string("\x0a\x03" "foo" "\x10\x02\x18\x02\x20\x01\x2a\x03" "bar",
                       16);
  bytes += std::string("\0\0\0\0\0\0\0\x03_\0\0\0\0\0\0\0\0t", 18);
  bytes += std::string("\x0a\x03" "foo", 5);
  absl::StatusOr<KvHash> hash = mvcc_->HashKV(0);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->hash, crc32c::Value(bytes));
  EXPECT_EQ(hash->compact_revision, -1);
}

TEST_F(MvccCompactTest, HashCoversTheCurrentKeySpaceOnly) {
  WriteHistory();
  absl::StatusOr<KvHash> before = mvcc_->Hash();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 13).ok());
  CompactFully();
  EXPECT_EQ(mvcc_->Hash()->hash, before->hash);
  Put("a", "4");
  EXPECT_NE(mvcc_->Hash()->hash, before->hash);
}

}  // namespace
}  // namespace keel::store
