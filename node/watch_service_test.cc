// WatchService end to end: a keel gRPC client talks to the Watch RPC over
// net's in-memory pipes (net/testing/server_harness.h), on a ManualClock,
// with a real Mvcc (LevelDB's in-memory Env) feeding the hub. Each test
// runs a client coroutine that writes WatchRequests and reads
// WatchResponses as an etcd client would, then checks what arrived: the
// created/canceled responses and their ids, etcd's errors for bad creates,
// headers, events of one revision in one response, fragments, progress
// requests and progress_notify, catch-up and compaction, a client too slow
// to read, half-close, cancellation removing every watcher, and hasleader.
#include "node/watch_service.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "leveldb/env.h"
#include "leveldb/helpers/memenv.h"
#include "net/testing/server_harness.h"
#include "proto/rpc.pb.h"
#include "store/mvcc.h"

namespace keel::node {
namespace {

using etcdserverpb::WatchCreateRequest;
using etcdserverpb::WatchRequest;
using Response = etcdserverpb::WatchResponse;

constexpr uint64_t kClusterId = 0x1000;
constexpr uint64_t kMemberId = 0x2000;
constexpr uint64_t kTerm = 7;

// A client's Watch call.
class WatchCall {
 public:
  explicit WatchCall(std::unique_ptr<net::ClientStream> stream)
      : stream_(std::move(stream)) {}

  Task<absl::Status> Create(WatchCreateRequest create) {
    WatchRequest request;
    *request.mutable_create_request() = std::move(create);
    co_return co_await stream_->Write(request.SerializeAsString());
  }
  Task<absl::Status> Cancel(int64_t id) {
    WatchRequest request;
    request.mutable_cancel_request()->set_watch_id(id);
    co_return co_await stream_->Write(request.SerializeAsString());
  }
  Task<absl::Status> RequestProgress() {
    WatchRequest request;
    request.mutable_progress_request();
    co_return co_await stream_->Write(request.SerializeAsString());
  }
  // The next response; nullopt once the call has ended.
  Task<std::optional<Response>> Recv() {
    std::optional<std::string> bytes = co_await stream_->Read();
    if (!bytes.has_value()) co_return std::nullopt;
    Response response;
    EXPECT_TRUE(response.ParseFromString(*bytes));
    co_return response;
  }
  net::ClientStream& stream() { return *stream_; }

 private:
  std::unique_ptr<net::ClientStream> stream_;
};

WatchCreateRequest On(std::string key, std::string range_end = "",
                      int64_t start_revision = 0) {
  WatchCreateRequest create;
  create.set_key(std::move(key));
  create.set_range_end(std::move(range_end));
  create.set_start_revision(start_revision);
  return create;
}

class WatchServiceTest : public net::testing::ServerHarness {
 public:
  WatchServiceTest() : memenv_(leveldb::NewMemEnv(leveldb::Env::Default())) {
    store::MvccOptions options;
    options.path = "/mvcc";
    options.env = memenv_.get();
    absl::StatusOr<std::unique_ptr<store::Mvcc>> mvcc =
        store::Mvcc::Open(options);
    KEEL_ASSERT(mvcc.ok());
    mvcc_ = std::move(*mvcc);
    // Merging off (one response per revision), as most tests count
    // responses; UseMergingHub() turns it on.
    WatchHubOptions hub_options;
    hub_options.max_merged_event_bytes = 0;
    hub_ = std::make_unique<WatchHub>(mvcc_.get(), hub_options);
    mvcc_->SetListener(hub_.get());
  }
  void UseMergingHub() {
    mvcc_->SetListener(nullptr);
    hub_ = std::make_unique<WatchHub>(mvcc_.get());
    mvcc_->SetListener(hub_.get());
  }
  ~WatchServiceTest() override {
    Stop();  // Handlers refer to the service: end them first.
    mvcc_->SetListener(nullptr);
  }

