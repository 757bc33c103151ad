// Tests of EtcdClient against a real member (node::Node on a simulated
// machine, with its storage on the simulated disk), from a client process on
// another simulated machine, over SimNetwork: the typed KV calls and etcd's
// errors as the server sent them, the Watch stream, leases (grant, keepalive
// stream and once, time-to-live, leases, revoke), Status and MemberList,
// timeouts, failover between endpoints, the retry rule (reads are retried
// after a lost connection, writes are not), and the hasleader metadata.
#include "client/etcd_client.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/outcome.h"
#include "client/streams.h"
#include "gtest/gtest.h"
#include "node/testing/sim_members.h"
#include "runtime/strings.h"

namespace keel::client {
namespace {

constexpr char kMemberAddress[] = "10.0.0.1:2379";

// The client's own host, where nothing listens.
std::string NobodyAddress() { return StrCat(node::testing::kClientHost, ":2379"); }

class EtcdClientTest : public ::testing::Test {
 protected:
  // Runs `members` whole Nodes; the tests talk to the first, m1 at
  // kMemberAddress (a subclass may use the others).
  explicit EtcdClientTest(int members = 1)
      : c_({.size = members, .kind = node::testing::MemberKind::kNode, .world = {.seed = 11}}),
        started_(c_.StartAll()) {}

  ~EtcdClientTest() override {
    // The client's channels belong to the client process: let them go first.
    client_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(started_.ok()) << started_;
    if (!expect_leader_) return;
    ASSERT_TRUE(WaitForLeader());
  }

  bool WaitForLeader() {
    return c_.world().RunUntil([&] { return c_.up(0) && c_.server(0).raft().is_leader(); },
                               Seconds(10));
  }

  EtcdClient& Client(std::vector<std::string> endpoints = {kMemberAddress}) {
    if (client_ == nullptr) {
      ClientOptions options;
      options.endpoints = std::move(endpoints);
      options.dial_timeout = Milliseconds(500);
      client_ = std::make_unique<EtcdClient>(c_.client_env(), std::move(options));
    }
    return *client_;
  }

  // Runs `task` in the client's process until it finishes.
  template <typename T>
  T Run(Task<T> task) {
    return c_.Run(std::move(task));
  }

  absl::StatusOr<etcdserverpb::PutResponse> Put(std::string key, std::string value,
                                                RequestOptions options = {}) {
    etcdserverpb::PutRequest request;
    request.set_key(std::move(key));
    request.set_value(std::move(value));
    return Run(Client().Put(std::move(request), std::move(options)));
  }
  absl::StatusOr<etcdserverpb::RangeResponse> Get(std::string key, int64_t revision = 0,
                                                  RequestOptions options = {}) {
    etcdserverpb::RangeRequest request;
    request.set_key(std::move(key));
    request.set_revision(revision);
    return Run(Client().Range(std::move(request), std::move(options)));
  }

