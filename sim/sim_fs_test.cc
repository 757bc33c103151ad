// Tests of SimDisk: the namespace, the durability model (synced bytes kept,
// unsynced ones kept as a seeded subset torn at 512-byte sectors, directory
// entries durable only after SyncDir), and every injected fault. Crash
// outcomes are checked over many seeds: each seed must give a legal outcome,
// and the seeds together must show the outcomes the model allows.
#include "sim/sim_fs.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "runtime/env.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim {
namespace {

constexpr uint64_t kNoProcess = 999;

// A world with one machine "m" whose disk the test drives through a view;
// coroutine calls (Sync, SyncDir) run in the machine's process.
class DiskFixture {
 public:
  explicit DiskFixture(uint64_t seed)
      : world_({.seed = seed}),
        machine_(world_.AddMachine({.name = "m", .boot = [this](Env& env) -> Task<void> {
                                      env_ = &env;
                                      co_await env.clock().Sleep(Seconds(1'000'000));
                                    }})) {
    machine_.Start();
    world_.RunFor(Microseconds(1));
  }

  SimWorld& world() { return world_; }
  SimDisk& disk() { return machine_.disk(); }
  SimMachine& machine() { return machine_; }
  FileSystem& fs() { return env_->fs(); }

  // Runs `task` in the machine's process until it finishes.
  absl::Status Run(Task<absl::Status> task) {
    absl::Status result = absl::UnknownError("did not finish");
    bool done = false;
    env_->Spawn([](Task<absl::Status> task, absl::Status* result,
                   bool* done) -> Task<void> {
      *result = co_await std::move(task);
      *done = true;
    }(std::move(task), &result, &done));
    world_.RunUntil([&] { return done; }, Seconds(100));
    return result;
  }

  absl::Status Sync(File& file) { return Run(file.Sync()); }
  absl::Status SyncDir(std::string dir) { return Run(fs().SyncDir(dir)); }

  std::unique_ptr<File> Create(std::string_view path) {
    auto file = fs().Open(path, OpenOptions{.create = true});
    EXPECT_TRUE(file.ok()) << file.status();
    return std::move(*file);
  }

  // The file's bytes as a fresh incarnation reads them, or nullopt.
  std::optional<std::string> Contents(std::string_view path) {
    auto view = disk().NewView(kNoProcess);
    auto file = view->Open(path, OpenOptions{.read_only = true});
    if (!file.ok()) return std::nullopt;
    auto size = (*file)->Size();
    auto bytes = (*file)->ReadAt(0, *size);
    EXPECT_TRUE(bytes.ok());
    return *bytes;
  }

  // Kills the process, crashes the disk, starts a new incarnation.
  void CrashAndRestart() {
    machine_.Crash();
    machine_.Start();
    world_.RunFor(Microseconds(1));
  }

