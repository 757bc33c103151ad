// Tests of SimWorld: the run loop and virtual time, callbacks, seeded order
// of simultaneous timers, the trace hash as a determinism check (same seed,
// same hash; different seeds, different hashes; code that reads the real
// clock is caught), the Buggify policy and log capture.
#include "sim/sim_world.h"

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/buggify.h"
#include "runtime/env.h"
#include "runtime/strings.h"
#include "sim/sim_machine.h"

namespace keel::sim {
namespace {

// Three machines that ping each other over the network at random moments
// and append what they hear to their disks.
Task<void> Chatter(Env& env, int self) {
  auto listener = env.net().Listen(StrCat("10.0.0.", self, ":7000"));
  EXPECT_TRUE(listener.ok());
  env.Spawn([](Listener* listener, Env* env) -> Task<void> {
    while (true) {
      auto conn = co_await listener->Accept();
      if (!conn.ok()) co_return;
      char buffer[256];
      auto n = co_await (*conn)->Read(std::span<char>(buffer));
      if (!n.ok()) continue;
      auto file = env->fs().Open("log", {.create = true});
      if (file.ok()) {
        (void)(*file)->Append(std::string_view(buffer, *n));
        (void)co_await (*file)->Sync();
      }
    }
  }(listener->get(), &env));
  for (int i = 0; i < 30; i++) {
    co_await env.clock().Sleep(Microseconds(env.random().UniformRange(100, 50'000)));
    const int peer = 1 + static_cast<int>(env.random().Uniform(3));
    auto conn = co_await env.net().Connect(StrCat("10.0.0.", peer, ":7000"));
    if (!conn.ok()) continue;
    (void)co_await (*conn)->Write(StrCat("hello ", i, " from ", self));
  }
  co_await env.clock().Sleep(Seconds(100));
}

uint64_t ChatterHash(uint64_t seed) {
  SimWorld world({.seed = seed});
  for (int i = 1; i <= 3; i++) {
    world.AddMachine({.name = StrCat("n", i),
                      .boot = [i](Env& env) { return Chatter(env, i); }})
        .Start();
  }
  world.RunFor(Seconds(3));
  world.machine(1).Crash();
  world.machine(1).Start();
  world.RunFor(Seconds(1));
  EXPECT_GT(world.events(), 500u);
  return world.trace().hash();
}

TEST(SimWorldTest, TheSameSeedGivesTheSameTraceHash) {
  EXPECT_EQ(ChatterHash(7), ChatterHash(7));
}

TEST(SimWorldTest, DifferentSeedsGiveDifferentTraceHashes) {
  std::set<uint64_t> hashes;
  for (uint64_t seed = 1; seed <= 10; seed++) hashes.insert(ChatterHash(seed));
  EXPECT_EQ(hashes.size(), 10u);
}

// A process that sleeps for durations taken from the machine's real clock:
// exactly the bug the determinism check exists to catch.
uint64_t RealClockHash() {
  SimWorld world({.seed = 1});
  world.AddMachine({.name = "bad", .boot = [](Env& env) -> Task<void> {
                      for (int i = 0; i < 20; i++) {
                        const auto real = std::chrono::steady_clock::now();
                        const int64_t micros =
                            real.time_since_epoch().count() % 997 + 1;
                        co_await env.clock().Sleep(Microseconds(micros));
                      }
                    }})
      .Start();
  world.RunFor(Seconds(1));
  return world.trace().hash();
}

TEST(SimWorldTest, ReadingTheRealClockIsCaughtByTheDeterminismCheck) {
  EXPECT_NE(RealClockHash(), RealClockHash());
}

TEST(SimWorldTest, RunForAdvancesVirtualTimeExactly) {
  SimWorld world({.seed = 1});
  EXPECT_EQ(world.now(), TimePoint{});
  world.RunFor(Milliseconds(1500));
  EXPECT_EQ(world.elapsed(), Milliseconds(1500));
  EXPECT_EQ(world.clock().Now(), world.now());
}

TEST(SimWorldTest, CallbacksRunAtTheirTimeUnlessCancelled) {
  SimWorld world({.seed = 1});
  std::vector<int64_t> ran;
  world.After(Milliseconds(30), [&] { ran.push_back(ToMilliseconds(world.elapsed())); });
  world.After(Milliseconds(10), [&] { ran.push_back(ToMilliseconds(world.elapsed())); });
  const uint64_t cancelled = world.After(Milliseconds(20), [&] { ran.push_back(-1); });
  world.Cancel(cancelled);
  world.RunFor(Seconds(1));
  EXPECT_EQ(ran, (std::vector<int64_t>{10, 30}));
}

TEST(SimWorldTest, RunUntilStopsWhenTheConditionHolds) {
  SimWorld world({.seed = 1});
  bool flag = false;
  world.After(Milliseconds(250), [&] { flag = true; });
  EXPECT_TRUE(world.RunUntil([&] { return flag; }, Seconds(10)));
  EXPECT_EQ(world.elapsed(), Milliseconds(250));
  EXPECT_FALSE(world.RunUntil([] { return false; }, Seconds(1)));
  EXPECT_EQ(world.elapsed(), Milliseconds(1250));
}

// Which of two processes sleeping until the same instant wakes first.
std::string SimultaneousOrder(uint64_t seed) {
  SimWorld world({.seed = seed});
  std::string order;
  for (const char* name : {"a", "b"}) {
    world.AddMachine({.name = name, .boot = [&order, name](Env& env) -> Task<void> {
                        co_await env.clock().SleepUntil(FromNanoseconds(1'000'000));
                        order += name;
                      }})
        .Start();
  }
  world.RunFor(Seconds(1));
  return order;
}

TEST(SimWorldTest, SimultaneousTimersFireInAnOrderDrawnFromTheSeed) {
  std::set<std::string> orders;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    const std::string order = SimultaneousOrder(seed);
    EXPECT_EQ(order, SimultaneousOrder(seed));
    orders.insert(order);
  }
  EXPECT_EQ(orders, (std::set<std::string>{"ab", "ba"}));
}

int FiresOfOneSite(int calls) {
  int fired = 0;
  for (int i = 0; i < calls; i++) fired += Buggify() ? 1 : 0;
  return fired;
}

TEST(SimWorldTest, BuggifySitesAreSwitchedOnPerRunFromTheSeed) {
  int runs_on = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    SimWorld world({.seed = seed});
    EXPECT_EQ(GetBuggifyPolicy(), &world.buggify());
    const int fired = FiresOfOneSite(1000);
    if (fired > 0) {
      runs_on++;
      EXPECT_GT(fired, 150) << "an enabled site fires about 1 call in 4";
      EXPECT_LT(fired, 350);
    }
  }
  EXPECT_GT(runs_on, 2) << "about 1 run in 4 enables a site";
  EXPECT_LT(runs_on, 25);
  EXPECT_EQ(GetBuggifyPolicy(), nullptr) << "the world uninstalls its policy";
}

// A site is named by the end of its path, so a seed switches on the same
// sites whichever checkout, build directory or ccache setting compiled it.
TEST(SimWorldTest, BuggifySitesAreNamedByTheEndOfTheirPath) {
  EXPECT_EQ(BuggifySiteFile("/work/keel/store/wal.cc"), "store/wal.cc");
  EXPECT_EQ(BuggifySiteFile("../store/wal.cc"), "store/wal.cc");
  EXPECT_EQ(BuggifySiteFile("store/wal.cc"), "store/wal.cc");
  EXPECT_EQ(BuggifySiteFile("wal.cc"), "wal.cc");
  EXPECT_EQ(BuggifySiteFile("/wal.cc"), "/wal.cc");
}

TEST(SimWorldTest, TheWorldCountsEachSitesCallsAndFirings) {
  for (uint64_t seed = 1; seed <= 40; seed++) {
    SimWorld world({.seed = seed});
    const int fired = FiresOfOneSite(100);
    const std::vector<BuggifySiteStats> sites = world.buggify().Sites();
    ASSERT_EQ(sites.size(), 1u);
    EXPECT_EQ(sites[0].site.substr(0, sites[0].site.find(':')), "sim/sim_world_test.cc");
    EXPECT_EQ(sites[0].reached, 100u);
    EXPECT_EQ(sites[0].fired, static_cast<uint64_t>(fired));
    if (fired > 0) {
      EXPECT_TRUE(sites[0].enabled);
    }
  }
}

TEST(SimWorldTest, NoBuggifyMeansBuggifyNeverFires) {
  for (uint64_t seed = 1; seed <= 40; seed++) {
    SimWorld world({.seed = seed, .buggify = false});
    EXPECT_EQ(FiresOfOneSite(100), 0);
  }
}

TEST(SimWorldTest, LogLinesAreCapturedWithVirtualTimeAndTheirProcess) {
  SimWorld world({.seed = 1});
  world.AddMachine({.name = "n1", .boot = [](Env& env) -> Task<void> {
                      co_await env.clock().Sleep(Milliseconds(1500));
                      env.log().Info("became leader", {{"term", 3}});
                    }})
      .Start();
  world.RunFor(Seconds(2));
  std::string found;
  for (const std::string& line : world.log().Tail(100)) {
    if (line.find("became leader") != std::string::npos) found = line;
  }
  EXPECT_EQ(found.rfind("[    1.500000s] n1#1 {\"level\":\"info\"", 0), 0u) << found;
  EXPECT_NE(found.find("\"term\":3"), std::string::npos) << found;
  EXPECT_NE(found.find("2023-11-14T22:13:21.500Z"), std::string::npos) << found;
}

}  // namespace
}  // namespace keel::sim
