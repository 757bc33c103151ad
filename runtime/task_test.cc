// Tests of the coroutine core: Task, Process, timers, WhenAll/WhenAny and the
// synchronisation primitives, driven by a ManualClock so nothing waits on
// real time. The kill tests are the heart: a destroyed frame must leave every
// queue, run its destructors, and never run again (ASan/LSan check the rest).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/clock.h"
#include "runtime/executor.h"
#include "runtime/manual_clock.h"
#include "runtime/process.h"
#include "runtime/sync.h"
#include "runtime/task.h"
#include "runtime/when.h"

namespace keel {
namespace {

class TaskTest : public ::testing::Test {
 protected:
  Executor executor_;
  ManualClock clock_{executor_};
  Process process_{executor_, "test"};

  void Run() { clock_.RunUntilIdle(); }
};

// Counts live instances, so a test can see destructors run on kill.
struct Tracked {
  explicit Tracked(int* live) : live(live) { (*live)++; }
  ~Tracked() { (*live)--; }
  int* live;
};

Task<int> Add(int a, int b) { co_return a + b; }

Task<int> Sum(int n) {
  int total = 0;
  for (int i = 0; i < n; i++) total += co_await Add(i, 1) - i;
  co_return total;
}

TEST_F(TaskTest, AwaitReturnsValue) {
  int out = 0;
  process_.Spawn([](int* out) -> Task<void> { *out = co_await Add(2, 3); }(&out));
  EXPECT_EQ(out, 0) << "spawned tasks start from the ready queue";
  Run();
  EXPECT_EQ(out, 5);
  EXPECT_EQ(process_.root_count(), 0u);
}

TEST_F(TaskTest, SynchronousChainsDoNotGrowTheStack) {
  int out = 0;
  process_.Spawn([](int* out) -> Task<void> { *out = co_await Sum(2'000'000); }(&out));
  Run();
  EXPECT_EQ(out, 2'000'000);
}

TEST_F(TaskTest, UnawaitedTaskIsDestroyedUnrun) {
  int live = 0;
  bool ran = false;
  {
    auto task = [](int* live, bool* ran) -> Task<void> {
      Tracked t(live);
      *ran = true;
      co_return;
    }(&live, &ran);
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(live, 0);
}

TEST_F(TaskTest, TimersFireInDeadlineOrder) {
  std::vector<int> order;
  auto sleeper = [](Clock& clock, std::vector<int>* order, int ms) -> Task<void> {
    co_await clock.Sleep(Milliseconds(ms));
    order->push_back(ms);
  };
  process_.Spawn(sleeper(clock_, &order, 30));
  process_.Spawn(sleeper(clock_, &order, 10));
  process_.Spawn(sleeper(clock_, &order, 20));
  Run();
  EXPECT_EQ(order, (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(clock_.Now(), TimePoint(Milliseconds(30)));
}

TEST_F(TaskTest, EqualDeadlinesAreOrderedByTiebreak) {
  std::vector<int> order;
  uint64_t next = 100;
  executor_.set_tiebreak_source([&next] { return next--; });
  auto sleeper = [](Clock& clock, std::vector<int>* order, int id) -> Task<void> {
    co_await clock.Sleep(Milliseconds(5));
    order->push_back(id);
  };
  for (int i = 0; i < 3; i++) process_.Spawn(sleeper(clock_, &order, i));
  Run();
  EXPECT_EQ(order, (std::vector<int>{2, 1, 0}));
}

TEST_F(TaskTest, KillDestroysSleepingFramesAndRunsNothingAgain) {
  int live = 0;
  bool woke = false;
  auto sleeper = [](Clock& clock, int* live, bool* woke) -> Task<void> {
    Tracked t(live);
    co_await clock.Sleep(Seconds(1));
    *woke = true;
  };
  process_.Spawn(sleeper(clock_, &live, &woke));
  process_.Spawn(sleeper(clock_, &live, &woke));
  clock_.RunFor(Milliseconds(10));
  EXPECT_EQ(live, 2);
  EXPECT_EQ(executor_.timer_count(), 2u);
  process_.Kill();
  EXPECT_EQ(live, 0);
  EXPECT_EQ(executor_.timer_count(), 0u) << "killed sleepers disarm their timers";
  Run();
  EXPECT_FALSE(woke);
  EXPECT_TRUE(process_.killed());
}

TEST_F(TaskTest, KillDestroysNestedFramesAndUnstartedRoots) {
  int live = 0;
  Event never;
  auto inner = [](Event* e, int* live) -> Task<int> {
    Tracked t(live);
    co_await e->Wait();
    co_return 1;
  };
  auto outer = [inner](Event* e, int* live) -> Task<void> {
    Tracked t(live);
    co_await inner(e, live);
  };
  process_.Spawn(outer(&never, &live));
  Run();
  EXPECT_EQ(live, 2);
  process_.Spawn(outer(&never, &live));  // Queued, never started.
  process_.Kill();
  EXPECT_EQ(live, 0);
  EXPECT_FALSE(executor_.has_ready());
  process_.Spawn(outer(&never, &live));  // Ignored after death.
  Run();
  EXPECT_EQ(live, 0);
}

TEST_F(TaskTest, KillWhileWokenButNotYetRunLeavesTheReadyQueue) {
  Event event;
  bool resumed = false;
  process_.Spawn([](Event* e, bool* resumed) -> Task<void> {
    co_await e->Wait();
    *resumed = true;
  }(&event, &resumed));
  Run();
  {
    Executor::Scope scope(executor_);
    event.Set();  // The waiter is now in the ready queue.
  }
  EXPECT_TRUE(executor_.has_ready());
  process_.Kill();
  EXPECT_FALSE(executor_.has_ready());
  Run();
  EXPECT_FALSE(resumed);
}

TEST_F(TaskTest, PausedProcessParksAndResumes) {
  int ticks = 0;
  process_.Spawn([](Clock& clock, int* ticks) -> Task<void> {
    for (int i = 0; i < 10; i++) {
      co_await clock.Sleep(Milliseconds(10));
      (*ticks)++;
    }
  }(clock_, &ticks));
  clock_.RunFor(Milliseconds(35));
  EXPECT_EQ(ticks, 3);
  process_.Pause();
  clock_.RunFor(Milliseconds(100));
  EXPECT_EQ(ticks, 3) << "a paused process runs nothing";
  process_.Resume();
  Run();
  EXPECT_EQ(ticks, 10);
}

TEST_F(TaskTest, WhenAllReturnsResultsInOrder) {
  std::vector<int> out;
  auto delayed = [](Clock& clock, int ms, int v) -> Task<int> {
    co_await clock.Sleep(Milliseconds(ms));
    co_return v;
  };
  process_.Spawn([](Clock& clock, std::vector<int>* out, auto delayed) -> Task<void> {
    std::vector<Task<int>> tasks;
    tasks.push_back(delayed(clock, 30, 1));
    tasks.push_back(delayed(clock, 10, 2));
    tasks.push_back(delayed(clock, 20, 3));
    *out = co_await WhenAll(std::move(tasks));
  }(clock_, &out, delayed));
  Run();
  EXPECT_EQ(out, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(clock_.Now(), TimePoint(Milliseconds(30)));
}

TEST_F(TaskTest, WhenAnyCancelsTheLosers) {
  int live = 0;
  size_t winner = 99;
  auto delayed = [](Clock& clock, int ms, int* live) -> Task<void> {
    Tracked t(live);
    co_await clock.Sleep(Milliseconds(ms));
  };
  process_.Spawn([](Clock& clock, size_t* winner, int* live, auto delayed) -> Task<void> {
    std::vector<Task<void>> tasks;
    tasks.push_back(delayed(clock, 50, live));
    tasks.push_back(delayed(clock, 5, live));
    tasks.push_back(delayed(clock, 70, live));
    *winner = co_await WhenAny(std::move(tasks));
    EXPECT_EQ(*live, 0);
  }(clock_, &winner, &live, delayed));
  Run();
  EXPECT_EQ(winner, 1u);
  EXPECT_EQ(clock_.Now(), TimePoint(Milliseconds(5)));
  EXPECT_EQ(executor_.timer_count(), 0u);
}

TEST_F(TaskTest, WhenAnyCancelsChildrenThatNeverStarted) {
  size_t winner = 99;
  auto now = []() -> Task<void> { co_return; };
  auto never = [](Event* e) -> Task<void> { co_await e->Wait(); };
  Event e;
  process_.Spawn([](size_t* winner, auto now, auto never, Event* e) -> Task<void> {
    std::vector<Task<void>> tasks;
    tasks.push_back(now());
    tasks.push_back(never(e));
    tasks.push_back(never(e));
    *winner = co_await WhenAny(std::move(tasks));
  }(&winner, now, never, &e));
  Run();
  EXPECT_EQ(winner, 0u);
}

TEST_F(TaskTest, WithTimeoutGivesUp) {
  std::optional<int> fast, slow;
  bool done = false;
  auto delayed = [](Clock& clock, int ms) -> Task<int> {
    co_await clock.Sleep(Milliseconds(ms));
    co_return ms;
  };
  process_.Spawn([](Clock& clock, std::optional<int>* fast, std::optional<int>* slow,
                    bool* done, auto delayed) -> Task<void> {
    *fast = co_await clock.WithTimeout(Milliseconds(20), delayed(clock, 10));
    *slow = co_await clock.WithTimeout(Milliseconds(20), delayed(clock, 30));
    *done = true;
  }(clock_, &fast, &slow, &done, delayed));
  Run();
  EXPECT_TRUE(done);
  EXPECT_EQ(fast, 10);
  EXPECT_EQ(slow, std::nullopt);
  EXPECT_EQ(clock_.Now(), TimePoint(Milliseconds(30)));
}

TEST_F(TaskTest, ChannelPassesValuesInOrderAndBlocksWhenFull) {
  Channel<int> channel(2);
  std::vector<int> received;
  int sent = 0;
  process_.Spawn([](Channel<int>* ch, int* sent) -> Task<void> {
    for (int i = 0; i < 5; i++) {
      EXPECT_TRUE((co_await ch->Send(i)).ok());
      (*sent)++;
    }
    ch->Close();
  }(&channel, &sent));
  executor_.RunReady();
  EXPECT_EQ(sent, 2) << "the sender blocks on a full channel";
  process_.Spawn([](Channel<int>* ch, std::vector<int>* out) -> Task<void> {
    while (auto v = co_await ch->Receive()) out->push_back(*v);
  }(&channel, &received));
  Run();
  EXPECT_EQ(received, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(TaskTest, MutexSerialisesCriticalSections) {
  Mutex mutex;
  int inside = 0, max_inside = 0, done = 0;
  for (int i = 0; i < 4; i++) {
    process_.Spawn([](Clock& clock, Mutex* m, int* inside, int* max_inside,
                      int* done) -> Task<void> {
      auto guard = co_await m->Lock();
      (*inside)++;
      *max_inside = std::max(*max_inside, *inside);
      co_await clock.Sleep(Milliseconds(1));
      (*inside)--;
      (*done)++;
    }(clock_, &mutex, &inside, &max_inside, &done));
  }
  Run();
  EXPECT_EQ(done, 4);
  EXPECT_EQ(max_inside, 1);
}

TEST_F(TaskTest, GateCloseWaitsForHoldersAndRefusesNewcomers) {
  Gate gate;
  bool closed = false;
  process_.Spawn([](Clock& clock, Gate* gate) -> Task<void> {
    auto holder = gate->Enter();
    EXPECT_TRUE(holder.ok());
    co_await clock.Sleep(Milliseconds(10));
  }(clock_, &gate));
  executor_.RunReady();
  process_.Spawn([](Gate* gate, bool* closed) -> Task<void> {
    co_await gate->Close();
    *closed = true;
  }(&gate, &closed));
  executor_.RunReady();
  EXPECT_FALSE(closed);
  EXPECT_FALSE(gate.Enter().ok());
  Run();
  EXPECT_TRUE(closed);
}

}  // namespace
}  // namespace keel
