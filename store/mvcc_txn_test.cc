// Txn with etcd's semantics: compares (including on missing keys and over
// ranges), branches, nested txns, one revision for all writes, reads that
// see earlier writes, the duplicate-key rule and whole-txn failures
// (etcdserver/apply.go Txn, v3rpc/key.go checkIntervals).
#include <string>

#include "gtest/gtest.h"
#include "store/mvcc_check.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

TEST_F(MvccTest, SucceedingComparesRunTheSuccessBranch) {
  Put("k", "v");
  absl::StatusOr<TxnResult> t = Txn(TxnRequest{
      .compare = {CompareValue("k", CompareResult::kEqual, "v")},
      .success = {PutOp("k", "yes")},
      .failure = {PutOp("k", "no")}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->succeeded);
  EXPECT_EQ(t->revision, 3);
  EXPECT_EQ(Get("k").kvs.at(0).value, "yes");
}

TEST_F(MvccTest, FailingComparesRunTheFailureBranch) {
  Put("k", "v");
  absl::StatusOr<TxnResult> t = Txn(TxnRequest{
      .compare = {CompareNumber("k", CompareTarget::kVersion,
                                CompareResult::kGreater, 1)},
      .success = {PutOp("k", "yes")},
      .failure = {RangeOp("k")}});
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->succeeded);
  EXPECT_EQ(RangeAt(*t, 0).kvs.at(0).value, "v");
  EXPECT_EQ(t->revision, 2);
  EXPECT_EQ(mvcc_->current_revision(), 2);
}

TEST_F(MvccTest, AMissingKeyComparesAsZerosButNeverByValue) {
  auto holds = [&](Compare c) {
    absl::StatusOr<TxnResult> t = Txn(TxnRequest{.compare = {c}});
    EXPECT_TRUE(t.ok());
    return t.ok() && t->succeeded;
  };
  EXPECT_TRUE(holds(CompareNumber("nope", CompareTarget::kVersion,
                                  CompareResult::kEqual, 0)));
  EXPECT_TRUE(holds(CompareNumber("nope", CompareTarget::kCreate,
                                  CompareResult::kLess, 5)));
  EXPECT_TRUE(holds(CompareNumber("nope", CompareTarget::kLease,
                                  CompareResult::kEqual, 0)));
  EXPECT_FALSE(holds(CompareValue("nope", CompareResult::kEqual, "")));
  EXPECT_FALSE(holds(CompareValue("nope", CompareResult::kNotEqual, "x")));
}

TEST_F(MvccTest, EachCompareTargetAndResultWorks) {
  GrantLease(9);
  Put("k", "m", 9);  // 2
  Put("k", "m");     // 3, version 2, no lease
  Put("k", "m", 9);  // 4, version 3
  auto holds = [&](Compare c) {
    absl::StatusOr<TxnResult> t = Txn(TxnRequest{.compare = {c}});
    return t.ok() && t->succeeded;
  };
  EXPECT_TRUE(holds(CompareValue("k", CompareResult::kGreater, "l")));
  EXPECT_TRUE(holds(CompareValue("k", CompareResult::kLess, "m\x01")));
  EXPECT_TRUE(holds(CompareValue("k", CompareResult::kLess, "\xff")));
  EXPECT_TRUE(holds(CompareNumber("k", CompareTarget::kCreate,
                                  CompareResult::kEqual, 2)));
  EXPECT_TRUE(holds(CompareNumber("k", CompareTarget::kMod,
                                  CompareResult::kNotEqual, 3)));
  EXPECT_TRUE(holds(CompareNumber("k", CompareTarget::kVersion,
                                  CompareResult::kEqual, 3)));
  EXPECT_TRUE(holds(CompareNumber("k", CompareTarget::kLease,
                                  CompareResult::kEqual, 9)));
  EXPECT_FALSE(holds(CompareNumber("k", CompareTarget::kMod,
                                   CompareResult::kLess, 4)));
}

