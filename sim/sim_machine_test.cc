// Tests of SimMachine: starting, killing (every frame destroyed, nothing of
// the process runs again), restarting on the same disk with a new
// incarnation and its own seeded Random, pausing (timers expire, nothing
// runs) and resuming, a boot function that returns (the process exits, and
// may be restarted), and RunBlocking.
#include "sim/sim_machine.h"

#include <vector>

#include "gtest/gtest.h"
#include "runtime/env.h"
#include "sim/sim_world.h"

namespace keel::sim {
namespace {

struct Tracked {
  explicit Tracked(int* live) : live(live) { (*live)++; }
  ~Tracked() { (*live)--; }
  int* live;
};

TEST(SimMachineTest, KillDestroysEveryFrameAndRestartBootsAgain) {
  SimWorld world({.seed = 1});
  int live = 0;
  int boots = 0;
  int ticks = 0;
  SimMachine& m = world.AddMachine(
      {.name = "n1", .boot = [&](Env& env) -> Task<void> {
         boots++;
         Tracked held(&live);
         env.Spawn([](Env* env, int* live, int* ticks) -> Task<void> {
           Tracked also(live);
           while (true) {
             co_await env->clock().Sleep(Milliseconds(10));
             (*ticks)++;
           }
         }(&env, &live, &ticks));
         co_await env.clock().Sleep(Seconds(1000));
       }});
  m.Start();
  world.RunFor(Milliseconds(95));
  EXPECT_EQ(live, 2);
  EXPECT_EQ(ticks, 9);
  m.Kill();
  EXPECT_FALSE(m.running());
  EXPECT_EQ(live, 0);
  world.RunFor(Seconds(1));
  EXPECT_EQ(ticks, 9) << "nothing of a killed process runs again";
  m.Restart();
  world.RunFor(Milliseconds(1));
  EXPECT_EQ(boots, 2);
  EXPECT_EQ(m.incarnation(), 2u);
  EXPECT_EQ(live, 2);
}

std::vector<uint64_t> FirstDrawPerIncarnation(uint64_t seed) {
  SimWorld world({.seed = seed});
  std::vector<uint64_t> draws;
  SimMachine& m = world.AddMachine(
      {.name = "n1", .boot = [&draws](Env& env) -> Task<void> {
         draws.push_back(env.random().Next());
         co_await env.clock().Sleep(Seconds(1000));
       }});
  for (int i = 0; i < 3; i++) {
    m.Restart();
    world.RunFor(Milliseconds(1));
  }
  return draws;
}

TEST(SimMachineTest, EachIncarnationHasItsOwnRandomDerivedFromTheSeed) {
  const std::vector<uint64_t> draws = FirstDrawPerIncarnation(5);
  ASSERT_EQ(draws.size(), 3u);
  EXPECT_NE(draws[0], draws[1]);
  EXPECT_NE(draws[1], draws[2]);
  EXPECT_EQ(draws, FirstDrawPerIncarnation(5));
  EXPECT_NE(draws, FirstDrawPerIncarnation(6));
}

TEST(SimMachineTest, APausedProcessRunsNothingUntilResumed) {
  SimWorld world({.seed = 1});
  std::vector<int64_t> wakeups_ms;
  SimMachine& m = world.AddMachine(
      {.name = "n1", .boot = [&](Env& env) -> Task<void> {
         while (true) {
           co_await env.clock().Sleep(Milliseconds(100));
           wakeups_ms.push_back(ToMilliseconds(world.elapsed()));
         }
       }});
  m.Start();
  world.RunFor(Milliseconds(250));
  m.Pause();
  EXPECT_TRUE(m.paused());
  world.RunFor(Seconds(1));
  EXPECT_EQ(wakeups_ms, (std::vector<int64_t>{100, 200}));
  m.Resume();
  world.RunFor(Milliseconds(150));
  // The sleep that expired during the pause completes on resume.
  EXPECT_EQ(wakeups_ms, (std::vector<int64_t>{100, 200, 1250, 1350}));
}

TEST(SimMachineTest, ABootFunctionThatReturnsEndsTheProcess) {
  SimWorld world({.seed = 1});
  int live = 0;
  SimMachine& m = world.AddMachine(
      {.name = "n1", .boot = [&live](Env& env) -> Task<void> {
         env.Spawn([](Env* env, int* live) -> Task<void> {
           Tracked held(live);
           co_await env->clock().Sleep(Seconds(1000));
         }(&env, &live));
         co_await env.clock().Sleep(Milliseconds(10));
       }});
  m.Start();
  world.RunFor(Milliseconds(5));
  EXPECT_EQ(live, 1);
  world.RunFor(Milliseconds(10));
  EXPECT_FALSE(m.running());
  EXPECT_EQ(m.exits(), 1u);
  EXPECT_EQ(live, 0) << "the process's other tasks die with it";
}

TEST(SimMachineTest, AnExitedProcessIsRestartedWhenAsked) {
  SimWorld world({.seed = 1});
  int boots = 0;
  SimMachine& m = world.AddMachine(
      {.name = "n1",
       .boot = [&boots](Env& env) -> Task<void> {
         boots++;
         co_await env.clock().Sleep(Milliseconds(100));
       },
       .restart_after_exit = Milliseconds(400)});
  m.Start();
  world.RunFor(Milliseconds(1050));
  EXPECT_EQ(boots, 3);  // at 0, 500 and 1000 ms
  EXPECT_EQ(m.exits(), 2u);
}

TEST(SimMachineTest, RunBlockingRunsTheWorkInline) {
  SimWorld world({.seed = 1});
  int done = 0;
  world.AddMachine({.name = "n1", .boot = [&done](Env& env) -> Task<void> {
                      const TimePoint before = env.clock().Now();
                      co_await env.RunBlocking([&done] { done++; });
                      EXPECT_EQ(env.clock().Now(), before);
                      done++;
                    }})
      .Start();
  world.RunFor(Milliseconds(1));
  EXPECT_EQ(done, 2);
}

TEST(SimMachineTest, MachinesGetHostAddressesInOrder) {
  SimWorld world({.seed = 1});
  auto boot = [](Env&) -> Task<void> { co_return; };
  EXPECT_EQ(world.AddMachine({.name = "a", .boot = boot}).host(), "10.0.0.1");
  EXPECT_EQ(world.AddMachine({.name = "b", .boot = boot}).host(), "10.0.0.2");
  EXPECT_EQ(world.AddMachine({.name = "c", .host = "192.168.1.9", .boot = boot}).host(),
            "192.168.1.9");
}

}  // namespace
}  // namespace keel::sim
