// Put, DeleteRange and single-key reads with etcd's semantics: revisions,
// versions, generations, prev_kv, the ignore_* flags and their errors.
// Expected values follow etcd 3.4's kvstore_test.go and apply.go.
#include "store/mvcc.h"

#include "gtest/gtest.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

TEST_F(MvccTest, EmptyStoreIsAtRevisionOneAndNeverCompacted) {
  EXPECT_EQ(mvcc_->current_revision(), 1);
  EXPECT_EQ(mvcc_->compact_revision(), -1);
  RangeResult r = Get("foo");
  EXPECT_EQ(r.revision, 1);
  EXPECT_EQ(r.count, 0);
  EXPECT_TRUE(r.kvs.empty());
}

TEST_F(MvccTest, FirstPutCreatesKeyAtRevisionTwo) {
  PutResult put = Put("foo", "bar");
  EXPECT_EQ(put.revision, 2);
  EXPECT_FALSE(put.prev_kv.has_value());
  RangeResult r = Get("foo");
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0], (KeyValue{.key = "foo", .create_revision = 2,
                                .mod_revision = 2, .version = 1,
                                .value = "bar", .lease = 0}));
  EXPECT_EQ(r.count, 1);
  EXPECT_EQ(r.revision, 2);
}

TEST_F(MvccTest, OverwriteKeepsCreateRevisionAndBumpsVersion) {
  Put("foo", "a");
  Put("foo", "b");
  Put("foo", "c");
  RangeResult r = Get("foo");
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].create_revision, 2);
  EXPECT_EQ(r.kvs[0].mod_revision, 4);
  EXPECT_EQ(r.kvs[0].version, 3);
  EXPECT_EQ(r.kvs[0].value, "c");
}

TEST_F(MvccTest, PutWithPrevKvReturnsThePreviousPair) {
  Put("foo", "old");
  absl::StatusOr<PutResult> put =
      TryPut(PutRequest{.key = "foo", .value = "new", .prev_kv = true});
  ASSERT_TRUE(put.ok());
  ASSERT_TRUE(put->prev_kv.has_value());
  EXPECT_EQ(put->prev_kv->value, "old");
  EXPECT_EQ(put->prev_kv->mod_revision, 2);
  absl::StatusOr<PutResult> fresh =
      TryPut(PutRequest{.key = "other", .value = "v", .prev_kv = true});
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->prev_kv.has_value());
}

TEST_F(MvccTest, IgnoreValueKeepsTheValueAndBumpsTheVersion) {
  GrantLease(7);
  Put("foo", "kept");
  absl::StatusOr<PutResult> put =
      TryPut(PutRequest{.key = "foo", .lease = 7, .ignore_value = true});
  ASSERT_TRUE(put.ok()) << put.status();
  KeyValue kv = Get("foo").kvs.at(0);
  EXPECT_EQ(kv.value, "kept");
  EXPECT_EQ(kv.lease, 7);
  EXPECT_EQ(kv.version, 2);
}

TEST_F(MvccTest, IgnoreLeaseKeepsTheLease) {
  GrantLease(7);
  Put("foo", "a", 7);
  ASSERT_TRUE(
      TryPut(PutRequest{.key = "foo", .value = "b", .ignore_lease = true}).ok());
  KeyValue kv = Get("foo").kvs.at(0);
  EXPECT_EQ(kv.value, "b");
  EXPECT_EQ(kv.lease, 7);
}

TEST_F(MvccTest, IgnoreValueOnAMissingKeyIsKeyNotFound) {
  absl::StatusOr<PutResult> put =
      TryPut(PutRequest{.key = "foo", .ignore_value = true});
  EXPECT_TRUE(IsKeyNotFound(put.status())) << put.status();
  EXPECT_EQ(put.status().message(), "etcdserver: key not found");
  EXPECT_EQ(mvcc_->current_revision(), 1);
  EXPECT_EQ(mvcc_->applied().index, index_);
}

TEST_F(MvccTest, IgnoreLeaseOnAMissingKeyIsKeyNotFound) {
  EXPECT_TRUE(IsKeyNotFound(
      TryPut(PutRequest{.key = "foo", .value = "v", .ignore_lease = true})
          .status()));
}