 private:
  SimWorld world_;
  SimMachine& machine_;
  Env* env_ = nullptr;
};

TEST(SimFsTest, NamespaceOperationsFollowTheFileSystemContract) {
  DiskFixture d(1);
  FileSystem& fs = d.fs();
  EXPECT_TRUE(absl::IsNotFound(fs.Open("a", {}).status()));
  EXPECT_TRUE(absl::IsNotFound(fs.Open("missing/a", {.create = true}).status()));
  EXPECT_TRUE(fs.CreateDir("dir").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(fs.CreateDir("dir")));
  d.Create("dir/b");
  d.Create("dir/a");
  EXPECT_TRUE(absl::IsAlreadyExists(
      fs.Open("dir/a", {.create = true, .exclusive = true}).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(fs.Open("dir", {}).status()));
  auto names = fs.List("/dir");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(absl::IsFailedPrecondition(fs.RemoveDir("dir")));
  EXPECT_TRUE(absl::IsInvalidArgument(fs.Rename("dir", "dir/sub")));
  EXPECT_TRUE(fs.Rename("dir/a", "dir/b").ok());
  EXPECT_EQ(*fs.List("dir"), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(absl::IsNotFound(fs.Remove("dir/a")));
  EXPECT_TRUE(fs.Remove("dir/b").ok());
  EXPECT_TRUE(fs.RemoveDir("dir").ok());
  EXPECT_TRUE(absl::IsNotFound(fs.Stat("dir").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(fs.Open("../etc", {.create = true}).status()));
}

TEST(SimFsTest, AnOpenFileOutlivesItsRemoval) {
  DiskFixture d(1);
  auto file = d.Create("f");
  ASSERT_TRUE(file->Append("still here").ok());
  ASSERT_TRUE(d.fs().Remove("f").ok());
  EXPECT_EQ(*file->ReadAt(0, 100), "still here");
}

TEST(SimFsTest, SyncedBytesSurviveACrash) {
  DiskFixture d(1);
  auto file = d.Create("wal");
  ASSERT_TRUE(d.SyncDir("/").ok());
  ASSERT_TRUE(file->Append("durable").ok());
  ASSERT_TRUE(d.Sync(*file).ok());
  EXPECT_EQ(*d.disk().DurableContents("wal"), "durable");
  file.reset();
  d.CrashAndRestart();
  auto contents = d.Contents("wal");
  ASSERT_TRUE(contents.has_value());
  EXPECT_EQ(contents->substr(0, 7), "durable");
}

TEST(SimFsTest, KillingTheProcessKeepsUnsyncedWrites) {
  DiskFixture d(1);
  auto file = d.Create("f");
  ASSERT_TRUE(file->Append("in the page cache").ok());
  file.reset();
  d.machine().Kill();
  d.machine().Start();
  EXPECT_EQ(d.Contents("f"), "in the page cache");
}

// Sector i of the expected layout: 'A' durable, overwritten with 'B', then
// four sectors of 'C' appended, none of it synced.
TEST(SimFsTest, UnsyncedWritesSurviveAsASubsetTornAtSectors) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 1; seed <= 80; seed++) {
    DiskFixture d(seed);
    auto file = d.Create("f");
    ASSERT_TRUE(d.SyncDir("/").ok());
    ASSERT_TRUE(file->Append(std::string(8 * kSectorBytes, 'A')).ok());
    ASSERT_TRUE(d.Sync(*file).ok());
    ASSERT_TRUE(file->WriteAt(0, std::string(8 * kSectorBytes, 'B')).ok());
    ASSERT_TRUE(file->Append(std::string(4 * kSectorBytes, 'C')).ok());
    file.reset();
    d.CrashAndRestart();
    std::optional<std::string> got = d.Contents("f");
    ASSERT_TRUE(got.has_value());
    ASSERT_EQ(got->size() % kSectorBytes, 0u) << "seed " << seed;
    ASSERT_GE(got->size(), 8 * kSectorBytes) << "seed " << seed;
    std::string shape;
    for (size_t s = 0; s < got->size() / kSectorBytes; s++) {
      const std::string sector = got->substr(s * kSectorBytes, kSectorBytes);
      const char first = sector[0];
      ASSERT_EQ(sector, std::string(kSectorBytes, first))
          << "seed " << seed << ": sector " << s << " is torn inside";
      if (s < 8) {
        ASSERT_TRUE(first == 'A' || first == 'B') << "seed " << seed;
      } else {
        ASSERT_TRUE(first == 'C' || first == '\0') << "seed " << seed;
      }
      shape.push_back(first == '\0' ? '0' : first);
    }
    outcomes.insert(shape);
  }
  EXPECT_TRUE(outcomes.count("AAAAAAAA")) << "some crash kept nothing";
  EXPECT_TRUE(outcomes.count("BBBBBBBBCCCC")) << "some crash kept everything";
  EXPECT_GE(outcomes.size(), 10u) << "crashes keep many different subsets";
}

TEST(SimFsTest, ANewFileIsDurableOnlyAfterItsDirectoryIsSynced) {
  int vanished = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    DiskFixture d(seed);
    ASSERT_TRUE(d.fs().CreateDir("data").ok());
    ASSERT_TRUE(d.SyncDir("/").ok());
    auto unsynced = d.Create("data/unsynced");
    ASSERT_TRUE(unsynced->Append("x").ok());
    ASSERT_TRUE(d.Sync(*unsynced).ok());
    auto synced = d.Create("data/synced");
    ASSERT_TRUE(synced->Append("y").ok());
    ASSERT_TRUE(d.Sync(*synced).ok());
    ASSERT_TRUE(d.SyncDir("data").ok());
    auto late = d.Create("data/late");
    ASSERT_TRUE(d.Sync(*late).ok());
    unsynced.reset();
    synced.reset();
    late.reset();
    d.CrashAndRestart();
    EXPECT_EQ(d.Contents("data/synced"), "y") << "seed " << seed;
    EXPECT_EQ(d.Contents("data/unsynced"), "x") << "seed " << seed;
    if (!d.Contents("data/late").has_value()) vanished++;
  }
  EXPECT_GT(vanished, 0);
  EXPECT_LT(vanished, 40);
}

TEST(SimFsTest, ARenameIsAtomicAndDurableOnlyAfterSyncDir) {
  int renamed = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    DiskFixture d(seed);
    auto file = d.Create("tmp");
    ASSERT_TRUE(file->Append("v2").ok());
    ASSERT_TRUE(d.Sync(*file).ok());
    ASSERT_TRUE(d.SyncDir("/").ok());
    ASSERT_TRUE(d.fs().Rename("tmp", "current").ok());
    file.reset();
    d.CrashAndRestart();
    const bool has_tmp = d.Contents("tmp").has_value();
    const bool has_current = d.Contents("current").has_value();
    EXPECT_NE(has_tmp, has_current) << "seed " << seed;
    if (has_current) {
      renamed++;
      EXPECT_EQ(d.Contents("current"), "v2");
    }
  }
  EXPECT_GT(renamed, 0);
  EXPECT_LT(renamed, 40);

