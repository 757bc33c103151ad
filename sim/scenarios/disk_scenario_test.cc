// Sweeps of the `disk` scenario, small enough for CI: a range of seeds
// passes with every fault on; the deliberate defect (acknowledging a record
// before syncing it) is caught within a short sweep; runs are deterministic
// per seed and differ across seeds; and a scenario whose code reads the real
// clock is caught by the determinism check.
#include <chrono>
#include <set>

#include "gtest/gtest.h"
#include "runtime/env.h"
#include "sim/scenario.h"
#include "sim/sim_machine.h"

namespace keel::sim {
namespace {

const ScenarioInfo& Disk() {
  const ScenarioInfo* info = ScenarioRegistry::Global().Find("disk");
  KEEL_ASSERT(info != nullptr);
  return *info;
}

ScenarioResult RunDisk(uint64_t seed, bool inject_bug = false,
                       bool check_determinism = false) {
  ScenarioOptions options;
  options.seed = seed;
  options.inject_bug = inject_bug;
  return RunSeed(Disk(), ResolveOptions(Disk(), options), check_determinism);
}

TEST(DiskScenarioTest, ASweepWithEveryFaultPasses) {
  for (uint64_t seed = 1; seed <= 60; seed++) {
    const ScenarioResult result = RunDisk(seed);
    ASSERT_TRUE(result.ok) << "seed " << seed << ": " << result.failure
                           << "\nreplay: keel-sim "
                           << ReplayFlags(Disk(), ResolveOptions(Disk(), {.seed = seed}));
    EXPECT_GT(result.events, 10'000u);
    EXPECT_EQ(result.simulated, Seconds(24));
  }
}

TEST(DiskScenarioTest, AcknowledgingBeforeSyncingIsCaughtWithinASweep) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    const ScenarioResult result = RunDisk(seed, /*inject_bug=*/true);
    if (result.ok) continue;
    caught++;
    EXPECT_NE(result.failure.find("acknowledged record"), std::string::npos)
        << result.failure;
    EXPECT_FALSE(result.log_tail.empty());
  }
  EXPECT_GE(caught, 5) << "the checker should catch the defect in most seeds";
}

TEST(DiskScenarioTest, ARunIsAFunctionOfItsSeed) {
  std::set<uint64_t> hashes;
  for (uint64_t seed = 1; seed <= 5; seed++) {
    const ScenarioResult result = RunDisk(seed, false, /*check_determinism=*/true);
    EXPECT_TRUE(result.ok) << result.failure;
    hashes.insert(result.trace_hash);
  }
  EXPECT_EQ(hashes.size(), 5u);
}

// A scenario whose process sleeps for durations read off the real clock.
ScenarioResult RunRealClock(const ScenarioOptions& options) {
  SimWorld world(WorldOptionsFor(options));
  world.AddMachine({.name = "n1", .boot = [](Env& env) -> Task<void> {
                      for (int i = 0; i < 50; i++) {
                        const auto now = std::chrono::steady_clock::now();
                        co_await env.clock().Sleep(
                            Microseconds(now.time_since_epoch().count() % 1000 + 1));
                      }
                    }})
      .Start();
  world.RunFor(options.duration);
  return Finish(world, absl::OkStatus());
}

TEST(DiskScenarioTest, CodeReadingTheRealClockFailsTheDeterminismCheck) {
  const ScenarioInfo info{.name = "real-clock",
                          .default_nodes = 1,
                          .default_duration = Seconds(1),
                          .run = RunRealClock};
  const ScenarioResult once = RunSeed(info, ResolveOptions(info, {}), false);
  EXPECT_TRUE(once.ok) << "a single run cannot tell";
  const ScenarioResult twice = RunSeed(info, ResolveOptions(info, {}), true);
  EXPECT_FALSE(twice.ok);
  EXPECT_NE(twice.failure.find("nondeterministic"), std::string::npos)
      << twice.failure;
}

}  // namespace
}  // namespace keel::sim