  // Builds the service and starts the server with the hub's loop.
  void StartWatch(WatchServiceOptions options = WatchServiceOptions()) {
    service_ = std::make_unique<WatchService>(
        *hub_, clock_, random_,
        [] {
          etcdserverpb::ResponseHeader header;
          header.set_cluster_id(kClusterId);
          header.set_member_id(kMemberId);
          header.set_raft_term(kTerm);
          return header;
        },
        [this] { return has_leader_; }, options);
    RegisterWatchService(grpc_, *service_);
    server_process_.Spawn(hub_->Run());
    Start();
  }

  // Opens a Watch call on a new channel (kept alive by the test).
  Task<WatchCall> Open(net::CallOptions options = net::CallOptions()) {
    channels_.push_back(co_await Dial());
    absl::StatusOr<std::unique_ptr<net::ClientStream>> stream =
        channels_.back()->OpenStream("/etcdserverpb.Watch/Watch",
                                     std::move(options));
    KEEL_ASSERT(stream.ok());
    co_return WatchCall(std::move(*stream));
  }

  int64_t Put(std::string key, std::string value) {
    store::PutRequest request;
    request.key = std::move(key);
    request.value = std::move(value);
    absl::StatusOr<store::PutResult> result =
        mvcc_->Put(store::EntryId{++index_, 1}, request);
    KEEL_ASSERT(result.ok());
    return result->revision;
  }
  void PutAll(std::vector<std::pair<std::string, std::string>> kvs) {
    store::TxnRequest txn;
    for (auto& [key, value] : kvs) {
      store::PutRequest put;
      put.key = key;
      put.value = value;
      txn.success.push_back(store::RequestOp{put});
    }
    KEEL_ASSERT(mvcc_->Txn(store::EntryId{++index_, 1}, txn).ok());
  }

  // Every response of a call, read until `count` arrived or a second of
  // quiet passes.
  Task<std::vector<Response>> RecvUpTo(WatchCall* call, size_t count) {
    std::vector<Response> out;
    while (out.size() < count) {
      std::optional<std::optional<Response>> r =
          co_await clock_.WithTimeout(Seconds(1), call->Recv());
      if (!r.has_value() || !r->has_value()) break;
      out.push_back(std::move(**r));
    }
    co_return out;
  }

  Executor::Scope scope_{executor_};
  std::unique_ptr<leveldb::Env> memenv_;
  std::unique_ptr<store::Mvcc> mvcc_;
  uint64_t index_ = 0;
  std::unique_ptr<WatchHub> hub_;
  Random random_{42};
  bool has_leader_ = true;
  std::unique_ptr<WatchService> service_;
  std::vector<std::unique_ptr<net::GrpcChannel>> channels_;
};

std::vector<int64_t> EventRevisions(const std::vector<Response>& responses) {
  std::vector<int64_t> revisions;
  for (const Response& r : responses) {
    for (const mvccpb::Event& e : r.events()) {
      revisions.push_back(e.kv().mod_revision());
    }
  }
  return revisions;
}

TEST_F(WatchServiceTest, CreateAnswersCreatedThenEventsWithHeaders) {
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("foo"))).ok());
    WatchCreateRequest with_prev = On("foo");
    with_prev.set_prev_kv(true);
    EXPECT_TRUE((co_await call.Create(with_prev)).ok());
    *got = co_await t->RecvUpTo(&call, 2);
    t->Put("foo", "1");
    t->Put("foo", "2");
    for (Response& r : co_await t->RecvUpTo(&call, 4)) got->push_back(std::move(r));
  }(this, &got));
  Run(Seconds(10));
  ASSERT_EQ(got.size(), 6u);
  EXPECT_TRUE(got[0].created());
  EXPECT_EQ(got[0].watch_id(), 0);
  EXPECT_FALSE(got[0].canceled());
  EXPECT_EQ(got[0].header().revision(), 1);
  EXPECT_EQ(got[0].header().cluster_id(), kClusterId);
  EXPECT_EQ(got[0].header().member_id(), kMemberId);
  EXPECT_EQ(got[0].header().raft_term(), kTerm);
  EXPECT_EQ(got[1].watch_id(), 1);
  // Revision 3 (foo=2): watcher 0 without prev_kv, watcher 1 with.
  const Response& plain = got[4];
  const Response& with_prev = got[5];
  EXPECT_EQ(plain.watch_id(), 0);
  EXPECT_EQ(plain.header().revision(), 3);
  ASSERT_EQ(plain.events_size(), 1);
  EXPECT_EQ(plain.events(0).kv().value(), "2");
  EXPECT_FALSE(plain.events(0).has_prev_kv());
  EXPECT_EQ(with_prev.watch_id(), 1);
  ASSERT_EQ(with_prev.events_size(), 1);
  EXPECT_EQ(with_prev.events(0).prev_kv().value(), "1");
}