TEST_F(MvccTest, IgnoreFlagsWithAValueOrLeaseAreRefused) {
  Put("foo", "v");
  EXPECT_TRUE(IsValueProvided(
      TryPut(PutRequest{.key = "foo", .value = "x", .ignore_value = true})
          .status()));
  EXPECT_TRUE(IsLeaseProvided(
      TryPut(PutRequest{.key = "foo", .lease = 5, .ignore_lease = true})
          .status()));
}

TEST_F(MvccTest, PutWithAnUnknownLeaseIsLeaseNotFound) {
  absl::StatusOr<PutResult> put =
      TryPut(PutRequest{.key = "foo", .value = "v", .lease = 99});
  EXPECT_TRUE(IsLeaseNotFound(put.status())) << put.status();
  EXPECT_EQ(mvcc_->current_revision(), 1);
}

TEST_F(MvccTest, EmptyKeysAreRefused) {
  EXPECT_TRUE(IsEmptyKey(TryPut(PutRequest{.key = "", .value = "v"}).status()));
  EXPECT_TRUE(IsEmptyKey(mvcc_->Range(RangeRequest{}).status()));
  EXPECT_TRUE(IsEmptyKey(
      mvcc_->DeleteRange(NextEntry(), DeleteRangeRequest{}).status()));
}

TEST_F(MvccTest, DeleteEndsTheGenerationAndARecreateStartsANewOne) {
  Put("foo", "a");
  Put("foo", "b");
  DeleteRangeResult del = Delete("foo");
  EXPECT_EQ(del.deleted, 1);
  EXPECT_EQ(del.revision, 4);
  EXPECT_EQ(Get("foo").count, 0);
  Put("foo", "c");
  KeyValue kv = Get("foo").kvs.at(0);
  EXPECT_EQ(kv.create_revision, 5);
  EXPECT_EQ(kv.version, 1);
}

TEST_F(MvccTest, DeletingNothingTakesNoRevision) {
  Put("foo", "a");
  DeleteRangeResult del = Delete("missing");
  EXPECT_EQ(del.deleted, 0);
  EXPECT_EQ(del.revision, 2);
  EXPECT_EQ(mvcc_->current_revision(), 2);
}

TEST_F(MvccTest, DeleteRangeReturnsTheCountAndPrevKvsInKeyOrder) {
  Put("a", "1");
  Put("b", "2");
  Put("c", "3");
  Put("d", "4");
  DeleteRangeResult del = Delete("b", "d", /*prev_kv=*/true);
  EXPECT_EQ(del.deleted, 2);
  ASSERT_EQ(del.prev_kvs.size(), 2u);
  EXPECT_EQ(del.prev_kvs[0].key, "b");
  EXPECT_EQ(del.prev_kvs[1].value, "3");
  EXPECT_EQ(Keys("a", std::string("\0", 1)), (std::vector<std::string>{"a", "d"}));
}

TEST_F(MvccTest, DeleteFromKeyRemovesEveryLaterKey) {
  Put("a", "1");
  Put("b", "2");
  Put(std::string("b\0x", 3), "3");
  Put("c", "4");
  EXPECT_EQ(Delete("b", std::string("\0", 1)).deleted, 3);
  EXPECT_EQ(Keys("a", std::string("\0", 1)), (std::vector<std::string>{"a"}));
}

TEST_F(MvccTest, KeysWithZeroBytesStayDistinct) {
  Put(std::string("a"), "1");
  Put(std::string("a\0", 2), "2");
  Put(std::string("a\0\0", 3), "3");
  Put(std::string("a\x01", 2), "4");
  Put(std::string("a"), "5");  // history for "a" next to "a\0"'s
  Delete(std::string("a\0", 2));
  EXPECT_EQ(Get(std::string("a\0", 2), 3).kvs.at(0).value, "2");
  EXPECT_EQ(Get("a", 5).kvs.at(0).value, "1");
  EXPECT_EQ(Get("a").kvs.at(0).value, "5");
  EXPECT_EQ(Keys("a", "b", 5).size(), 4u);
  EXPECT_EQ(Keys("a", "b").size(), 3u);
}

}  // namespace
}  // namespace keel::store
