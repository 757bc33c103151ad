// WatchHub and WatchStream against a real Mvcc (LevelDB's in-memory Env,
// via store's MvccTest fixture): the hub is the store's listener, its
// catch-up loop runs as a task on a ManualClock-driven executor, and the
// tests read each stream's queue directly. Covered: synced delivery (one
// response per revision, filters, prev_kv flag, ranges), catch-up from
// history with writes landing between catch-up steps (no gap, no
// duplicate), compacted starts, victims that resume exactly where they
// stopped while a fast watcher keeps up, a thousand watchers on one key,
// ids, cancel, progress and restore; and merging of queued revisions.
#include "node/watch_hub.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/manual_clock.h"
#include "runtime/process.h"
#include "store/mvcc_test_util.h"

namespace keel::node {
namespace {

using store::Event;
using store::EventType;

class WatchHubTest : public store::MvccTest {
 public:
  // Put, for coroutines the test spawns.
  void PutKey(std::string key, std::string value) {
    Put(std::move(key), std::move(value));
  }

 protected:
  // Merging off: most tests check one response per revision and victims.
  static WatchHubOptions Unmerged() {
    WatchHubOptions options;
    options.max_merged_event_bytes = 0;
    return options;
  }
  explicit WatchHubTest(WatchHubOptions options = Unmerged()) {
    hub_ = std::make_unique<WatchHub>(mvcc_.get(), options);
    mvcc_->SetListener(hub_.get());
    process_.Spawn(hub_->Run());
  }
  ~WatchHubTest() override {
    process_.Kill();
    streams_.clear();
    mvcc_->SetListener(nullptr);
    hub_.reset();
  }

  WatchStream& NewStream() {
    streams_.push_back(hub_->NewStream());
    return *streams_.back();
  }
  int64_t MustWatch(WatchStream& stream, WatchOptions options) {
    absl::StatusOr<int64_t> id = stream.Watch(std::move(options));
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or(-100);
  }
  static WatchOptions On(std::string key, std::string range_end = "",
                         int64_t start_revision = 0) {
    WatchOptions options;
    options.key = std::move(key);
    options.range_end = std::move(range_end);
    options.start_revision = start_revision;
    return options;
  }
  // Runs the catch-up loop (and anything else ready) to quiescence.
  void Run() { clock_.RunUntilIdle(); }
  static std::vector<WatchResponse> Drain(WatchStream& stream) {
    std::vector<WatchResponse> out;
    while (std::optional<WatchResponse> r = stream.TryNext()) {
      out.push_back(std::move(*r));
    }
    return out;
  }
  // The mod revision of every event, in delivery order.
  static std::vector<int64_t> EventRevisions(
      const std::vector<WatchResponse>& responses) {
    std::vector<int64_t> revisions;
    for (const WatchResponse& r : responses) {
      if (r.events == nullptr) continue;
      for (const Event& e : *r.events) revisions.push_back(e.kv.mod_revision);
      for (const WatchEvents& more : r.more_events) {
        for (const Event& e : *more) revisions.push_back(e.kv.mod_revision);
      }
    }
    return revisions;
  }
  static std::vector<int64_t> Range(int64_t first, int64_t last) {
    std::vector<int64_t> v;
    for (int64_t r = first; r <= last; r++) v.push_back(r);
    return v;
  }

  Executor executor_;
  Executor::Scope scope_{executor_};
  ManualClock clock_{executor_};
  Process process_{executor_, "hub"};
  std::unique_ptr<WatchHub> hub_;
  std::vector<std::unique_ptr<WatchStream>> streams_;
};

TEST_F(WatchHubTest, SyncedWatcherGetsEachMatchingRevisionInOneResponse) {
  WatchStream& stream = NewStream();
  WatchOptions options = On("a");
  options.prev_kv = true;
  const int64_t id = MustWatch(stream, options);
  EXPECT_EQ(stream.watcher_state(id), WatcherState::kSynced);
  Put("a", "1");  // 2
  Put("b", "1");  // 3
  Put("a", "2");  // 4
  Delete("a");    // 5
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].revision, 2);
  EXPECT_EQ(got[1].revision, 4);
  EXPECT_EQ(got[2].revision, 5);
  for (const WatchResponse& r : got) {
    EXPECT_EQ(r.watch_id, id);
    EXPECT_TRUE(r.prev_kv);
    ASSERT_EQ(r.events->size(), 1u);
  }
  EXPECT_EQ((*got[1].events)[0].kv.value, "2");
  ASSERT_TRUE((*got[1].events)[0].prev_kv.has_value());
  EXPECT_EQ((*got[1].events)[0].prev_kv->value, "1");
  EXPECT_EQ((*got[2].events)[0].type, EventType::kDelete);
}