// A client can send any int as a Compare's target or result (found by
// fuzz_server_requests, fuzz/corpus/server_requests/crash-4be88255...).
TEST_F(MvccTest, UnnamedCompareTargetsAndResultsBehaveAsEtcds) {
  Put("k", "v");
  auto holds = [&](Compare c) {
    absl::StatusOr<TxnResult> t = Txn(TxnRequest{.compare = {c}});
    EXPECT_TRUE(t.ok());
    return t.ok() && t->succeeded;
  };
  const auto unnamed_target = static_cast<CompareTarget>(67);
  const auto unnamed_result = static_cast<CompareResult>(9);
  // An unnamed target compares as equal, on present and missing keys.
  EXPECT_TRUE(holds(CompareNumber("k", unnamed_target, CompareResult::kEqual, 5)));
  EXPECT_FALSE(holds(CompareNumber("k", unnamed_target, CompareResult::kLess, 5)));
  EXPECT_TRUE(holds(CompareNumber("nope", unnamed_target, CompareResult::kEqual, 5)));
  // An unnamed result holds.
  EXPECT_TRUE(holds(CompareNumber("k", CompareTarget::kVersion, unnamed_result, 7)));
  EXPECT_TRUE(holds(CompareValue("k", unnamed_result, "other")));
}

TEST_F(MvccTest, ACompareOverARangeNeedsEveryKeyToHold) {
  Put("a1", "x");
  Put("a2", "x");
  Put("a3", "y");
  auto holds = [&](std::string end) {
    Compare c = CompareValue("a1", CompareResult::kEqual, "x");
    c.range_end = end;
    absl::StatusOr<TxnResult> t = Txn(TxnRequest{.compare = {c}});
    return t.ok() && t->succeeded;
  };
  EXPECT_TRUE(holds("a3"));
  EXPECT_FALSE(holds("a4"));
  EXPECT_FALSE(holds(std::string("\0", 1)));
}

