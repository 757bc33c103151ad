// Sweeps of the `raft` scenarios, small enough for CI: each of raft's
// deliberate defects is caught within 200 seeds by the checker meant for
// it, with a replay command that names the defect; a short sweep exercises
// every kind of fault and membership change it claims to, and catches
// members up by snapshot in some seeds (so a passing sweep means
// something); runs are deterministic; and the failover and
// throughput modes report their figures. (The clean sweeps themselves run
// as keel-sim commands: see sim/CMakeLists.txt.)
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/strings.h"
#include "sim/scenario.h"

namespace keel::sim {
namespace {

constexpr uint64_t kMaxSeedsToCatchABug = 200;

const ScenarioInfo& Find(std::string_view name) {
  const ScenarioInfo* info = ScenarioRegistry::Global().Find(name);
  KEEL_ASSERT(info != nullptr);
  return *info;
}

ScenarioOptions Resolved(std::string_view name, uint64_t seed, std::string bug = "",
                         int nodes = 0) {
  ScenarioOptions options;
  options.seed = seed;
  options.nodes = nodes;
  options.inject_bug = !bug.empty();
  options.bug = std::move(bug);
  return ResolveOptions(Find(name), options);
}

// The figures of a summary line ("committed=12 adds=1 ...").
std::map<std::string, uint64_t> Figures(const std::string& summary) {
  std::map<std::string, uint64_t> out;
  size_t at = 0;
  while (at < summary.size()) {
    size_t end = summary.find(' ', at);
    if (end == std::string::npos) end = summary.size();
    const std::string field = summary.substr(at, end - at);
    const size_t eq = field.find('=');
    uint64_t value = 0;
    if (eq != std::string::npos && ParseInt(field.substr(eq + 1), &value)) {
      out[field.substr(0, eq)] = value;
    }
    at = end + 1;
  }
  return out;
}

// Runs seeds 1.. until one fails; returns that result and sets *seed.
ScenarioResult FirstFailure(const std::string& bug, int nodes, uint64_t* seed) {
  for (*seed = 1; *seed <= kMaxSeedsToCatchABug; (*seed)++) {
    ScenarioResult result =
        RunSeed(Find("raft"), Resolved("raft", *seed, bug, nodes), false);
    if (!result.ok) return result;
  }
  return ScenarioResult{};
}

void ExpectCaughtBy(const std::string& bug, int nodes,
                    const std::vector<std::string_view>& checkers) {
  uint64_t seed = 0;
  const ScenarioResult result = FirstFailure(bug, nodes, &seed);
  ASSERT_FALSE(result.ok) << bug << " went unnoticed for " << kMaxSeedsToCatchABug
                          << " seeds with " << nodes << " members";
  bool named = false;
  for (std::string_view checker : checkers) {
    named = named || result.failure.starts_with(checker);
  }
  EXPECT_TRUE(named) << "seed " << seed << ": " << result.failure;
  EXPECT_FALSE(result.log_tail.empty());
  const std::string replay = ReplayFlags(Find("raft"), Resolved("raft", seed, bug, nodes));
  EXPECT_NE(replay.find(StrCat("--inject-bug ", bug)), std::string::npos) << replay;
  ::testing::Test::RecordProperty(StrCat(bug, "_", nodes), StrCat("seed ", seed, ": ", result.failure));
  // The same seed fails the same way.
  const ScenarioResult again =
      RunSeed(Find("raft"), Resolved("raft", seed, bug, nodes), false);
  EXPECT_EQ(again.failure, result.failure);
}

TEST(RaftScenarioTest, DoubleVotingIsCaughtWithinTwoHundredSeeds) {
  ExpectCaughtBy("double-vote", 3, {"vote safety", "election safety"});
  ExpectCaughtBy("double-vote", 5, {"vote safety", "election safety"});
}

// A leader answering ReadIndex without confirming its leadership: a deposed
// leader hands out a read index below entries its successor acknowledged.
TEST(RaftScenarioTest, AReadIndexWithoutAQuorumCheckIsCaughtWithinTwoHundredSeeds) {
  ExpectCaughtBy("stale-read-index", 3, {"linearizable read"});
  ExpectCaughtBy("stale-read-index", 5, {"linearizable read"});
}

TEST(RaftScenarioTest, CommittingAnOldTermEntryByCountingIsCaughtWithinTwoHundredSeeds) {
  const std::vector<std::string_view> checkers = {
      "commitment", "state machine safety", "leader completeness",
      "committed entry changed"};
  ExpectCaughtBy("commit-old-term", 3, checkers);
  ExpectCaughtBy("commit-old-term", 5, checkers);
}

// A passing sweep means something only if it did what it claims: every
// fault kind, every kind of membership change, transfers, and recoveries
// from torn logs and failed fsyncs, and leaders holding followers back at
// the in-flight byte bound, and members compacting their logs (releasing
// WAL segments) and catching up by a leader's snapshot, sent in chunks on
// some seeds.
TEST(RaftScenarioTest, AShortSweepExercisesEveryFaultAndMembershipChange) {
  std::map<std::string, uint64_t> totals;
  uint64_t seeds_installing = 0;
  for (uint64_t seed = 1; seed <= 24; seed++) {
    const ScenarioResult result =
        RunSeed(Find("raft"), Resolved("raft", seed, "", seed % 3 == 0 ? 5 : 3), false);
    ASSERT_TRUE(result.ok) << "seed " << seed << ": " << result.failure;
    const std::map<std::string, uint64_t> figures = Figures(result.summary);
    for (const auto& [name, value] : figures) totals[name] += value;
    if (figures.at("snapshots_installed") > 0) seeds_installing++;
  }
  for (const char* figure : {"committed", "acked", "adds", "removals", "promotions",
                             "transfers", "isolations", "faults", "torn_tails",
                             "disk_stops", "recoveries", "pre_vote", "byte_pauses",
                             "reads", "reads_answered", "snapshots_taken",
                             "snapshots_sent", "snapshots_installed",
                             "segments_released", "snapshot_chunk_bytes"}) {
    EXPECT_GT(totals[figure], 0u) << figure;
  }
  // The snapshot path must not go quietly dead: several seeds use it.
  EXPECT_GE(seeds_installing, 3u);
  EXPECT_LT(totals["pre_vote"], 24u) << "both settings of pre-vote should run";
}

// A member whose snapshot data holds the state of an earlier index than its
// metadata claims: the checker compares it with the canonical state.
TEST(RaftScenarioTest, ASnapshotOfTheWrongStateIsCaughtWithinTwoHundredSeeds) {
  ExpectCaughtBy("stale-snapshot", 3, {"snapshots"});
  ExpectCaughtBy("stale-snapshot", 5, {"snapshots"});
}

TEST(RaftScenarioTest, ARunIsAFunctionOfItsSeed) {
  const ScenarioResult a = RunSeed(Find("raft"), Resolved("raft", 11), true);
  EXPECT_TRUE(a.ok) << a.failure;
  const ScenarioResult b = RunSeed(Find("raft"), Resolved("raft", 12), false);
  EXPECT_NE(a.trace_hash, b.trace_hash);
}

TEST(RaftScenarioTest, FailoverReportsHowLongEachElectionTook) {
  const ScenarioResult result =
      RunSeed(Find("raft-failover"), Resolved("raft-failover", 1), false);
  ASSERT_TRUE(result.ok) << result.failure;
  const std::map<std::string, uint64_t> figures = Figures(result.summary);
  EXPECT_GE(figures.at("elections"), 10u);
  // Election timeout 1000 ms, randomised up to 2000 ms; a kill lands
  // anywhere in a follower's wait.
  EXPECT_GE(figures.at("median_ms"), 300u);
  EXPECT_LE(figures.at("median_ms"), 2500u);
}

TEST(RaftScenarioTest, ThroughputCommitsWhatClientsPropose) {
  ScenarioOptions options = Resolved("raft-throughput", 1);
  options.duration = Seconds(2) + Milliseconds(200);
  const ScenarioResult result = RunSeed(Find("raft-throughput"), options, false);
  ASSERT_TRUE(result.ok) << result.failure;
  const std::map<std::string, uint64_t> figures = Figures(result.summary);
  EXPECT_GT(figures.at("committed"), 1000u);
  EXPECT_EQ(figures.at("leaders"), 1u);
  // Per simulated second, over the 2.2 s run (rounded).
  const double per_second = static_cast<double>(figures.at("committed")) / 2.2;
  EXPECT_NEAR(static_cast<double>(figures.at("committed_per_sim_s")), per_second, 1.0);
}

}  // namespace
}  // namespace keel::sim
