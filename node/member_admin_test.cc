// Runtime membership on simulated members: MemberAdd, MemberRemove,
// MemberUpdate and MemberPromote through the Cluster service, with every
// error etcd answers (a table per call), the strict reconfiguration
// checks, learners refusing what etcd's learners refuse, a member joining
// with --initial-cluster-state existing and catching up, and a removed
// member stopping for good.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/grpc_client.h"
#include "node/errors.h"
#include "node/member_admin.h"
#include "node/node.h"
#include "node/peer_members.h"
#include "node/testing/sim_members.h"

namespace keel::node {
namespace {

using testing::MemberClientAddress;
using testing::MemberName;
using testing::MemberPeerUrl;

constexpr int kMembers = 3;
constexpr int kSpares = 2;

class MemberAdminTest : public ::testing::Test {
 public:  // the error table's rows call the helpers
  MemberAdminTest()
      : c_({.size = kMembers,
            .spares = kSpares,
            .kind = testing::MemberKind::kNode,
            .world = {.seed = 11}}) {
    EXPECT_TRUE(c_.StartAll().ok());
    EXPECT_NE(c_.WaitLeader(), -1);
    EXPECT_TRUE(c_.WaitPublished());
    // Peers count as connected after kHealthInterval.
    c_.world().RunFor(kHealthInterval + Seconds(1));
  }

  ClusterService& cluster(int i) { return c_.node(i).services().cluster(); }

  absl::StatusOr<etcdserverpb::MemberAddResponse> Add(int on, std::vector<std::string> urls,
                                                      bool learner) {
    etcdserverpb::MemberAddRequest request;
    for (auto& url : urls) request.add_peerurls(url);
    request.set_islearner(learner);
    return c_.RunOn(on, cluster(on).MemberAdd(request), Seconds(60));
  }
  absl::StatusOr<etcdserverpb::MemberRemoveResponse> Remove(int on, uint64_t id) {
    etcdserverpb::MemberRemoveRequest request;
    request.set_id(id);
    return c_.RunOn(on, cluster(on).MemberRemove(request), Seconds(60));
  }
  absl::StatusOr<etcdserverpb::MemberUpdateResponse> Update(int on, uint64_t id,
                                                            std::vector<std::string> urls) {
    etcdserverpb::MemberUpdateRequest request;
    request.set_id(id);
    for (auto& url : urls) request.add_peerurls(url);
    return c_.RunOn(on, cluster(on).MemberUpdate(request), Seconds(60));
  }
  absl::StatusOr<etcdserverpb::MemberPromoteResponse> Promote(int on, uint64_t id) {
    etcdserverpb::MemberPromoteRequest request;
    request.set_id(id);
    return c_.RunOn(on, cluster(on).MemberPromote(request, /*forwarded=*/false), Seconds(60));
  }

  uint64_t IdOf(int i) { return c_.server(i).id(); }

  // Starts spare `i` as etcdctl's member add output tells it to.
  absl::Status StartJoining(int i, const etcdserverpb::MemberAddResponse& added) {
    ServerConfig& config = c_.config(i);
    config.initial_cluster_state = "existing";
    config.initial_cluster.clear();
    for (const auto& member : added.members()) {
      const std::string name = member.id() == added.member().id() ? MemberName(i) : member.name();
      for (const auto& url : member.peerurls()) {
        StrAppend(&config.initial_cluster, config.initial_cluster.empty() ? "" : ",", name, "=",
                  url);
      }
    }
    return c_.Start(i);
  }

  absl::Status Put(int on, const std::string& key) {
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value("v-" + key);
    return c_.RunOn(on, c_.server(on).kv().Put(put), Seconds(60)).status();
  }

  bool WaitCaughtUp(int i, int leader) {
    return c_.world().RunUntil(
        [&] {
          return c_.up(i) && c_.up(leader) &&
                 c_.server(i).applied().index() >= c_.server(leader).applied().index();
        },
        Seconds(60));
  }