  node::testing::SimMembers c_;
  const absl::Status started_;
  bool expect_leader_ = true;
  std::unique_ptr<EtcdClient> client_;
};

TEST_F(EtcdClientTest, PutThenRangeReturnsTheValueAtItsRevision) {
  auto put = Put("foo", "bar");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_GT(put->header().revision(), 1);
  EXPECT_EQ(put->header().member_id(), c_.server(0).id());
  auto got = Get("foo");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->kvs_size(), 1);
  EXPECT_EQ(got->kvs(0).value(), "bar");
  EXPECT_EQ(got->kvs(0).mod_revision(), put->header().revision());
  EXPECT_EQ(Client().dials(), 1u);
}

TEST_F(EtcdClientTest, TxnComparesAndSwaps) {
  ASSERT_TRUE(Put("k", "v1").ok());
  auto cas = [&](std::string expected, std::string next) {
    etcdserverpb::TxnRequest txn;
    etcdserverpb::Compare* compare = txn.add_compare();
    compare->set_key("k");
    compare->set_target(etcdserverpb::Compare::VALUE);
    compare->set_result(etcdserverpb::Compare::EQUAL);
    compare->set_value(std::move(expected));
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key("k");
    put->set_value(std::move(next));
    txn.add_failure()->mutable_request_range()->set_key("k");
    return Run(Client().Txn(std::move(txn)));
  };
  auto swapped = cas("v1", "v2");
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  EXPECT_TRUE(swapped->succeeded());
  auto refused = cas("v1", "v3");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_FALSE(refused->succeeded());
  ASSERT_EQ(refused->responses_size(), 1);
  ASSERT_EQ(refused->responses(0).response_range().kvs_size(), 1);
  EXPECT_EQ(refused->responses(0).response_range().kvs(0).value(), "v2");
}

TEST_F(EtcdClientTest, DeleteRangeReportsWhatItDeleted) {
  ASSERT_TRUE(Put("a/1", "x").ok());
  ASSERT_TRUE(Put("a/2", "y").ok());
  etcdserverpb::DeleteRangeRequest request;
  request.set_key("a/");
  request.set_range_end("a0");
  request.set_prev_kv(true);
  auto deleted = Run(Client().DeleteRange(std::move(request)));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->deleted(), 2);
  ASSERT_EQ(deleted->prev_kvs_size(), 2);
  EXPECT_EQ(deleted->prev_kvs(1).value(), "y");
}

TEST_F(EtcdClientTest, ErrorsComeBackWithEtcdsCodeAndMessage) {
  auto first = Put("k", "1");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Put("k", "2").ok());
  etcdserverpb::CompactionRequest compact;
  compact.set_revision(first->header().revision() + 1);
  auto compacted = Run(Client().Compact(std::move(compact)));
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  auto old = Get("k", first->header().revision());
  EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(old.status().message(), "etcdserver: mvcc: required revision has been compacted");
  EXPECT_FALSE(MayHaveTakenEffect(old.status()));
  auto future = Get("k", 1000);
  EXPECT_EQ(future.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(future.status().message(), "etcdserver: mvcc: required revision is a future revision");
  auto empty = Put("", "v");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "etcdserver: key is not provided");
}

TEST_F(EtcdClientTest, WatchStreamCreatesReceivesEventsAndCancels) {
  auto stream = Run(Client().Watch());
  ASSERT_TRUE(stream.ok()) << stream.status();
  WatchStream& watch = **stream;
  EXPECT_EQ(watch.endpoint(), kMemberAddress);
  etcdserverpb::WatchCreateRequest create;
  create.set_key("w");
  create.set_prev_kv(true);
  ASSERT_TRUE(Run(watch.Create(create)).ok());
  auto created = Run(watch.Receive());
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(created->created());
  const int64_t id = created->watch_id();

  ASSERT_TRUE(Put("w", "1").ok());
  auto put = Put("w", "2");
  ASSERT_TRUE(put.ok());
  std::vector<mvccpb::Event> events;
  while (events.size() < 2) {
    auto response = Run(watch.Receive());
    ASSERT_TRUE(response.has_value());
    for (const auto& event : response->events()) events.push_back(event);
  }
  EXPECT_EQ(events[1].kv().value(), "2");
  EXPECT_EQ(events[1].prev_kv().value(), "1");
  EXPECT_EQ(events[1].kv().mod_revision(), put->header().revision());

  ASSERT_TRUE(Run(watch.RequestProgress()).ok());
  auto progress = Run(watch.Receive());
  ASSERT_TRUE(progress.has_value());
  EXPECT_EQ(progress->events_size(), 0);
  EXPECT_EQ(progress->header().revision(), put->header().revision());

  ASSERT_TRUE(Run(watch.Cancel(id)).ok());
  auto canceled = Run(watch.Receive());
  ASSERT_TRUE(canceled.has_value());
  EXPECT_TRUE(canceled->canceled());
  EXPECT_EQ(canceled->watch_id(), id);
}

