// Snapshots: a leader sends one when a follower needs compacted entries,
// pauses that follower until the snapshot is applied or reported failed,
// and resumes probing after; a follower installs a snapshot atomically
// (or only fast-forwards its commit when its log already matches), and
// ignores stale or foreign snapshots.
#include <gtest/gtest.h>

#include "raft/errors.h"
#include "raft/raft.h"
#include "raft/raft_test_util.h"

namespace keel::raft {
namespace {

using testing::EntriesWithTerms;
using testing::MakeMessage;
using testing::NewTestMember;
using testing::Proposal;
using testing::ReadMessages;
using testing::StorageWithPeers;
using testing::TestMember;

raftpb::Snapshot MakeSnapshot(uint64_t index, uint64_t term,
                              std::vector<uint64_t> voters,
                              std::vector<uint64_t> learners = {}) {
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(index);
  snapshot.mutable_metadata()->set_term(term);
  for (uint64_t id : voters) {
    snapshot.mutable_metadata()->mutable_conf_state()->add_voters(id);
  }
  for (uint64_t id : learners) {
    snapshot.mutable_metadata()->mutable_conf_state()->add_learners(id);
  }
  snapshot.set_data("state");
  return snapshot;
}

// A leader of {1, 2} whose log was compacted into a snapshot at 11.
TestMember LeaderWithSnapshot() {
  auto storage = std::make_unique<MemoryStorage>();
  EXPECT_TRUE(storage->ApplySnapshot(MakeSnapshot(11, 11, {1, 2})).ok());
  HardState state;
  state.set_term(11);
  state.set_commit(11);
  storage->SetHardState(state);
  TestMember r = NewTestMember(1, 10, 1, std::move(storage));
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  return r;
}

TEST(SnapshotTest, ALeaderSendsASnapshotWhenTheFollowerNeedsCompactedEntries) {
  TestMember r = LeaderWithSnapshot();
  Progress& pr = r->mutable_tracker().progress.at(2);
  // The follower rejects the probe: its log is empty.
  Message reject = MakeMessage(2, 1, raftpb::MsgAppResp, r->term());
  reject.set_index(pr.next - 1);
  reject.set_reject(true);
  reject.set_reject_hint(0);
  ASSERT_TRUE(r->Step(reject).ok());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), raftpb::MsgSnap);
  EXPECT_EQ(out[0].snapshot().metadata().index(), 11u);
  EXPECT_EQ(out[0].snapshot().data(), "state");
  EXPECT_EQ(pr.state, ProgressState::kSnapshot);
  EXPECT_EQ(pr.pending_snapshot, 11u);
}

TEST(SnapshotTest, APendingSnapshotPausesReplicationToThatFollower) {
  TestMember r = LeaderWithSnapshot();
  r->mutable_tracker().progress.at(2).BecomeSnapshot(11);
  ASSERT_TRUE(r->Step(Proposal(1, "somedata")).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());
}

TEST(SnapshotTest, AFailedSnapshotMakesTheLeaderProbeFromMatch) {
  TestMember r = LeaderWithSnapshot();
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.next = 1;
  pr.BecomeSnapshot(11);
  Message failed = MakeMessage(2, 1, raftpb::MsgSnapStatus);
  failed.set_reject(true);
  ASSERT_TRUE(r->Step(failed).ok());
  EXPECT_EQ(pr.pending_snapshot, 0u);
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_EQ(pr.next, 1u);
  // Paused until the follower answers something.
  EXPECT_TRUE(pr.probe_sent);
}

TEST(SnapshotTest, ASucceededSnapshotMakesTheLeaderProbeAfterIt) {
  TestMember r = LeaderWithSnapshot();
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.next = 1;
  pr.BecomeSnapshot(11);
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgSnapStatus)).ok());
  EXPECT_EQ(pr.pending_snapshot, 0u);
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_EQ(pr.next, 12u);
  EXPECT_TRUE(pr.probe_sent);
}

TEST(SnapshotTest, AnAppendResponseAtOrPastTheSnapshotEndsTheWait) {
  TestMember r = LeaderWithSnapshot();
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.next = 1;
  pr.BecomeSnapshot(11);
  // The follower caught up by other means (or applied the snapshot and
  // answered before the transport reported it).
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, r->term());
  ack.set_index(12);
  ASSERT_TRUE(r->Step(ack).ok());
  EXPECT_EQ(pr.pending_snapshot, 0u);
  EXPECT_EQ(pr.state, ProgressState::kReplicate);
  EXPECT_EQ(pr.next, 13u);
}

TEST(SnapshotTest, SnapshotStatusIsIgnoredOutsideSnapshotState) {
  TestMember r = LeaderWithSnapshot();
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.BecomeReplicate();
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgSnapStatus)).ok());
  EXPECT_EQ(pr.state, ProgressState::kReplicate);
}

// A storage whose snapshot is being produced.
class BusySnapshotStorage : public MemoryStorage {
 public:
  absl::StatusOr<raftpb::Snapshot> Snapshot() override {
    if (busy) return MakeError(Error::kSnapshotTemporarilyUnavailable);
    return MemoryStorage::Snapshot();
  }
  bool busy = true;
};

TEST(SnapshotTest, ATemporarilyUnavailableSnapshotIsRetriedLater) {
  auto storage = std::make_unique<BusySnapshotStorage>();
  BusySnapshotStorage* raw = storage.get();
  ASSERT_TRUE(storage->ApplySnapshot(MakeSnapshot(11, 11, {1, 2})).ok());
  HardState state;
  state.set_term(11);
  state.set_commit(11);
  storage->SetHardState(state);
  TestMember r = NewTestMember(1, 10, 1, std::move(storage));
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.next = 5;  // needs compacted entries
  pr.recent_active = true;
  r->BcastAppend();
  EXPECT_TRUE(ReadMessages(*r).empty());
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  raw->busy = false;
  r->BcastAppend();
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), raftpb::MsgSnap);
}

