// Applies and the raft entries behind them: the applied entry is stored
// with each apply, replays at or below it change nothing, refused
// requests still consume their entry, and a failed write stops all writing.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "leveldb/env.h"
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

// An Env whose log flushes, while `fail_appends` is set, report EIO after
// the bytes are written: the record is on disk although the write failed (a
// disk may do that; keel-sim's does).
class FailingLogEnv : public leveldb::EnvWrapper {
 public:
  explicit FailingLogEnv(leveldb::Env* base) : EnvWrapper(base) {}
  bool fail_appends = false;

  leveldb::Status NewWritableFile(const std::string& name,
                                  leveldb::WritableFile** file) override {
    leveldb::Status s = target()->NewWritableFile(name, file);
    if (s.ok() && name.ends_with(".log")) *file = new File(this, *file);
    return s;
  }

 private:
  class File : public leveldb::WritableFile {
   public:
    File(FailingLogEnv* env, leveldb::WritableFile* base) : env_(env), base_(base) {}
    leveldb::Status Append(const leveldb::Slice& data) override {
      return base_->Append(data);
    }
    leveldb::Status Close() override { return base_->Close(); }
    leveldb::Status Flush() override {
      leveldb::Status s = base_->Flush();
      if (s.ok() && env_->fail_appends) return leveldb::Status::IOError("flush", "EIO");
      return s;
    }
    leveldb::Status Sync() override { return base_->Sync(); }

   private:
    FailingLogEnv* env_;
    std::unique_ptr<leveldb::WritableFile> base_;
  };
};

TEST(MvccWriteErrorTest, AfterAFailedWriteNothingMoreIsWrittenAndReopenIsConsistent) {
  std::unique_ptr<leveldb::Env> mem(leveldb::NewMemEnv(leveldb::Env::Default()));
  FailingLogEnv env(mem.get());
  MvccOptions options{.path = "/mvcc", .env = &env};
  auto open_store = [&] {
    absl::StatusOr<std::unique_ptr<Mvcc>> opened = Mvcc::Open(options);
    KEEL_ASSERT_MSG(opened.ok(), opened.status().ToString().c_str());
    return std::move(*opened);
  };
  {
    std::unique_ptr<Mvcc> mvcc = open_store();
    ASSERT_TRUE(mvcc->Put(EntryId{1, 1}, PutRequest{.key = "a", .value = "1"}).ok());
    env.fail_appends = true;
    absl::Status failed =
        mvcc->Put(EntryId{2, 1}, PutRequest{.key = "a", .value = "2"}).status();
    ASSERT_EQ(failed.code(), absl::StatusCode::kInternal) << failed;
    env.fail_appends = false;
    // The store's memory says entry 1; its log may say entry 2. Writing
    // entry 1's state after that record would contradict it on replay.
    EXPECT_EQ(mvcc->SyncBarrier(), failed);
    EXPECT_EQ(mvcc->Put(EntryId{2, 1}, PutRequest{.key = "b", .value = "1"}).status(),
              failed);
    EXPECT_EQ(mvcc->db()->write_error(), failed);
  }
  // The failed record survived (its bytes were written): the reopened store
  // has applied entry 2 at revision 3, and writes on from there.
  std::unique_ptr<Mvcc> mvcc = open_store();
  EXPECT_EQ(mvcc->applied().index, 2u);
  EXPECT_EQ(mvcc->current_revision(), 3);
  absl::StatusOr<PutResult> put =
      mvcc->Put(EntryId{3, 1}, PutRequest{.key = "a", .value = "3"});
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(mvcc->current_revision(), 4);
}

}  // namespace
}  // namespace keel::store
