// Tests of TaskGroup: tasks start from the ready queue, leave the group when
// they finish, and are destroyed (running their destructors) when cancelled.
#include "net/task_group.h"

#include "gtest/gtest.h"
#include "runtime/manual_clock.h"
#include "runtime/process.h"
#include "runtime/sync.h"

namespace keel::net {
namespace {

TEST(TaskGroupTest, FinishedTasksLeaveAndCancelledOnesAreDestroyed) {
  Executor executor;
  ManualClock manual_clock(executor);
  Process process(executor, "test");
  Event never;
  int finished = 0;
  int destroyed = 0;
  struct Counter {
    int* count;
    ~Counter() { (*count)++; }
  };
  auto quick = [](int* finished) -> Task<void> {
    (*finished)++;
    co_return;
  };
  auto stuck = [](Event* never, int* destroyed) -> Task<void> {
    Counter counter{destroyed};
    co_await never->Wait();
  };
  TaskGroup group(executor);
  process.Spawn([](TaskGroup* group, auto quick, auto stuck, int* finished,
                   int* destroyed, Event* never) -> Task<void> {
    group->Start(quick(finished));
    const uint64_t a = group->Start(stuck(never, destroyed));
    group->Start(stuck(never, destroyed));
    co_await Yield();
    co_await Yield();
    EXPECT_EQ(group->size(), 2u);
    EXPECT_TRUE(group->Cancel(a));
    EXPECT_FALSE(group->Cancel(a));
  }(&group, quick, stuck, &finished, &destroyed, &never));
  manual_clock.RunUntilIdle();
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(group.size(), 1u);
  group.CancelAll();
  EXPECT_EQ(destroyed, 2);
  EXPECT_TRUE(group.empty());
}

TEST(TaskGroupTest, DestroyingTheGroupDestroysItsTasks) {
  Executor executor;
  ManualClock manual_clock(executor);
  Process process(executor, "test");
  Event never;
  int destroyed = 0;
  struct Counter {
    int* count;
    ~Counter() { (*count)++; }
  };
  {
    TaskGroup group(executor);
    process.Spawn([](TaskGroup* group, Event* never, int* destroyed) -> Task<void> {
      for (int i = 0; i < 3; i++) {
        group->Start([](Event* never, int* destroyed) -> Task<void> {
          Counter counter{destroyed};
          co_await never->Wait();
        }(never, destroyed));
      }
      co_await group->WaitEmpty();
    }(&group, &never, &destroyed));
    manual_clock.RunUntilIdle();
    EXPECT_EQ(group.size(), 3u);
    process.Kill();  // The waiter goes first, as a member's frame would.
  }
  EXPECT_EQ(destroyed, 3);
}

}  // namespace
}  // namespace keel::net
