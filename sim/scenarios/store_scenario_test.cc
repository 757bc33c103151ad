// Sweeps of the `store` scenario small enough for CI: seeds pass with every
// supported fault; the deliberate defect (counting a batch as synced before
// its fsync returns) is caught within a short sweep; a run is a function of
// its seed.
#include <optional>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "sim/scenario.h"

namespace keel::sim {
namespace {

const ScenarioInfo& Store() {
  const ScenarioInfo* info = ScenarioRegistry::Global().Find("store");
  KEEL_ASSERT(info != nullptr);
  return *info;
}

ScenarioResult RunStore(uint64_t seed, bool inject_bug = false,
                        bool check_determinism = false) {
  ScenarioOptions options;
  options.seed = seed;
  options.inject_bug = inject_bug;
  return RunSeed(Store(), ResolveOptions(Store(), options), check_determinism);
}

// The figure `name`=N in a run's summary.
uint64_t Figure(const std::string& summary, const std::string& name) {
  const std::optional<uint64_t> value = SummaryFigure(summary, name);
  KEEL_ASSERT(value.has_value());
  return *value;
}

TEST(StoreScenarioTest, ASweepWithEveryFaultPasses) {
  std::set<std::string> targets;
  uint64_t mvcc_errors_under_mvcc_faults = 0;
  for (uint64_t seed = 101; seed <= 108; seed++) {
    const ScenarioResult result = RunStore(seed);
    ASSERT_TRUE(result.ok) << "seed " << seed << ": " << result.failure
                           << "\nreplay: keel-sim "
                           << ReplayFlags(Store(), ResolveOptions(Store(), {.seed = seed}));
    EXPECT_GT(Figure(result.summary, "applied"), 0u);
    const std::string target = result.summary.substr(result.summary.find(" disk=") + 6);
    targets.insert(target);
    if (target == "mvcc") mvcc_errors_under_mvcc_faults += Figure(result.summary, "mvcc_errors");
  }
  // The seeds draw where disk faults land: the WAL, LevelDB's files, both.
  EXPECT_EQ(targets, (std::set<std::string>{"all", "mvcc", "wal"}));
  // Faults on LevelDB's files alone made Mvcc writes fail (and the member
  // stop), and every start after them passed the checks.
  EXPECT_GT(mvcc_errors_under_mvcc_faults, 0u);
}

TEST(StoreScenarioTest, CountingABatchAsSyncedTooEarlyIsCaught) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 12; seed++) {
    const ScenarioResult result = RunStore(seed, /*inject_bug=*/true);
    if (result.ok) continue;
    caught++;
    EXPECT_NE(result.failure.find("synced"), std::string::npos) << result.failure;
  }
  EXPECT_GE(caught, 3) << "the checker should catch the defect in a short sweep";
}

TEST(StoreScenarioTest, ARunIsAFunctionOfItsSeed) {
  std::set<uint64_t> hashes;
  for (uint64_t seed = 1; seed <= 2; seed++) {
    const ScenarioResult result = RunStore(seed, false, /*check_determinism=*/true);
    EXPECT_TRUE(result.ok) << result.failure;
    hashes.insert(result.trace_hash);
  }
  EXPECT_EQ(hashes.size(), 2u);
}

}  // namespace
}  // namespace keel::sim
