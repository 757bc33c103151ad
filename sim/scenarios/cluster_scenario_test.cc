// The `cluster` scenario's server-side deliberate defects (node's failpoints)
// are caught by the checkers of check/ within a sweep: each test runs seeds
// from 1 and stops at the first that fails, which must fail its history
// checks with the violation the defect causes. And --clients sets the
// number of simulated KV clients. (Sweeps without defects, and the
// stale-read and watch-skip client-side defects, are keel-sim tests in
// sim/CMakeLists.txt; progress-early is here, to name the property it
// breaks.) And seeds with small snapshot chunks send snapshots in many
// chunks under faults, which the members install.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "sim/plan.h"
#include "sim/scenario.h"

namespace keel::sim {
namespace {

// Every defect is caught well within this many seeds (see each test).
constexpr uint64_t kMaxSeeds = 200;

const ScenarioInfo& Cluster() {
  const ScenarioInfo* info = ScenarioRegistry::Global().Find("cluster");
  KEEL_ASSERT(info != nullptr);
  return *info;
}

ScenarioOptions WithBug(uint64_t seed, const std::string& bug) {
  ScenarioOptions options;
  options.seed = seed;
  options.inject_bug = true;
  options.bug = bug;
  return ResolveOptions(Cluster(), options);
}

// Whether a Buggify() site in `file` fired in the run.
bool Fired(const ScenarioResult& result, std::string_view file) {
  for (const BuggifySiteStats& site : result.buggify_sites) {
    if (site.site.starts_with(file) && site.fired > 0) return true;
  }
  return false;
}

// Runs seeds 1.. with `bug` until one fails; returns its seed and result
// (seed 0 if none within kMaxSeeds).
std::pair<uint64_t, ScenarioResult> FirstCaught(const std::string& bug) {
  for (uint64_t seed = 1; seed <= kMaxSeeds; seed++) {
    ScenarioResult result = RunSeed(Cluster(), WithBug(seed, bug), false);
    if (result.ok) continue;
    std::printf("%s first caught at seed %llu: keel-sim %s\n", bug.c_str(),
                static_cast<unsigned long long>(seed),
                ReplayFlags(Cluster(), WithBug(seed, bug)).c_str());
    return {seed, std::move(result)};
  }
  return {0, ScenarioResult{}};
}

TEST(ClusterScenarioTest, TheServerDefectsAreListed) {
  const std::vector<std::string>& bugs = Cluster().bugs;
  for (const char* bug : {"ack-before-sync", "lease-early-expiry", "snapshot-stale-conf"}) {
    EXPECT_NE(std::find(bugs.begin(), bugs.end(), bug), bugs.end()) << bug;
  }
}

// The leader answers writes before they are persisted or committed: a
// partition or crash that costs it the leadership loses acknowledged
// writes (another write reports the lost one's revision), and a read right
// after an early answer may miss it. First caught at seed 7.
TEST(ClusterScenarioTest, AcknowledgingAWriteBeforeItIsCommittedIsCaught) {
  const auto [seed, result] = FirstCaught("ack-before-sync");
  ASSERT_NE(seed, 0u) << "not caught within " << kMaxSeeds << " seeds";
  EXPECT_NE(result.failure.find("the history fails its checks"), std::string::npos)
      << result.failure;
  EXPECT_NE(result.failure.find("[linearizability/"), std::string::npos) << result.failure;
}

// The lessor ignores keepalives when it decides expiry: a lease kept alive
// expires while a keepalive's TTL still runs. First caught at seed 6.
TEST(ClusterScenarioTest, ALeaseExpiringWhileKeptAliveIsCaught) {
  const auto [seed, result] = FirstCaught("lease-early-expiry");
  ASSERT_NE(seed, 0u) << "not caught within " << kMaxSeeds << " seeds";
  EXPECT_NE(result.failure.find("the history fails its checks"), std::string::npos)
      << result.failure;
  EXPECT_NE(result.failure.find("[lease/early-expiry]"), std::string::npos) << result.failure;
}

// A watch records a progress notification at a response's header revision
// just before that response's events (client-side, cluster_workload.h): the
// watch checker's bookmarkable property, which the watchers' real progress
// notifications (progress_notify, WatchProgressRequest) exercise, must
// catch it. First caught at seed 1.
TEST(ClusterScenarioTest, AProgressNotificationAheadOfItsEventsIsCaught) {
  const auto [seed, result] = FirstCaught("progress-early");
  ASSERT_NE(seed, 0u) << "not caught within " << kMaxSeeds << " seeds";
  EXPECT_NE(result.failure.find("the history fails its checks"), std::string::npos)
      << result.failure;
  EXPECT_NE(result.failure.find("[watch/bookmarkable]"), std::string::npos) << result.failure;
}

// The figure `name`=N in a run's summary line, or -1 if absent.
int64_t Figure(const std::string& summary, const std::string& name) {
  const std::optional<uint64_t> value = SummaryFigure(summary, name);
  return value.has_value() ? static_cast<int64_t>(*value) : -1;
}

// Some seeds draw snapshot chunks of a few KiB (and a small snapshot
// count), so snapshots of the key space go to lagging members in many
// chunks while the nemesis runs, and those members install them. Over a
// short sweep: every run passes its checks, and multi-chunk snapshots were
// both sent and installed in runs with small chunks.
TEST(ClusterScenarioTest, SnapshotsTravelInManyChunksUnderFaults) {
  constexpr uint64_t kSeeds = 10;
  int64_t small_chunk_runs = 0, sent_in_chunks = 0, installed = 0;
  for (uint64_t seed = 1; seed <= kSeeds; seed++) {
    ScenarioOptions options;
    options.seed = seed;
    const ScenarioOptions resolved = ResolveOptions(Cluster(), options);
    const ScenarioResult result = RunSeed(Cluster(), resolved, false);
    ASSERT_TRUE(result.ok) << "keel-sim " << ReplayFlags(Cluster(), resolved) << "\n"
                           << result.failure;
    const int64_t chunk_bytes = Figure(result.summary, "snapshot_chunk_bytes");
    ASSERT_GT(chunk_bytes, 0) << result.summary;
    const int64_t sent = Figure(result.summary, "snapshots_sent");
    const int64_t in_chunks = Figure(result.summary, "in_chunks");
    const int64_t chunks = Figure(result.summary, "chunks");
    ASSERT_GE(in_chunks, 0) << result.summary;
    // A snapshot takes at least one chunk; several only when chunks are
    // small, as drawn or as Buggify() makes them.
    EXPECT_GE(chunks, sent) << result.summary;
    if (chunk_bytes > (64 << 10)) {
      if (!Fired(result, "net/peer_snapshot.cc")) {
        EXPECT_EQ(in_chunks, 0) << result.summary;
      }
      continue;
    }
    small_chunk_runs++;
    sent_in_chunks += in_chunks;
    if (in_chunks > 0) installed += Figure(result.summary, "installed");
  }
  std::printf("%lld runs with small chunks: %lld multi-chunk snapshots sent, %lld installed\n",
              static_cast<long long>(small_chunk_runs), static_cast<long long>(sent_in_chunks),
              static_cast<long long>(installed));
  EXPECT_GE(small_chunk_runs, 2);
  EXPECT_GE(sent_in_chunks, 2);
  EXPECT_GE(installed, 2);
}

// Buggify() in node/, store/ and net/ widens what a cluster run exercises:
// over two seeds sites of each fire, and each seed runs differently without them
// (before these sites the cluster scenario ran the same either way).
// Membership changes at runtime (cluster_operator.h) under every fault:
// a learner added on the spare machine and promoted, a voter removed, a
// voter replaced with a wiped disk under a new member ID. The seeds that
// draw membership steps draw few of each, so this takes such a seed's plan
// and gives it one of each kind in turn (the faults and clients as drawn);
// every run passes every checker, including the liveness check that the
// members added catch up, and each kind happens.
TEST(ClusterScenarioTest, MembershipChangesHappenUnderFaultsAndEveryCheckHolds) {
  int64_t adds = 0, promotes = 0, removes = 0, replaces = 0, runs = 0;
  for (uint64_t seed = 1; seed <= 30; seed++) {
    if (adds > 0 && promotes > 0 && removes > 0 && replaces > 0) break;
    ScenarioOptions options;
    options.seed = seed;
    const ScenarioOptions resolved = ResolveOptions(Cluster(), options);
    const ScenarioResult drawn = RunSeed(Cluster(), resolved, false);
    ASSERT_TRUE(drawn.ok) << "keel-sim " << ReplayFlags(Cluster(), resolved) << "\n"
                          << drawn.failure;
    ASSERT_NE(drawn.plan, nullptr);
    if (drawn.plan->spares == 0) {
      EXPECT_EQ(Figure(drawn.summary, "member_steps"), 0) << drawn.summary;
      continue;
    }
    Plan plan = *drawn.plan;
    std::erase_if(plan.steps, [](const PlanStep& step) { return IsMembershipStep(step.kind); });
    const std::pair<Duration, PlanStep::Kind> changes[] = {
        {Seconds(2), PlanStep::Kind::kMemberAddLearner},
        {Seconds(5), PlanStep::Kind::kMemberPromote},
        {Seconds(9), PlanStep::Kind::kMemberRemove},
        {Seconds(12), PlanStep::Kind::kMemberReplace}};
    for (const auto& [at, kind] : changes) {
      plan.steps.push_back(PlanStep{.kind = kind, .at = at, .seed = seed * 7 + plan.steps.size()});
    }
    std::stable_sort(plan.steps.begin(), plan.steps.end(),
                     [](const PlanStep& a, const PlanStep& b) { return a.at < b.at; });
    const ScenarioResult result = RunSeed(Cluster(), ResolveOptions(Cluster(), OptionsFromPlan(plan)), false);
    ASSERT_TRUE(result.ok) << FormatPlan(plan) << "\n" << result.failure;
    runs++;
    adds += Figure(result.summary, "adds");
    promotes += Figure(result.summary, "promotes");
    removes += Figure(result.summary, "removes");
    replaces += Figure(result.summary, "replaces");
  }
  std::printf("%lld runs with membership steps: %lld adds, %lld promotes, %lld removes, "
              "%lld replaces\n",
              static_cast<long long>(runs), static_cast<long long>(adds),
              static_cast<long long>(promotes), static_cast<long long>(removes),
              static_cast<long long>(replaces));
  EXPECT_GT(adds, 0);
  EXPECT_GT(promotes, 0);
  EXPECT_GT(removes, 0);
  EXPECT_GT(replaces, 0);
}

// A leader labels the snapshots it sends with the configuration of its
// last log compaction: a member added since then finds itself missing from
// the snapshot and never catches up, which the liveness check names (first at seed 2). The
// failing seed replays: the same run, the same trace hash.
TEST(ClusterScenarioTest, ASnapshotMissingAnAddedMemberIsCaughtAndReplays) {
  const auto [seed, result] = FirstCaught("snapshot-stale-conf");
  ASSERT_NE(seed, 0u) << "not caught within " << kMaxSeeds << " seeds";
  EXPECT_NE(result.failure.find("liveness: "), std::string::npos) << result.failure;
  EXPECT_NE(result.failure.find("not caught up: "), std::string::npos) << result.failure;
  const ScenarioResult again =
      RunSeed(Cluster(), WithBug(seed, "snapshot-stale-conf"), false);
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.trace_hash, result.trace_hash);
  EXPECT_EQ(again.events, result.events);
  EXPECT_EQ(again.failure, result.failure);
}

TEST(ClusterScenarioTest, TheServersBuggifySitesFireAndChangeTheRun) {
  std::set<std::string> fired;
  for (uint64_t seed = 1; seed <= 2; seed++) {
    ScenarioOptions options;
    options.seed = seed;
    const ScenarioResult with = RunSeed(Cluster(), ResolveOptions(Cluster(), options), false);
    options.buggify = false;
    const ScenarioResult without =
        RunSeed(Cluster(), ResolveOptions(Cluster(), options), false);
    ASSERT_TRUE(with.ok) << with.failure;
    ASSERT_TRUE(without.ok) << without.failure;
    for (const BuggifySiteStats& site : with.buggify_sites) {
      if (site.fired > 0) fired.insert(site.site.substr(0, site.site.find('/')));
    }
    EXPECT_NE(with.trace_hash, without.trace_hash) << "seed " << seed;
  }
  EXPECT_EQ(fired, (std::set<std::string>{"net", "node", "store"}));
}

TEST(ClusterScenarioTest, ClientsSetsTheNumberOfKvClients) {
  ScenarioOptions options;
  options.seed = 3;
  options.clients = 1;
  options.duration = Seconds(5);
  const ScenarioOptions resolved = ResolveOptions(Cluster(), options);
  EXPECT_NE(ReplayFlags(Cluster(), resolved).find("--clients 1"), std::string::npos);
  const ScenarioResult one = RunSeed(Cluster(), resolved, false);
  ASSERT_TRUE(one.ok) << one.failure;
  EXPECT_NE(one.summary.find("clients=1 "), std::string::npos) << one.summary;
  options.clients = 0;  // the default: two per member
  const ScenarioResult standard = RunSeed(Cluster(), ResolveOptions(Cluster(), options), false);
  ASSERT_TRUE(standard.ok) << standard.failure;
  EXPECT_NE(standard.summary.find("clients=6 "), std::string::npos) << standard.summary;
}

}  // namespace
}  // namespace keel::sim