TEST_F(EtcdClientTest, WatchFromACompactedRevisionIsToldTheCompactRevision) {
  auto first = Put("k", "1");
  ASSERT_TRUE(first.ok());
  auto second = Put("k", "2");
  ASSERT_TRUE(second.ok());
  etcdserverpb::CompactionRequest compact;
  compact.set_revision(second->header().revision());
  ASSERT_TRUE(Run(Client().Compact(std::move(compact))).ok());
  auto stream = Run(Client().Watch());
  ASSERT_TRUE(stream.ok());
  etcdserverpb::WatchCreateRequest create;
  create.set_key("k");
  create.set_start_revision(first->header().revision());
  ASSERT_TRUE(Run((*stream)->Create(create)).ok());
  bool told = false;
  for (int i = 0; i < 3 && !told; i++) {
    auto response = Run((*stream)->Receive());
    ASSERT_TRUE(response.has_value());
    told = response->compact_revision() == second->header().revision();
  }
  EXPECT_TRUE(told);
}

TEST_F(EtcdClientTest, WatchStreamEndsWhenTheMemberDies) {
  auto stream = Run(Client().Watch());
  ASSERT_TRUE(stream.ok());
  etcdserverpb::WatchCreateRequest create;
  create.set_key("k");
  ASSERT_TRUE(Run((*stream)->Create(create)).ok());
  ASSERT_TRUE(Run((*stream)->Receive()).has_value());
  c_.Kill(0);
  EXPECT_FALSE(Run((*stream)->Receive()).has_value());
  ASSERT_TRUE((*stream)->status().has_value());
  EXPECT_EQ((*stream)->status()->code(), absl::StatusCode::kUnavailable);
}

TEST_F(EtcdClientTest, StatusAndMemberListDescribeTheMember) {
  auto status = Run(Client().Status(kMemberAddress));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->leader(), c_.server(0).id());
  EXPECT_EQ(status->header().member_id(), c_.server(0).id());
  EXPECT_FALSE(status->version().empty());
  auto unknown = Run(Client().Status("10.0.0.7:2379"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  // The member publishes its name and client URLs through raft.
  ASSERT_TRUE(c_.world().RunUntil(
      [&] {
        auto members = Run(Client().MemberList());
        return members.ok() && members->members_size() == 1 &&
               members->members(0).name() == "m1";
      },
      Seconds(10)));
  auto members = Run(Client().MemberList());
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->members(0).clienturls_size(), 1);
  EXPECT_EQ(members->members(0).clienturls(0), StrCat("http://", kMemberAddress));
  auto hash = Run(Client().HashKV(kMemberAddress, 0));
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_NE(hash->hash(), 0u);
}

TEST_F(EtcdClientTest, LeasesAreGrantedKeptAliveInspectedAndRevoked) {
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(10);
  auto granted = Run(Client().LeaseGrant(grant));
  ASSERT_TRUE(granted.ok()) << granted.status();
  ASSERT_NE(granted->id(), 0);
  EXPECT_EQ(granted->ttl(), 10);
  const int64_t id = granted->id();
  etcdserverpb::PutRequest put;
  put.set_key("leased");
  put.set_value("v");
  put.set_lease(id);
  ASSERT_TRUE(Run(Client().Put(put)).ok());

  // Time passes; a keepalive on a stream renews the lease to its full TTL.
  c_.world().RunFor(Seconds(4));
  auto stream = Run(Client().LeaseKeepAlive());
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE(Run((*stream)->Send(id)).ok());
  auto renewed = Run((*stream)->Receive());
  ASSERT_TRUE(renewed.has_value());
  EXPECT_EQ(renewed->id(), id);
  EXPECT_EQ(renewed->ttl(), 10);
  auto once = Run(Client().LeaseKeepAliveOnce(id));
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_EQ(once->ttl(), 10);

  etcdserverpb::LeaseTimeToLiveRequest ask;
  ask.set_id(id);
  ask.set_keys(true);
  auto ttl = Run(Client().LeaseTimeToLive(ask));
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(ttl->grantedttl(), 10);
  EXPECT_GT(ttl->ttl(), 0);
  EXPECT_LE(ttl->ttl(), 10);
  ASSERT_EQ(ttl->keys_size(), 1);
  EXPECT_EQ(ttl->keys(0), "leased");
  auto leases = Run(Client().LeaseLeases(etcdserverpb::LeaseLeasesRequest()));
  ASSERT_TRUE(leases.ok()) << leases.status();
  ASSERT_EQ(leases->leases_size(), 1);
  EXPECT_EQ(leases->leases(0).id(), id);

  // Revoking deletes the attached key; the lease is then unknown.
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(id);
  ASSERT_TRUE(Run(Client().LeaseRevoke(revoke)).ok());
  auto gone = Get("leased");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->kvs_size(), 0);
  auto again = Run(Client().LeaseRevoke(revoke));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(again.status().message(), "etcdserver: requested lease not found");
  EXPECT_FALSE(MayHaveTakenEffect(again.status()));
  auto expired = Run(Client().LeaseKeepAliveOnce(id));
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(expired->ttl(), 0);
  auto missing = Run(Client().LeaseTimeToLive(ask));
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->ttl(), -1);
}

