// Tests of the Lock and Election services (node/lock_service.h,
// node/election_service.h) on one member on a simulated machine, called
// directly as the gRPC registry would: ordering by create revision,
// waiting for the predecessor's deletion, release on Unlock, on the
// lease's end and on an abandoned wait, and etcd's election errors.
// tests/integration/test_lock_election.py runs etcdctl lock and elect
// against keel and etcd 3.4.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "net/task_group.h"
#include "node/member_services.h"
#include "node/testing/sim_members.h"

namespace keel::node {
namespace {

// A server stream that keeps what is written.
class CollectingStream : public net::ServerStream {
 public:
  Task<std::optional<std::string>> Read() override { co_return std::nullopt; }
  Task<absl::Status> Write(std::string message) override {
    v3electionpb::LeaderResponse response;
    KEEL_ASSERT(response.ParseFromString(message));
    written.push_back(std::move(response));
    co_return absl::OkStatus();
  }
  std::vector<v3electionpb::LeaderResponse> written;
};

// Runs `task` and keeps its result in *out. A coroutine with parameters,
// not a capturing lambda: a task started in a group outlives the
// expression that made it.
template <typename T>
Task<void> StoreIn(Task<T> task, std::optional<T>* out) {
  *out = co_await std::move(task);
}

class LockElectionTest : public ::testing::Test {
 protected:
  LockElectionTest() {
    KEEL_ASSERT(c_.Start(0).ok());
    KEEL_ASSERT(c_.WaitLeader(Seconds(10)) == 0);
    services_ = std::make_unique<MemberServices>(c_.env(0), c_.server(0));
    services_->Register(grpc_, http_);
  }
  ~LockElectionTest() override {
    services_.reset();
    EXPECT_TRUE(c_.StopAll().ok());
  }

  int64_t Grant(int64_t ttl) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    net::CallContext context;
    auto granted = c_.RunOn(0, services_->lease().Grant(context, request));
    KEEL_ASSERT(granted.ok());
    return granted->id();
  }

  Task<absl::StatusOr<v3lockpb::LockResponse>> Lock(std::string name, int64_t lease) {
    v3lockpb::LockRequest request;
    request.set_name(std::move(name));
    request.set_lease(lease);
    net::CallContext context;
    co_return co_await services_->lock().Lock(context, std::move(request));
  }

  Task<absl::StatusOr<v3lockpb::UnlockResponse>> Unlock(std::string key) {
    v3lockpb::UnlockRequest request;
    request.set_key(std::move(key));
    net::CallContext context;
    co_return co_await services_->lock().Unlock(context, std::move(request));
  }

  Task<absl::StatusOr<v3electionpb::CampaignResponse>> Campaign(std::string name,
                                                                int64_t lease,
                                                                std::string value) {
    v3electionpb::CampaignRequest request;
    request.set_name(std::move(name));
    request.set_lease(lease);
    request.set_value(std::move(value));
    net::CallContext context;
    co_return co_await services_->election().Campaign(context, std::move(request));
  }

  Task<void> Observe(v3electionpb::LeaderRequest request,
                     ElectionService::ObserveStream* stream) {
    net::CallContext context;
    (void)co_await services_->election().Observe(context, std::move(request), *stream);
  }

  // The keys under `prefix` with their create revisions.
  std::vector<std::pair<std::string, int64_t>> Keys(std::string prefix) {
    etcdserverpb::RangeRequest range;
    range.set_key(prefix);
    range.set_range_end(prefix.substr(0, prefix.size() - 1) + "0");  // "name/" -> "name0"
    auto found = c_.RunOn(0, c_.server(0).kv().Range(range));
    KEEL_ASSERT(found.ok());
    std::vector<std::pair<std::string, int64_t>> keys;
    for (const auto& kv : found->kvs()) keys.emplace_back(kv.key(), kv.create_revision());
    return keys;
  }

  Clock& MemberClock() { return c_.env(0).clock(); }

  // Runs `task` on the member's machine until it finishes.
  void RunVoid(Task<void> task) {
    c_.RunOn(0, [](Task<void> task) -> Task<bool> {
      co_await std::move(task);
      co_return true;
    }(std::move(task)));
  }

