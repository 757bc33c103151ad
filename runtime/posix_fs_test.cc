// Tests of POSIX files behind keel's FileSystem: append, write at an offset,
// short reads only at the end, truncate, rename over a target, sorted
// listings, the error codes the contract names, locks, syncs on the I/O
// pool (including a frame killed while its sync is in flight), and use from
// threads other than the loop's. Each test works in its own directory under
// /tmp and removes it.
#include "runtime/posix_fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include <filesystem>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/io_pool.h"
#include "runtime/posix_errors.h"
#include "runtime/posix_loop.h"
#include "runtime/process.h"
#include "runtime/strings.h"
#include "runtime/task.h"

namespace keel {
namespace {

constexpr Duration kPatience = Seconds(30);

size_t OpenFdCount() {
  size_t count = 0;
  DIR* dir = opendir("/proc/self/fd");
  KEEL_ASSERT(dir != nullptr);
  while (readdir(dir) != nullptr) count++;
  closedir(dir);
  return count;
}

class PosixFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/keel_posix_fs_XXXXXX";
    KEEL_ASSERT(mkdtemp(name) != nullptr);
    dir_ = name;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(std::string_view name) const { return JoinPath(dir_, name); }

  std::unique_ptr<File> Create(std::string_view name) {
    auto file = fs_.Open(Path(name), OpenOptions{.create = true});
    KEEL_ASSERT_MSG(file.ok(), "create failed");
    return std::move(*file);
  }

  void WriteFile(std::string_view name, std::string_view contents) {
    auto file = fs_.Open(Path(name), OpenOptions{.create = true, .truncate = true});
    KEEL_ASSERT(file.ok());
    KEEL_ASSERT((*file)->Append(contents).ok());
  }

  std::string ReadFile(std::string_view name) {
    auto file = fs_.Open(Path(name), OpenOptions{.read_only = true});
    if (!file.ok()) return file.status().ToString();
    auto contents = (*file)->ReadAt(0, 1 << 20);
    return contents.ok() ? *contents : contents.status().ToString();
  }