  // A unary gRPC call to member i's client URL, through its interceptors.
  template <typename Resp, typename Req>
  absl::StatusOr<Resp> Call(int i, const std::string& path, const Req& request) {
    Env& env = c_.client_env();
    return c_.Run([](Env& env, std::string address, std::string path,
                     Req request) -> Task<absl::StatusOr<Resp>> {
      auto channel = co_await net::DialGrpc(env.net(), env.clock(), address);
      if (!channel.ok()) co_return channel.status();
      net::CallOptions options;
      options.timeout = Seconds(20);
      co_return co_await (*channel)->template Call<Resp>(path, request, options);
    }(env, MemberClientAddress(i), path, request), Seconds(60));
  }

  testing::SimMembers c_;
};

bool HasMember(const google::protobuf::RepeatedPtrField<etcdserverpb::Member>& members,
               uint64_t id) {
  for (const auto& m : members) {
    if (m.id() == id) return true;
  }
  return false;
}

TEST_F(MemberAdminTest, AddedVoterJoinsWithExistingStateAndCatchesUp) {
  const int leader = c_.WaitLeader();
  for (int k = 0; k < 20; k++) ASSERT_TRUE(Put(leader, StrCat("key", k)).ok());
  const int spare = kMembers;
  auto added = Add(c_.Follower(), {MemberPeerUrl(spare)}, /*learner=*/false);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_FALSE(added->member().islearner());
  EXPECT_EQ(added->member().peerurls(0), MemberPeerUrl(spare));
  EXPECT_EQ(added->members_size(), kMembers + 1);
  EXPECT_TRUE(HasMember(added->members(), added->member().id()));
  // Every member applied the same list.
  c_.world().RunFor(Seconds(2));
  for (int i = 0; i < kMembers; i++) {
    EXPECT_NE(c_.server(i).key_space().members().Find(added->member().id()), nullptr);
  }

  ASSERT_TRUE(StartJoining(spare, *added).ok());
  EXPECT_EQ(c_.server(spare).id(), added->member().id());
  EXPECT_EQ(c_.server(spare).cluster_id(), c_.server(leader).cluster_id());
  ASSERT_TRUE(WaitCaughtUp(spare, c_.WaitLeader()));
  ASSERT_TRUE(c_.WaitPublished());
  etcdserverpb::RangeRequest range;
  range.set_key("key");
  range.set_range_end("kez");
  range.set_serializable(true);
  auto read = c_.RunOn(spare, c_.server(spare).kv().Range(range));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->kvs_size(), 20);
  const auto list = cluster(spare).MemberList();
  ASSERT_EQ(list.members_size(), kMembers + 1);
  for (const auto& m : list.members()) EXPECT_FALSE(m.name().empty());
  // The new voter counts: writes still commit with one old member down.
  c_.Kill(c_.Follower() == spare ? 0 : c_.Follower());
  const int now_leader = c_.WaitLeader();
  ASSERT_NE(now_leader, -1);
  EXPECT_TRUE(Put(now_leader, "after").ok());
}

TEST_F(MemberAdminTest, JoiningWithAPeerUrlThatIsNotAMemberRefusesToStart) {
  const int spare = kMembers;
  ServerConfig& config = c_.config(spare);
  config.initial_cluster_state = "existing";
  // --initial-cluster names the spare, which no MemberAdd added.
  absl::Status started = c_.Start(spare);
  EXPECT_TRUE(absl::IsFailedPrecondition(started)) << started;
  EXPECT_NE(started.message().find("error validating peerURLs"), std::string::npos) << started;
}

TEST_F(MemberAdminTest, PeerPortServesTheMemberListAsEtcdEncodesIt) {
  auto fetched = c_.Run(FetchClusterFromPeers(c_.client_env(), {MemberPeerUrl(0)}, Seconds(5)),
                        Seconds(30));
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->cluster_id, c_.server(0).cluster_id());
  ASSERT_EQ(fetched->members.size(), static_cast<size_t>(kMembers));
  for (const Member& m : fetched->members) {
    EXPECT_EQ(*c_.server(0).key_space().members().Find(m.id), m);
  }
}

TEST_F(MemberAdminTest, RemovedMemberStopsAndNeverComesBack) {
  const int leader = c_.WaitLeader();
  const int victim = c_.Follower();
  const uint64_t victim_id = IdOf(victim);
  auto removed = Remove(leader, victim_id);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->members_size(), kMembers - 1);
  EXPECT_FALSE(HasMember(removed->members(), victim_id));
  c_.world().RunUntil([&] { return !c_.up(victim); }, Seconds(30));
  ASSERT_FALSE(c_.up(victim));
  c_.Kill(victim);
  const absl::Status restarted = c_.Start(victim);
  EXPECT_TRUE(IsMemberRemoved(restarted)) << restarted;
  // The two left keep a quorum of two.
  EXPECT_TRUE(Put(c_.WaitLeader(), "k").ok());
}

