// Applies and the raft entries behind them: the applied entry is stored
// with each apply, replays at or below it change nothing, and refused
// requests still consume their entry.
#include <string>

#include "gtest/gtest.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

const std::string kAll("\0", 1);

TEST_F(MvccTest, TheAppliedEntryIsReportedOnOpen) {
  Put("a", "1");
  Put("b", "1");
  Reopen();
  EXPECT_EQ(mvcc_->applied().index, 2u);
  EXPECT_EQ(mvcc_->applied().term, 1u);
  EXPECT_EQ(mvcc_->current_revision(), 3);
}

TEST_F(MvccTest, ReapplyingEntriesAfterReopenLeavesTheSameState) {
  // Apply entries 1..6, remember the state, then replay all of them.
  auto apply = [&](Mvcc& m, uint64_t index) -> absl::Status {
    EntryId e{index, 1};
    switch (index) {
      case 1: return m.Put(e, PutRequest{.key = "a", .value = "1"}).status();
      case 2: return m.Put(e, PutRequest{.key = "b", .value = "1"}).status();
      case 3:
        return m.Txn(e, TxnRequest{.success = {PutOp("a", "2"),
                                               DeleteOp("b")}})
            .status();
      case 4: return m.Compact(e, 3).status();
      case 5: return m.SkipEntry(e);
      case 6: return m.DeleteRange(e, DeleteRangeRequest{.key = "a"}).status();
    }
    return absl::InternalError("no such entry");
  };
  for (uint64_t i = 1; i <= 6; ++i) ASSERT_TRUE(apply(*mvcc_, i).ok()) << i;
  const KvHash hash = *mvcc_->HashKV(0);
  const int64_t revision = mvcc_->current_revision();
  ASSERT_TRUE(mvcc_->SyncBarrier().ok());
  Reopen();
  EXPECT_EQ(mvcc_->applied().index, 6u);
  for (uint64_t i = 1; i <= 6; ++i) {
    EXPECT_TRUE(IsAlreadyApplied(apply(*mvcc_, i))) << i;
  }
  EXPECT_EQ(mvcc_->current_revision(), revision);
  EXPECT_EQ(mvcc_->HashKV(0)->hash, hash.hash);
  EXPECT_EQ(mvcc_->compact_revision(), 3);
}

TEST_F(MvccTest, EntriesThatChangeNothingReachDiskWithTheNextWrite) {
  Put("a", "1");                                    // 1
  ASSERT_TRUE(mvcc_->SkipEntry(NextEntry()).ok());  // 2
  Delete("missing");                                // 3
  Reopen();
  EXPECT_EQ(mvcc_->applied().index, 1u);
  index_ = 3;
  ASSERT_TRUE(mvcc_->SyncBarrier().ok());
  Reopen();
  EXPECT_EQ(mvcc_->applied().index, 1u);  // nothing applied since reopening
  ASSERT_TRUE(mvcc_->SkipEntry(EntryId{4, 2}).ok());
  ASSERT_TRUE(mvcc_->SyncBarrier().ok());
  Reopen();
  EXPECT_EQ(mvcc_->applied().index, 4u);
  EXPECT_EQ(mvcc_->applied().term, 2u);
}

TEST_F(MvccTest, ARefusedRequestConsumesItsEntry) {
  absl::StatusOr<PutResult> put =
      mvcc_->Put(EntryId{1, 1}, PutRequest{.key = "a", .ignore_value = true});
  EXPECT_TRUE(IsKeyNotFound(put.status()));
  EXPECT_EQ(mvcc_->applied().index, 1u);
  EXPECT_TRUE(IsAlreadyApplied(
      mvcc_->Put(EntryId{1, 1}, PutRequest{.key = "a", .value = "v"}).status()));
  EXPECT_EQ(mvcc_->current_revision(), 1);
}

}  // namespace
}  // namespace keel::store
