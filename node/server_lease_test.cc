// Leases on one member: grants, revokes, expiry, keepalive, TimeToLive and
// checkpoints across a restart, through the Server's API, in virtual time.
// One member on a simulated machine with its storage on the machine's disk.
#include <algorithm>

#include "gtest/gtest.h"
#include "node/errors.h"
#include "node/testing/sim_members.h"

namespace keel::node {
namespace {

using testing::MemberKind;
using testing::SimMembers;

class ServerLeaseTest : public ::testing::Test {
 protected:
  // One whole Node; leases are checkpointed every 10 s if `checkpoint`.
  explicit ServerLeaseTest(bool checkpoint = false)
      : c_({.kind = MemberKind::kNode, .world = {.buggify = false}}) {
    c_.config(0).enable_lease_checkpoint = checkpoint;
    c_.config(0).lease_checkpoint_interval_ms = 10'000;
    EXPECT_TRUE(c_.StartAll().ok());
    EXPECT_EQ(c_.WaitLeader(), 0);
    // The lessor is promoted once the leader applies its first entry.
    c_.world().RunUntil([&] { return s().key_space().lessor().primary(); }, Seconds(5));
  }
  ~ServerLeaseTest() override { EXPECT_TRUE(c_.StopAll().ok()); }

  Server& s() { return c_.server(0); }
  TimePoint Now() { return c_.client_env().clock().Now(); }

  absl::StatusOr<etcdserverpb::LeaseGrantResponse> TryGrant(int64_t ttl, int64_t id = 0) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    request.set_id(id);
    return c_.Run(s().leases().Grant(request));
  }
  int64_t Grant(int64_t ttl, int64_t id = 0) {
    auto granted = TryGrant(ttl, id);
    EXPECT_TRUE(granted.ok()) << granted.status();
    return granted.ok() ? granted->id() : 0;
  }
  absl::StatusOr<etcdserverpb::PutResponse> Put(const std::string& key, int64_t lease) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value("v");
    request.set_lease(lease);
    return c_.Run(s().kv().Put(request));
  }
  absl::StatusOr<etcdserverpb::LeaseRevokeResponse> Revoke(int64_t id) {
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(id);
    return c_.Run(s().leases().Revoke(request));
  }
  absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> TimeToLive(int64_t id,
                                                                   bool keys = false) {
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(id);
    request.set_keys(keys);
    return c_.Run(s().leases().TimeToLive(request));
  }
  int64_t Count(const std::string& key, const std::string& end = "", int64_t revision = 0) {
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    request.set_range_end(end);
    request.set_revision(revision);
    request.set_serializable(true);
    auto response = c_.Run(s().kv().Range(request));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->count() : -1;
  }

  SimMembers c_;
};

TEST_F(ServerLeaseTest, GrantPicksAFreshPositiveIdUnlessOneIsRequested) {
  const int64_t a = Grant(10);
  const int64_t b = Grant(10);
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  EXPECT_NE(a, b);
  auto requested = TryGrant(10, 42);
  ASSERT_TRUE(requested.ok());
  EXPECT_EQ(requested->id(), 42);
  EXPECT_EQ(requested->ttl(), 10);
  EXPECT_EQ(requested->header().member_id(), s().id());
  auto listed = c_.Run(s().leases().Leases());
  ASSERT_TRUE(listed.ok());
  std::vector<int64_t> ids;
  for (const auto& lease : listed->leases()) ids.push_back(lease.id());
  // Soonest expiry first, as etcd lists them: the same TTL, granted in turn.
  EXPECT_EQ(ids, (std::vector<int64_t>{a, b, 42}));
}

TEST_F(ServerLeaseTest, GrantOfATakenIdFailsWithLeaseExist) {
  Grant(10, 7);
  EXPECT_TRUE(IsError(TryGrant(20, 7).status(), EtcdError::kLeaseExist));
  EXPECT_EQ(TimeToLive(7)->grantedttl(), 10) << "the first grant stands";
}

