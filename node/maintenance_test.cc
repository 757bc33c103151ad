// Tests of the Maintenance service's operator calls on simulated members:
// Status's dbSize against dbSizeInUse through a compaction and a
// defragmentation, Defragment keeping every key and revision (also with
// writes around it and across a restart), and MoveLeader with etcd's
// errors. The handlers are called directly, without a connection.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/errors.h"
#include "node/member_services.h"
#include "node/server.h"
#include "node/testing/sim_members.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::node {
namespace {

using etcdserverpb::StatusResponse;

class MaintenanceTest : public ::testing::Test {
 protected:
  void StartCluster(int size) {
    c_ = std::make_unique<testing::SimMembers>(testing::SimMembersOptions{.size = size});
    ASSERT_TRUE(c_->StartAll().ok());
    leader_ = c_->WaitLeader(Seconds(20));
    ASSERT_GE(leader_, 0);
    for (int i = 0; i < size; i++) {
      services_.push_back(std::make_unique<MemberServices>(c_->env(i), c_->server(i)));
    }
  }
  void TearDown() override {
    services_.clear();
    if (c_ != nullptr) {
      EXPECT_TRUE(c_->StopAll().ok());
    }
  }

  MaintenanceService& maintenance(int i) { return services_[i]->maintenance(); }

  StatusResponse Status(int i) { return c_->RunOn(i, maintenance(i).Status()); }

  absl::Status Put(const std::string& key, const std::string& value) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    return c_->RunOn(leader_, c_->server(leader_).kv().Put(request)).status();
  }

  // Writes `keys` keys of `value_bytes` each, `rounds` times over.
  void Fill(int keys, int rounds, int value_bytes) {
    for (int r = 0; r < rounds; r++) {
      for (int k = 0; k < keys; k++) {
        ASSERT_TRUE(Put("key/" + std::to_string(k), std::string(value_bytes, 'a' + r)).ok());
      }
    }
  }

  etcdserverpb::HashKVResponse HashKV(int i) {
    auto hash = maintenance(i).HashKV(etcdserverpb::HashKVRequest());
    KEEL_ASSERT(hash.ok());
    return *hash;
  }

  int64_t Count(const std::string& prefix) {
    etcdserverpb::RangeRequest request;
    request.set_key(prefix);
    request.set_range_end(prefix.substr(0, prefix.size() - 1) +
                          static_cast<char>(prefix.back() + 1));
    request.set_count_only(true);
    auto response = c_->RunOn(leader_, c_->server(leader_).kv().Range(request));
    KEEL_ASSERT(response.ok());
    return response->count();
  }

  std::unique_ptr<testing::SimMembers> c_;
  std::vector<std::unique_ptr<MemberServices>> services_;
  int leader_ = -1;
};

// dbSize is the files on disk, dbSizeInUse the live entries in them: a
// compaction drops dbSizeInUse at once and leaves dbSize (LevelDB keeps the
// dead entries until it rewrites their files, as bbolt keeps free pages);
// Defragment shrinks dbSize to about dbSizeInUse.
TEST_F(MaintenanceTest, DbSizeInUseFallsWithCompactionAndDbSizeWithDefragment) {
  StartCluster(1);
  Fill(/*keys=*/200, /*rounds=*/5, /*value_bytes=*/1024);
  const StatusResponse full = Status(leader_);
  EXPECT_GT(full.dbsizeinuse(), 5 * 200 * 1024);
  EXPECT_LE(full.dbsizeinuse(), full.dbsize());

  etcdserverpb::CompactionRequest compact;
  compact.set_revision(HashKV(leader_).header().revision());
  compact.set_physical(true);
  ASSERT_TRUE(c_->RunOn(leader_, c_->server(leader_).kv().Compact(compact)).ok());
  // The figure is recounted once it is older than kInUseRefresh.
  c_->world().RunFor(kInUseRefresh + Seconds(1));
  const StatusResponse compacted = Status(leader_);
  // Four of five revisions of every key are gone from the live data...
  EXPECT_LT(compacted.dbsizeinuse(), full.dbsizeinuse() / 2);
  // ...but not from the files.
  EXPECT_GE(compacted.dbsize(), full.dbsize() / 2);
  EXPECT_LT(compacted.dbsizeinuse(), compacted.dbsize() / 2);

  const auto before = HashKV(leader_);
  auto defragmented = c_->RunOn(leader_, maintenance(leader_).Defragment());
  ASSERT_TRUE(defragmented.ok()) << defragmented.status();
  EXPECT_FALSE(defragmented->has_header());  // etcd's empty response
  const StatusResponse after = Status(leader_);
  EXPECT_LT(after.dbsize(), compacted.dbsize() / 2);
  EXPECT_EQ(after.dbsizeinuse(), compacted.dbsizeinuse());
  EXPECT_LE(after.dbsizeinuse(), after.dbsize());
  RecordProperty("sizes", StrCat(full.dbsize(), "/", full.dbsizeinuse(), " ", compacted.dbsize(),
                                 "/", compacted.dbsizeinuse(), " ", after.dbsize(), "/",
                                 after.dbsizeinuse()));
  // The same keys at the same revision.
  const auto same = HashKV(leader_);
  EXPECT_EQ(same.hash(), before.hash());
  EXPECT_EQ(same.header().revision(), before.header().revision());
  EXPECT_EQ(Count("key/"), 200);
}