TEST_F(WatchServiceTest, ClientIdsAreHonouredAndBadCreatesGetEtcdsReasons) {
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    WatchCreateRequest seven = On("a");
    seven.set_watch_id(7);
    EXPECT_TRUE((co_await call.Create(seven)).ok());
    EXPECT_TRUE((co_await call.Create(seven)).ok());   // duplicate
    EXPECT_TRUE((co_await call.Create(On("a"))).ok()); // auto: 0
    EXPECT_TRUE((co_await call.Create(On("b", "a"))).ok());  // empty range
    *got = co_await t->RecvUpTo(&call, 4);
  }(this, &got));
  Run(Seconds(10));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].watch_id(), 7);
  EXPECT_TRUE(got[0].created());
  EXPECT_EQ(got[1].watch_id(), -1);
  EXPECT_TRUE(got[1].created());
  EXPECT_TRUE(got[1].canceled());
  EXPECT_EQ(got[1].cancel_reason(),
            "mvcc: duplicate watch ID provided on the WatchStream");
  EXPECT_EQ(got[2].watch_id(), 0);
  EXPECT_FALSE(got[2].canceled());
  EXPECT_EQ(got[3].watch_id(), -1);
  EXPECT_TRUE(got[3].canceled());
  EXPECT_EQ(got[3].cancel_reason(), "mvcc: watcher range is empty");
}

TEST_F(WatchServiceTest, CancelAnswersCanceledAndStopsTheWatcher) {
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("a"))).ok());
    EXPECT_TRUE((co_await call.Create(On("b"))).ok());
    EXPECT_TRUE((co_await call.Cancel(0)).ok());
    EXPECT_TRUE((co_await call.Cancel(42)).ok());  // unknown: no answer
    *got = co_await t->RecvUpTo(&call, 3);
    t->Put("a", "1");
    t->Put("b", "1");
    for (Response& r : co_await t->RecvUpTo(&call, 10)) got->push_back(std::move(r));
    EXPECT_EQ(t->hub_->watcher_count(), 1u);
  }(this, &got));
  Run(Seconds(10));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_TRUE(got[2].canceled());
  EXPECT_EQ(got[2].watch_id(), 0);
  EXPECT_FALSE(got[2].created());
  EXPECT_EQ(got[3].watch_id(), 1);
  EXPECT_EQ(got[3].events(0).kv().key(), "b");
}

TEST_F(WatchServiceTest, EventsOfOneRevisionComeInOneResponse) {
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("p/", "p0"))).ok());
    co_await t->RecvUpTo(&call, 1);
    t->PutAll({{"p/a", "1"}, {"p/b", "2"}, {"q", "3"}, {"p/c", "4"}});
    *got = co_await t->RecvUpTo(&call, 10);
  }(this, &got));
  Run(Seconds(10));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].events_size(), 3);
  EXPECT_EQ(got[0].events(2).kv().key(), "p/c");
  EXPECT_FALSE(got[0].fragment());
}