TEST_F(ServerLeaseTest, ShortTtlsAreRaisedToOneAndAHalfElectionTimeouts) {
  // Election timeout 1 s: etcd's minimum TTL is 2 s.
  auto one = TryGrant(1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->ttl(), 2);
  auto zero = TryGrant(0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->ttl(), 2);
}

TEST_F(ServerLeaseTest, TtlAboveTheMaximumIsRefusedBeforeProposing) {
  const uint64_t applied = s().applied().index();
  EXPECT_TRUE(IsError(TryGrant(kMaxLeaseTtlSeconds + 1).status(), EtcdError::kLeaseTTLTooLarge));
  EXPECT_EQ(s().applied().index(), applied);
  auto largest = TryGrant(kMaxLeaseTtlSeconds);
  ASSERT_TRUE(largest.ok());
  EXPECT_EQ(largest->ttl(), kMaxLeaseTtlSeconds);
}

TEST_F(ServerLeaseTest, PutWithAnUnknownLeaseFails) {
  EXPECT_TRUE(IsError(Put("k", 12345).status(), EtcdError::kLeaseNotFound));
  const int64_t lease = Grant(10);
  EXPECT_TRUE(Put("k", lease).ok());
}

TEST_F(ServerLeaseTest, RevokeDeletesEveryAttachedKeyInOneRevision) {
  const int64_t lease = Grant(100);
  ASSERT_TRUE(Put("a", lease).ok());
  ASSERT_TRUE(Put("b", lease).ok());
  ASSERT_TRUE(Put("c", lease).ok());
  ASSERT_TRUE(Put("free", 0).ok());
  const int64_t before = s().key_space().mvcc().current_revision();
  auto revoked = Revoke(lease);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->header().revision(), before + 1);
  EXPECT_EQ(Count("a", "d", before), 3) << "history before the revoke";
  EXPECT_EQ(Count("a", "d", before + 1), 0) << "all gone at the one next revision";
  EXPECT_EQ(Count("free"), 1);
  EXPECT_TRUE(IsError(Revoke(lease).status(), EtcdError::kLeaseNotFound));
  EXPECT_TRUE(IsError(TimeToLive(lease).status(), EtcdError::kLeaseNotFound));
}

TEST_F(ServerLeaseTest, KeysVanishAfterTheTtlWithoutKeepalivesAndNotBefore) {
  const int64_t lease = Grant(5);
  const TimePoint granted = Now();
  ASSERT_TRUE(Put("k", lease).ok());
  c_.world().RunUntil([&] { return Count("k") == 0; }, Seconds(20));
  EXPECT_EQ(Count("k"), 0);
  const Duration lived = Now() - granted;
  EXPECT_GE(lived, Seconds(5));
  EXPECT_LE(lived, Seconds(6)) << "expiry is checked every 500 ms";
  EXPECT_TRUE(IsError(TimeToLive(lease).status(), EtcdError::kLeaseNotFound));
  auto renewed = c_.Run(s().leases().Renew(lease));
  EXPECT_TRUE(IsError(renewed.status(), EtcdError::kLeaseNotFound));
}

TEST_F(ServerLeaseTest, KeepalivesKeepALeaseAliveFarPastItsTtl) {
  const int64_t lease = Grant(3);
  ASSERT_TRUE(Put("k", lease).ok());
  for (int i = 0; i < 30; i++) {
    c_.world().RunFor(Seconds(2));
    auto ttl = c_.Run(s().leases().Renew(lease));
    ASSERT_TRUE(ttl.ok()) << ttl.status();
    EXPECT_EQ(*ttl, 3);
  }
  EXPECT_EQ(Count("k"), 1) << "alive 60 s into a 3 s lease";
  const TimePoint last = Now();
  c_.world().RunUntil([&] { return Count("k") == 0; }, Seconds(20));
  EXPECT_GE(Now() - last, Seconds(3));
  EXPECT_LE(Now() - last, Seconds(4));
}

