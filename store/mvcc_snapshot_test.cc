// Snapshots: a stream taken at one point restores a store with the same
// key space, history, leases, applied entry and compaction state, whatever
// is applied to the source while it streams.
#include <string>

#include "gtest/gtest.h"
#include "store/mvcc_snapshot.h"
#include "store/mvcc_test_util.h"

namespace keel::store {
namespace {

const std::string kAll("\0", 1);

TEST_F(MvccTest, ARestoredStoreMatchesTheSnapshotPoint) {
  GrantLease(3);
  for (int i = 0; i < 200; ++i) {
    Put("key" + std::to_string(i % 37), std::string(100, 'a' + i % 26),
        i % 5 == 0 ? 3 : 0);
  }
  Delete("key1", "key2");
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 100).ok());
  ASSERT_TRUE(mvcc_->SkipEntry(NextEntry()).ok());
  const KvHash hash = *mvcc_->HashKV(0);

  absl::StatusOr<std::unique_ptr<MvccSnapshot>> snapshot =
      MvccSnapshot::Take(mvcc_.get());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->applied().index, index_);
  Put("late", "not in the snapshot");

  MvccOptions restored_options = options_;
  restored_options.path = "/restored";
  absl::StatusOr<std::unique_ptr<MvccRestorer>> restorer =
      MvccRestorer::Create(restored_options);
  ASSERT_TRUE(restorer.ok()) << restorer.status();
  int chunks = 0;
  for (;;) {
    absl::StatusOr<std::optional<std::string>> chunk =
        (*snapshot)->NextChunk(4096);
    ASSERT_TRUE(chunk.ok());
    if (!chunk->has_value()) break;
    ASSERT_TRUE((*restorer)->AddChunk(**chunk).ok());
    ++chunks;
  }
  EXPECT_GT(chunks, 3);
  snapshot->reset();
  absl::StatusOr<std::unique_ptr<Mvcc>> restored = (*restorer)->Finish();
  ASSERT_TRUE(restored.ok()) << restored.status();
  Mvcc& copy = **restored;
  EXPECT_EQ(copy.applied().index, index_ - 1);
  EXPECT_EQ(copy.current_revision(), hash.revision);
  EXPECT_EQ(copy.compact_revision(), 100);
  EXPECT_EQ(copy.HashKV(0)->hash, hash.hash);
  EXPECT_EQ(*copy.KeysOfLease(3), *mvcc_->KeysOfLease(3));
  EXPECT_EQ(copy.Leases()->size(), 1u);
  EXPECT_EQ(copy.Range(RangeRequest{.key = "late"})->count, 0);
}

TEST_F(MvccTest, RestoringIntoAnExistingStoreIsRefused) {
  Put("a", "1");
  EXPECT_FALSE(MvccRestorer::Create(options_).ok());
}

TEST_F(MvccTest, AMalformedChunkIsDataLoss) {
  MvccOptions restored_options = options_;
  restored_options.path = "/restored";
  absl::StatusOr<std::unique_ptr<MvccRestorer>> restorer =
      MvccRestorer::Create(restored_options);
  ASSERT_TRUE(restorer.ok());
  EXPECT_EQ((*restorer)->AddChunk(std::string("\x05" "ab", 3)).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace keel::store