TEST_F(EtcdClientTest, ACallToAStalledMemberTimesOut) {
  ASSERT_TRUE(Put("k", "v").ok());
  c_.machine(0).Pause();
  const TimePoint start = c_.world().now();
  auto got = Get("k", 0, RequestOptions::WithTimeout(Milliseconds(300)));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(got.status().message(), "context deadline exceeded");
  EXPECT_LE(c_.world().now() - start, Milliseconds(400));
  EXPECT_TRUE(MayHaveTakenEffect(got.status()));
  c_.machine(0).Resume();
}

TEST_F(EtcdClientTest, UnreachableEndpointsAreSkipped) {
  // Nothing listens on the first endpoint; the second is the member.
  Client({NobodyAddress(), kMemberAddress});
  auto put = Put("k", "v", RequestOptions::WithTimeout(Seconds(5)));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(Client().pinned_endpoint(), kMemberAddress);
  EXPECT_EQ(Client().dials(), 2u);
}

TEST_F(EtcdClientTest, NoReachableEndpointEndsAtTheDeadline) {
  Client({NobodyAddress()});
  const TimePoint start = c_.world().now();
  auto put = Put("k", "v", RequestOptions::WithTimeout(Seconds(1)));
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
  EXPECT_LE(c_.world().now() - start, Seconds(1));
  EXPECT_GT(Client().dials(), 1u);
}

TEST_F(EtcdClientTest, AReadIsRetriedAfterTheConnectionIsLost) {
  ASSERT_TRUE(Put("k", "v").ok());
  ASSERT_TRUE(Get("k").ok());
  c_.machine(0).Pause();
  std::optional<absl::StatusOr<etcdserverpb::RangeResponse>> got;
  etcdserverpb::RangeRequest request;
  request.set_key("k");
  c_.client_env().Spawn([](EtcdClient* client, etcdserverpb::RangeRequest request,
                        std::optional<absl::StatusOr<etcdserverpb::RangeResponse>>* out)
                         -> Task<void> {
    out->emplace(co_await client->Range(std::move(request),
                                        RequestOptions::WithTimeout(Seconds(20))));
  }(&Client(), request, &got));
  c_.world().RunFor(Milliseconds(100));
  ASSERT_FALSE(got.has_value());
  c_.Kill(0);
  ASSERT_TRUE(c_.Start(0).ok());
  ASSERT_TRUE(c_.world().RunUntil([&] { return got.has_value(); }, Seconds(20)));
  ASSERT_TRUE(got->ok()) << got->status();
  ASSERT_EQ((*got)->kvs_size(), 1);
  EXPECT_GE(Client().dials(), 2u);
}