TEST_F(WatchHubTest, TxnEventsOfOneRevisionArriveTogether) {
  WatchStream& stream = NewStream();
  MustWatch(stream, On("a", "z"));
  store::TxnRequest txn;
  txn.success = {store::PutOp("a", "1"), store::PutOp("c", "2"),
                 store::PutOp("zz", "3")};
  ASSERT_TRUE(Txn(txn).ok());
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].events->size(), 2u);
  EXPECT_EQ((*got[0].events)[0].kv.key, "a");
  EXPECT_EQ((*got[0].events)[1].kv.key, "c");
}

TEST_F(WatchHubTest, FiltersDropPutsOrDeletesAndEmptyResponses) {
  WatchStream& stream = NewStream();
  WatchOptions no_put = On("k");
  no_put.no_put = true;
  WatchOptions no_delete = On("k");
  no_delete.no_delete = true;
  const int64_t deletes_only = MustWatch(stream, no_put);
  const int64_t puts_only = MustWatch(stream, no_delete);
  Put("k", "1");
  Delete("k");
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].watch_id, puts_only);
  EXPECT_EQ((*got[0].events)[0].type, EventType::kPut);
  EXPECT_EQ(got[1].watch_id, deletes_only);
  EXPECT_EQ((*got[1].events)[0].type, EventType::kDelete);
}

TEST_F(WatchHubTest, RangesPrefixesAndFromKeyMatchAsEtcdDoes) {
  WatchStream& stream = NewStream();
  const int64_t range = MustWatch(stream, On("b", "d"));
  const int64_t from_key = MustWatch(stream, On("c", std::string(1, '\0')));
  const int64_t everything = MustWatch(stream, On("", std::string(1, '\0')));
  const int64_t nul_key = MustWatch(stream, On(""));
  Put("a", "1");
  Put("b", "1");
  Put("d", "1");
  std::vector<int64_t> ids;
  for (const WatchResponse& r : Drain(stream)) ids.push_back(r.watch_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{everything, everything, range,
                                       everything, from_key}));
  (void)nul_key;  // Watches "\0" alone, which nothing wrote.
}

TEST_F(WatchHubTest, EmptyRangeAndDuplicateIdsAreRefusedWithEtcdsErrors) {
  WatchStream& stream = NewStream();
  absl::StatusOr<int64_t> empty = stream.Watch(On("b", "a"));
  EXPECT_EQ(empty.status().message(), "mvcc: watcher range is empty");
  EXPECT_FALSE(stream.Watch(On("b", "b")).ok());
  WatchOptions five = On("x");
  five.id = 5;
  EXPECT_EQ(MustWatch(stream, five), 5);
  absl::StatusOr<int64_t> again = stream.Watch(five);
  EXPECT_EQ(again.status().message(),
            "mvcc: duplicate watch ID provided on the WatchStream");
}

TEST_F(WatchHubTest, AutoIdsCountFromZeroAndSkipIdsInUse) {
  WatchStream& stream = NewStream();
  WatchOptions one = On("x");
  one.id = 1;
  EXPECT_EQ(MustWatch(stream, On("x")), 0);
  EXPECT_EQ(MustWatch(stream, one), 1);
  EXPECT_EQ(MustWatch(stream, On("x")), 2);
  WatchStream& other = NewStream();
  EXPECT_EQ(MustWatch(other, On("x")), 0);
}

class SmallBatchWatchHubTest : public WatchHubTest {
 protected:
  static WatchHubOptions SmallBatches() {
    WatchHubOptions options = Unmerged();
    options.max_events_per_sync = 7;
    return options;
  }
  SmallBatchWatchHubTest() : WatchHubTest(SmallBatches()) {}
};

