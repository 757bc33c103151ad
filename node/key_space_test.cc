// Tests of KeySpace: installing a leader's snapshot under the views that
// derive from the key space, with a snapshot stream still reading the old
// one, and a replacement that fails half way (the new directory does not
// open), after which the key space must answer errors, never crash.
#include "node/key_space.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "node/snapshot_io.h"
#include "sim/sim_testing.h"
#include "store/mvcc_snapshot.h"

namespace keel::node {
namespace {

constexpr KeySpaceIdentity kIdentity{.cluster_id = 7, .member_id = 9};

class KeySpaceTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeySpace> Open(const std::string& dir) {
    KeySpaceOptions options;
    options.dir = dir;
    options.leveldb_background = store::LevelDbBackground::kQueue;
    options.leveldb_write_buffer_bytes = 64 << 10;
    auto space = KeySpace::Open(h_.env(), options);
    EXPECT_TRUE(space.ok()) << space.status();
    return space.ok() ? std::move(*space) : nullptr;
  }

  // Puts `count` keys "<prefix>N" as entries after the applied one.
  static void Fill(KeySpace& space, const std::string& prefix, int count) {
    for (int i = 0; i < count; i++) {
      const uint64_t index = space.mvcc().applied().index + 1;
      auto put = space.mvcc().Put({index, 1}, {.key = prefix + std::to_string(i), .value = "v"});
      ASSERT_TRUE(put.ok()) << put.status();
    }
  }

  // The leader's key space as a snapshot file, as RaftNode sends it.
  std::string SnapshotOf(KeySpace& space, const std::string& path) {
    auto written = h_.Run(WriteSnapshotFile(h_.env(), space.mvcc(), path,
                                            /*member_id=*/1, kIdentity.cluster_id));
    EXPECT_TRUE(written.ok()) << written.status();
    return path;
  }

  sim::SimHarness h_{1};
};

TEST_F(KeySpaceTest, InstallingASnapshotRepointsTheViewsAndStopsOldReaders) {
  std::unique_ptr<KeySpace> leader = Open("leader");
  Fill(*leader, "from-leader-", 20);
  const std::string file = SnapshotOf(*leader, "leader.snap");

  std::unique_ptr<KeySpace> follower = Open("follower");
  Fill(*follower, "stale-", 3);
  MemberStore& members = follower->members();  // views outlive the swap
  // A snapshot stream still reading the follower's old key space.
  auto reader = store::MvccSnapshot::Take(&follower->mvcc());
  ASSERT_TRUE(reader.ok()) << reader.status();

  ASSERT_TRUE(follower->InstallSnapshot(file, leader->mvcc().applied().index, kIdentity).ok());
  EXPECT_EQ(follower->mvcc().applied().index, leader->mvcc().applied().index);
  EXPECT_EQ(follower->mvcc().current_revision(), leader->mvcc().current_revision());
  EXPECT_EQ(&members, &follower->members());
  EXPECT_EQ(members.local_id(), kIdentity.member_id) << "this member's identity, not the sender's";
  // The old reader let go of the old database and now says why.
  std::string key, value;
  auto next = (*reader)->NextRecord(&key, &value);
  EXPECT_TRUE(absl::IsUnavailable(next.status())) << next.status();
  reader->reset();
  auto got = follower->mvcc().Range({.key = "from-leader-1"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->kvs.size(), 1u);
}

TEST_F(KeySpaceTest, AReplacementThatCannotOpenLeavesAClosedStoreNotADanglingOne) {
  std::unique_ptr<KeySpace> space = Open("kv");
  Fill(*space, "k", 5);
  const int64_t revision = space->mvcc().current_revision();
  // A "complete" directory that LevelDB refuses to open.
  ASSERT_TRUE(CreateDirs(h_.env().fs(), "broken").ok());
  auto current = h_.env().fs().Open("broken/CURRENT", {.create = true});
  ASSERT_TRUE(current.ok());
  ASSERT_TRUE((*current)->Append("MANIFEST-000999\n").ok());
  ASSERT_TRUE(h_.Run((*current)->Sync()).ok());

  absl::Status replaced = space->Replace("broken");
  ASSERT_FALSE(replaced.ok());
  // The member stops on that error; until then every caller gets errors.
  EXPECT_TRUE(space->mvcc().closed());
  EXPECT_EQ(space->mvcc().current_revision(), revision);
  EXPECT_TRUE(absl::IsUnavailable(space->mvcc().Range({.key = "k1"}).status()));
  const uint64_t next = space->mvcc().applied().index + 1;
  EXPECT_TRUE(absl::IsUnavailable(space->mvcc().Put({next, 1}, {.key = "x", .value = "y"}).status()));
  EXPECT_TRUE(absl::IsUnavailable(space->mvcc().SkipEntry({next, 1})));
  EXPECT_TRUE(absl::IsUnavailable(store::MvccSnapshot::Take(&space->mvcc()).status()));
}

}  // namespace
}  // namespace keel::node
