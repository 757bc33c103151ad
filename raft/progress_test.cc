// Progress and Inflights: the flow-control window (count and bytes), state
// transitions between Probe, Replicate and Snapshot, and how rejections and
// acknowledgements move match and next.
#include "raft/progress.h"

#include <gtest/gtest.h>

namespace keel::raft {
namespace {

TEST(InflightsTest, FillsUpToMaxCountAndFreesInOrder) {
  Inflights in(10, 0);
  for (uint64_t i = 0; i < 5; i++) in.Add(i, 1);
  EXPECT_EQ(in.Count(), 5u);
  EXPECT_FALSE(in.Full());
  for (uint64_t i = 5; i < 10; i++) in.Add(i, 1);
  EXPECT_TRUE(in.Full());
  in.FreeLE(4);
  EXPECT_EQ(in.Count(), 5u);
  EXPECT_FALSE(in.Full());
  // Wrap around the ring.
  for (uint64_t i = 10; i < 15; i++) in.Add(i, 1);
  EXPECT_TRUE(in.Full());
  in.FreeLE(8);
  EXPECT_EQ(in.Count(), 6u);
  in.FreeLE(14);
  EXPECT_EQ(in.Count(), 0u);
  EXPECT_EQ(in.bytes(), 0u);
}

TEST(InflightsTest, FreeingBelowTheOldestIsANoOp) {
  Inflights in(4, 0);
  in.Add(5, 1);
  in.Add(6, 1);
  in.FreeLE(4);
  EXPECT_EQ(in.Count(), 2u);
  in.FreeFirstOne();
  EXPECT_EQ(in.Count(), 1u);
  in.FreeFirstOne();
  in.FreeFirstOne();
  EXPECT_EQ(in.Count(), 0u);
}

TEST(InflightsTest, IsFullOnceTheByteBudgetIsUsed) {
  Inflights in(100, 1000);
  in.Add(1, 400);
  in.Add(2, 400);
  EXPECT_FALSE(in.Full());
  in.Add(3, 400);  // allowed to overshoot by one message
  EXPECT_TRUE(in.Full());
  EXPECT_EQ(in.bytes(), 1200u);
  in.FreeLE(1);
  EXPECT_EQ(in.bytes(), 800u);
  EXPECT_FALSE(in.Full());
  in.Reset();
  EXPECT_EQ(in.bytes(), 0u);
  EXPECT_EQ(in.Count(), 0u);
}

TEST(InflightsDeathTest, AddingToAFullWindowIsAProgrammingError) {
  Inflights in(1, 0);
  in.Add(1, 0);
  EXPECT_DEATH(in.Add(2, 0), "full");
}

Progress MakeProgress(ProgressState state, uint64_t match, uint64_t next) {
  Progress pr(256, 0);
  pr.state = state;
  pr.match = match;
  pr.next = next;
  return pr;
}

TEST(ProgressTest, BecomeProbeRestartsAfterMatchOrTheSnapshot) {
  struct Case {
    Progress pr;
    uint64_t want_next;
  } cases[] = {
      {MakeProgress(ProgressState::kReplicate, 1, 5), 2},
      // After a snapshot, probe from the snapshot on.
      {[] {
         Progress pr = MakeProgress(ProgressState::kSnapshot, 1, 5);
         pr.pending_snapshot = 10;
         return pr;
       }(),
       11},
      {[] {
         Progress pr = MakeProgress(ProgressState::kSnapshot, 1, 5);
         pr.pending_snapshot = 0;
         return pr;
       }(),
       2},
  };
  for (Case& c : cases) {
    c.pr.BecomeProbe();
    EXPECT_EQ(c.pr.state, ProgressState::kProbe);
    EXPECT_EQ(c.pr.match, 1u);
    EXPECT_EQ(c.pr.next, c.want_next);
  }
}

TEST(ProgressTest, BecomeReplicateAndSnapshotResetTheWindow) {
  Progress pr = MakeProgress(ProgressState::kProbe, 1, 5);
  pr.BecomeReplicate();
  EXPECT_EQ(pr.next, 2u);
  pr.inflights.Add(3, 10);
  pr.BecomeSnapshot(10);
  EXPECT_EQ(pr.state, ProgressState::kSnapshot);
  EXPECT_EQ(pr.pending_snapshot, 10u);
  EXPECT_EQ(pr.inflights.Count(), 0u);
}

TEST(ProgressTest, MaybeUpdateAdvancesMatchAndNext) {
  const uint64_t match = 3, next = 5;
  struct Case {
    uint64_t update, want_match, want_next;
    bool want_updated;
  } cases[] = {
      {match - 1, match, next, false},  // stale
      {match, match, next, false},      // duplicate
      {match + 1, match + 1, next, true},
      {match + 2, match + 2, next + 1, true},
  };
  for (const Case& c : cases) {
    Progress pr = MakeProgress(ProgressState::kReplicate, match, next);
    EXPECT_EQ(pr.MaybeUpdate(c.update), c.want_updated);
    EXPECT_EQ(pr.match, c.want_match);
    EXPECT_EQ(pr.next, c.want_next);
  }
}

TEST(ProgressTest, MaybeDecrToIgnoresStaleRejections) {
  struct Case {
    ProgressState state;
    uint64_t match, next, rejected, hint;
    bool want;
    uint64_t want_next;
  } cases[] = {
      // Replicate: stale when rejected <= match.
      {ProgressState::kReplicate, 5, 10, 5, 5, false, 10},
      {ProgressState::kReplicate, 5, 10, 4, 4, false, 10},
      // Otherwise restart right after match.
      {ProgressState::kReplicate, 5, 10, 9, 9, true, 6},
      // Probe: only a rejection of next - 1 counts.
      {ProgressState::kProbe, 0, 0, 0, 0, false, 0},
      {ProgressState::kProbe, 0, 10, 5, 5, false, 10},
      {ProgressState::kProbe, 0, 10, 9, 9, true, 9},
      // The hint moves next further back.
      {ProgressState::kProbe, 0, 2, 1, 1, true, 1},
      {ProgressState::kProbe, 0, 1, 0, 0, true, 1},
      {ProgressState::kProbe, 0, 10, 9, 2, true, 3},
      {ProgressState::kProbe, 0, 10, 9, 0, true, 1},
      // ... but never to or below match.
      {ProgressState::kProbe, 4, 10, 9, 2, true, 5},
  };
  for (const Case& c : cases) {
    Progress pr = MakeProgress(c.state, c.match, c.next);
    pr.probe_sent = true;
    EXPECT_EQ(pr.MaybeDecrTo(c.rejected, c.hint), c.want)
        << c.rejected << " " << c.hint;
    EXPECT_EQ(pr.next, c.want_next) << c.rejected << " " << c.hint;
    if (c.want && c.state == ProgressState::kProbe) {
      EXPECT_FALSE(pr.probe_sent);
    }
  }
}

TEST(ProgressTest, PausedWhileProbingOrSnapshottingOrWindowFull) {
  Progress probe = MakeProgress(ProgressState::kProbe, 0, 1);
  EXPECT_FALSE(probe.IsPaused());
  probe.probe_sent = true;
  EXPECT_TRUE(probe.IsPaused());
  // An acknowledgement resumes a paused probe.
  EXPECT_TRUE(probe.MaybeUpdate(1));
  EXPECT_FALSE(probe.IsPaused());

  Progress replicate = MakeProgress(ProgressState::kReplicate, 0, 1);
  replicate.inflights = Inflights(1, 0);
  EXPECT_FALSE(replicate.IsPaused());
  replicate.inflights.Add(1, 0);
  EXPECT_TRUE(replicate.IsPaused());

  Progress snapshot = MakeProgress(ProgressState::kSnapshot, 0, 1);
  EXPECT_TRUE(snapshot.IsPaused());
}

TEST(ProgressTest, StringShowsStateAndFlags) {
  Progress pr = MakeProgress(ProgressState::kReplicate, 5, 6);
  pr.inflights.Add(6, 1);
  pr.is_learner = true;
  EXPECT_EQ(pr.String(), "StateReplicate match=5 next=6 learner inactive inflight=1");
}

}  // namespace
}  // namespace keel::raft
