// Configuration changes: the simple protocol's one-voter rule, entering and
// leaving joint configurations (with learners_next), promotion and demotion,
// idempotency, and RestoreConfig reproducing any valid ConfState.
#include "raft/confchange.h"

#include <gtest/gtest.h>

#include "runtime/random.h"

namespace keel::raft {
namespace {

class ConfChangeTest : public ::testing::Test {
 protected:
  // Applies a simple change written as "v1 l2 r3"; returns the status.
  absl::Status Simple(std::string_view text) {
    return Apply(Changer(tracker_, 10).Simple(*ConfChangesFromString(text)));
  }
  absl::Status Enter(bool auto_leave, std::string_view text) {
    return Apply(
        Changer(tracker_, 10).EnterJoint(auto_leave, *ConfChangesFromString(text)));
  }
  absl::Status Leave() { return Apply(Changer(tracker_, 10).LeaveJoint()); }

  std::string Config() const { return tracker_.config.String(); }

  ProgressTracker tracker_{256, 0};

 private:
  absl::Status Apply(absl::StatusOr<ConfigAndProgress> result) {
    if (!result.ok()) return result.status();
    tracker_.config = std::move(result->config);
    tracker_.progress = std::move(result->progress);
    return absl::OkStatus();
  }
};

TEST_F(ConfChangeTest, SimpleAddsAndRemovesOneVoterAtATime) {
  ASSERT_TRUE(Simple("v1").ok());
  EXPECT_EQ(Config(), "voters=(1)");
  ASSERT_TRUE(Simple("v2").ok());
  EXPECT_EQ(Config(), "voters=(1 2)");
  // New members probe from the last index.
  EXPECT_EQ(tracker_.progress.at(2).next, 10u);
  EXPECT_TRUE(tracker_.progress.at(2).recent_active);
  ASSERT_TRUE(Simple("r1").ok());
  EXPECT_EQ(Config(), "voters=(2)");
}

TEST_F(ConfChangeTest, SimpleRefusesToChangeTwoVoters) {
  ASSERT_TRUE(Simple("v1").ok());
  absl::Status status = Simple("v2 v3");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Config(), "voters=(1)");
  // Replacing a voter is two changes too.
  ASSERT_TRUE(Simple("v2").ok());
  EXPECT_FALSE(Simple("r1 v3").ok());
  // Learners do not count toward the limit.
  EXPECT_TRUE(Simple("v3 l4 l5").ok());
  EXPECT_EQ(Config(), "voters=(1 2 3) learners=(4 5)");
}

TEST_F(ConfChangeTest, SimpleRefusesToRemoveTheLastVoter) {
  ASSERT_TRUE(Simple("v1").ok());
  EXPECT_FALSE(Simple("r1").ok());
  EXPECT_FALSE(Simple("l1").ok());
}

TEST_F(ConfChangeTest, PromoteAndDemoteKeepTheProgress) {
  ASSERT_TRUE(Simple("v1").ok());
  ASSERT_TRUE(Simple("l2").ok());
  tracker_.progress.at(2).match = 7;
  ASSERT_TRUE(Simple("v2").ok());
  EXPECT_EQ(Config(), "voters=(1 2)");
  EXPECT_EQ(tracker_.progress.at(2).match, 7u);
  EXPECT_FALSE(tracker_.progress.at(2).is_learner);
  ASSERT_TRUE(Simple("l2").ok());
  EXPECT_EQ(Config(), "voters=(1) learners=(2)");
  EXPECT_EQ(tracker_.progress.at(2).match, 7u);
  EXPECT_TRUE(tracker_.progress.at(2).is_learner);
}

TEST_F(ConfChangeTest, ChangesAreIdempotent) {
  ASSERT_TRUE(Simple("v1").ok());
  ASSERT_TRUE(Simple("v1").ok());
  ASSERT_TRUE(Simple("l2 l2").ok());
  ASSERT_TRUE(Simple("r3").ok());  // not a member: nothing to do
  EXPECT_EQ(Config(), "voters=(1) learners=(2)");
}

TEST_F(ConfChangeTest, JointConsensusReplacesAllVotersAtOnce) {
  ASSERT_TRUE(Simple("v1").ok());
  ASSERT_TRUE(Simple("v2").ok());
  ASSERT_TRUE(Simple("v3").ok());
  ASSERT_TRUE(Enter(false, "r1 r2 r3 v4 v5 v6").ok());
  EXPECT_EQ(Config(), "voters=(4 5 6)&&(1 2 3)");
  // Removed outgoing voters keep their progress until the joint config is
  // left.
  EXPECT_TRUE(tracker_.progress.contains(1));
  // Nothing else may change while joint.
  EXPECT_FALSE(Enter(false, "v7").ok());
  EXPECT_FALSE(Simple("v7").ok());
  ASSERT_TRUE(Leave().ok());
  EXPECT_EQ(Config(), "voters=(4 5 6)");
  EXPECT_FALSE(tracker_.progress.contains(1));
  EXPECT_FALSE(Leave().ok());
}

TEST_F(ConfChangeTest, DemotedOutgoingVotersBecomeLearnersOnLeave) {
  ASSERT_TRUE(Simple("v1").ok());
  ASSERT_TRUE(Simple("v2").ok());
  ASSERT_TRUE(Simple("v3").ok());
  ASSERT_TRUE(Enter(true, "l3 v4").ok());
  EXPECT_EQ(Config(), "voters=(1 2 4)&&(1 2 3) learners_next=(3) autoleave");
  EXPECT_FALSE(tracker_.progress.at(3).is_learner);
  ASSERT_TRUE(Leave().ok());
  EXPECT_EQ(Config(), "voters=(1 2 4) learners=(3)");
  EXPECT_TRUE(tracker_.progress.at(3).is_learner);
}

TEST_F(ConfChangeTest, ReAddingAnOutgoingVoterCancelsItsDemotion) {
  ASSERT_TRUE(Simple("v1").ok());
  ASSERT_TRUE(Simple("v2").ok());
  ASSERT_TRUE(Enter(false, "l2 v2").ok());
  EXPECT_EQ(Config(), "voters=(1 2)&&(1 2)");
  ASSERT_TRUE(Leave().ok());
  EXPECT_EQ(Config(), "voters=(1 2)");
}

TEST_F(ConfChangeTest, EmptyConfigCannotBeMadeJoint) {
  EXPECT_FALSE(Enter(false, "v1").ok());
}

ConfState RandomConfState(Random& random) {
  // A valid configuration built by a random sequence of changes.
  ProgressTracker tracker(256, 0);
  auto apply = [&](absl::StatusOr<ConfigAndProgress> next) {
    if (!next.ok()) return;
    tracker.config = std::move(next->config);
    tracker.progress = std::move(next->progress);
  };
  apply(Changer(tracker, 5).Simple(*ConfChangesFromString("v1")));
  for (int i = 0; i < 8; i++) {
    std::vector<ConfChangeSingle> changes;
    const int n = 1 + static_cast<int>(random.Uniform(3));
    for (int j = 0; j < n; j++) {
      ConfChangeSingle change;
      static const raftpb::ConfChangeType kTypes[] = {
          raftpb::ConfChangeAddNode, raftpb::ConfChangeAddLearnerNode,
          raftpb::ConfChangeRemoveNode};
      change.set_type(kTypes[random.Uniform(3)]);
      change.set_node_id(1 + random.Uniform(6));
      changes.push_back(change);
    }
    Changer changer(tracker, 5);
    if (tracker.config.joint()) {
      apply(changer.LeaveJoint());
    } else if (random.OneIn(2)) {
      apply(changer.EnterJoint(random.OneIn(2), changes));
    } else {
      apply(changer.Simple({changes[0]}));
    }
  }
  return tracker.GetConfState();
}

TEST(RestoreConfigTest, ReproducesRandomValidConfigurations) {
  Random rng(11);
  for (int round = 0; round < 500; round++) {
    const ConfState state = RandomConfState(rng);
    absl::StatusOr<ConfigAndProgress> restored =
        RestoreConfig(ProgressTracker(256, 0), 20, state);
    ASSERT_TRUE(restored.ok()) << restored.status();
    ProgressTracker tracker(256, 0);
    tracker.config = restored->config;
    tracker.progress = restored->progress;
    EXPECT_TRUE(ConfStatesEquivalent(tracker.GetConfState(), state))
        << tracker.config.String();
    EXPECT_TRUE(CheckInvariants(*restored).ok());
  }
}

TEST(ConfChangeTextTest, RoundTripsTheCompactForm) {
  absl::StatusOr<std::vector<ConfChangeSingle>> changes =
      ConfChangesFromString(" v1 l2  r3 u4 ");
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(ConfChangesToString(*changes), "v1 l2 r3 u4");
  EXPECT_FALSE(ConfChangesFromString("x1").ok());
  EXPECT_FALSE(ConfChangesFromString("v").ok());
}

TEST(ConfChangeTextTest, TransitionsDecideJointOrSimple) {
  ConfChangeV2 one;
  *one.add_changes() = (*ConfChangesFromString("v1"))[0];
  EXPECT_FALSE(EnterJoint(one).has_value());
  ConfChangeV2 two = one;
  *two.add_changes() = (*ConfChangesFromString("v2"))[0];
  EXPECT_EQ(EnterJoint(two), true);
  one.set_transition(raftpb::ConfChangeTransitionJointExplicit);
  EXPECT_EQ(EnterJoint(one), false);
  one.set_transition(raftpb::ConfChangeTransitionJointImplicit);
  EXPECT_EQ(EnterJoint(one), true);
  ConfChangeV2 empty;
  empty.set_context("ctx");
  EXPECT_TRUE(LeaveJoint(empty));
  EXPECT_FALSE(LeaveJoint(one));
}

}  // namespace
}  // namespace keel::raft