  testing::SimMembers c_;
  net::GrpcServer grpc_;
  net::HttpRouter http_;
  std::unique_ptr<MemberServices> services_;
};

TEST_F(LockElectionTest, SecondContenderWaitsForTheFirstsUnlockAndGetsALaterRevision) {
  const int64_t a = Grant(60);
  const int64_t b = Grant(60);
  auto first = c_.RunOn(0, Lock("job", a));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->key(), absl::StrFormat("job/%x", a));

  std::optional<absl::StatusOr<v3lockpb::LockResponse>> second;
  net::TaskGroup group(MemberClock().executor());
  RunVoid([&]() -> Task<void> {
    group.Start(StoreIn(Lock("job", b), &second));
    co_await MemberClock().Sleep(Seconds(2));
  }());
  EXPECT_FALSE(second.has_value()) << "the second contender must wait";
  ASSERT_TRUE(c_.RunOn(0, Unlock(first->key())).ok());
  RunVoid([&]() -> Task<void> {
    while (!second.has_value()) co_await MemberClock().Sleep(Milliseconds(10));
  }());
  ASSERT_TRUE(second->ok()) << second->status();
  EXPECT_EQ((*second)->key(), absl::StrFormat("job/%x", b));
  auto keys = Keys("job/");
  ASSERT_EQ(keys.size(), 1u);
  // The fencing token: the holder's key revision, above the first's.
  EXPECT_GT(keys[0].second, first->header().revision());
}

TEST_F(LockElectionTest, TheLockPassesOnWhenTheHoldersLeaseIsRevoked) {
  const int64_t a = Grant(60);
  const int64_t b = Grant(60);
  ASSERT_TRUE(c_.RunOn(0, Lock("job", a)).ok());
  std::optional<absl::StatusOr<v3lockpb::LockResponse>> second;
  net::TaskGroup group(MemberClock().executor());
  RunVoid([&]() -> Task<void> {
    group.Start(StoreIn(Lock("job", b), &second));
    co_await MemberClock().Sleep(Seconds(1));
  }());
  EXPECT_FALSE(second.has_value());
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(a);
  net::CallContext context;
  ASSERT_TRUE(c_.RunOn(0, services_->lease().Revoke(context, revoke)).ok());
  RunVoid([&]() -> Task<void> {
    while (!second.has_value()) co_await MemberClock().Sleep(Milliseconds(10));
  }());
  ASSERT_TRUE(second->ok()) << second->status();
  EXPECT_EQ((*second)->key(), absl::StrFormat("job/%x", b));
}

TEST_F(LockElectionTest, AnAbandonedWaitDeletesItsKey) {
  const int64_t a = Grant(60);
  const int64_t b = Grant(60);
  ASSERT_TRUE(c_.RunOn(0, Lock("job", a)).ok());
  net::TaskGroup group(MemberClock().executor());
  std::optional<absl::StatusOr<v3lockpb::LockResponse>> abandoned;
  uint64_t waiter = 0;
  RunVoid([&]() -> Task<void> {
    waiter = group.Start(StoreIn(Lock("job", b), &abandoned));
    co_await MemberClock().Sleep(Seconds(1));
  }());
  EXPECT_EQ(Keys("job/").size(), 2u);
  // The call ends (the client went away): its frame is destroyed.
  RunVoid([&]() -> Task<void> {
    EXPECT_TRUE(group.Cancel(waiter));
    co_await MemberClock().Sleep(Seconds(1));
  }());
  EXPECT_FALSE(abandoned.has_value());
  auto keys = Keys("job/");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].first, absl::StrFormat("job/%x", a));
}

TEST_F(LockElectionTest, LockOnAnUnknownLeaseFailsAsEtcd) {
  auto locked = c_.RunOn(0, Lock("job", 12345));
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.status().message(), "etcdserver: requested lease not found");
}

TEST_F(LockElectionTest, LockWithoutLeaseGetsASixtySecondSession) {
  auto locked = c_.RunOn(0, Lock("job", 0));
  ASSERT_TRUE(locked.ok()) << locked.status();
  auto keys = Keys("job/");
  ASSERT_EQ(keys.size(), 1u);
  etcdserverpb::LeaseTimeToLiveRequest ttl;
  int64_t lease = 0;
  ASSERT_TRUE(absl::SimpleHexAtoi(keys[0].first.substr(4), &lease));
  ttl.set_id(lease);
  net::CallContext context;
  auto live = c_.RunOn(0, services_->lease().TimeToLive(context, ttl));
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->grantedttl(), 60);
}