TEST(SnapshotTest, NoSnapshotIsSentToAFollowerThatIsNotRecentlyActive) {
  TestMember r = LeaderWithSnapshot();
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.next = 5;
  pr.recent_active = false;
  r->BcastAppend();
  EXPECT_TRUE(ReadMessages(*r).empty());
  EXPECT_EQ(pr.state, ProgressState::kProbe);
}

TEST(SnapshotTest, AFollowerInstallsANewerSnapshot) {
  TestMember r = NewTestMember(2, {1, 2});
  r->BecomeFollower(1, 1);
  Message m = MakeMessage(1, 2, raftpb::MsgSnap, 2);
  *m.mutable_snapshot() = MakeSnapshot(11, 11, {1, 2, 3});
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_EQ(r->log().LastIndex(), 11u);
  EXPECT_EQ(r->log().LastTerm(), 11u);
  EXPECT_EQ(r->log().committed(), 11u);
  EXPECT_EQ(r->tracker().VoterNodes(), (std::vector<uint64_t>{1, 2, 3}));
  ASSERT_TRUE(r->log().unstable().snapshot().has_value());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), raftpb::MsgAppResp);
  EXPECT_EQ(out[0].index(), 11u);
  // The same snapshot again is stale now.
  ASSERT_TRUE(r->Step(m).ok());
  out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].index(), 11u);
}

TEST(SnapshotTest, AFollowerWhoseLogMatchesOnlyFastForwardsItsCommit) {
  auto storage = testing::StorageWithEntries({1, 2}, EntriesWithTerms({1, 1, 1}));
  HardState state;
  state.set_term(1);
  state.set_commit(1);
  storage->SetHardState(state);
  TestMember r = NewTestMember(2, 10, 1, std::move(storage));
  Message m = MakeMessage(1, 2, raftpb::MsgSnap, 1);
  *m.mutable_snapshot() = MakeSnapshot(2, 1, {1, 2});
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_EQ(r->log().committed(), 2u);
  EXPECT_EQ(r->log().LastIndex(), 3u);  // entry 3 is kept
  EXPECT_FALSE(r->log().unstable().snapshot().has_value());
}

TEST(SnapshotTest, AFollowerIgnoresASnapshotAtOrBelowItsCommit) {
  auto storage = testing::StorageWithEntries({1, 2}, EntriesWithTerms({1, 1, 1}));
  HardState state;
  state.set_term(1);
  state.set_commit(3);
  storage->SetHardState(state);
  TestMember r = NewTestMember(2, 10, 1, std::move(storage));
  Message m = MakeMessage(1, 2, raftpb::MsgSnap, 1);
  *m.mutable_snapshot() = MakeSnapshot(2, 1, {1, 2});
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_EQ(r->log().committed(), 3u);
  EXPECT_FALSE(r->log().unstable().snapshot().has_value());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].index(), 3u);
}

TEST(SnapshotTest, AFollowerIgnoresASnapshotWhoseConfigurationLacksIt) {
  TestMember r = NewTestMember(2, {1, 2});
  Message m = MakeMessage(1, 2, raftpb::MsgSnap, 1);
  *m.mutable_snapshot() = MakeSnapshot(11, 11, {1, 3});
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_EQ(r->log().LastIndex(), 0u);
  EXPECT_FALSE(r->log().unstable().snapshot().has_value());
}

TEST(SnapshotTest, ALearnerInstallsASnapshotThatKeepsItALearner) {
  auto storage = StorageWithPeers({1}, {2});
  TestMember r = NewTestMember(2, 10, 1, std::move(storage));
  Message m = MakeMessage(1, 2, raftpb::MsgSnap, 1);
  *m.mutable_snapshot() = MakeSnapshot(11, 11, {1}, {2});
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_EQ(r->log().LastIndex(), 11u);
  EXPECT_TRUE(r->is_learner());
  EXPECT_EQ(r->tracker().LearnerNodes(), (std::vector<uint64_t>{2}));
}

TEST(SnapshotTest, ASnapshotCanPromoteALearnerToVoter) {
  auto storage = StorageWithPeers({1}, {2});
  TestMember r = NewTestMember(2, 10, 1, std::move(storage));
  Message m = MakeMessage(1, 2, raftpb::MsgSnap, 1);
  *m.mutable_snapshot() = MakeSnapshot(11, 11, {1, 2});
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_FALSE(r->is_learner());
  EXPECT_TRUE(r->Promotable());
}

TEST(SnapshotTest, NewLogEntriesFollowAnInstalledSnapshot) {
  TestMember r = NewTestMember(2, {1, 2});
  Message snap = MakeMessage(1, 2, raftpb::MsgSnap, 11);
  *snap.mutable_snapshot() = MakeSnapshot(11, 11, {1, 2});
  ASSERT_TRUE(r->Step(snap).ok());
  ReadMessages(*r);
  Message append = MakeMessage(1, 2, raftpb::MsgApp, 11);
  append.set_index(11);
  append.set_log_term(11);
  append.set_commit(12);
  *append.add_entries() = testing::MakeEntry(12, 11, "after");
  ASSERT_TRUE(r->Step(append).ok());
  EXPECT_EQ(r->log().LastIndex(), 12u);
  EXPECT_EQ(r->log().committed(), 12u);
}

}  // namespace
}  // namespace keel::raft
