// Plans' text form: a round trip, and malformed plans rejected with the
// line at fault.
#include "sim/plan.h"

#include <string>

#include "gtest/gtest.h"

namespace keel::sim {
namespace {

Plan Sample() {
  Plan plan;
  plan.scenario = "cluster";
  plan.seed = 42;
  plan.nodes = 3;
  plan.duration = Milliseconds(7500);
  plan.faults = FaultSet::Of({Fault::kPartition, Fault::kKill, Fault::kClog});
  plan.inject_bug = true;
  plan.bug = "stale-read";
  plan.buggify = false;
  plan.steps = {
      {.kind = PlanStep::Kind::kFault, .fault = Fault::kPartition, .at = Milliseconds(300),
       .targets = {0, 2}, .lasts = Seconds(2), .seed = 9},
      {.kind = PlanStep::Kind::kHealAll, .at = Seconds(1)},
      {.kind = PlanStep::Kind::kLeaderKill, .at = Seconds(2), .lasts = Milliseconds(900),
       .seed = 18446744073709551615u},
      {.kind = PlanStep::Kind::kSwizzleClog, .at = Seconds(3), .targets = {1},
       .seed = 5},
  };
  plan.clients = {{.id = 0, .seed = 11, .slots = {0, 1, 2, 5, 7, 8}},
                  {.id = 3, .seed = 12, .slots = {}}};
  return plan;
}

TEST(PlanTest, TheTextFormRoundTrips) {
  const Plan plan = Sample();
  const std::string text = FormatPlan(plan);
  EXPECT_NE(text.find("client 0 11 0-2,5,7-8\n"), std::string::npos) << text;
  EXPECT_NE(text.find("step 2s leader-kill leader 900ms"), std::string::npos) << text;
  absl::StatusOr<Plan> parsed = ParsePlan(text, FaultSet::All());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, plan);
  EXPECT_EQ(plan.ops(), 6u);
  EXPECT_EQ(DescribePlan(plan), "4 fault steps, 2 clients, 6 ops, 7500ms");
}

// Membership steps name no member (the operator picks one from the seed
// when the step comes), and spare machines widen the fault steps' targets.
TEST(PlanTest, MembershipStepsAndSparesRoundTrip) {
  Plan plan = Sample();
  plan.spares = 1;
  plan.steps.push_back({.kind = PlanStep::Kind::kFault, .fault = Fault::kKill,
                        .at = Seconds(3), .targets = {3}, .lasts = Seconds(1), .seed = 4});
  const PlanStep::Kind kinds[] = {PlanStep::Kind::kMemberAddLearner,
                                  PlanStep::Kind::kMemberPromote,
                                  PlanStep::Kind::kMemberRemove,
                                  PlanStep::Kind::kMemberReplace};
  for (size_t i = 0; i < 4; i++) {
    plan.steps.push_back({.kind = kinds[i], .at = Seconds(4 + static_cast<int64_t>(i)),
                          .seed = 100 + i});
  }
  const std::string text = FormatPlan(plan);
  EXPECT_NE(text.find("spares 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("step 4s member-add-learner - 0s 100\n"), std::string::npos) << text;
  EXPECT_NE(text.find("step 7s member-replace - 0s 103\n"), std::string::npos) << text;
  absl::StatusOr<Plan> parsed = ParsePlan(text, FaultSet::All());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, plan);
  for (PlanStep::Kind kind : kinds) EXPECT_TRUE(IsMembershipStep(kind));
  EXPECT_FALSE(IsMembershipStep(PlanStep::Kind::kLeaderKill));
  // Without the spare, machine 3 is out of range.
  plan.spares = 0;
  absl::StatusOr<Plan> narrow = ParsePlan(FormatPlan(plan), FaultSet::All());
  ASSERT_FALSE(narrow.ok());
  EXPECT_NE(narrow.status().message().find("targets machine 3 of 3"), std::string::npos)
      << narrow.status();
}

TEST(PlanTest, AMalformedPlanNamesTheLine) {
  const std::string good = FormatPlan(Sample());
  auto error = [](const std::string& text) {
    absl::StatusOr<Plan> parsed = ParsePlan(text, FaultSet::All());
    return parsed.ok() ? std::string("ok") : std::string(parsed.status().message());
  };
  EXPECT_EQ(error(""), "line 1: empty plan");
  EXPECT_EQ(error("keel-plan 9\n"), "line 1: plan version 9 (this keel-sim reads 1)");
  EXPECT_EQ(error("hello\n"), "line 1: not a plan (want 'keel-plan 1' first)");
  // A bad step on line 10, and an unknown kind.
  std::string text = good;
  text.insert(text.find("step 1s"), "step 1s partition 0,x 2s 1\n");
  EXPECT_EQ(error(text), "line 10: bad target 'x'");
  text = good + "step 9s meteor 0 1s 1\n";
  EXPECT_NE(error(text).find("unknown step kind 'meteor'"), std::string::npos) << error(text);
  EXPECT_EQ(error(good + "client 0 1 0-3\n"), "line 15: duplicate client id");
  EXPECT_EQ(error(good + "client 4 1 9-3\n"), "line 15: bad slot range '9-3'");
  EXPECT_EQ(error(good + "step 1s kill 0 1s 1\n"), "line 15: steps must be in time order");
  EXPECT_EQ(error(good + "step 5s kill 7 1s 1\n"), "a step targets machine 7 of 3");
  EXPECT_EQ(error("keel-plan 1\nscenario cluster\n"), "line 3: the plan has no 'seed' line");
  // A fault the scenario does not support.
  absl::StatusOr<Plan> parsed = ParsePlan(good, FaultSet::Of({Fault::kKill}));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("line 6: fault 'partition' is not supported"),
            std::string::npos)
      << parsed.status();
}

}  // namespace
}  // namespace keel::sim