  DiskFixture d(1);
  auto file = d.Create("tmp");
  ASSERT_TRUE(d.Sync(*file).ok());
  ASSERT_TRUE(d.SyncDir("/").ok());
  ASSERT_TRUE(d.fs().Rename("tmp", "current").ok());
  ASSERT_TRUE(d.SyncDir("/").ok());
  file.reset();
  d.CrashAndRestart();
  EXPECT_TRUE(d.Contents("current").has_value());
  EXPECT_FALSE(d.Contents("tmp").has_value());
}

TEST(SimFsTest, RemovesAndNewDirectoriesAreDurableOnlyAfterSyncDir) {
  int came_back = 0;
  int dir_vanished = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    DiskFixture d(seed);
    auto file = d.Create("old");
    ASSERT_TRUE(d.Sync(*file).ok());
    ASSERT_TRUE(d.SyncDir("/").ok());
    file.reset();
    ASSERT_TRUE(d.fs().Remove("old").ok());
    ASSERT_TRUE(d.fs().CreateDir("new").ok());
    d.CrashAndRestart();
    if (d.Contents("old").has_value()) came_back++;
    if (!d.fs().Stat("new").ok()) dir_vanished++;
  }
  EXPECT_GT(came_back, 0);
  EXPECT_LT(came_back, 40);
  EXPECT_GT(dir_vanished, 0);
  EXPECT_LT(dir_vanished, 40);

  DiskFixture d(1);
  auto file = d.Create("old");
  ASSERT_TRUE(d.SyncDir("/").ok());
  file.reset();
  ASSERT_TRUE(d.fs().Remove("old").ok());
  ASSERT_TRUE(d.fs().CreateDir("new").ok());
  ASSERT_TRUE(d.SyncDir("/").ok());
  d.CrashAndRestart();
  EXPECT_FALSE(d.Contents("old").has_value());
  EXPECT_TRUE(d.fs().Stat("new").ok());
}

TEST(SimFsTest, AFailedFsyncLeavesTheUnsyncedWritesUndefined) {
  int lost = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    DiskFixture d(seed);
    auto file = d.Create("f");
    ASSERT_TRUE(d.SyncDir("/").ok());
    ASSERT_TRUE(file->Append(std::string(4 * kSectorBytes, 'x')).ok());
    d.disk().FailNextSyncs(1);
    const absl::Status failed = d.Sync(*file);
    EXPECT_TRUE(absl::IsInternal(failed)) << failed;
    // The page cache still serves the bytes...
    EXPECT_EQ(*file->ReadAt(0, 4 * kSectorBytes), std::string(4 * kSectorBytes, 'x'));
    // ...and a later sync that succeeds does not make them durable again.
    EXPECT_TRUE(d.Sync(*file).ok());
    file.reset();
    d.CrashAndRestart();
    if (d.Contents("f") != std::string(4 * kSectorBytes, 'x')) lost++;
  }
  EXPECT_GT(lost, 0);
  EXPECT_LT(lost, 40);
}