TEST_F(MvccTest, TxnWritesShareOneRevisionInOrderOfSubRevisions) {
  Put("gone", "x");  // 2
  absl::StatusOr<TxnResult> t = Txn(TxnRequest{
      .success = {PutOp("b", "1"), DeleteOp("gone"), PutOp("a", "2")}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->revision, 3);
  EXPECT_EQ(PutAt(*t, 0).revision, 3);
  EXPECT_EQ(DeleteAt(*t, 1).deleted, 1);
  absl::StatusOr<EventBatch> events = mvcc_->Events("\0", std::string("\0", 1),
                                                    2, 0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->events.size(), 3u);
  EXPECT_EQ(events->events[0].kv.key, "b");
  EXPECT_EQ(events->events[1].type, EventType::kDelete);
  EXPECT_EQ(events->events[2].kv.key, "a");
}

TEST_F(MvccTest, TxnReadsSeeTheTxnsEarlierWrites) {
  Put("a", "old");
  Put("c", "doomed");
  absl::StatusOr<TxnResult> t = Txn(TxnRequest{
      .success = {RangeOp("a", "z"), PutOp("a", "new"), PutOp("b", "born"),
                  DeleteOp("c"), RangeOp("a", "z"), RangeOp("a", "z", 3)}});
  ASSERT_TRUE(t.ok()) << t.status();
  const RangeResult& before = RangeAt(*t, 0);
  EXPECT_EQ(before.revision, 3);
  EXPECT_EQ(before.kvs.size(), 2u);
  const RangeResult& after = RangeAt(*t, 4);
  EXPECT_EQ(after.revision, 4);
  ASSERT_EQ(after.kvs.size(), 2u);
  EXPECT_EQ(after.kvs[0].value, "new");
  EXPECT_EQ(after.kvs[0].mod_revision, 4);
  EXPECT_EQ(after.kvs[1].key, "b");
  EXPECT_EQ(after.kvs[1].create_revision, 4);
  // An explicit revision at the txn's start reads the state before it.
  const RangeResult& at_start = RangeAt(*t, 5);
  ASSERT_EQ(at_start.kvs.size(), 2u);
  EXPECT_EQ(at_start.kvs[0].value, "old");
  EXPECT_EQ(at_start.kvs[1].key, "c");
}

TEST_F(MvccTest, PutWithIgnoreValueInATxnSeesTheStoredValue) {
  Put("k", "v");
  absl::StatusOr<TxnResult> t = Txn(TxnRequest{
      .success = {RequestOp{PutRequest{.key = "k", .prev_kv = true,
                                       .ignore_value = true}}}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(PutAt(*t, 0).prev_kv->value, "v");
  EXPECT_EQ(Get("k").kvs.at(0).value, "v");
  EXPECT_EQ(Get("k").kvs.at(0).version, 2);
}

TEST_F(MvccTest, ADeleteOfNothingBeforeAnyWriteReportsTheOldRevision) {
  Put("k", "v");
  absl::StatusOr<TxnResult> t = Txn(
      TxnRequest{.success = {DeleteOp("nope"), PutOp("k", "w"),
                             DeleteOp("nope2")}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(DeleteAt(*t, 0).revision, 2);
  EXPECT_EQ(DeleteAt(*t, 2).revision, 3);
}

TEST_F(MvccTest, NestedTxnsFollowTheirOwnCompares) {
  Put("k", "v");
  TxnRequest inner{.compare = {CompareValue("k", CompareResult::kEqual, "x")},
                   .success = {PutOp("inner", "then")},
                   .failure = {PutOp("inner", "else"), RangeOp("k")}};
  absl::StatusOr<TxnResult> t =
      Txn(TxnRequest{.success = {PutOp("outer", "1"), TxnOp(inner)}});
  ASSERT_TRUE(t.ok()) << t.status();
  const TxnResult& nested = std::get<TxnResult>(t->responses.at(1).response);
  EXPECT_FALSE(nested.succeeded);
  EXPECT_EQ(nested.revision, 0);
  EXPECT_EQ(RangeAt(nested, 1).revision, 3);
  EXPECT_EQ(Get("inner").kvs.at(0).value, "else");
  EXPECT_EQ(Get("inner").kvs.at(0).mod_revision, 3);
}

TEST_F(MvccTest, AReadOnlyTxnKeepsTheRevision) {
  Put("k", "v");
  absl::StatusOr<TxnResult> t = Txn(TxnRequest{.success = {RangeOp("k")}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->revision, 2);
  EXPECT_EQ(mvcc_->current_revision(), 2);
}

TEST_F(MvccTest, PuttingOneKeyTwiceIsADuplicateKey) {
  absl::StatusOr<TxnResult> t =
      Txn(TxnRequest{.success = {PutOp("k", "1"), PutOp("k", "2")}});
  EXPECT_TRUE(IsDuplicateKey(t.status())) << t.status();
  EXPECT_EQ(t.status().message(),
            "etcdserver: duplicate key given in txn request");
  EXPECT_EQ(mvcc_->current_revision(), 1);
}

TEST_F(MvccTest, PuttingAKeyADeleteCoversIsADuplicateKey) {
  EXPECT_TRUE(IsDuplicateKey(
      Txn(TxnRequest{.success = {PutOp("b", "1"), DeleteOp("a", "c")}})
          .status()));
  EXPECT_TRUE(IsDuplicateKey(
      Txn(TxnRequest{.failure = {DeleteOp("b"), PutOp("b", "1")}}).status()));
  EXPECT_TRUE(IsDuplicateKey(
      Txn(TxnRequest{.success = {DeleteOp("a", std::string("\0", 1)),
                                 PutOp("q", "1")}})
          .status()));
  EXPECT_TRUE(IsDuplicateKey(
      Txn(TxnRequest{.success = {PutOp("k", "1"),
                                 TxnOp(TxnRequest{.failure = {DeleteOp("k")}})}})
          .status()));
}

TEST_F(MvccTest, OverlappingDeletesAndOneKeyInBothNestedBranchesAreAllowed) {
  Put("b", "1");
  Put("c", "1");
  absl::StatusOr<TxnResult> t = Txn(TxnRequest{
      .success = {DeleteOp("a", "c"), DeleteOp("b", "d"),
                  TxnOp(TxnRequest{.success = {PutOp("x", "then")},
                                   .failure = {PutOp("x", "else")}})}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(DeleteAt(*t, 0).deleted, 1);
  EXPECT_EQ(DeleteAt(*t, 1).deleted, 1);
  EXPECT_EQ(Get("x").kvs.at(0).value, "then");
}

TEST_F(MvccTest, ATxnWhosePathFailsACheckChangesNothing) {
  Put("k", "v");
  absl::StatusOr<TxnResult> missing = Txn(TxnRequest{
      .success = {PutOp("a", "1"),
                  RequestOp{PutRequest{.key = "nope", .ignore_value = true}}}});
  EXPECT_TRUE(IsKeyNotFound(missing.status())) << missing.status();
  absl::StatusOr<TxnResult> future =
      Txn(TxnRequest{.success = {PutOp("a", "1"), RangeOp("k", "", 3)}});
  EXPECT_TRUE(IsFutureRev(future.status())) << future.status();
  absl::StatusOr<TxnResult> lease =
      Txn(TxnRequest{.success = {PutOp("a", "1", /*lease=*/5)}});
  EXPECT_TRUE(IsLeaseNotFound(lease.status())) << lease.status();
  EXPECT_EQ(mvcc_->current_revision(), 2);
  EXPECT_EQ(Get("a").count, 0);
  // Checks apply only on the chosen path.
  absl::StatusOr<TxnResult> other_branch = Txn(TxnRequest{
      .success = {PutOp("a", "1")},
      .failure = {RequestOp{PutRequest{.key = "nope", .ignore_value = true}}}});
  EXPECT_TRUE(other_branch.ok()) << other_branch.status();
}

TEST_F(MvccTest, ATxnRangeBelowTheCompactionIsCompacted) {
  Put("k", "1");
  Put("k", "2");
  Put("k", "3");
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 3).ok());
  absl::StatusOr<TxnResult> t =
      Txn(TxnRequest{.success = {RangeOp("k", "", 2)}});
  EXPECT_TRUE(IsCompacted(t.status())) << t.status();
  absl::StatusOr<TxnResult> ok =
      Txn(TxnRequest{.success = {RangeOp("k", "", 3)}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(RangeAt(*ok, 0).kvs.at(0).value, "2");
}

TEST_F(MvccTest, AReadOnlyTxnRunsWithoutAnEntry) {
  Put("k", "v");
  TxnRequest read{.compare = {CompareValue("k", CompareResult::kEqual, "v")},
                  .success = {RangeOp("k")},
                  .failure = {RangeOp("nope")}};
  ASSERT_TRUE(IsReadOnlyTxn(read));
  absl::StatusOr<TxnResult> t = mvcc_->ReadOnlyTxn(read);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->succeeded);
  EXPECT_EQ(RangeAt(*t, 0).kvs.at(0).value, "v");
  EXPECT_EQ(t->revision, 2);
  EXPECT_EQ(mvcc_->applied().index, index_);
  TxnRequest write{.success = {PutOp("k", "w")}};
  EXPECT_FALSE(IsReadOnlyTxn(write));
  EXPECT_FALSE(mvcc_->ReadOnlyTxn(write).ok());
  EXPECT_TRUE(IsFutureRev(
      mvcc_->ReadOnlyTxn(TxnRequest{.success = {RangeOp("k", "", 9)}})
          .status()));
}

}  // namespace
}  // namespace keel::store