TEST_F(SmallBatchWatchHubTest, CatchUpWithWritesDuringItHasNoGapOrDuplicate) {
  for (int i = 0; i < 60; i++) Put("k", std::to_string(i));  // 2..61
  WatchStream& stream = NewStream();
  const int64_t id = MustWatch(stream, On("k", "", 10));
  EXPECT_EQ(stream.watcher_state(id), WatcherState::kUnsynced);
  // A writer that alternates with the catch-up steps; the test reads.
  int writes_while_unsynced = 0;
  process_.Spawn([](WatchHubTest* t, WatchStream* s, int64_t id,
                    int* while_unsynced) -> Task<void> {
    for (int i = 0; i < 30; i++) {
      t->PutKey("k", "w" + std::to_string(i));  // 62..91
      if (s->watcher_state(id) == WatcherState::kUnsynced) (*while_unsynced)++;
      co_await Yield();
    }
  }(this, &stream, id, &writes_while_unsynced));
  std::vector<WatchResponse> got;
  for (int round = 0; round < 100; round++) {
    executor_.RunReady();
    for (WatchResponse& r : Drain(stream)) got.push_back(std::move(r));
  }
  // 52 old revisions in batches of 7: the writes really did interleave.
  EXPECT_GE(writes_while_unsynced, 5);
  EXPECT_EQ(stream.watcher_state(id), WatcherState::kSynced);
  EXPECT_EQ(EventRevisions(got), Range(10, 91));
}

TEST_F(WatchHubTest, StartAtOrAboveTheCompactedRevisionWorksBelowItEnds) {
  for (int i = 0; i < 10; i++) Put("k", std::to_string(i));  // 2..11
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 6).ok());
  CompactFully();
  WatchStream& stream = NewStream();
  const int64_t below = MustWatch(stream, On("k", "", 5));
  const int64_t at = MustWatch(stream, On("k", "", 6));
  Run();
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].watch_id, below);
  EXPECT_EQ(got[0].compact_revision, 6);
  EXPECT_TRUE(got[0].canceled);
  EXPECT_EQ(got[0].events, nullptr);
  EXPECT_EQ(stream.watcher_state(below), WatcherState::kEnded);
  EXPECT_EQ(got[1].watch_id, at);
  EXPECT_EQ(EventRevisions({got[1]}), Range(6, 11));
  Put("k", "x");
  got = Drain(stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].watch_id, at);
  // The ended watcher keeps its id until canceled.
  EXPECT_TRUE(stream.has_watcher(below));
  EXPECT_TRUE(stream.Cancel(below).ok());
}

class SmallBufferWatchHubTest : public WatchHubTest {
 protected:
  static WatchHubOptions Small() {
    WatchHubOptions options = Unmerged();
    options.stream_buffer_responses = 4;
    return options;
  }
  SmallBufferWatchHubTest() : WatchHubTest(Small()) {}
};

TEST_F(SmallBufferWatchHubTest, SlowWatcherBecomesVictimAndResumesWhereItStopped) {
  WatchStream& fast = NewStream();
  WatchStream& slow = NewStream();
  MustWatch(fast, On("k"));
  const int64_t slow_id = MustWatch(slow, On("k"));
  std::vector<WatchResponse> fast_got;
  for (int i = 0; i < 20; i++) {
    Put("k", std::to_string(i));  // 2..21
    for (WatchResponse& r : Drain(fast)) fast_got.push_back(std::move(r));
  }
  EXPECT_EQ(EventRevisions(fast_got), Range(2, 21));
  EXPECT_EQ(fast_got.size(), 20u);  // one response per revision
  EXPECT_EQ(slow.queued(), 4u);
  EXPECT_EQ(slow.watcher_state(slow_id), WatcherState::kVictim);
  EXPECT_EQ(hub_->victim_count(), 1u);
  // Draining to half lets it catch up from history, in one batch.
  std::vector<WatchResponse> slow_got;
  for (int round = 0; round < 10; round++) {
    while (std::optional<WatchResponse> r = slow.TryNext()) {
      slow_got.push_back(std::move(*r));
    }
    Run();
  }
  EXPECT_EQ(slow.watcher_state(slow_id), WatcherState::kSynced);
  EXPECT_EQ(hub_->victim_count(), 0u);
  EXPECT_EQ(EventRevisions(slow_got), Range(2, 21));
  Put("k", "after");
  EXPECT_EQ(EventRevisions(Drain(slow)), (std::vector<int64_t>{22}));
}

