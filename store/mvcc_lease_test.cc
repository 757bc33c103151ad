// Leases in the store: the lease table persists, keys remember their lease
// and the lease remembers its keys, and revoking deletes those keys at one
// revision (etcd lessor Revoke).
#include <string>

#include "gtest/gtest.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

std::vector<std::string> KeysOf(Mvcc& mvcc, int64_t lease) {
  absl::StatusOr<std::vector<std::string>> keys = mvcc.KeysOfLease(lease);
  EXPECT_TRUE(keys.ok());
  return keys.ok() ? *keys : std::vector<std::string>{};
}

TEST_F(MvccTest, TheLeaseTableSurvivesReopenAndCheckpointsReplaceRecords) {
  GrantLease(1, 10);
  GrantLease(2, 20);
  LeaseRecord checkpoint{2, 20, 7};
  ASSERT_TRUE(mvcc_->PutLeases(NextEntry(), {&checkpoint, 1}).ok());
  Reopen();
  absl::StatusOr<std::vector<LeaseRecord>> leases = mvcc_->Leases();
  ASSERT_TRUE(leases.ok());
  EXPECT_EQ(*leases, (std::vector<LeaseRecord>{{1, 10, 10}, {2, 20, 7}}));
  EXPECT_EQ(mvcc_->current_revision(), 1);
}

TEST_F(MvccTest, KeysFollowTheirLeaseThroughPutsAndDeletes) {
  GrantLease(1);
  GrantLease(2);
  Put("a", "v", 1);
  Put("b", "v", 1);
  Put("c", "v", 2);
  EXPECT_EQ(KeysOf(*mvcc_, 1), (std::vector<std::string>{"a", "b"}));
  Put("a", "w", 2);   // moves to lease 2
  Put("b", "w");      // drops its lease
  EXPECT_TRUE(KeysOf(*mvcc_, 1).empty());
  EXPECT_EQ(KeysOf(*mvcc_, 2), (std::vector<std::string>{"a", "c"}));
  Delete("c");
  EXPECT_EQ(KeysOf(*mvcc_, 2), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Get("a").kvs.at(0).lease, 2);
}

TEST_F(MvccTest, RevokingALeaseDeletesItsKeysAtOneRevision) {
  GrantLease(1);
  Put("b", "v", 1);  // 2
  Put("a", "v", 1);  // 3
  Put("z", "v");     // 4
  absl::StatusOr<DeleteRangeResult> revoke = mvcc_->RevokeLease(NextEntry(), 1);
  ASSERT_TRUE(revoke.ok()) << revoke.status();
  EXPECT_EQ(revoke->deleted, 2);
  EXPECT_EQ(revoke->revision, 5);
  EXPECT_EQ(Keys("a", "zz"), (std::vector<std::string>{"z"}));
  absl::StatusOr<EventBatch> events = mvcc_->Events("a", "c", 4, 0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].kv.key, "a");  // key order, as etcd sorts them
  EXPECT_TRUE(mvcc_->Leases()->empty());
  EXPECT_TRUE(IsLeaseNotFound(TryPut(PutRequest{.key = "q", .lease = 1}).status()));
}

TEST_F(MvccTest, RevokingALeaseWithoutKeysTakesNoRevision) {
  GrantLease(1);
  absl::StatusOr<DeleteRangeResult> revoke = mvcc_->RevokeLease(NextEntry(), 1);
  ASSERT_TRUE(revoke.ok());
  EXPECT_EQ(revoke->deleted, 0);
  EXPECT_EQ(mvcc_->current_revision(), 1);
  EXPECT_TRUE(IsLeaseNotFound(mvcc_->RevokeLease(NextEntry(), 1).status()));
}

}  // namespace
}  // namespace keel::store