TEST_F(LockElectionTest, ElectionLeaderObserveProclaimResign) {
  const int64_t a = Grant(60);
  const int64_t b = Grant(60);
  v3electionpb::LeaderRequest who;
  who.set_name("e");
  net::CallContext context;
  auto none = c_.RunOn(0, services_->election().Leader(context, who));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status(), absl::UnknownError("election: no leader"));

  CollectingStream raw;
  ElectionService::ObserveStream observed(raw);
  std::optional<absl::StatusOr<v3electionpb::CampaignResponse>> second;
  net::TaskGroup group(MemberClock().executor());
  RunVoid([&]() -> Task<void> {
    group.Start(Observe(who, &observed));
    co_await MemberClock().Sleep(Milliseconds(500));
  }());
  EXPECT_TRUE(raw.written.empty());

  auto first = c_.RunOn(0, Campaign("e", a, "one"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->leader().name(), "e");
  EXPECT_EQ(first->leader().key(), absl::StrFormat("e/%x", a));
  EXPECT_EQ(first->leader().rev(), first->header().revision());
  EXPECT_EQ(first->leader().lease(), a);
  RunVoid([&]() -> Task<void> {
    group.Start(StoreIn(Campaign("e", b, "two"), &second));
    co_await MemberClock().Sleep(Seconds(1));
  }());
  EXPECT_FALSE(second.has_value());

  v3electionpb::ProclaimRequest proclaim;
  *proclaim.mutable_leader() = first->leader();
  proclaim.set_value("one again");
  ASSERT_TRUE(c_.RunOn(0, services_->election().Proclaim(context, proclaim)).ok());
  auto leader = c_.RunOn(0, services_->election().Leader(context, who));
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->kv().value(), "one again");

  v3electionpb::ResignRequest resign;
  *resign.mutable_leader() = first->leader();
  ASSERT_TRUE(c_.RunOn(0, services_->election().Resign(context, resign)).ok());
  RunVoid([&]() -> Task<void> {
    while (!second.has_value()) co_await MemberClock().Sleep(Milliseconds(10));
    co_await MemberClock().Sleep(Milliseconds(200));
  }());
  ASSERT_TRUE(second->ok()) << second->status();
  EXPECT_EQ((*second)->leader().key(), absl::StrFormat("e/%x", b));

  // The old leader key no longer leads.
  auto stale = c_.RunOn(0, services_->election().Proclaim(context, proclaim));
  EXPECT_EQ(stale.status(), absl::UnknownError("election: not leader"));
  v3electionpb::ProclaimRequest missing;
  EXPECT_EQ(c_.RunOn(0, services_->election().Proclaim(context, missing)).status(),
            absl::UnknownError("\"leader\" field must be provided"));

  std::vector<std::string> values;
  for (const auto& response : raw.written) values.push_back(response.kv().value());
  EXPECT_EQ(values, (std::vector<std::string>{"one", "one again", "two"}));
  group.CancelAll();
}

TEST_F(LockElectionTest, TheMethodsAreRegisteredAtEtcdsPathsBehindTheInterceptors) {
  for (const char* path : {"/v3lockpb.Lock/Lock", "/v3lockpb.Lock/Unlock",
                           "/v3electionpb.Election/Campaign", "/v3electionpb.Election/Proclaim",
                           "/v3electionpb.Election/Leader", "/v3electionpb.Election/Resign"}) {
    const net::GrpcServer::Method* method = grpc_.Find(path);
    ASSERT_TRUE(method != nullptr && method->unary != nullptr) << path;
  }
  const net::GrpcServer::Method* observe = grpc_.Find("/v3electionpb.Election/Observe");
  ASSERT_TRUE(observe != nullptr && observe->stream != nullptr);

  // A call through the registry: parsed, intercepted, answered.
  v3lockpb::LockRequest request;
  request.set_name("job");
  request.set_lease(Grant(60));
  net::CallContext context;
  context.method = "/v3lockpb.Lock/Lock";
  absl::StatusOr<std::string> bytes = c_.RunOn(
      0, grpc_.Find(context.method)->unary(context, request.SerializeAsString()));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  v3lockpb::LockResponse response;
  ASSERT_TRUE(response.ParseFromString(*bytes));
  EXPECT_EQ(response.key(), absl::StrFormat("job/%x", request.lease()));
}

}  // namespace
}  // namespace keel::node