TEST_F(ServerLeaseTest, TimeToLiveReportsRemainingAndGrantedTtlAndTheKeys) {
  const int64_t lease = Grant(10);
  ASSERT_TRUE(Put("b", lease).ok());
  ASSERT_TRUE(Put("a", lease).ok());
  for (int i = 0; i < 20; i++) {
    auto ttl = TimeToLive(lease);
    ASSERT_TRUE(ttl.ok());
    EXPECT_LE(ttl->ttl(), 10) << "never more than granted";
    EXPECT_EQ(ttl->grantedttl(), 10);
    c_.world().RunFor(Milliseconds(100));
  }
  c_.world().RunFor(Seconds(3) + Milliseconds(500));
  auto ttl = TimeToLive(lease, /*keys=*/true);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->id(), lease);
  EXPECT_GE(ttl->ttl(), 4);
  EXPECT_LE(ttl->ttl(), 5);
  ASSERT_EQ(ttl->keys_size(), 2);
  EXPECT_EQ(ttl->keys(0), "a");
  EXPECT_EQ(ttl->keys(1), "b");
  EXPECT_EQ(TimeToLive(lease, false)->keys_size(), 0);
}

TEST_F(ServerLeaseTest, LeasesAndTheirKeysSurviveAKill) {
  const int64_t lease = Grant(100);
  ASSERT_TRUE(Put("a", lease).ok());
  ASSERT_TRUE(Put("b", lease).ok());
  c_.Kill(0);
  ASSERT_TRUE(c_.Start(0).ok());
  ASSERT_EQ(c_.WaitLeader(), 0);
  c_.world().RunUntil([&] { return s().key_space().lessor().primary(); }, Seconds(5));
  auto ttl = TimeToLive(lease, /*keys=*/true);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(ttl->grantedttl(), 100);
  EXPECT_EQ(ttl->keys_size(), 2);
  EXPECT_TRUE(IsError(TryGrant(10, lease).status(), EtcdError::kLeaseExist));
  ASSERT_TRUE(Revoke(lease).ok());
  EXPECT_EQ(Count("a", "c"), 0);
}

// A restarted single-member cluster, with and without checkpoints.
class ServerLeaseCheckpointTest : public ServerLeaseTest,
                                  public ::testing::WithParamInterface<bool> {
 protected:
  ServerLeaseCheckpointTest() : ServerLeaseTest(GetParam()) {}

  void Restart() {
    ASSERT_TRUE(c_.Stop(0).ok());
    c_.world().RunFor(Seconds(1));
    ASSERT_TRUE(c_.Start(0).ok());
    ASSERT_EQ(c_.WaitLeader(), 0);
    c_.world().RunUntil([&] { return s().key_space().lessor().primary(); }, Seconds(5));
  }
};

TEST_P(ServerLeaseCheckpointTest, ARestartResumesLongLeasesFromTheCheckpointOnlyIfEnabled) {
  const bool checkpointing = GetParam();
  const int64_t lease = Grant(600);
  ASSERT_TRUE(Put("k", lease).ok());
  c_.world().RunFor(Seconds(100));
  Restart();
  auto ttl = TimeToLive(lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(ttl->grantedttl(), 600);
  if (checkpointing) {
    // Checkpointed every 10 s: at most ~10 s plus the restart given back.
    EXPECT_LE(ttl->ttl(), 512);
    EXPECT_GE(ttl->ttl(), 480);
  } else {
    EXPECT_EQ(ttl->ttl(), 600) << "etcd resets leases to their TTL without checkpoints";
  }
}

TEST_P(ServerLeaseCheckpointTest, AKeepaliveClearsTheCheckpoint) {
  const int64_t lease = Grant(600);
  c_.world().RunFor(Seconds(100));
  auto renewed = c_.Run(s().leases().Renew(lease));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(*renewed, 600);
  EXPECT_FALSE(s().key_space().lessor().HasCheckpoint(lease));
  c_.world().RunFor(Seconds(5));
  Restart();
  auto ttl = TimeToLive(lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_GE(ttl->ttl(), 590) << "resumed from the keepalive, not the old checkpoint";
}

INSTANTIATE_TEST_SUITE_P(CheckpointOnOrOff, ServerLeaseCheckpointTest, ::testing::Bool());

}  // namespace
}  // namespace keel::node