TEST_F(MemberAdminTest, LearnerIsPromotedOnceInSyncAndAnswersOnlyWhatEtcdLetsIt) {
  const int leader = c_.WaitLeader();
  for (int k = 0; k < 10; k++) ASSERT_TRUE(Put(leader, StrCat("key", k)).ok());
  const int spare = kMembers;
  auto added = Add(leader, {MemberPeerUrl(spare)}, /*learner=*/true);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_TRUE(added->member().islearner());
  const uint64_t learner = added->member().id();
  // Not started: nowhere near the leader's log.
  EXPECT_TRUE(IsError(Promote(leader, learner).status(), EtcdError::kLearnerNotReady));
  const absl::Status joined = StartJoining(spare, *added);
  ASSERT_TRUE(joined.ok()) << joined;
  ASSERT_TRUE(WaitCaughtUp(spare, leader));
  EXPECT_TRUE(c_.server(spare).GetStatus().is_learner);

  // A learner answers a serializable Range and Status, nothing else.
  etcdserverpb::RangeRequest range;
  range.set_key("key0");
  range.set_serializable(true);
  auto read = Call<etcdserverpb::RangeResponse>(spare, "/etcdserverpb.KV/Range", range);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->kvs_size(), 1);
  EXPECT_TRUE(Call<etcdserverpb::StatusResponse>(spare, "/etcdserverpb.Maintenance/Status",
                                                 etcdserverpb::StatusRequest())
                  .ok());
  range.set_serializable(false);
  EXPECT_TRUE(IsError(Call<etcdserverpb::RangeResponse>(spare, "/etcdserverpb.KV/Range", range)
                          .status(),
                      EtcdError::kNotSupportedForLearner));
  etcdserverpb::PutRequest put;
  put.set_key("x");
  EXPECT_TRUE(IsError(
      Call<etcdserverpb::PutResponse>(spare, "/etcdserverpb.KV/Put", put).status(),
      EtcdError::kNotSupportedForLearner));
  EXPECT_TRUE(IsError(Call<etcdserverpb::MemberListResponse>(
                          spare, "/etcdserverpb.Cluster/MemberList",
                          etcdserverpb::MemberListRequest())
                          .status(),
                      EtcdError::kNotSupportedForLearner));

  // Asked of a follower, the promotion goes to the leader.
  int follower = -1;
  for (int i = 0; i < kMembers; i++) {
    if (i != leader) follower = i;
  }
  auto promoted = Promote(follower, learner);
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  for (const auto& m : promoted->members()) EXPECT_FALSE(m.islearner());
  c_.world().RunUntil([&] { return !c_.server(spare).GetStatus().is_learner; }, Seconds(10));
  EXPECT_FALSE(c_.server(spare).GetStatus().is_learner);
  EXPECT_TRUE(Call<etcdserverpb::PutResponse>(spare, "/etcdserverpb.KV/Put", put).ok());
}

