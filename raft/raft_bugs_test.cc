// Raft's deliberate bugs (raft/failpoints.h, the failpoint build only) and
// the checks that catch them: each bug does what it says on a hand-built
// member, and under random schedules (ChaosCluster) the safety checker that
// should catch it does, within a budget of seeds. raft_property_test runs
// the same schedules on the release build without the bugs and finds none.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "raft/raft.h"
#include "raft/raft_test_util.h"
#include "raft/rafttest/chaos_cluster.h"
#include "runtime/strings.h"

namespace keel::raft {
namespace {

using rafttest::ChaosCluster;
using rafttest::ChaosOptions;
using rafttest::FigureEightSchedule;
using testing::EntriesWithTerms;
using testing::MakeMessage;
using testing::NewTestMember;
using testing::StorageWithEntries;
using testing::TestMember;

// raft_replication_test asserts the release Config has no `bugs`; this
// build has them.
template <typename C>
concept HasBugSwitches = requires(C config) { config.bugs; };
static_assert(HasBugSwitches<Config>);

TEST(RaftBugsTest, TheCommitOldTermBugCommitsAnEarlierTermByCounting) {
  auto storage = StorageWithEntries({1, 2}, EntriesWithTerms({1, 2}));
  HardState state;
  state.set_term(2);
  storage->SetHardState(state);
  TestMember r = NewTestMember(1, 10, 1, std::move(storage),
                               [](Config& c) { c.bugs.commit_old_term = true; });
  r->BecomeCandidate();
  r->BecomeLeader();
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, r->term());
  ack.set_index(2);
  ASSERT_TRUE(r->Step(ack).ok());
  EXPECT_EQ(r->log().committed(), 2u);  // wrong, deliberately
}

// Searches seeds with a bug switched on until the named property fails.
// Returns the first failure, or "" if none within the budget.
std::string FindViolation(const ChaosOptions& options, std::string_view property,
                          uint64_t budget) {
  for (uint64_t seed = 1; seed <= budget; seed++) {
    ChaosCluster cluster(seed, options);
    cluster.RunRandomSteps(5000);
    for (const std::string& v : cluster.violations()) {
      if (v.find(property) != std::string::npos) return StrCat("seed ", seed, ": ", v);
    }
  }
  return "";
}

TEST(RaftBugsTest, ElectionSafetyCatchesADoubleVote) {
  ChaosOptions options;
  options.members = 3;
  options.bugs.double_vote = true;
  // Otherwise the vote check fires first.
  options.check_votes = false;
  const std::string found = FindViolation(options, "election safety", 100);
  EXPECT_FALSE(found.empty()) << "double voting went unnoticed";
  RecordProperty("caught", found);
}

TEST(RaftBugsTest, TheVoteCheckCatchesADoubleVoteFirst) {
  ChaosOptions options;
  options.members = 3;
  options.bugs.double_vote = true;
  const std::string found = FindViolation(options, "changed its vote", 100);
  EXPECT_FALSE(found.empty()) << "double voting went unnoticed";
}

// Figure 8 of the Raft paper, with the bug that makes it unsafe.
TEST(RaftBugsTest, LeaderCompletenessCatchesCommittingAnOldTermEntryByCounting) {
  ChaosOptions options = FigureEightSchedule();
  options.bugs.commit_old_term = true;
  const std::string found = FindViolation(options, "leader completeness", 150);
  EXPECT_FALSE(found.empty()) << "committing an old-term entry went unnoticed";
  RecordProperty("caught", found);
}

}  // namespace
}  // namespace keel::raft