// Writes before, during and after a defragmentation are all kept, on every
// member, and the defragmented member restarts with them.
TEST_F(MaintenanceTest, DefragmentKeepsWritesAroundItAndSurvivesARestart) {
  StartCluster(3);
  Fill(/*keys=*/100, /*rounds=*/2, /*value_bytes=*/256);
  const int follower = (leader_ + 1) % 3;
  std::vector<Task<void>> work;
  auto defragment = [this](int i) -> Task<void> {
    auto response = co_await maintenance(i).Defragment();
    EXPECT_TRUE(response.ok()) << response.status();
  };
  auto writes = [this]() -> Task<void> {
    for (int k = 0; k < 100; k++) {
      etcdserverpb::PutRequest request;
      request.set_key("during/" + std::to_string(k));
      request.set_value("v");
      auto put = co_await c_->server(leader_).kv().Put(request);
      EXPECT_TRUE(put.ok()) << put.status();
    }
  };
  c_->RunOn(leader_, [&]() -> Task<int> {
    std::vector<Task<void>> tasks;
    tasks.push_back(writes());
    tasks.push_back(defragment(leader_));
    co_await WhenAll(std::move(tasks));
    co_return 0;
  }());
  c_->RunOn(follower, [&]() -> Task<int> {
    co_await defragment(follower);
    co_return 0;
  }());
  EXPECT_EQ(Count("during/"), 100);
  // Every member holds the same data at the same revision.
  c_->world().RunFor(Seconds(2));
  const auto leader_hash = HashKV(leader_);
  EXPECT_EQ(HashKV(follower).hash(), leader_hash.hash());

  services_[follower].reset();
  ASSERT_TRUE(c_->Stop(follower).ok());
  ASSERT_TRUE(c_->Start(follower).ok());
  services_[follower] = std::make_unique<MemberServices>(c_->env(follower), c_->server(follower));
  c_->world().RunFor(Seconds(2));
  EXPECT_EQ(HashKV(follower).hash(), leader_hash.hash());
}

TEST_F(MaintenanceTest, MoveLeaderHandsLeadershipToAVoterAsEtcdDoes) {
  StartCluster(3);
  const int target = (leader_ + 1) % 3;
  const int other = (leader_ + 2) % 3;
  etcdserverpb::MoveLeaderRequest request;
  request.set_targetid(c_->server(target).raft().id());

  // Asked of a follower: etcd's "not leader".
  auto refused =
      c_->RunOn(other, maintenance(other).MoveLeader(request, std::nullopt));
  EXPECT_TRUE(IsError(refused.status(), EtcdError::kNotLeader)) << refused.status();

  // A target that is no member.
  etcdserverpb::MoveLeaderRequest stranger;
  stranger.set_targetid(0x1234);
  auto bad = c_->RunOn(leader_, maintenance(leader_).MoveLeader(stranger, std::nullopt));
  EXPECT_TRUE(IsError(bad.status(), EtcdError::kBadLeaderTransferee)) << bad.status();

  // A voter: answered once this member sees the target lead.
  auto moved = c_->RunOn(leader_, maintenance(leader_).MoveLeader(request, std::nullopt));
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(c_->server(leader_).raft().leader(), c_->server(target).raft().id());
  EXPECT_EQ(c_->WaitLeader(Seconds(5)), target);
  const int old_leader = leader_;
  leader_ = target;
  EXPECT_TRUE(Put("after-move", "v").ok());

  // A target cut off from the cluster: the transfer cannot finish before
  // the deadline, and etcd's timeout error says so.
  c_->Isolate(old_leader);
  etcdserverpb::MoveLeaderRequest to_isolated;
  to_isolated.set_targetid(c_->server(old_leader).raft().id());
  auto timed_out = c_->RunOn(
      target, maintenance(target).MoveLeader(to_isolated, c_->env(target).clock().Now() + Seconds(2)));
  EXPECT_TRUE(IsError(timed_out.status(), EtcdError::kLeaderTransferTimeout))
      << timed_out.status();
}

}  // namespace
}  // namespace keel::node
