// Tests of the key-space swap that installs a received snapshot
// (SwapKeySpace) and of RecoverKeySpaceSwap, which finishes or undoes a swap
// a crash interrupted: every directory state a crash can leave comes back
// as the old key space or the new one, whole, with no leftovers. On a
// simulated disk; a "key space" here is a directory with a marker file.
#include "node/snapshot_io.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/sim_fs.h"
#include "sim/sim_testing.h"

namespace keel::node {
namespace {

constexpr char kLive[] = "member/kv";
constexpr char kFresh[] = "member/kv.restore";
constexpr char kOld[] = "member/kv.old";

class KeySpaceSwapTest : public ::testing::Test {
 protected:
  FileSystem& fs() { return h_.env().fs(); }

  // A complete key space at `dir` whose marker reads `content`, durable.
  void MakeKeySpace(const std::string& dir, const std::string& content) {
    ASSERT_TRUE(CreateDirs(fs(), dir).ok());
    auto file = fs().Open(dir + "/CONTENT", {.create = true});
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->WriteAt(0, content).ok());
    ASSERT_TRUE((*file)->SyncNow().ok());
    ASSERT_TRUE(fs().SyncDirNow(dir).ok());
    ASSERT_TRUE(fs().SyncDirNow("member").ok());
    ASSERT_TRUE(fs().SyncDirNow(".").ok());
  }

  // The marker of the key space at `dir`; empty if there is none.
  std::string Content(const std::string& dir) {
    auto file = fs().Open(dir + "/CONTENT", {.read_only = true});
    if (!file.ok()) return "";
    auto data = (*file)->ReadAt(0, *(*file)->Size());
    return data.ok() ? *data : "";
  }

  bool Exists(const std::string& path) { return fs().Stat(path).ok(); }

  void ExpectOnly(const std::string& content) {
    EXPECT_EQ(Content(kLive), content);
    EXPECT_FALSE(Exists(kFresh));
    EXPECT_FALSE(Exists(kOld));
  }

