// The Mvcc's failpoint code, on the failpoint build: failpoints::PreviewTxn
// answers as the txn would and changes nothing.
#include <string>

#include "gtest/gtest.h"
#include "store/mvcc_check.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

TEST_F(MvccTest, APreviewAnswersAsTheTxnWouldAndChangesNothing) {
  Put("k", "v");
  TxnRequest cas{.compare = {CompareValue("k", CompareResult::kEqual, "v")},
                 .success = {PutOp("k", "w"), DeleteOp("gone")},
                 .failure = {RangeOp("k")}};
  absl::StatusOr<TxnResult> preview = failpoints::PreviewTxn(*mvcc_, cas);
  ASSERT_TRUE(preview.ok()) << preview.status();
  EXPECT_TRUE(preview->succeeded);
  EXPECT_EQ(preview->revision, 3);
  EXPECT_EQ(mvcc_->current_revision(), 2);
  EXPECT_EQ(mvcc_->applied().index, index_);
  EXPECT_EQ(Get("k").kvs.at(0).value, "v");
  absl::StatusOr<TxnResult> applied = Txn(cas);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->revision, preview->revision);
  EXPECT_EQ(PutAt(*applied, 0).revision, PutAt(*preview, 0).revision);
  EXPECT_EQ(DeleteAt(*applied, 1).deleted, DeleteAt(*preview, 1).deleted);
  EXPECT_TRUE(IsLeaseNotFound(
      failpoints::PreviewTxn(*mvcc_, TxnRequest{.success = {PutOp("a", "1", /*lease=*/5)}})
          .status()));
}

}  // namespace
}  // namespace keel::store