TEST_F(EtcdClientTest, AWriteIsNotRetriedOnceSentAndItsOutcomeIsUnknown) {
  ASSERT_TRUE(Put("k", "v1").ok());
  c_.machine(0).Pause();
  std::optional<absl::StatusOr<etcdserverpb::PutResponse>> put;
  etcdserverpb::PutRequest request;
  request.set_key("k");
  request.set_value("v2");
  c_.client_env().Spawn([](EtcdClient* client, etcdserverpb::PutRequest request,
                        std::optional<absl::StatusOr<etcdserverpb::PutResponse>>* out)
                         -> Task<void> {
    out->emplace(
        co_await client->Put(std::move(request), RequestOptions::WithTimeout(Seconds(20))));
  }(&Client(), request, &put));
  c_.world().RunFor(Milliseconds(100));
  ASSERT_FALSE(put.has_value());
  c_.Kill(0);
  ASSERT_TRUE(c_.Start(0).ok());
  ASSERT_TRUE(c_.world().RunUntil([&] { return put.has_value(); }, Seconds(20)));
  EXPECT_EQ(put->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(MayHaveTakenEffect(put->status()));
  EXPECT_EQ(Client().dials(), 1u);
  // The paused member never read it: the old value stands.
  ASSERT_TRUE(WaitForLeader());
  auto got = Get("k", 0, RequestOptions::WithTimeout(Seconds(5)));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->kvs(0).value(), "v1");
}

TEST_F(EtcdClientTest, AWriteIsRetriedWhenItWasNeverSent) {
  ASSERT_TRUE(Put("k", "v1").ok());
  // The member restarts: the client's channel is gone before the next call.
  c_.Kill(0);
  ASSERT_TRUE(c_.Start(0).ok());
  ASSERT_TRUE(WaitForLeader());
  c_.world().RunFor(Milliseconds(50));
  auto put = Put("k", "v2", RequestOptions::WithTimeout(Seconds(5)));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(Client().dials(), 2u);
}

// Two members: both start, the cluster elects a leader and m1 becomes ready
// (a member serves clients only once it has published itself, as etcd's
// does); then m2 dies and m1, left without a quorum, loses its leader.
class EtcdClientWithoutLeaderTest : public EtcdClientTest {
 protected:
  EtcdClientWithoutLeaderTest() : EtcdClientTest(/*members=*/2) { expect_leader_ = false; }

  void SetUp() override {
    EtcdClientTest::SetUp();
    ASSERT_TRUE(c_.world().RunUntil(
        [&] { return c_.up(0) && c_.node(0).serving() && c_.server(0).raft().leader() != 0; },
        Seconds(10)));
    c_.Kill(1);
    // Check quorum: a leader that hears from no quorum steps down within an
    // election timeout; a follower's leader goes once it stops hearing.
    ASSERT_TRUE(c_.world().RunUntil([&] { return c_.server(0).raft().leader() == 0; }, Seconds(10)));
  }
};

TEST_F(EtcdClientWithoutLeaderTest, RequireLeaderIsRefusedWithoutALeader) {
  c_.world().RunFor(Seconds(1));
  ASSERT_TRUE(c_.up(0));
  ASSERT_EQ(c_.server(0).raft().leader(), 0u);
  etcdserverpb::RangeRequest request;
  request.set_key("k");
  request.set_serializable(true);
  RequestOptions require = RequestOptions::WithTimeout(Seconds(1));
  require.require_leader = true;
  auto refused = Run(Client().Range(request, require));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message(), "etcdserver: no leader");
  // Without the metadata a serializable read is served locally.
  auto served = Run(Client().Range(request, RequestOptions::WithTimeout(Seconds(1))));
  EXPECT_TRUE(served.ok()) << served.status();
  // A watch stream that requires a leader is ended with the same error.
  auto stream = Run(Client().Watch(require));
  ASSERT_TRUE(stream.ok());
  EXPECT_FALSE(Run((*stream)->Receive()).has_value());
  ASSERT_TRUE((*stream)->status().has_value());
  EXPECT_EQ((*stream)->status()->message(), "etcdserver: no leader");
}

}  // namespace
}  // namespace keel::client