TEST(SimFsTest, ASyncOverlappingAFailedOneFailsToo) {
  DiskFixture d(1);
  auto file = d.Create("f");
  ASSERT_TRUE(file->Append("x").ok());
  absl::Status first, second;
  int done = 0;
  auto sync = [](File* file, absl::Status* out, int* done) -> Task<void> {
    *out = co_await file->Sync();
    (*done)++;
  };
  d.disk().FailNextSyncs(1);
  d.machine().env()->Spawn(sync(file.get(), &first, &done));
  d.machine().env()->Spawn(sync(file.get(), &second, &done));
  d.world().RunUntil([&] { return done == 2; }, Seconds(1));
  EXPECT_FALSE(first.ok() && second.ok()) << first << " " << second;
  EXPECT_TRUE(absl::IsInternal(first)) << "the first to finish drew the fault";
  EXPECT_TRUE(absl::IsInternal(second)) << second;
}

TEST(SimFsTest, FailedWritesReturnEioOrEnospcAfterAPrefix) {
  DiskFixture d(1);
  auto file = d.Create("f");
  d.disk().FailNextWrites(absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::IsInternal(file->Append(std::string(1000, 'a'))));
  const uint64_t after_eio = *file->Size();
  EXPECT_LT(after_eio, 1000u);
  d.disk().FailNextWrites(absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::IsResourceExhausted(file->Append(std::string(1000, 'b'))));
  EXPECT_LT(*file->Size(), after_eio + 1000);
  EXPECT_TRUE(file->Append("ok").ok());
  EXPECT_EQ(d.disk().stats().write_failures, 2u);
}

TEST(SimFsTest, ABitFlipOnReadChangesOneBitOfTheCopyOnly) {
  DiskFixture d(1);
  auto file = d.Create("f");
  const std::string data(3000, 'q');
  ASSERT_TRUE(file->Append(data).ok());
  d.disk().FlipBitOnNextReads(1);
  const std::string flipped = *file->ReadAt(0, data.size());
  int bits = 0;
  for (size_t i = 0; i < data.size(); i++) {
    bits += __builtin_popcount(static_cast<unsigned char>(flipped[i] ^ data[i]));
  }
  EXPECT_EQ(bits, 1);
  EXPECT_EQ(*file->ReadAt(0, data.size()), data);
  EXPECT_EQ(d.disk().damage_count(), 0u) << "a read flip destroys nothing";
}

TEST(SimFsTest, AMisdirectedWriteLandsElsewhereSilently) {
  DiskFixture d(3);
  auto file = d.Create("f");
  ASSERT_TRUE(file->Append(std::string(16 * kSectorBytes, '.')).ok());
  d.disk().MisdirectNextWrites(1);
  ASSERT_TRUE(file->WriteAt(8 * kSectorBytes, std::string(kSectorBytes, 'M')).ok());
  const std::string contents = *file->ReadAt(0, 64 * kSectorBytes);
  EXPECT_EQ(contents.substr(8 * kSectorBytes, kSectorBytes),
            std::string(kSectorBytes, '.'));
  EXPECT_NE(contents.find(std::string(kSectorBytes, 'M')), std::string::npos);
  EXPECT_EQ(contents.find(std::string(kSectorBytes, 'M')) % kSectorBytes, 0u);
  EXPECT_EQ(d.disk().damage_count(), 1u);
}