TEST_F(MemberAdminTest, ForceNewClusterRestartsASurvivorAloneWithItsData) {
  const int leader = c_.WaitLeader();
  for (int k = 0; k < 10; k++) ASSERT_TRUE(Put(leader, StrCat("key", k)).ok());
  const int survivor = c_.Follower();
  ASSERT_TRUE(c_.world().RunUntil(
      [&] { return c_.server(survivor).applied().index() >= c_.server(leader).applied().index(); },
      Seconds(10)));
  const uint64_t survivor_id = IdOf(survivor);
  const uint64_t cluster_id = c_.server(survivor).cluster_id();
  for (int i = 0; i < kMembers; i++) {
    if (i != survivor) c_.Kill(i);
  }
  ASSERT_TRUE(c_.Stop(survivor).ok());
  c_.config(survivor).force_new_cluster = true;
  ASSERT_TRUE(c_.Start(survivor).ok());
  ASSERT_EQ(c_.WaitLeader(), survivor);
  EXPECT_EQ(IdOf(survivor), survivor_id);
  EXPECT_EQ(c_.server(survivor).cluster_id(), cluster_id);
  const auto list = cluster(survivor).MemberList();
  ASSERT_EQ(list.members_size(), 1);
  EXPECT_EQ(list.members(0).id(), survivor_id);
  etcdserverpb::RangeRequest range;
  range.set_key("key");
  range.set_range_end("kez");
  auto read = c_.RunOn(survivor, c_.server(survivor).kv().Range(range));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->kvs_size(), 10);
  EXPECT_TRUE(Put(survivor, "alone").ok());
  // The old members are refused: one that comes back stops as removed.
  const int old = survivor == 0 ? 1 : 0;
  (void)c_.Start(old);
  c_.world().RunUntil([&] { return !c_.up(old); }, Seconds(30));
  EXPECT_FALSE(c_.up(old));
  // A later restart without the flag keeps the one-member cluster.
  ASSERT_TRUE(c_.Stop(survivor).ok());
  c_.config(survivor).force_new_cluster = false;
  ASSERT_TRUE(c_.Start(survivor).ok());
  ASSERT_EQ(c_.WaitLeader(), survivor);
  EXPECT_EQ(cluster(survivor).MemberList().members_size(), 1);
}

// ---- the errors, one table per call ----

struct ErrorCase {
  std::string name;
  std::function<absl::Status(MemberAdminTest&)> call;
  EtcdError want;
};