// A revision's events are encoded once and the bytes go to every watcher
// that receives them; each watcher still gets exactly its response.
TEST_F(WatchServiceTest, WatchersOfTheSameEventsShareOneEncoding) {
  StartWatch();
  std::vector<Response> first, second;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* first,
                 std::vector<Response>* second) -> Task<void> {
    WatchCall a = co_await t->Open();
    WatchCall b = co_await t->Open();
    EXPECT_TRUE((co_await a.Create(On("k"))).ok());
    EXPECT_TRUE((co_await b.Create(On("k"))).ok());
    co_await t->RecvUpTo(&a, 1);
    co_await t->RecvUpTo(&b, 1);
    t->PutAll({{"k", "v"}});
    *first = co_await t->RecvUpTo(&a, 1);
    *second = co_await t->RecvUpTo(&b, 1);
  }(this, &first, &second));
  Run(Seconds(10));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(first[0].events_size(), 1);
  ASSERT_EQ(second[0].events_size(), 1);
  EXPECT_EQ(first[0].events(0).kv().value(), "v");
  EXPECT_EQ(second[0].events(0).SerializeAsString(), first[0].events(0).SerializeAsString());
  EXPECT_GE(service_->encoded_events_reused(), 1u);
}

TEST_F(WatchServiceTest, LargeRevisionsAreFragmentedOnlyWhenAsked) {
  WatchServiceOptions options;
  options.max_response_bytes = 1000;
  StartWatch(options);
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    WatchCreateRequest fragmented = On("f/", "f0");
    fragmented.set_fragment(true);
    EXPECT_TRUE((co_await call.Create(fragmented)).ok());
    EXPECT_TRUE((co_await call.Create(On("f/", "f0"))).ok());
    co_await t->RecvUpTo(&call, 2);
    std::vector<std::pair<std::string, std::string>> kvs;
    for (char c = 'a'; c < 'a' + 8; c++) {
      kvs.emplace_back(std::string("f/") + c, std::string(300, c));
    }
    t->PutAll(kvs);
    *got = co_await t->RecvUpTo(&call, 20);
  }(this, &got));
  Run(Seconds(10));
  std::vector<Response> pieces;
  std::vector<Response> whole;
  for (Response& r : got) (r.watch_id() == 0 ? pieces : whole).push_back(r);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].events_size(), 8);
  EXPECT_FALSE(whole[0].fragment());
  ASSERT_GE(pieces.size(), 3u);
  for (size_t i = 0; i < pieces.size(); i++) {
    EXPECT_EQ(pieces[i].fragment(), i + 1 < pieces.size());
    EXPECT_LT(pieces[i].ByteSizeLong(), 1000u);
    EXPECT_EQ(pieces[i].header().revision(), 2);
  }
  EXPECT_EQ(EventRevisions(pieces), std::vector<int64_t>(8, 2));
}