TEST_F(SmallBufferWatchHubTest, VictimWhoseHistoryWasCompactedIsTold) {
  WatchStream& slow = NewStream();
  const int64_t id = MustWatch(slow, On("k"));
  for (int i = 0; i < 10; i++) Put("k", std::to_string(i));  // 2..11
  EXPECT_EQ(slow.watcher_state(id), WatcherState::kVictim);  // missed 6
  ASSERT_TRUE(mvcc_->Compact(NextEntry(), 9).ok());
  CompactFully();
  std::vector<WatchResponse> got;
  for (int round = 0; round < 5; round++) {
    for (WatchResponse& r : Drain(slow)) got.push_back(std::move(r));
    Run();
  }
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(EventRevisions(got), Range(2, 5));
  EXPECT_EQ(got[4].compact_revision, 9);
  EXPECT_EQ(slow.watcher_state(id), WatcherState::kEnded);
}

TEST_F(WatchHubTest, ThousandWatchersOnOneKeyEachGetEveryEventOnce) {
  constexpr int kWatchers = 1000;
  std::vector<WatchStream*> streams;
  for (int i = 0; i < kWatchers; i++) {
    streams.push_back(&NewStream());
    MustWatch(*streams.back(), On("hot"));
  }
  MustWatch(NewStream(), On("cold"));
  for (int i = 0; i < 10; i++) Put("hot", std::to_string(i));  // 2..11
  const Event* shared = nullptr;
  for (WatchStream* stream : streams) {
    std::vector<WatchResponse> got = Drain(*stream);
    ASSERT_EQ(EventRevisions(got), Range(2, 11));
    ASSERT_EQ(got.size(), 10u);
    // Every watcher gets the same immutable batch, not a copy.
    if (shared == nullptr) shared = got[0].events->data();
    ASSERT_EQ(got[0].events->data(), shared);
  }
  EXPECT_EQ(hub_->synced_count(), static_cast<size_t>(kWatchers + 1));
}

TEST_F(WatchHubTest, CancelStopsDeliveryAndStreamDestructionRemovesWatchers) {
  for (int i = 0; i < 5; i++) Put("k", std::to_string(i));  // 2..6
  WatchStream& stream = NewStream();
  const int64_t synced = MustWatch(stream, On("k"));
  const int64_t unsynced = MustWatch(stream, On("k", "", 2));
  EXPECT_EQ(hub_->watcher_count(), 2u);
  EXPECT_TRUE(stream.Cancel(unsynced).ok());
  EXPECT_EQ(hub_->unsynced_count(), 0u);
  EXPECT_TRUE(stream.Cancel(synced).ok());
  EXPECT_EQ(stream.Cancel(synced).message(), "mvcc: watcher does not exist");
  Put("k", "x");
  Run();
  EXPECT_TRUE(Drain(stream).empty());
  EXPECT_EQ(hub_->watcher_count(), 0u);

  WatchStream& other = NewStream();
  MustWatch(other, On("a"));
  MustWatch(other, On("b", "c"));
  MustWatch(other, On("k", "", 2));
  EXPECT_EQ(hub_->watcher_count(), 3u);
  EXPECT_EQ(hub_->stream_count(), 2u);
  streams_.clear();
  EXPECT_EQ(hub_->watcher_count(), 0u);
  EXPECT_EQ(hub_->synced_count(), 0u);
  EXPECT_EQ(hub_->unsynced_count(), 0u);
  EXPECT_EQ(hub_->stream_count(), 0u);
  Put("a", "1");  // Nobody left to deliver to.
  Run();
}