TEST_F(MemberAdminTest, EveryCallAnswersEtcdsErrors) {
  const int leader = c_.WaitLeader();
  // One learner, added and never started, is the only one allowed.
  auto learner = Add(leader, {MemberPeerUrl(kMembers)}, /*learner=*/true);
  ASSERT_TRUE(learner.ok()) << learner.status();
  const uint64_t learner_id = learner->member().id();
  // A member removed earlier.
  const int gone = c_.Follower();
  const uint64_t gone_id = IdOf(gone);
  ASSERT_TRUE(Remove(leader, gone_id).ok());
  c_.world().RunUntil([&] { return !c_.up(gone); }, Seconds(30));
  c_.Kill(gone);
  const int l = c_.WaitLeader();
  ASSERT_NE(l, -1);
  c_.world().RunFor(kHealthInterval + Seconds(1));
  int other = -1;
  for (int i = 0; i < kMembers; i++) {
    if (i != gone && i != l) other = i;
  }
  const uint64_t other_id = IdOf(other);

  const std::vector<ErrorCase> cases = {
      {"add: a URL that does not parse",
       [&](MemberAdminTest& t) { return t.Add(l, {"not a url"}, false).status(); },
       EtcdError::kMemberBadURLs},
      {"add: no URL", [&](MemberAdminTest& t) { return t.Add(l, {}, false).status(); },
       EtcdError::kMemberBadURLs},
      {"add: a member's peer URL",
       [&](MemberAdminTest& t) { return t.Add(l, {MemberPeerUrl(other)}, false).status(); },
       EtcdError::kPeerURLExist},
      {"add: a second learner",
       [&](MemberAdminTest& t) { return t.Add(l, {MemberPeerUrl(kMembers + 1)}, true).status(); },
       EtcdError::kTooManyLearners},
      {"remove: an unknown ID",
       [&](MemberAdminTest& t) { return t.Remove(l, 0x1234).status(); },
       EtcdError::kMemberNotFound},
      {"remove: a removed member",
       [&](MemberAdminTest& t) { return t.Remove(l, gone_id).status(); },
       EtcdError::kMemberNotFound},
      {"update: an unknown ID",
       [&](MemberAdminTest& t) { return t.Update(l, 0x1234, {"http://10.0.0.9:2380"}).status(); },
       EtcdError::kMemberNotFound},
      {"update: another member's peer URL",
       [&](MemberAdminTest& t) { return t.Update(l, other_id, {MemberPeerUrl(l)}).status(); },
       EtcdError::kPeerURLExist},
      {"promote: a voter",
       [&](MemberAdminTest& t) { return t.Promote(l, other_id).status(); },
       EtcdError::kMemberNotLearner},
      {"promote: an unknown ID",
       [&](MemberAdminTest& t) { return t.Promote(l, 0x1234).status(); },
       EtcdError::kMemberNotFound},
      {"promote: a learner behind the leader",
       [&](MemberAdminTest& t) { return t.Promote(l, learner_id).status(); },
       EtcdError::kLearnerNotReady},
      {"promote: on a follower, forwarded, a learner behind the leader",
       [&](MemberAdminTest& t) { return t.Promote(other, learner_id).status(); },
       EtcdError::kLearnerNotReady},
  };
  for (const ErrorCase& test : cases) {
    const absl::Status got = test.call(*this);
    EXPECT_TRUE(IsError(got, test.want)) << test.name << ": got " << got << ", want "
                                         << MakeError(test.want);
  }
  // Refused changes changed nothing.
  EXPECT_EQ(cluster(l).MemberList().members_size(), 3);
  // Updating a member's URLs to new ones succeeds and is applied everywhere.
  auto updated = Update(l, learner_id, {"http://10.0.0.44:2380"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  c_.world().RunFor(Seconds(1));
  for (int i : {l, other}) {
    EXPECT_EQ(c_.server(i).key_space().members().Find(learner_id)->peer_urls,
              std::vector<std::string>{"http://10.0.0.44:2380"});
  }
}

TEST_F(MemberAdminTest, StrictReconfigCheckRefusesChangesThatRiskTheQuorum) {
  const int leader = c_.WaitLeader();
  Server& server = c_.server(leader);
  MemberAdmin strict(c_.env(leader), server.raft(), server.proposer(),
                     server.key_space().members(), {.strict_reconfig_check = true});
  MemberAdmin lax(c_.env(leader), server.raft(), server.proposer(),
                  server.key_space().members(), {.strict_reconfig_check = false});

  // All connected and started: everything may go ahead.
  EXPECT_TRUE(strict.MayAdd(false).ok());
  EXPECT_TRUE(strict.MayRemove(IdOf(c_.Follower())).ok());

  // A follower down: adding a voter would need it (etcd: unhealthy), and
  // removing another live member would leave no active quorum.
  const int down = c_.Follower();
  int live = -1;
  for (int i = 0; i < kMembers; i++) {
    if (i != down && i != leader) live = i;
  }
  const uint64_t down_id = IdOf(down);
  c_.Kill(down);
  // The leader notices the lost connection after a read timeout.
  c_.world().RunFor(Seconds(7));
  EXPECT_TRUE(IsError(strict.MayAdd(false), EtcdError::kUnhealthy));
  EXPECT_TRUE(IsError(strict.MayAdd(true), EtcdError::kUnhealthy));
  EXPECT_TRUE(IsError(strict.MayRemove(IdOf(live)), EtcdError::kUnhealthy));
  // The member that is down is not part of the active quorum: removable.
  EXPECT_TRUE(strict.MayRemove(down_id).ok());
  // Without the strict check nothing is refused up front.
  EXPECT_TRUE(lax.MayAdd(false).ok());
  EXPECT_TRUE(lax.MayRemove(IdOf(live)).ok());
  ASSERT_TRUE(c_.Start(down).ok());
  c_.world().RunFor(kHealthInterval + Seconds(2));
  ASSERT_EQ(c_.WaitLeader(), leader);

  // Two voters added and never started: five members, three started. A
  // sixth voter would need four started; removing a started one leaves two
  // of four.
  auto run = [&](Task<absl::StatusOr<MemberAdmin::Result>> task) {
    return c_.RunOn(leader, std::move(task), Seconds(60));
  };
  ASSERT_TRUE(run(lax.Add({"http://10.0.0.50:2380"}, false)).ok());
  ASSERT_TRUE(run(lax.Add({"http://10.0.0.51:2380"}, false)).ok());
  EXPECT_TRUE(IsError(strict.MayAdd(false), EtcdError::kMemberNotEnoughStarted));
  EXPECT_TRUE(IsError(strict.MayRemove(IdOf(live)), EtcdError::kMemberNotEnoughStarted));
  EXPECT_TRUE(IsError(run(strict.Add({"http://10.0.0.52:2380"}, false)).status(),
                      EtcdError::kMemberNotEnoughStarted));
  // Learners never change the quorum, but the unstarted voters are not
  // connected.
  EXPECT_TRUE(IsError(strict.MayAdd(true), EtcdError::kUnhealthy));
}

}  // namespace
}  // namespace keel::node