TEST_F(WatchServiceTest, ProgressRequestAnswersOnceEveryWatcherIsSynced) {
  for (int i = 0; i < 5; i++) Put("k", std::to_string(i));  // 2..6
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("k", "", 2))).ok());
    EXPECT_TRUE((co_await call.RequestProgress()).ok());
    *got = co_await t->RecvUpTo(&call, 3);
  }(this, &got));
  Run(Seconds(10));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(got[0].created());
  EXPECT_EQ(EventRevisions({got[1]}), (std::vector<int64_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(got[2].watch_id(), -1);
  EXPECT_EQ(got[2].header().revision(), 6);
  EXPECT_EQ(got[2].events_size(), 0);
}

TEST_F(WatchServiceTest, ProgressNotifyComesEachIdleInterval) {
  WatchServiceOptions options;
  options.progress_notify_interval = Seconds(5);
  StartWatch(options);
  std::vector<std::pair<Response, TimePoint>> got;
  SpawnClient([](WatchServiceTest* t,
                 std::vector<std::pair<Response, TimePoint>>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    WatchCreateRequest create = On("k");
    create.set_progress_notify(true);
    EXPECT_TRUE((co_await call.Create(create)).ok());
    for (int i = 0; i < 3; i++) {
      std::optional<Response> r = co_await call.Recv();
      if (!r.has_value()) break;
      got->emplace_back(std::move(*r), t->clock_.Now());
    }
  }(this, &got));
  Run(Seconds(12));
  ASSERT_EQ(got.size(), 3u);
  const TimePoint start = got[0].second;
  for (int i = 1; i <= 2; i++) {
    EXPECT_EQ(got[i].first.watch_id(), 0);
    EXPECT_EQ(got[i].first.events_size(), 0);
    EXPECT_EQ(got[i].first.header().revision(), 1);
    const Duration at = got[i].second - start;
    // Interval plus up to a tenth of jitter.
    EXPECT_GE(at, Seconds(5) * i);
    EXPECT_LE(at, Milliseconds(5500) * i);
  }
}

TEST_F(WatchServiceTest, ClientThatStopsReadingLosesNothing) {
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("k"))).ok());
    co_await t->RecvUpTo(&call, 1);
    // 1000 revisions of 4 KiB while the client reads nothing: more than
    // the client's buffer, the HTTP/2 windows, the server's send buffer
    // and the stream's queue hold together.
    for (int i = 0; i < 1000; i++) {
      t->Put("k", std::string(4096, static_cast<char>('a' + i % 26)));
      co_await Yield();
    }
    co_await t->clock_.Sleep(Seconds(1));
    // The writer is stuck on flow control and the watcher is a victim.
    EXPECT_EQ(t->hub_->victim_count(), 1u);
    *got = co_await t->RecvUpTo(&call, 2000);
  }(this, &got));
  Run(Seconds(60));
  std::vector<int64_t> want;
  for (int64_t r = 2; r <= 1001; r++) want.push_back(r);
  EXPECT_EQ(EventRevisions(got), want);
  EXPECT_EQ(hub_->victim_count(), 0u);
}

// With merging on (the default), a client that stops reading gets the
// revisions that queued up meanwhile in few responses, every event once,
// in order, each response's header naming its last revision.
TEST_F(WatchServiceTest, ClientThatStopsReadingGetsMergedResponsesLosingNothing) {
  UseMergingHub();
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    WatchCreateRequest with_prev = On("k");
    with_prev.set_prev_kv(true);
    EXPECT_TRUE((co_await call.Create(with_prev)).ok());
    co_await t->RecvUpTo(&call, 1);
    for (int i = 0; i < 1000; i++) {
      t->Put("k", std::string(4096, static_cast<char>('a' + i % 26)));
      co_await Yield();
    }
    co_await t->clock_.Sleep(Seconds(1));
    *got = co_await t->RecvUpTo(&call, 2000);
  }(this, &got));
  Run(Seconds(60));
  std::vector<int64_t> want;
  for (int64_t r = 2; r <= 1001; r++) want.push_back(r);
  EXPECT_EQ(EventRevisions(got), want);
  EXPECT_LT(got.size(), 500u);
  for (const Response& r : got) {
    ASSERT_GT(r.events_size(), 0);
    EXPECT_EQ(r.header().revision(), r.events(r.events_size() - 1).kv().mod_revision());
    for (const mvccpb::Event& e : r.events()) {
      if (e.kv().mod_revision() == 2) continue;  // the key's creation
      ASSERT_TRUE(e.has_prev_kv());
      EXPECT_EQ(e.prev_kv().mod_revision(), e.kv().mod_revision() - 1);
    }
  }
  EXPECT_EQ(hub_->victim_count(), 0u);
}

TEST_F(WatchServiceTest, CompactedStartIsCanceledWithTheCompactRevision) {
  for (int i = 0; i < 5; i++) Put("k", std::to_string(i));  // 2..6
  ASSERT_TRUE(mvcc_->Compact(store::EntryId{++index_, 1}, 5).ok());
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("k", "", 3))).ok());
    *got = co_await t->RecvUpTo(&call, 2);
  }(this, &got));
  Run(Seconds(10));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].watch_id(), 0);
  EXPECT_EQ(got[1].compact_revision(), 5);
  EXPECT_TRUE(got[1].canceled());
}

