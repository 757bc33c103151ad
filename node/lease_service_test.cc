// The Lease service on a three-member cluster: etcd's wire answers over
// gRPC, keepalive and TimeToLive on a follower forwarded to the leader,
// leader changes, and a follower without a leader. Each member runs a whole
// Node on its own simulated machine; clients dial the members' client
// addresses over the simulated network from a machine of their own.
#include <memory>

#include "gtest/gtest.h"
#include "net/grpc_client.h"
#include "node/errors.h"
#include "node/testing/sim_members.h"

namespace keel::node {
namespace {

using testing::MemberKind;
using testing::SimMembers;

// Sends keepalives for `ids` on one stream to `address` and returns the
// answers (or the stream's error).
Task<absl::StatusOr<std::vector<etcdserverpb::LeaseKeepAliveResponse>>> KeepAlive(
    Env* env, std::string address, std::vector<int64_t> ids, net::Metadata metadata) {
  net::ChannelOptions channel_options;
  auto channel = co_await net::DialGrpc(env->net(), env->clock(), address,
                                        std::move(channel_options));
  if (!channel.ok()) co_return channel.status();
  net::CallOptions options;
  options.metadata = std::move(metadata);
  auto stream = (*channel)->OpenStream("/etcdserverpb.Lease/LeaseKeepAlive",
                                       std::move(options));
  if (!stream.ok()) co_return stream.status();
  std::vector<etcdserverpb::LeaseKeepAliveResponse> responses;
  for (int64_t id : ids) {
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(id);
    absl::Status written = co_await (*stream)->Write(request.SerializeAsString());
    if (!written.ok()) co_return written;
    std::optional<std::string> bytes = co_await (*stream)->Read();
    if (!bytes.has_value()) co_return co_await (*stream)->Finish();
    etcdserverpb::LeaseKeepAliveResponse response;
    if (!response.ParseFromString(*bytes)) co_return absl::InternalError("bad response");
    responses.push_back(std::move(response));
  }
  (*stream)->CloseSend();
  absl::Status finished = co_await (*stream)->Finish();
  if (!finished.ok()) co_return finished;
  co_return responses;
}

template <typename Resp, typename Req>
Task<absl::StatusOr<Resp>> Unary(Env* env, std::string address, std::string path,
                                 Req request, net::Metadata metadata) {
  net::ChannelOptions channel_options;
  auto channel = co_await net::DialGrpc(env->net(), env->clock(), address,
                                        std::move(channel_options));
  if (!channel.ok()) co_return channel.status();
  net::CallOptions options;
  options.metadata = std::move(metadata);
  co_return co_await (*channel)->template Call<Resp>(std::move(path), request, std::move(options));
}

class LeaseServiceTest : public ::testing::Test {
 protected:
  // Three whole Nodes; leases are checkpointed every 10 s if `checkpoint`.
  explicit LeaseServiceTest(bool checkpoint = false)
      : c_({.size = 3, .kind = MemberKind::kNode, .world = {.buggify = false}}) {
    for (int i = 0; i < c_.size(); i++) {
      c_.config(i).enable_lease_checkpoint = checkpoint;
      c_.config(i).lease_checkpoint_interval_ms = 10'000;
    }
    EXPECT_TRUE(c_.StartAll().ok());
    EXPECT_TRUE(c_.WaitPublished()) << "members did not publish their client URLs";
    leader_ = c_.WaitLeader();
    EXPECT_NE(leader_, -1);
    c_.world().RunUntil([&] { return c_.server(leader_).key_space().lessor().primary(); },
                            Seconds(5));
    follower_ = c_.Follower();
  }
  ~LeaseServiceTest() override { EXPECT_TRUE(c_.StopAll().ok()); }

  TimePoint Now() { return c_.client_env().clock().Now(); }
  std::string Address(int i) { return testing::MemberClientAddress(i); }

  absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> KeepAliveOnce(
      int member, int64_t id, net::Metadata metadata = {}) {
    auto responses =
        c_.Run(KeepAlive(&c_.client_env(), Address(member), {id}, std::move(metadata)));
    if (!responses.ok()) return responses.status();
    if (responses->size() != 1) return absl::InternalError("expected one response");
    return responses->front();
  }
  absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> TimeToLive(int member, int64_t id,
                                                                   bool keys = false) {
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(id);
    request.set_keys(keys);
    return c_.Run(Unary<etcdserverpb::LeaseTimeToLiveResponse>(
        &c_.client_env(), Address(member), "/etcdserverpb.Lease/LeaseTimeToLive", request, {}));
  }
  int64_t Grant(int member, int64_t ttl) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    auto granted = c_.Run(Unary<etcdserverpb::LeaseGrantResponse>(
        &c_.client_env(), Address(member), "/etcdserverpb.Lease/LeaseGrant", request, {}));
    EXPECT_TRUE(granted.ok()) << granted.status();
    return granted.ok() ? granted->id() : 0;
  }
  void Put(int member, const std::string& key, int64_t lease) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value("v");
    request.set_lease(lease);
    auto put = c_.Run(c_.server(member).kv().Put(request));
    ASSERT_TRUE(put.ok()) << put.status();
  }
  // Whether `key` exists on every live member (serializable reads).
  bool ExistsEverywhere(const std::string& key) {
    for (int i = 0; i < 3; i++) {
      if (!c_.up(i)) continue;
      etcdserverpb::RangeRequest request;
      request.set_key(key);
      request.set_serializable(true);
      auto got = c_.Run(c_.server(i).kv().Range(request));
      if (!got.ok() || got->count() != 1) return false;
    }
    return true;
  }
  bool GoneEverywhere(const std::string& key) {
    for (int i = 0; i < 3; i++) {
      if (!c_.up(i)) continue;
      etcdserverpb::RangeRequest request;
      request.set_key(key);
      request.set_serializable(true);
      auto got = c_.Run(c_.server(i).kv().Range(request));
      if (!got.ok() || got->count() != 0) return false;
    }
    return true;
  }

  SimMembers c_;
  int leader_ = -1;
  int follower_ = -1;
};

TEST_F(LeaseServiceTest, KeepAliveOnAFollowerIsForwardedToTheLeader) {
  const int64_t lease = Grant(follower_, 10);
  Put(leader_, "k", lease);
  for (int i = 0; i < 6; i++) {
    c_.world().RunFor(Seconds(5));
    auto response = KeepAliveOnce(follower_, lease);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->id(), lease);
    EXPECT_EQ(response->ttl(), 10);
    EXPECT_EQ(response->header().member_id(), c_.server(follower_).id());
  }
  EXPECT_TRUE(ExistsEverywhere("k")) << "30 s into a 10 s lease";
  EXPECT_GE(c_.node(follower_).lease_service().dials(), 1);
  auto missing = KeepAliveOnce(follower_, lease + 1);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->ttl(), 0) << "etcd answers TTL 0 for a lease that does not exist";
}

TEST_F(LeaseServiceTest, TimeToLiveOnAFollowerIsForwardedToTheLeader) {
  const int64_t lease = Grant(leader_, 20);
  Put(leader_, "x", lease);
  Put(leader_, "w", lease);
  c_.world().RunFor(Seconds(5) + Milliseconds(500));
  auto ttl = TimeToLive(follower_, lease, /*keys=*/true);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(ttl->grantedttl(), 20);
  EXPECT_GE(ttl->ttl(), 13);
  EXPECT_LE(ttl->ttl(), 14);
  ASSERT_EQ(ttl->keys_size(), 2);
  EXPECT_EQ(ttl->keys(0), "w");
  EXPECT_EQ(ttl->keys(1), "x");
  EXPECT_EQ(ttl->header().member_id(), c_.server(follower_).id());
  auto missing = TimeToLive(follower_, lease + 1);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->ttl(), -1) << "etcd answers TTL -1 for a lease that does not exist";
}

TEST_F(LeaseServiceTest, RevokeOfAnUnknownLeaseGivesEtcdsError) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(99);
  auto revoked = c_.Run(Unary<etcdserverpb::LeaseRevokeResponse>(
      &c_.client_env(), Address(follower_), "/etcdserverpb.Lease/LeaseRevoke", request, {}));
  EXPECT_TRUE(IsError(revoked.status(), EtcdError::kLeaseNotFound)) << revoked.status();
  EXPECT_EQ(revoked.status().message(), "etcdserver: requested lease not found");
}

