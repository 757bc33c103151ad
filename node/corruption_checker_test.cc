// Tests of the corruption checks on three simulated members serving gRPC:
// a follower whose key space is made to differ (one value rewritten on its
// disk while it is down, the way a flipped bit that LevelDB's checksums
// miss would leave it) is refused at start by the initial check, and is
// caught by the leader's periodic check, which raises CORRUPT on every
// member (node/applier_test covers the refusals that follow).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "leveldb/write_batch.h"
#include "node/bootstrap.h"
#include "node/errors.h"
#include "node/key_space.h"
#include "node/self_repair.h"
#include "node/server.h"
#include "node/testing/sim_members.h"

namespace keel::node {
namespace {

constexpr char kValue[] = "value-before-damage";
constexpr char kDamaged[] = "value-after--damage";  // same length

class CorruptionCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_ = std::make_unique<testing::SimMembers>(
        testing::SimMembersOptions{.size = 3, .kind = testing::MemberKind::kNode});
  }
  void TearDown() override { (void)c_->StopAll(); }

  void StartAll(const std::string& check_time) {
    for (int i = 0; i < 3; i++) c_->config(i).corrupt_check_time = check_time;
    ASSERT_TRUE(c_->StartAll().ok());
    leader_ = c_->WaitLeader(Seconds(20));
    ASSERT_GE(leader_, 0);
    ASSERT_TRUE(c_->WaitPublished());
    ASSERT_TRUE(Put("a", kValue).ok());
    ASSERT_TRUE(Put("b", "other").ok());
    c_->world().RunFor(Seconds(2));  // every member applies both
  }

  absl::Status Put(const std::string& key, const std::string& value) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    return c_->RunOn(leader_, c_->server(leader_).kv().Put(request)).status();
  }

  // Rewrites kValue as kDamaged in every LevelDB record of member i's key
  // space (it must be down). Returns how many records changed.
  int DamageOnDisk(int i) {
    const std::string dir = KeySpaceDir(c_->config(i));
    return c_->RunOn(i, [](Env& env, std::string dir) -> Task<int> {
      KeySpaceOptions options;
      options.dir = dir;
      options.leveldb_background = store::LevelDbBackground::kQueue;
      options.leveldb_write_buffer_bytes = 64 << 10;
      auto space = KeySpace::Open(env, options);
      KEEL_ASSERT(space.ok());
      store::MvccDb& db = *(*space)->mvcc().db();
      leveldb::WriteBatch batch;
      int changed = 0;
      {
        std::unique_ptr<store::DbIterator> it = db.NewIterator();
        for (it->Seek(""); it->Valid(); it->Next()) {
          std::string value(it->value());
          const size_t at = value.find(kValue);
          if (at == std::string::npos) continue;
          value.replace(at, sizeof(kValue) - 1, kDamaged);
          batch.Put(std::string(it->key()), value);
          changed++;
        }
      }
      KEEL_ASSERT(db.Write(&batch, /*sync=*/true).ok());
      KEEL_ASSERT((*space)->Close().ok());
      co_return changed;
    }(c_->env(i), dir));
  }

  std::unique_ptr<testing::SimMembers> c_;
  int leader_ = -1;
};

TEST_F(CorruptionCheckerTest, InitialCheckRefusesAMemberThatDiffersFromItsPeers) {
  StartAll("0s");
  const int follower = (leader_ + 1) % 3;
  ASSERT_TRUE(c_->Stop(follower).ok());
  ASSERT_GT(DamageOnDisk(follower), 0);
  c_->config(follower).initial_corrupt_check = true;
  absl::Status started = c_->Start(follower);
  EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition) << started;
  EXPECT_TRUE(absl::EndsWith(started.message(), " found data inconsistency with peers"))
      << started;
  // Beyond etcd: both peers, a quorum without it, agree against it, so it
  // marked its key space damaged; the next start rebuilds it from a peer
  // and then passes the check (node/self_repair.h).
  EXPECT_TRUE(RepairPending(c_->env(follower).fs(), c_->config(follower)));
  ASSERT_TRUE(c_->Start(follower).ok());
  EXPECT_TRUE(c_->server(follower).repaired_at_start());
  EXPECT_TRUE(c_->LogHas(follower, "initial corruption checking passed; no corruption"));
  // An undamaged member passes the same check.
  const int other = (leader_ + 2) % 3;
  ASSERT_TRUE(c_->Stop(other).ok());
  c_->config(other).initial_corrupt_check = true;
  EXPECT_TRUE(c_->Start(other).ok());
  EXPECT_TRUE(c_->LogHas(other, "initial corruption checking passed; no corruption"));
}

TEST_F(CorruptionCheckerTest, LeaderRaisesCorruptOnEveryMember) {
  StartAll("5s");
  const int follower = (leader_ + 1) % 3;
  ASSERT_TRUE(c_->Stop(follower).ok());
  ASSERT_GT(DamageOnDisk(follower), 0);
  ASSERT_TRUE(c_->Start(follower).ok());
  // A check or two on the leader (every 5 s).
  c_->world().RunFor(Seconds(12));
  for (int i = 0; i < 3; i++) {
    EXPECT_TRUE(c_->server(i).key_space().alarms().Active(etcdserverpb::CORRUPT))
        << "member " << i;
  }
  // etcd raises it for member 0.
  const auto alarms = c_->server(leader_).key_space().alarms().List(etcdserverpb::CORRUPT);
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].memberid(), 0u);
  // With CORRUPT active the cluster refuses writes, with etcd's error, and
  // keeps serving: the refusal is not a store failure.
  for (const char* key : {"c", "d"}) {
    const absl::Status put = Put(key, "v");
    EXPECT_EQ(put.code(), absl::StatusCode::kDataLoss) << put;
    EXPECT_EQ(put.message(), "etcdserver: corrupt cluster") << put;
  }
  for (int i = 0; i < 3; i++) EXPECT_TRUE(c_->up(i)) << "member " << i;
  EXPECT_FALSE(c_->LogHas(leader_, "member stopped on a fatal error"));
}

TEST_F(CorruptionCheckerTest, AgreeingMembersRaiseNothing) {
  StartAll("5s");
  c_->world().RunFor(Seconds(12));
  for (int i = 0; i < 3; i++) {
    EXPECT_FALSE(c_->server(i).key_space().alarms().Active(etcdserverpb::CORRUPT));
  }
  EXPECT_TRUE(Put("c", "v").ok());
}

}  // namespace
}  // namespace keel::node