  PosixLoop loop_;
  // One thread: jobs run strictly in submission order, which the in-flight
  // test relies on.
  IoPool pool_{1};
  PosixFileSystem fs_{loop_, pool_};
  Process process_{loop_.executor(), "test"};
  std::string dir_;
};

TEST_F(PosixFsTest, AppendAddsAtTheEnd) {
  auto file = Create("log");
  ASSERT_TRUE(file->Append("hello").ok());
  ASSERT_TRUE(file->Append(" world").ok());
  EXPECT_EQ(*file->Size(), 11u);
  EXPECT_EQ(*file->ReadAt(0, 100), "hello world");
}

TEST_F(PosixFsTest, WriteAtOverwritesAndExtendsAndAppendFollowsTheNewEnd) {
  auto file = Create("data");
  ASSERT_TRUE(file->Append("aaaa").ok());
  ASSERT_TRUE(file->WriteAt(2, "bb").ok());
  EXPECT_EQ(*file->ReadAt(0, 100), "aabb");
  ASSERT_TRUE(file->WriteAt(6, "cc").ok());
  EXPECT_EQ(*file->ReadAt(0, 100), std::string("aabb\0\0cc", 8));
  ASSERT_TRUE(file->Append("!").ok());
  EXPECT_EQ(*file->ReadAt(8, 1), "!");
}

TEST_F(PosixFsTest, ReadIsShortOnlyAtTheEndOfTheFile) {
  auto file = Create("data");
  ASSERT_TRUE(file->Append("0123456789").ok());
  EXPECT_EQ(*file->ReadAt(2, 3), "234");
  EXPECT_EQ(*file->ReadAt(7, 100), "789");
  EXPECT_EQ(*file->ReadAt(10, 5), "");
  EXPECT_EQ(*file->ReadAt(50, 5), "");
}

TEST_F(PosixFsTest, TruncateShrinksAndExtendsWithZeros) {
  auto file = Create("data");
  ASSERT_TRUE(file->Append("0123456789").ok());
  ASSERT_TRUE(file->Truncate(4).ok());
  EXPECT_EQ(*file->Size(), 4u);
  ASSERT_TRUE(file->Append("x").ok());
  EXPECT_EQ(*file->ReadAt(0, 100), "0123x");
  ASSERT_TRUE(file->Truncate(7).ok());
  EXPECT_EQ(*file->ReadAt(0, 100), std::string("0123x\0\0", 7));
}

TEST_F(PosixFsTest, OpenWithTruncateEmptiesTheFile) {
  WriteFile("data", "old contents");
  auto file = fs_.Open(Path("data"), OpenOptions{.truncate = true});
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(*(*file)->Size(), 0u);
}

TEST_F(PosixFsTest, RenameReplacesTheTarget) {
  WriteFile("a", "old");
  WriteFile("b", "new");
  ASSERT_TRUE(fs_.Rename(Path("b"), Path("a")).ok());
  EXPECT_EQ(ReadFile("a"), "new");
  EXPECT_TRUE(absl::IsNotFound(fs_.Stat(Path("b")).status()));
  EXPECT_TRUE(absl::IsNotFound(fs_.Rename(Path("b"), Path("c"))));
}

TEST_F(PosixFsTest, ListIsSortedAndOmitsDotEntries) {
  for (const char* name : {"b", "c2", "a", "c10"}) WriteFile(name, "");
  ASSERT_TRUE(fs_.CreateDir(Path("d")).ok());
  auto names = fs_.List(dir_);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c10", "c2", "d"}));
  EXPECT_TRUE(absl::IsNotFound(fs_.List(Path("missing")).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(fs_.List(Path("a")).status()));
}

TEST_F(PosixFsTest, OpenErrorsFollowTheContract) {
  EXPECT_TRUE(absl::IsNotFound(fs_.Open(Path("missing"), {}).status()));
  WriteFile("present", "x");
  auto exclusive =
      fs_.Open(Path("present"), OpenOptions{.create = true, .exclusive = true});
  EXPECT_TRUE(absl::IsAlreadyExists(exclusive.status())) << exclusive.status();
  ASSERT_TRUE(fs_.CreateDir(Path("dir")).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(fs_.Open(Path("dir"), {}).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      fs_.Open(Path("dir"), OpenOptions{.read_only = true}).status()));
}

TEST_F(PosixFsTest, ReadOnlyFileRefusesWrites) {
  WriteFile("data", "x");
  auto file = fs_.Open(Path("data"), OpenOptions{.read_only = true});
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE((*file)->Append("y").ok());
  EXPECT_EQ(ReadFile("data"), "x");
}

TEST_F(PosixFsTest, DirectoryErrorsFollowTheContract) {
  ASSERT_TRUE(fs_.CreateDir(Path("d")).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(fs_.CreateDir(Path("d"))));
  EXPECT_TRUE(absl::IsNotFound(fs_.CreateDir(Path("missing/child"))));
  WriteFile("d/file", "x");
  EXPECT_TRUE(absl::IsFailedPrecondition(fs_.RemoveDir(Path("d"))));
  EXPECT_TRUE(absl::IsFailedPrecondition(fs_.Remove(Path("d"))));
  ASSERT_TRUE(fs_.Remove(Path("d/file")).ok());
  EXPECT_TRUE(absl::IsNotFound(fs_.Remove(Path("d/file"))));
  ASSERT_TRUE(fs_.RemoveDir(Path("d")).ok());
  EXPECT_TRUE(absl::IsNotFound(fs_.Stat(Path("d")).status()));
  ASSERT_TRUE(CreateDirs(fs_, Path("x/y/z")).ok());
  EXPECT_TRUE(fs_.Stat(Path("x/y/z"))->is_directory);
}

TEST_F(PosixFsTest, StatReportsSizeAndKind) {
  WriteFile("data", "12345");
  auto info = fs_.Stat(Path("data"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 5u);
  EXPECT_FALSE(info->is_directory);
  EXPECT_TRUE(fs_.Stat(dir_)->is_directory);
}

TEST_F(PosixFsTest, LockIsExclusiveWithinAProcess) {
  auto first = fs_.Lock(Path("LOCK"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = fs_.Lock(Path("LOCK"));
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
  first->reset();
  auto third = fs_.Lock(Path("LOCK"));
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST_F(PosixFsTest, SyncAndSyncDirCompleteOnTheLoop) {
  auto results = loop_.RunTask([](PosixFileSystem* fs, std::string dir)
                                   -> Task<std::vector<absl::Status>> {
    std::vector<absl::Status> out;
    auto file = fs->Open(JoinPath(dir, "wal"), OpenOptions{.create = true});
    KEEL_ASSERT(file.ok());
    KEEL_ASSERT((*file)->Append("record").ok());
    out.push_back(co_await (*file)->Sync());
    out.push_back(co_await fs->SyncDir(dir));
    out.push_back(co_await fs->SyncDir(JoinPath(dir, "missing")));
    co_return out;
  }(&fs_, dir_));
  EXPECT_TRUE(results[0].ok()) << results[0];
  EXPECT_TRUE(results[1].ok()) << results[1];
  EXPECT_TRUE(absl::IsNotFound(results[2])) << results[2];
}

TEST_F(PosixFsTest, FilesWorkFromOtherThreads) {
  constexpr int kThreads = 4;
  constexpr int kAppends = 500;
  std::vector<std::thread> threads;
  std::vector<absl::Status> outcomes(kThreads);
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([this, t, &outcomes] {
      auto file = fs_.Open(Path(StrCat("thread", t)), OpenOptions{.create = true});
      if (!file.ok()) {
        outcomes[t] = file.status();
        return;
      }
      for (int i = 0; i < kAppends && outcomes[t].ok(); i++) {
        outcomes[t] = (*file)->Append(StrCat(t, ":", i, "\n"));
      }
      if (outcomes[t].ok()) outcomes[t] = (*file)->SyncNow();
      if (outcomes[t].ok()) outcomes[t] = fs_.SyncDirNow(dir_);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; t++) {
    ASSERT_TRUE(outcomes[t].ok()) << outcomes[t];
    std::string expected;
    for (int i = 0; i < kAppends; i++) StrAppend(&expected, t, ":", i, "\n");
    EXPECT_EQ(ReadFile(StrCat("thread", t)), expected);
  }
}

// Opens a file, appends, syncs the file and then its directory, counting
// the times it got past a sync.
Task<void> SyncingWriter(PosixFileSystem* fs, std::string dir, bool* syncing,
                         int* resumed) {
  auto file = fs->Open(JoinPath(dir, "wal"), OpenOptions{.create = true});
  KEEL_ASSERT(file.ok());
  KEEL_ASSERT((*file)->Append(std::string(4096, 'w')).ok());
  *syncing = true;
  absl::Status synced = co_await (*file)->Sync();
  (*resumed)++;
  synced = co_await fs->SyncDir(dir);
  (*resumed)++;
}

TEST_F(PosixFsTest, FrameKilledWhileItsSyncIsInFlightLeavesSafely) {
  const size_t fds_at_start = OpenFdCount();
  // Hold the pool's only thread so the sync queues behind this job.
  std::latch release(1);
  pool_.Submit([&release] { release.wait(); });

  Process victim(loop_.executor(), "victim");
  bool syncing = false;
  int resumed = 0;
  victim.Spawn(SyncingWriter(&fs_, dir_, &syncing, &resumed));
  ASSERT_TRUE(loop_.RunUntil([&] { return syncing; }, kPatience));
  // The frame and its File die; the queued job keeps the descriptor open.
  victim.Kill();
  EXPECT_EQ(OpenFdCount(), fds_at_start + 1);
  release.count_down();

  // Jobs run in order, so when this one is back the sync has finished and
  // its result has been delivered to (and dropped by) the loop.
  bool after = false;
  process_.Spawn([](PosixLoop* loop, IoPool* pool, bool* after) -> Task<void> {
    co_await RunOnPool(*loop, *pool, [] {});
    *after = true;
  }(&loop_, &pool_, &after));
  ASSERT_TRUE(loop_.RunUntil([&] { return after; }, kPatience));
  EXPECT_EQ(resumed, 0) << "the killed frame ran again";
  EXPECT_EQ(OpenFdCount(), fds_at_start);
  EXPECT_EQ(ReadFile("wal"), std::string(4096, 'w'));
}

TEST(PosixErrorsTest, ErrnoValuesMapToTheContractsCodes) {
  EXPECT_TRUE(absl::IsNotFound(ErrnoToStatus(ENOENT, "x")));
  EXPECT_TRUE(absl::IsAlreadyExists(ErrnoToStatus(EEXIST, "x")));
  EXPECT_TRUE(absl::IsResourceExhausted(ErrnoToStatus(ENOSPC, "x")));
  EXPECT_TRUE(absl::IsInternal(ErrnoToStatus(EIO, "x")));
  EXPECT_TRUE(absl::IsUnavailable(ErrnoToStatus(ECONNREFUSED, "x")));
  EXPECT_TRUE(absl::IsFailedPrecondition(ErrnoToStatus(ENOTEMPTY, "x")));
  const absl::Status status = ErrnoToStatus(ENOSPC, "write /data/wal");
  EXPECT_NE(status.message().find("write /data/wal: "), absl::string_view::npos)
      << status;
}

}  // namespace
}  // namespace keel