TEST_F(WatchHubTest, FutureStartRevisionWaitsForIt) {
  WatchStream& stream = NewStream();
  MustWatch(stream, On("k", "", 4));
  Put("k", "2");
  Put("k", "3");
  Put("k", "4");
  Put("k", "5");
  EXPECT_EQ(EventRevisions(Drain(stream)), Range(4, 5));
}

TEST_F(WatchHubTest, ProgressForTheStreamWaitsUntilEveryWatcherIsSynced) {
  for (int i = 0; i < 5; i++) Put("k", std::to_string(i));  // 2..6
  WatchStream& stream = NewStream();
  MustWatch(stream, On("k"));
  const int64_t old = MustWatch(stream, On("k", "", 3));
  stream.RequestProgressAll();
  EXPECT_EQ(stream.queued(), 0u);  // deferred: `old` is catching up
  Run();
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].watch_id, old);
  EXPECT_EQ(EventRevisions({got[0]}), Range(3, 6));
  EXPECT_EQ(got[1].watch_id, kInvalidWatchId);
  EXPECT_EQ(got[1].revision, 6);
  EXPECT_EQ(got[1].events, nullptr);
  // Synced: answered at once.
  stream.RequestProgressAll();
  ASSERT_EQ(stream.queued(), 1u);
  // A stream without watchers gets nothing, as in etcd.
  WatchStream& empty = NewStream();
  empty.RequestProgressAll();
  EXPECT_EQ(empty.queued(), 0u);
}

TEST_F(WatchHubTest, ProgressTickSkipsWatchersThatJustGotEvents) {
  WatchStream& stream = NewStream();
  WatchOptions notify = On("k");
  notify.progress_notify = true;
  const int64_t id = MustWatch(stream, notify);
  MustWatch(stream, On("quiet"));  // did not ask
  stream.ProgressTick();
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].watch_id, id);
  EXPECT_EQ(got[0].revision, 1);
  Put("k", "1");
  Drain(stream);
  stream.ProgressTick();  // events went out since the last tick
  EXPECT_EQ(stream.queued(), 0u);
  stream.ProgressTick();
  EXPECT_EQ(stream.queued(), 1u);
}

TEST_F(WatchHubTest, RestoreCatchesSyncedWatchersUpWithoutDuplicates) {
  WatchStream& stream = NewStream();
  MustWatch(stream, On("k"));
  Put("k", "1");  // 2
  EXPECT_EQ(Drain(stream).size(), 1u);
  hub_->Restore(mvcc_.get());
  EXPECT_EQ(hub_->unsynced_count(), 1u);
  Run();
  EXPECT_EQ(hub_->synced_count(), 1u);
  EXPECT_TRUE(Drain(stream).empty());
  Put("k", "2");  // 3
  EXPECT_EQ(EventRevisions(Drain(stream)), (std::vector<int64_t>{3}));
}

TEST_F(WatchHubTest, StreamsOutlivingTheHubAreDetached) {
  WatchStream& stream = NewStream();
  MustWatch(stream, On("k"));
  process_.Kill();
  mvcc_->SetListener(nullptr);
  hub_.reset();
  absl::StatusOr<int64_t> refused = stream.Watch(On("k"));
  EXPECT_EQ(refused.status().message(), "etcdserver: server stopped");
  EXPECT_EQ(stream.current_revision(), 0);
  EXPECT_TRUE(stream.Cancel(0).ok());
}

// ---- Merging queued revisions --------------------------------------------

class MergingWatchHubTest : public WatchHubTest {
 protected:
  static WatchHubOptions Merging() {
    WatchHubOptions options;
    options.stream_buffer_responses = 4;
    options.max_merged_event_bytes = 100;
    return options;
  }
  MergingWatchHubTest() : WatchHubTest(Merging()) {}
};

