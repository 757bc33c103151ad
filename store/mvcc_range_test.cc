// Range with etcd's semantics: intervals, limit/more/count, count_only,
// keys_only, sorting, the min/max filters, and reads at past, future and
// compacted revisions (etcdserver/apply.go Range, mvcc rangeKeys).
#include <string>

#include "gtest/gtest.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

const std::string kFromKey("\0", 1);

class MvccRangeTest : public MvccTest {
 protected:
  // a..e, written in the order c, a, e, b, d, with "b" put twice.
  void PutFiveKeys() {
    Put("c", "3");   // 2
    Put("a", "5");   // 3
    Put("e", "1");   // 4
    Put("b", "4");   // 5
    Put("d", "2");   // 6
    Put("b", "0");   // 7
  }
  std::vector<std::string> KeysOf(const RangeResult& r) {
    std::vector<std::string> keys;
    for (const KeyValue& kv : r.kvs) keys.push_back(kv.key);
    return keys;
  }
};

TEST_F(MvccRangeTest, RangeEndIsExclusive) {
  PutFiveKeys();
  EXPECT_EQ(Keys("b", "d"), (std::vector<std::string>{"b", "c"}));
}

TEST_F(MvccRangeTest, ZeroRangeEndReadsFromTheKeyOn) {
  PutFiveKeys();
  EXPECT_EQ(Keys("c", kFromKey), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(Keys(kFromKey, kFromKey).size(), 5u);
}

TEST_F(MvccRangeTest, PrefixRangeUsesKeyPlusOne) {
  Put("foo", "1");
  Put("foo/a", "2");
  Put("foo/b", "3");
  Put("fop", "4");
  EXPECT_EQ(Keys("foo/", "foo0"), (std::vector<std::string>{"foo/a", "foo/b"}));
}

TEST_F(MvccRangeTest, RangeEndBeforeKeyIsEmpty) {
  PutFiveKeys();
  EXPECT_TRUE(Keys("d", "b").empty());
}

TEST_F(MvccRangeTest, LimitSetsMoreAndCountCoversTheWholeRange) {
  PutFiveKeys();
  RangeResult r = Range(RangeRequest{.key = "a", .range_end = "z", .limit = 2});
  EXPECT_EQ(KeysOf(r), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.count, 5);
  RangeResult exact =
      Range(RangeRequest{.key = "a", .range_end = "z", .limit = 5});
  EXPECT_FALSE(exact.more);
}

TEST_F(MvccRangeTest, CountOnlyReturnsNoPairs) {
  PutFiveKeys();
  RangeResult r = Range(RangeRequest{.key = "a", .range_end = "z", .limit = 1,
                                     .count_only = true});
  EXPECT_TRUE(r.kvs.empty());
  EXPECT_EQ(r.count, 5);
  EXPECT_FALSE(r.more);
}

TEST_F(MvccRangeTest, KeysOnlyDropsValues) {
  PutFiveKeys();
  RangeResult r =
      Range(RangeRequest{.key = "a", .range_end = "z", .keys_only = true});
  ASSERT_EQ(r.kvs.size(), 5u);
  for (const KeyValue& kv : r.kvs) {
    EXPECT_TRUE(kv.value.empty());
    EXPECT_GT(kv.mod_revision, 0);
  }
}

TEST_F(MvccRangeTest, SortsByEachTargetBothWays) {
  PutFiveKeys();
  auto sorted = [&](SortTarget target, SortOrder order) {
    return KeysOf(Range(RangeRequest{.key = "a", .range_end = "z",
                                     .sort_order = order,
                                     .sort_target = target}));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(sorted(SortTarget::kKey, SortOrder::kDescend),
            (V{"e", "d", "c", "b", "a"}));
  EXPECT_EQ(sorted(SortTarget::kValue, SortOrder::kAscend),
            (V{"b", "e", "d", "c", "a"}));
  EXPECT_EQ(sorted(SortTarget::kCreate, SortOrder::kAscend),
            (V{"c", "a", "e", "b", "d"}));
  EXPECT_EQ(sorted(SortTarget::kMod, SortOrder::kDescend),
            (V{"b", "d", "e", "a", "c"}));
  // Ties (version 1) keep key order; "b" has version 2.
  EXPECT_EQ(sorted(SortTarget::kVersion, SortOrder::kDescend),
            (V{"b", "a", "c", "d", "e"}));
}

TEST_F(MvccRangeTest, ATargetWithoutAnOrderSortsAscending) {
  PutFiveKeys();
  RangeResult r = Range(RangeRequest{.key = "a", .range_end = "z",
                                     .sort_target = SortTarget::kValue});
  EXPECT_EQ(KeysOf(r), (std::vector<std::string>{"b", "e", "d", "c", "a"}));
}

TEST_F(MvccRangeTest, SortedLimitTakesTheFirstAfterSorting) {
  PutFiveKeys();
  RangeResult r = Range(RangeRequest{.key = "a", .range_end = "z", .limit = 2,
                                     .sort_order = SortOrder::kDescend,
                                     .sort_target = SortTarget::kMod});
  EXPECT_EQ(KeysOf(r), (std::vector<std::string>{"b", "d"}));
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.count, 5);
}

TEST_F(MvccRangeTest, KeysOnlyStillSortsByValue) {
  PutFiveKeys();
  RangeResult r = Range(RangeRequest{.key = "a", .range_end = "z",
                                     .sort_order = SortOrder::kAscend,
                                     .sort_target = SortTarget::kValue,
                                     .keys_only = true});
  EXPECT_EQ(KeysOf(r), (std::vector<std::string>{"b", "e", "d", "c", "a"}));
  EXPECT_TRUE(r.kvs[0].value.empty());
}

TEST_F(MvccRangeTest, FiltersPruneButCountDoesNot) {
  PutFiveKeys();
  RangeResult r = Range(RangeRequest{.key = "a", .range_end = "z",
                                     .min_mod_revision = 4,
                                     .max_mod_revision = 6});
  EXPECT_EQ(KeysOf(r), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(r.count, 5);
  RangeResult created = Range(RangeRequest{.key = "a", .range_end = "z",
                                           .limit = 1,
                                           .min_create_revision = 3,
                                           .max_create_revision = 5});
  EXPECT_EQ(KeysOf(created), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(created.more);
}

TEST_F(MvccRangeTest, PastRevisionsSeeOldValuesAndDeletedKeys) {
  PutFiveKeys();
  Delete("c");  // 8
  Put("c", "new");  // 9
  EXPECT_EQ(Get("b", 5).kvs.at(0).value, "4");
  EXPECT_EQ(Get("b", 6).kvs.at(0).value, "4");
  EXPECT_EQ(Get("b", 7).kvs.at(0).value, "0");
  EXPECT_EQ(Get("c", 7).kvs.at(0).create_revision, 2);
  EXPECT_EQ(Get("c", 8).count, 0);
  EXPECT_EQ(Get("c", 9).kvs.at(0).create_revision, 9);
  EXPECT_EQ(Keys("a", "z", 3), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(Keys("a", "z", 8), (std::vector<std::string>{"a", "b", "d", "e"}));
  EXPECT_EQ(Keys("b", "d", 1), std::vector<std::string>{});
  RangeResult past = Range(RangeRequest{.key = "a", .range_end = "z",
                                        .limit = 1, .revision = 5});
  EXPECT_EQ(past.count, 4);
  EXPECT_TRUE(past.more);
}

TEST_F(MvccRangeTest, HeaderRevisionIsTheCurrentOneEvenForPastReads) {
  PutFiveKeys();
  EXPECT_EQ(Get("a", 3).revision, 7);
}

TEST_F(MvccRangeTest, FutureRevisionIsRefused) {
  PutFiveKeys();
  absl::StatusOr<RangeResult> r =
      mvcc_->Range(RangeRequest{.key = "a", .revision = 8});
  EXPECT_TRUE(IsFutureRev(r.status())) << r.status();
  EXPECT_EQ(r.status().message(),
            "mvcc: required revision is a future revision");
}

TEST_F(MvccRangeTest, CompactedRevisionIsRefusedButTheCompactionPointIsRead) {
  PutFiveKeys();
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 5).ok());
  CompactFully();
  absl::StatusOr<RangeResult> r =
      mvcc_->Range(RangeRequest{.key = "a", .revision = 4});
  EXPECT_TRUE(IsCompacted(r.status())) << r.status();
  EXPECT_EQ(r.status().message(), "mvcc: required revision has been compacted");
  EXPECT_EQ(Keys("a", "z", 5), (std::vector<std::string>{"a", "b", "c", "e"}));
  EXPECT_EQ(Get("b", 5).kvs.at(0).value, "4");
  EXPECT_EQ(Get("b", 6).kvs.at(0).value, "4");
}

}  // namespace
}  // namespace keel::store