TEST(SimFsTest, CorruptBitRotsDurableBytes) {
  DiskFixture d(1);
  auto file = d.Create("f");
  ASSERT_TRUE(d.SyncDir("/").ok());
  ASSERT_TRUE(file->Append("abc").ok());
  ASSERT_TRUE(d.Sync(*file).ok());
  ASSERT_TRUE(d.disk().CorruptBit("f", 1, 0).ok());
  file.reset();
  d.CrashAndRestart();
  EXPECT_EQ(d.Contents("f"), "acc");
  EXPECT_EQ(d.disk().damage_count(), 1u);
  EXPECT_TRUE(absl::IsOutOfRange(d.disk().CorruptBit("f", 3, 0)));
}

TEST(SimFsTest, SyncTakesASeededLatencyAndSyncNowNone) {
  DiskFixture d(1);
  auto file = d.Create("f");
  ASSERT_TRUE(d.SyncDir("/").ok());
  const DiskOptions defaults;
  for (int i = 0; i < 20; i++) {
    ASSERT_TRUE(file->Append("x").ok());
    const TimePoint start = d.world().now();
    ASSERT_TRUE(d.Sync(*file).ok());
    const Duration took = d.world().now() - start;
    EXPECT_GE(took, defaults.sync_latency_min);
    EXPECT_LE(took, defaults.sync_latency_max);
  }
  d.disk().SlowSyncsUntil(d.world().now() + Seconds(10), Milliseconds(500),
                          Seconds(1));
  const TimePoint start = d.world().now();
  ASSERT_TRUE(d.Sync(*file).ok());
  EXPECT_GE(d.world().now() - start, Milliseconds(500));
  ASSERT_TRUE(file->Append("y").ok());
  const TimePoint before = d.world().now();
  ASSERT_TRUE(file->SyncNow().ok());
  EXPECT_EQ(d.world().now(), before);
  EXPECT_EQ(*d.disk().DurableContents("f"), std::string(20, 'x') + "y");
}

TEST(SimFsTest, FaultRatesApplyOnlyUnderTheirPathPrefix) {
  DiskFixture d(1);
  ASSERT_TRUE(d.fs().CreateDir("wal").ok());
  auto wal = d.Create("wal/0001");
  auto other = d.Create("other");
  d.disk().set_fault_rates({.write_io_error = 1.0, .path_prefix = "/wal"});
  EXPECT_TRUE(other->Append("fine").ok());
  EXPECT_TRUE(absl::IsInternal(wal->Append("fails")));
  d.disk().set_fault_rates({});
  EXPECT_TRUE(wal->Append("fine again").ok());
}

TEST(SimFsTest, WipeErasesEverything) {
  DiskFixture d(1);
  auto file = d.Create("f");
  ASSERT_TRUE(d.SyncDir("/").ok());
  ASSERT_TRUE(d.Sync(*file).ok());
  file.reset();
  d.machine().Kill();
  d.machine().Wipe();
  d.machine().Start();
  EXPECT_FALSE(d.Contents("f").has_value());
  EXPECT_TRUE(absl::IsNotFound(d.disk().DurableContents("f").status()));
}

TEST(SimFsTest, ALockIsExclusiveAndDiesWithItsProcess) {
  DiskFixture d(1);
  auto lock = d.fs().Lock("member.lock");
  ASSERT_TRUE(lock.ok());
  auto other = d.disk().NewView(kNoProcess);
  EXPECT_TRUE(absl::IsUnavailable(other->Lock("member.lock").status()));
  d.machine().Kill();  // the holder dies with its lock object still alive
  auto second = other->Lock("member.lock");
  EXPECT_TRUE(second.ok()) << second.status();
  lock->reset();  // the dead holder's object cannot release the new lock
  EXPECT_TRUE(absl::IsUnavailable(other->Lock("member.lock").status()));
}

TEST(SimFsTest, TheSameSeedCrashesTheSameWay) {
  std::vector<uint64_t> hashes;
  for (int run = 0; run < 2; run++) {
    DiskFixture d(42);
    auto file = d.Create("f");
    for (int i = 0; i < 50; i++) ASSERT_TRUE(file->Append(std::string(300, 'a' + i % 26)).ok());
    file.reset();
    d.CrashAndRestart();
    hashes.push_back(d.disk().StateHash());
  }
  EXPECT_EQ(hashes[0], hashes[1]);
}

}  // namespace
}  // namespace keel::sim