TEST_F(MergingWatchHubTest, QueuedRevisionsJoinTheWatchersResponseInOrder) {
  WatchStream& stream = NewStream();
  const int64_t a = MustWatch(stream, On("a"));
  const int64_t b = MustWatch(stream, On("b"));
  Put("a", "1");  // 2
  Put("b", "1");  // 3
  Put("a", "2");  // 4
  Put("a", "3");  // 5
  Put("b", "2");  // 6
  // Two responses, not five: no victim although the queue holds four.
  EXPECT_EQ(stream.queued(), 2u);
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].watch_id, a);
  EXPECT_EQ(EventRevisions({got[0]}), (std::vector<int64_t>{2, 4, 5}));
  EXPECT_EQ(got[0].revision, 5);  // the header names the last revision
  EXPECT_EQ(got[1].watch_id, b);
  EXPECT_EQ(EventRevisions({got[1]}), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(got[1].revision, 6);
  EXPECT_EQ(hub_->victim_count(), 0u);
  // Once taken, a response is closed: the next revision starts a new one.
  Put("a", "4");  // 7
  got = Drain(stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(EventRevisions(got), (std::vector<int64_t>{7}));
}

TEST_F(MergingWatchHubTest, NothingOvertakesAControlOrProgressResponse) {
  WatchStream& stream = NewStream();
  WatchOptions seven = On("a");
  seven.id = 7;  // explicit, so that it can be reused below
  const int64_t a = MustWatch(stream, seven);
  ASSERT_EQ(a, 7);
  Put("a", "1");  // 2
  stream.RequestProgress(a);  // progress at 2, after the event
  Put("a", "2");  // 3: must come after the progress response
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(EventRevisions({got[0]}), (std::vector<int64_t>{2}));
  EXPECT_EQ(got[1].events, nullptr);
  EXPECT_EQ(got[1].revision, 2);
  EXPECT_EQ(EventRevisions({got[2]}), (std::vector<int64_t>{3}));
  // A canceled response closes the watcher's queued events too, and a new
  // watcher reusing the id starts afresh.
  Put("a", "3");  // 4
  ASSERT_TRUE(stream.Cancel(a).ok());
  WatchResponse canceled;
  canceled.watch_id = a;
  canceled.canceled = true;
  stream.Enqueue(std::move(canceled));
  ASSERT_EQ(MustWatch(stream, seven), a);
  Put("a", "4");  // 5
  got = Drain(stream);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(EventRevisions({got[0]}), (std::vector<int64_t>{4}));
  EXPECT_TRUE(got[1].canceled);
  EXPECT_EQ(EventRevisions({got[2]}), (std::vector<int64_t>{5}));
}

TEST_F(MergingWatchHubTest, MergingStopsAtTheByteLimitAndNeverForFragments) {
  WatchStream& stream = NewStream();
  MustWatch(stream, On("k"));
  WatchOptions fragments = On("f");
  fragments.fragment = true;
  MustWatch(stream, fragments);
  // 1 + 39 bytes each: two fit in 100 bytes, the third does not.
  for (int i = 0; i < 3; i++) Put("k", std::string(39, 'v'));  // 2..4
  Put("f", "1");  // 5
  Put("f", "2");  // 6
  std::vector<WatchResponse> got = Drain(stream);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(EventRevisions({got[0]}), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(EventRevisions({got[1]}), (std::vector<int64_t>{4}));
  EXPECT_EQ(EventRevisions({got[2]}), (std::vector<int64_t>{5}));
  EXPECT_EQ(EventRevisions({got[3]}), (std::vector<int64_t>{6}));
}

TEST_F(MergingWatchHubTest, ThousandRevisionsForAWatcherThatReadsLateLoseNothing) {
  WatchStream& stream = NewStream();
  MustWatch(stream, On("k"));
  WatchStream& other = NewStream();
  MustWatch(other, On("k", "l"));
  for (int i = 0; i < 1000; i++) Put("k", std::to_string(i % 10));  // 2..1001
  std::vector<WatchResponse> got;
  std::vector<WatchResponse> other_got;
  for (int round = 0; round < 200 && EventRevisions(got).size() < 1000; round++) {
    for (WatchResponse& r : Drain(stream)) got.push_back(std::move(r));
    for (WatchResponse& r : Drain(other)) other_got.push_back(std::move(r));
    Run();
  }
  EXPECT_EQ(EventRevisions(got), Range(2, 1001));
  EXPECT_EQ(EventRevisions(other_got), Range(2, 1001));
  EXPECT_LT(got.size(), 100u);  // 1 + 1 bytes each: 50 revisions per response
}

}  // namespace
}  // namespace keel::node
