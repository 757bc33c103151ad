// The pieces of keel-sim's cross-process determinism check: the arguments
// the second process gets, the parsing of what it prints, and starting
// this very program again through /proc/self/exe.
#include "sim/second_process.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace keel::sim {
namespace {

TEST(SecondProcessTest, TheSecondProcessRunsTheSameSeedsAndOnlyPrintsHashes) {
  const std::vector<std::string> args = {
      "--scenario", "cluster", "--seeds", "1..5", "--check-determinism", "--trace", "t.txt",
      "--timeline=t.html", "--inject-bug", "stale-read", "--verbose", "--buggify-report",
      "--save-plan", "p.plan", "--no-buggify"};
  EXPECT_EQ(SecondProcessArgs(args),
            (std::vector<std::string>{"--scenario", "cluster", "--seeds", "1..5", "--inject-bug",
                                      "stale-read", "--no-buggify", "--hashes-only"}));
}

TEST(SecondProcessTest, ItsOutputIsParsedPerSeed) {
  const SeedOutcome one{.hash = 0x9a4569293767214f, .events = 39098, .ok = true};
  const SeedOutcome two{.hash = 7, .events = 1, .ok = false};
  const std::string out = "layout=5f3a2\n" + FormatSeedOutcome(1, one) + "\n" +
                          FormatSeedOutcome(2, two) + "\n";
  absl::StatusOr<SecondRun> run = ParseSecondRun(out);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->layout, 0x5f3a2u);
  EXPECT_EQ(run->outcomes.size(), 2u);
  EXPECT_EQ(run->outcomes.at(1), one);
  EXPECT_EQ(run->outcomes.at(2), two);
  EXPECT_EQ(DescribeSeedOutcome(one), "trace hash 9a4569293767214f, 39098 events, ok");
}

TEST(SecondProcessTest, OutputItDoesNotExpectIsAnError) {
  EXPECT_FALSE(ParseSecondRun("seed=1 hash=00 events=1 ok=1\n").ok()) << "no layout line";
  EXPECT_FALSE(ParseSecondRun("layout=1\ncluster seed=1: ok\n").ok());
}

TEST(SecondProcessTest, StartsThisProgramAgainAndReadsWhatItPrints) {
  absl::StatusOr<SecondProcess> child = SecondProcess::Start(
      {"--gtest_list_tests", "--gtest_filter=SecondProcessTest.StartsThisProgram*"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_GT(child->pid(), 0);
  absl::StatusOr<std::string> out = child->Finish();
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_NE(out->find("StartsThisProgramAgainAndReadsWhatItPrints"), std::string::npos) << *out;
}

}  // namespace
}  // namespace keel::sim
