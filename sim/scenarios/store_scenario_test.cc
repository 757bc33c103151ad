// Sweeps of the `store` scenario small enough for CI: seeds pass with every
// supported fault; the deliberate defect (counting a batch as synced before
// its fsync returns) is caught within a short sweep; a run is a function of
// its seed; the WAL's and the Mvcc's Buggify() sites fire and change the
// run.
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
                        bool check_determinism = false, bool buggify = true) {
  ScenarioOptions options;
  options.seed = seed;
  options.inject_bug = inject_bug;
  options.buggify = buggify;
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

// Buggify() in store/ widens the paths the scenario runs (records written
// one by one, early segment cuts, synced applies, LevelDB's smallest
// settings): over a few seeds the WAL's, the Mvcc's and its LevelDB setup's
// sites are reached, some fire, and a seed whose sites fired runs
// differently without them. (The scenario takes no snapshots and does not
// compact, so those sites are the cluster scenario's to reach.)
TEST(StoreScenarioTest, TheStoresBuggifySitesFireAndChangeTheRun) {
  std::set<std::string> reached_files, fired;
  int changed = 0;
  for (uint64_t seed = 1; seed <= 3; seed++) {
    const ScenarioResult with = RunStore(seed);
    const ScenarioResult without = RunStore(seed, false, false, /*buggify=*/false);
    ASSERT_TRUE(with.ok) << with.failure;
    ASSERT_TRUE(without.ok) << without.failure;
    uint64_t fired_here = 0;
    for (const BuggifySiteStats& site : with.buggify_sites) {
      if (!site.site.starts_with("store/")) continue;
      reached_files.insert(site.site.substr(0, site.site.find(':')));
      if (site.fired > 0) fired.insert(site.site);
      fired_here += site.fired;
    }
    for (const BuggifySiteStats& site : without.buggify_sites) EXPECT_EQ(site.fired, 0u);
    if (fired_here > 0) {
      EXPECT_NE(with.trace_hash, without.trace_hash) << "seed " << seed;
      changed++;
    }
  }
  EXPECT_EQ(reached_files,
            (std::set<std::string>{"store/mvcc.cc", "store/mvcc_db.cc", "store/wal.cc"}));
  EXPECT_GE(fired.size(), 2u);
  EXPECT_GE(changed, 1);
  ::testing::Test::RecordProperty("store_sites_fired", static_cast<int>(fired.size()));
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