  sim::SimHarness h_{7};
};

TEST_F(KeySpaceSwapTest, ASwapReplacesTheLiveKeySpace) {
  MakeKeySpace(kLive, "old");
  MakeKeySpace(kFresh, "new");
  ASSERT_TRUE(SwapKeySpace(fs(), kLive, kFresh).ok());
  ExpectOnly("new");
  // Durable: a crash right after keeps it.
  h_.CrashAndRestart();
  ASSERT_TRUE(RecoverKeySpaceSwap(fs(), kLive).ok());
  ExpectOnly("new");
}

TEST_F(KeySpaceSwapTest, NothingToRecoverLeavesTheLiveKeySpace) {
  MakeKeySpace(kLive, "old");
  ASSERT_TRUE(RecoverKeySpaceSwap(fs(), kLive).ok());
  ExpectOnly("old");
}

TEST_F(KeySpaceSwapTest, AFreshCopyWithoutTheLiveOneBecomesLive) {
  // The crash came between live -> live.old and live.restore -> live.
  MakeKeySpace(kOld, "old");
  MakeKeySpace(kFresh, "new");
  ASSERT_TRUE(RecoverKeySpaceSwap(fs(), kLive).ok());
  ExpectOnly("new");
  h_.CrashAndRestart();  // the recovery's rename was made durable
  ASSERT_TRUE(RecoverKeySpaceSwap(fs(), kLive).ok());
  ExpectOnly("new");
}

TEST_F(KeySpaceSwapTest, AFreshCopyBeforeTheSwapBeganIsDropped) {
  // The crash came while the snapshot was being restored, or before the
  // first rename: the live key space stays.
  MakeKeySpace(kLive, "old");
  MakeKeySpace(kFresh, "new");
  ASSERT_TRUE(RecoverKeySpaceSwap(fs(), kLive).ok());
  ExpectOnly("old");
}

TEST_F(KeySpaceSwapTest, TheOldCopyLeftAfterBothRenamesIsRemoved) {
  MakeKeySpace(kLive, "new");
  MakeKeySpace(kOld, "old");
  ASSERT_TRUE(RecoverKeySpaceSwap(fs(), kLive).ok());
  ExpectOnly("new");
}

TEST_F(KeySpaceSwapTest, AnOldCopyAloneIsPutBack) {
  // Neither the live key space nor a fresh one: the old copy is all there
  // is, and must not be thrown away.
  MakeKeySpace(kOld, "old");
  ASSERT_TRUE(RecoverKeySpaceSwap(fs(), kLive).ok());
  ExpectOnly("old");
}

TEST_F(KeySpaceSwapTest, APowerLossAtAnyStepOfTheSwapRecoversOneWholeKeySpace) {
  // The swap's steps, done one by one, with a power loss after each prefix
  // of them; the disk keeps a seeded choice of what was not synced. Each
  // crash point runs on several disk seeds.
  const std::vector<std::string> steps = {"remove old", "live -> old", "fresh -> live",
                                          "sync dir", "remove old again"};
  for (uint64_t seed = 1; seed <= 12; seed++) {
    for (size_t done = 0; done <= steps.size(); done++) {
      SCOPED_TRACE(::testing::Message() << "seed " << seed << ", crash after "
                                        << (done == 0 ? "nothing" : steps[done - 1]));
      sim::SimHarness h(seed);
      FileSystem* fs = &h.env().fs();
      auto make = [&](const std::string& dir, const std::string& content) {
        ASSERT_TRUE(CreateDirs(*fs, dir).ok());
        auto file = fs->Open(dir + "/CONTENT", {.create = true});
        ASSERT_TRUE(file.ok());
        ASSERT_TRUE((*file)->WriteAt(0, content).ok());
        ASSERT_TRUE((*file)->SyncNow().ok());
        ASSERT_TRUE(fs->SyncDirNow(dir).ok());
        ASSERT_TRUE(fs->SyncDirNow("member").ok());
        ASSERT_TRUE(fs->SyncDirNow(".").ok());
      };
      make(kLive, "old");
      make(kOld, "stale");  // a leftover of an earlier swap
      make(kFresh, "new");
      for (size_t i = 0; i < done; i++) {
        absl::Status step;
        if (i == 0 || i == 4) step = RemoveTree(*fs, kOld);
        if (i == 1) step = fs->Rename(kLive, kOld);
        if (i == 2) step = fs->Rename(kFresh, kLive);
        if (i == 3) step = fs->SyncDirNow("member");
        ASSERT_TRUE(step.ok()) << step;
      }
      h.CrashAndRestart();
      fs = &h.env().fs();
      ASSERT_TRUE(RecoverKeySpaceSwap(*fs, kLive).ok());
      auto file = fs->Open(std::string(kLive) + "/CONTENT", {.read_only = true});
      ASSERT_TRUE(file.ok()) << "no live key space after recovery";
      const std::string content = *(*file)->ReadAt(0, *(*file)->Size());
      if (done >= 4) {
        EXPECT_EQ(content, "new") << "the synced swap was lost";
      } else {
        EXPECT_TRUE(content == "old" || content == "new") << content;
      }
      EXPECT_FALSE(fs->Stat(kFresh).ok());
      EXPECT_FALSE(fs->Stat(kOld).ok());
    }
  }
}

// --max-snapshots: which snapshot files go once the key space holds the
// snapshot at `installed`.
TEST(SnapshotFilesToPurgeTest, KeepsTheNewestInstalledOnes) {
  const std::string a = "0000000000000002-000000000000000a.snap";  // index 10
  const std::string b = "0000000000000002-0000000000000014.snap";  // 20
  const std::string c = "0000000000000003-000000000000001e.snap";  // 30
  const std::string d = "0000000000000003-0000000000000028.snap";  // 40, not yet installed
  const std::vector<std::string> listing = {
      c, "send-0000000000000002-0000000000000014.tmp", a, "0000000000000002.snap.db", d, b,
      "xxxxxxxxxxxxxxxx-000000000000000a.snap"};
  struct Case {
    uint64_t installed;
    uint64_t max_snapshots;
    std::vector<std::string> purge;
  };
  const Case cases[] = {
      {30, 1, {a, b}},     // only the newest installed stays
      {30, 2, {a}},
      {30, 3, {}},
      {30, 5, {}},         // etcd's default
      {30, 0, {}},         // 0: unlimited
      {20, 1, {a}},        // 30 and 40 are not installed yet: never purged
      {5, 1, {}},          // nothing installed
      {40, 1, {a, b, c}},
  };
  for (const Case& tc : cases) {
    EXPECT_EQ(SnapshotFilesToPurge(listing, tc.installed, tc.max_snapshots), tc.purge)
        << "installed " << tc.installed << ", max " << tc.max_snapshots;
  }
  EXPECT_TRUE(SnapshotFilesToPurge({}, 30, 1).empty());
}

}  // namespace
}  // namespace keel::node