TEST_F(LeaseServiceTest, ALeaseKeptAliveUntilTheLeaderDiesSurvivesTheLeaderlessGap) {
  const int64_t lease = Grant(leader_, 5);
  Put(leader_, "k", lease);
  for (int i = 0; i < 5; i++) {
    c_.world().RunFor(Seconds(2));
    ASSERT_TRUE(KeepAliveOnce(leader_, lease).ok());
  }
  const TimePoint last_keepalive = Now();
  c_.Kill(leader_);
  const int new_leader = c_.WaitLeader();
  ASSERT_NE(new_leader, -1);
  ASSERT_NE(new_leader, leader_);
  // The client promised the lease 5 s from its last keepalive; the new
  // leader gives it at least that, counted from its own promotion.
  c_.world().RunUntil([&] { return Now() - last_keepalive >= Seconds(5); }, Seconds(10));
  EXPECT_TRUE(ExistsEverywhere("k"));
  c_.world().RunUntil([&] { return GoneEverywhere("k"); }, Seconds(30));
  EXPECT_TRUE(GoneEverywhere("k")) << "and it does expire without keepalives";
  EXPECT_LE(Now() - last_keepalive, Seconds(15));
}

TEST_F(LeaseServiceTest, ForwardedKeepalivesFollowANewLeader) {
  const int64_t lease = Grant(leader_, 6);
  Put(leader_, "k", lease);
  ASSERT_TRUE(KeepAliveOnce(follower_, lease).ok());
  c_.Kill(leader_);
  const int new_leader = c_.WaitLeader();
  ASSERT_NE(new_leader, -1);
  int remaining = -1;  // the member that is still a follower
  for (int i = 0; i < 3; i++) {
    if (c_.up(i) && i != new_leader) remaining = i;
  }
  ASSERT_NE(remaining, -1);
  const int dials_before = c_.node(remaining).lease_service().dials();
  for (int i = 0; i < 10; i++) {
    c_.world().RunFor(Seconds(3));
    auto response = KeepAliveOnce(remaining, lease);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->ttl(), 6);
  }
  EXPECT_TRUE(ExistsEverywhere("k")) << "30 s into a 6 s lease, across a leader change";
  EXPECT_EQ(c_.node(remaining).lease_service().dials(), dials_before + 1)
      << "one dial to the new leader";
}

TEST_F(LeaseServiceTest, AFollowerWithoutALeaderAnswersNoLeader) {
  const int64_t lease = Grant(leader_, 10);
  c_.Isolate(follower_);
  c_.world().RunUntil([&] { return c_.server(follower_).raft().leader() == 0; }, Seconds(10));
  ASSERT_EQ(c_.server(follower_).raft().leader(), 0u);
  auto with_metadata = KeepAliveOnce(follower_, lease, {{"hasleader", "true"}});
  EXPECT_TRUE(IsError(with_metadata.status(), EtcdError::kNoLeader)) << with_metadata.status();
  const TimePoint start = Now();
  auto waited = KeepAliveOnce(follower_, lease);
  EXPECT_TRUE(IsError(waited.status(), EtcdError::kNoLeader)) << waited.status();
  EXPECT_GE(Now() - start, c_.server(follower_).request_timeout())
      << "a leader is awaited for the request timeout first";
  auto ttl = TimeToLive(follower_, lease);
  EXPECT_TRUE(IsError(ttl.status(), EtcdError::kNoLeader)) << ttl.status();
}

// With checkpoints, a new leader resumes a long lease from the remaining
// TTL the old one recorded, not from the full TTL; without, from the full
// TTL (etcd's behaviour, which lets a lease outlive its client).
class LeaseCheckpointServiceTest : public LeaseServiceTest,
                                   public ::testing::WithParamInterface<bool> {
 protected:
  LeaseCheckpointServiceTest() : LeaseServiceTest(GetParam()) {}
};

TEST_P(LeaseCheckpointServiceTest, ANewLeaderResumesLongLeasesFromTheirCheckpoint) {
  const int64_t lease = Grant(leader_, 600);
  c_.world().RunFor(Seconds(100));
  c_.Kill(leader_);
  const int new_leader = c_.WaitLeader();
  ASSERT_NE(new_leader, -1);
  auto ttl = TimeToLive(new_leader, lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  if (GetParam()) {
    EXPECT_LE(ttl->ttl(), 512);
    EXPECT_GE(ttl->ttl(), 480);
  } else {
    EXPECT_EQ(ttl->ttl(), 600);
  }
}

INSTANTIATE_TEST_SUITE_P(CheckpointOnOrOff, LeaseCheckpointServiceTest, ::testing::Bool());

}  // namespace
}  // namespace keel::node