TEST_F(WatchServiceTest, HalfCloseKeepsEventsFlowingAsInEtcd) {
  StartWatch();
  std::vector<Response> got;
  SpawnClient([](WatchServiceTest* t, std::vector<Response>* got) -> Task<void> {
    WatchCall call = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("k"))).ok());
    call.stream().CloseSend();
    co_await t->RecvUpTo(&call, 1);
    t->Put("k", "1");
    *got = co_await t->RecvUpTo(&call, 1);
  }(this, &got));
  Run(Seconds(10));
  EXPECT_EQ(EventRevisions(got), (std::vector<int64_t>{2}));
}

TEST_F(WatchServiceTest, CancellingTheCallRemovesEveryWatcher) {
  StartWatch();
  size_t watchers_while_open = 0;
  size_t streams_while_open = 0;
  SpawnClient([](WatchServiceTest* t, size_t* watchers,
                 size_t* streams) -> Task<void> {
    WatchCall call = co_await t->Open();
    WatchCall other = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("a"))).ok());
    EXPECT_TRUE((co_await call.Create(On("b", "c"))).ok());
    EXPECT_TRUE((co_await call.Create(On("a", "", 1))).ok());
    EXPECT_TRUE((co_await other.Create(On("z"))).ok());
    co_await t->RecvUpTo(&call, 3);
    co_await t->RecvUpTo(&other, 1);
    *watchers = t->hub_->watcher_count();
    *streams = t->service_->open_streams();
    call.stream().Cancel();
    t->network_.ResetConnection(1);  // `other`'s connection
    co_await t->clock_.Sleep(Seconds(1));
  }(this, &watchers_while_open, &streams_while_open));
  Run(Seconds(10));
  EXPECT_EQ(watchers_while_open, 4u);
  EXPECT_EQ(streams_while_open, 2u);
  EXPECT_EQ(hub_->watcher_count(), 0u);
  EXPECT_EQ(hub_->stream_count(), 0u);
  EXPECT_EQ(service_->open_streams(), 0u);
}

TEST_F(WatchServiceTest, HasLeaderStreamsNeedALeader) {
  WatchServiceOptions options;
  options.leader_check_interval = Seconds(1);
  StartWatch(options);
  absl::Status refused;
  absl::Status ended;
  bool plain_alive = false;
  TimePoint lost_at;
  TimePoint ended_at;
  SpawnClient([](WatchServiceTest* t, absl::Status* refused, absl::Status* ended,
                 bool* plain_alive, TimePoint* lost_at,
                 TimePoint* ended_at) -> Task<void> {
    net::CallOptions require;
    require.metadata.emplace_back("hasleader", "true");
    t->has_leader_ = false;
    WatchCall early = co_await t->Open(require);
    *refused = co_await early.stream().Finish();
    t->has_leader_ = true;
    WatchCall call = co_await t->Open(require);
    WatchCall plain = co_await t->Open();
    EXPECT_TRUE((co_await call.Create(On("k"))).ok());
    EXPECT_TRUE((co_await plain.Create(On("k"))).ok());
    co_await t->RecvUpTo(&call, 1);
    co_await t->RecvUpTo(&plain, 1);
    co_await t->clock_.Sleep(Seconds(5));
    t->has_leader_ = false;
    *lost_at = t->clock_.Now();
    *ended = co_await call.stream().Finish();
    *ended_at = t->clock_.Now();
    t->Put("k", "1");
    std::vector<Response> after = co_await t->RecvUpTo(&plain, 1);
    *plain_alive = after.size() == 1 && after[0].events_size() == 1;
  }(this, &refused, &ended, &plain_alive, &lost_at, &ended_at));
  Run(Seconds(30));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.message(), "etcdserver: no leader");
  EXPECT_EQ(ended.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ended.message(), "etcdserver: no leader");
  // Three checks in a row without a leader: two to three intervals.
  EXPECT_GE(ended_at - lost_at, Seconds(2));
  EXPECT_LE(ended_at - lost_at, Seconds(3));
  EXPECT_TRUE(plain_alive);
}

}  // namespace
}  // namespace keel::node
