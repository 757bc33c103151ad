// The cluster scenario's runs are plans: a plan saved from a seed replays
// that seed's run exactly, and shrinking a failing plan gives a smaller
// plan that still fails.
#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "sim/plan.h"
#include "sim/scenario.h"
#include "sim/shrink.h"

namespace keel::sim {
namespace {

const ScenarioInfo& Cluster() {
  const ScenarioInfo* info = ScenarioRegistry::Global().Find("cluster");
  KEEL_ASSERT(info != nullptr);
  return *info;
}

ScenarioOptions Seed(uint64_t seed, const std::string& bug = "") {
  ScenarioOptions options;
  options.seed = seed;
  options.inject_bug = !bug.empty();
  options.bug = bug;
  return ResolveOptions(Cluster(), options);
}

TEST(ClusterPlanTest, APlanSavedFromASeedReplaysItsRun) {
  const ScenarioResult run = RunSeed(Cluster(), Seed(1), false);
  ASSERT_TRUE(run.ok) << run.failure;
  ASSERT_NE(run.plan, nullptr);
  EXPECT_GT(run.plan->steps.size(), 5u);
  EXPECT_GT(run.plan->ops(), 500u);
  // Through the text form, as keel-sim --save-plan and --plan do.
  absl::StatusOr<Plan> saved = ParsePlan(FormatPlan(*run.plan), Cluster().supported_faults);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(*saved, *run.plan);
  const ScenarioResult replay = RunSeed(Cluster(), OptionsFromPlan(*saved), false);
  ASSERT_TRUE(replay.ok) << replay.failure;
  EXPECT_EQ(replay.trace_hash, run.trace_hash);
  EXPECT_EQ(replay.events, run.events);
  EXPECT_EQ(*replay.plan, *run.plan);
}

// stale-read (linearizable gets answered from a member's own store) fails
// seed 2; its 20 s plan shrinks to a fraction that fails the same way.
TEST(ClusterPlanTest, ShrinkingAFailingPlanKeepsItFailing) {
  const ScenarioResult failing = RunSeed(Cluster(), Seed(2, "stale-read"), false);
  ASSERT_FALSE(failing.ok);
  ASSERT_NE(failing.plan, nullptr);
  const std::string kind = FailureKind(failing.failure);
  EXPECT_EQ(kind.rfind("linearizability/", 0), 0u) << kind;
  const ShrinkResult shrunk = ShrinkPlan(
      *failing.plan, failing,
      [](const Plan& plan) { return RunSeed(Cluster(), OptionsFromPlan(plan), false); },
      {.max_attempts = 80, .same_failure = true});
  std::printf("shrunk from %s to %s in %d runs\n", DescribePlan(shrunk.original).c_str(),
              DescribePlan(shrunk.smallest).c_str(), shrunk.attempts);
  EXPECT_LE(shrunk.attempts, 80);
  EXPECT_GT(shrunk.kept, 0);
  EXPECT_LT(shrunk.smallest.ops(), shrunk.original.ops() / 4);
  EXPECT_LE(shrunk.smallest.steps.size(), shrunk.original.steps.size());
  EXPECT_LT(shrunk.smallest.duration, shrunk.original.duration);
  // The saved plan replays the failure.
  absl::StatusOr<Plan> saved =
      ParsePlan(FormatPlan(shrunk.smallest), Cluster().supported_faults);
  ASSERT_TRUE(saved.ok()) << saved.status();
  const ScenarioResult replay = RunSeed(Cluster(), OptionsFromPlan(*saved), false);
  EXPECT_FALSE(replay.ok);
  EXPECT_EQ(FailureKind(replay.failure), kind) << replay.failure;
  EXPECT_EQ(replay.trace_hash, shrunk.result.trace_hash);
}

TEST(ClusterPlanTest, AShorterRunDropsTheStepsPastItsEnd) {
  ScenarioOptions options = Seed(3);
  options.duration = Seconds(4);
  const ScenarioResult run = RunSeed(Cluster(), options, false);
  ASSERT_TRUE(run.ok) << run.failure;
  for (const PlanStep& step : run.plan->steps) EXPECT_LT(step.at, Seconds(4));
}

}  // namespace
}  // namespace keel::sim
