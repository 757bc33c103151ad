// Tests of self-repair: the decision rules as tables, the damage tag and
// the marker, and whole members on simulated machines whose key space is
// damaged on disk: rebuilt from a peer (a compacted log), from their own
// log (a log from index 1), or refused (no peer to recover from).
#include "node/self_repair.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/bootstrap.h"
#include "node/server.h"
#include "node/testing/sim_members.h"
#include "sim/sim_fs.h"

namespace keel::node {
namespace {

struct DecisionCase {
  const char* name;
  DamageFacts facts;
  RepairAction want;
};

TEST(DecideRepairTest, Table) {
  const DecisionCase cases[] = {
      {"key space, 3 voters", {DamageSite::kKeySpace, true, 2, 0}, RepairAction::kRepairKeySpace},
      {"key space, 2 voters", {DamageSite::kKeySpace, true, 1, 0}, RepairAction::kRepairKeySpace},
      {"key space, alone", {DamageSite::kKeySpace, true, 0, 0}, RepairAction::kStop},
      {"key space, WAL damaged too", {DamageSite::kKeySpace, false, 2, 0}, RepairAction::kStop},
      {"WAL", {DamageSite::kWal, true, 2, 0}, RepairAction::kStop},
      {"WAL, 5 voters", {DamageSite::kWal, false, 4, 0}, RepairAction::kStop},
      // 3 voters: the quorum is 2, which the two peers make alone.
      {"hash, both peers agree", {DamageSite::kHashMismatch, true, 2, 2},
       RepairAction::kRepairKeySpace},
      {"hash, one peer of two", {DamageSite::kHashMismatch, true, 2, 1}, RepairAction::kStop},
      // 2 voters: the quorum is 2; one peer cannot outvote this member.
      {"hash, 2 voters", {DamageSite::kHashMismatch, true, 1, 1}, RepairAction::kStop},
      // 5 voters: the quorum is 3.
      {"hash, 3 of 4 peers", {DamageSite::kHashMismatch, true, 4, 3},
       RepairAction::kRepairKeySpace},
      {"hash, 2 of 4 peers", {DamageSite::kHashMismatch, true, 4, 2}, RepairAction::kStop},
      {"hash, WAL damaged", {DamageSite::kHashMismatch, false, 4, 4}, RepairAction::kStop},
  };
  for (const DecisionCase& c : cases) {
    const RepairDecision decision = DecideRepair(c.facts);
    EXPECT_EQ(decision.action, c.want) << c.name << ": " << decision.why;
    EXPECT_FALSE(decision.why.empty()) << c.name;
  }
}

TEST(CheckRepairSourceTest, Table) {
  struct Case {
    uint64_t source_applied, source_cluster, log_snapshot_index, cluster;
    bool usable;
    const char* reason;  // in the error when not usable
  } cases[] = {
      {100, 7, 50, 7, true, ""},
      {50, 7, 50, 7, true, ""},     // exactly the log's start
      {49, 7, 50, 7, false, "entries in between would be missing"},
      {0, 7, 0, 7, true, ""},       // nothing compacted, nothing applied
      {500, 7, 50, 7, true, ""},    // ahead of this member: the leader fills the log
      {100, 8, 50, 7, false, "of cluster"},
  };
  for (const Case& c : cases) {
    absl::Status status =
        CheckRepairSource(c.source_applied, c.source_cluster, c.log_snapshot_index, c.cluster);
    EXPECT_EQ(status.ok(), c.usable) << status;
    if (!c.usable) {
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_TRUE(absl::StrContains(status.message(), c.reason)) << status;
    }
  }
}

TEST(KeySpaceDamageTest, TagsOnlyWhatItIsGiven) {
  EXPECT_TRUE(IsKeySpaceDamage(KeySpaceDamage(absl::DataLossError("checksum mismatch"))));
  EXPECT_EQ(KeySpaceDamage(absl::DataLossError("x")).code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(IsKeySpaceDamage(KeySpaceDataLoss(absl::DataLossError("bad block"))));
  // An I/O error is not damage: the disk may do better after a restart.
  EXPECT_FALSE(IsKeySpaceDamage(KeySpaceDataLoss(absl::InternalError("fsync failed"))));
  EXPECT_TRUE(KeySpaceDamage(absl::OkStatus()).ok());
  EXPECT_FALSE(IsKeySpaceDamage(absl::DataLossError("checksum mismatch")));
  EXPECT_FALSE(IsKeySpaceDamage(absl::InternalError("fsync failed")));
  EXPECT_FALSE(IsKeySpaceDamage(absl::OkStatus()));
}

// ---- Members whose key space is damaged on disk ----

class SelfRepairTest : public ::testing::Test {
 protected:
  void Make(int size, uint64_t snapshot_count) {
    testing::SimMembersOptions options{.size = size};
    // Buggify compacts the log at tiny thresholds; these tests choose when.
    options.world.buggify = false;
    c_ = std::make_unique<testing::SimMembers>(options);
    for (int i = 0; i < size; i++) {
      c_->config(i).snapshot_count = snapshot_count;
      c_->config(i).snapshot_catchup_entries = 5;
    }
    ASSERT_TRUE(c_->StartAll().ok());
    leader_ = c_->WaitLeader(Seconds(20));
    ASSERT_GE(leader_, 0);
  }
  void TearDown() override {
    if (c_ != nullptr) (void)c_->StopAll();
  }

  absl::Status Put(const std::string& key, const std::string& value) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    return c_->RunOn(leader_, c_->server(leader_).kv().Put(request)).status();
  }

  // The value of `key` on member i, read from its own key space.
  std::string LocalValue(int i, const std::string& key) {
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    request.set_serializable(true);
    auto response = c_->RunOn(i, c_->server(i).kv().Range(request));
    if (!response.ok() || response->kvs_size() != 1) return "";
    return response->kvs(0).value();
  }

  // Flips a bit in the middle of every MANIFEST of member i's key space
  // (it must be down): LevelDB refuses to open it (its checksums).
  int DamageManifest(int i) {
    const std::string dir = KeySpaceDir(c_->config(i));
    auto names = c_->env(i).fs().List(dir);
    KEEL_ASSERT(names.ok());
    int damaged = 0;
    for (const std::string& name : *names) {
      if (!absl::StartsWith(name, "MANIFEST-")) continue;
      auto info = c_->env(i).fs().Stat(JoinPath(dir, name));
      KEEL_ASSERT(info.ok() && info->size > 8);
      KEEL_ASSERT(c_->machine(i).disk().CorruptBit(JoinPath(dir, name), info->size / 2, 3).ok());
      damaged++;
    }
    return damaged;
  }

  bool Marked(int i) { return RepairPending(c_->env(i).fs(), c_->config(i)); }

  std::unique_ptr<testing::SimMembers> c_;
  int leader_ = -1;
};

TEST_F(SelfRepairTest, AFollowerWithACompactedLogRecoversItsKeySpaceFromAPeer) {
  Make(3, /*snapshot_count=*/10);
  for (int k = 0; k < 60; k++) {
    ASSERT_TRUE(Put("k" + std::to_string(k), "v" + std::to_string(k)).ok());
  }
  c_->world().RunFor(Seconds(2));
  const int follower = (leader_ + 1) % 3;
  const uint64_t id = c_->server(follower).id();
  ASSERT_GT(c_->server(follower).raft().snapshot_index(), 0u);  // needs a peer
  ASSERT_TRUE(c_->Stop(follower).ok());
  ASSERT_GT(DamageManifest(follower), 0);

  ASSERT_TRUE(c_->Start(follower).ok());
  EXPECT_TRUE(c_->server(follower).repaired_at_start());
  EXPECT_TRUE(c_->LogHas(follower, "recovered the key space from a peer"));
  EXPECT_EQ(c_->server(follower).id(), id);  // the same member
  EXPECT_FALSE(Marked(follower));
  // Writes go on, and the repaired member has them all.
  ASSERT_TRUE(Put("after", "repair").ok());
  c_->world().RunFor(Seconds(3));
  EXPECT_EQ(LocalValue(follower, "k0"), "v0");
  EXPECT_EQ(LocalValue(follower, "k59"), "v59");
  EXPECT_EQ(LocalValue(follower, "after"), "repair");
  auto want = c_->server(leader_).key_space().mvcc().Hash();
  auto got = c_->server(follower).key_space().mvcc().Hash();
  ASSERT_TRUE(want.ok() && got.ok());
  EXPECT_EQ(got->revision, want->revision);
  EXPECT_EQ(got->hash, want->hash);
}

TEST_F(SelfRepairTest, ALogFromIndexOneIsReplayedWithoutAPeer) {
  Make(1, /*snapshot_count=*/100000);
  for (int k = 0; k < 20; k++) {
    ASSERT_TRUE(Put("k" + std::to_string(k), "v" + std::to_string(k)).ok());
  }
  ASSERT_EQ(c_->server(0).raft().snapshot_index(), 0u);
  ASSERT_TRUE(c_->Stop(0).ok());
  ASSERT_GT(DamageManifest(0), 0);
  ASSERT_TRUE(c_->Start(0).ok());
  EXPECT_TRUE(c_->server(0).repaired_at_start());
  c_->world().RunFor(Seconds(2));
  EXPECT_EQ(LocalValue(0, "k19"), "v19");
}

TEST_F(SelfRepairTest, AMemberAloneWithACompactedLogStaysStopped) {
  Make(1, /*snapshot_count=*/10);
  for (int k = 0; k < 40; k++) ASSERT_TRUE(Put("k" + std::to_string(k), "v").ok());
  c_->world().RunFor(Seconds(1));
  ASSERT_GT(c_->server(0).raft().snapshot_index(), 0u);
  ASSERT_TRUE(c_->Stop(0).ok());
  ASSERT_GT(DamageManifest(0), 0);
  absl::Status started = c_->Start(0);
  EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition) << started;
  EXPECT_TRUE(absl::StrContains(started.message(), "cannot be repaired")) << started;
  // The damage stays recorded: no later start opens that key space.
  EXPECT_TRUE(Marked(0));
}

}  // namespace
}  // namespace keel::node
