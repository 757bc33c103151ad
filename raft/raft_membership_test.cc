// Membership: adding and removing voters, learners (replicated to but never
// counted), promotion, joint consensus (both majorities decide; leaving
// automatically or explicitly), and the leader's rule of one pending
// configuration change at a time, only after its first entry of the term
// is applied.
#include <gtest/gtest.h>

#include "raft/confchange.h"
#include "raft/errors.h"
#include "raft/raft.h"
#include "raft/raft_test_util.h"

namespace keel::raft {
namespace {

using testing::MakeMessage;
using testing::NewTestMember;
using testing::NextEntries;
using testing::Proposal;
using testing::ReadMessages;
using testing::StorageWithPeers;
using testing::TestMember;
using testing::TestNetwork;

ConfChangeV2 Changes(std::string_view text,
                     raftpb::ConfChangeTransition transition =
                         raftpb::ConfChangeTransitionAuto) {
  ConfChangeV2 change;
  change.set_transition(transition);
  absl::StatusOr<std::vector<ConfChangeSingle>> singles =
      ConfChangesFromString(text);
  EXPECT_TRUE(singles.ok());
  for (const ConfChangeSingle& single : *singles) *change.add_changes() = single;
  return change;
}

Message ConfChangeProposal(const ConfChangeV2& change) {
  Message m = MakeMessage(1, 1, raftpb::MsgProp);
  Entry* entry = m.add_entries();
  entry->set_type(raftpb::EntryConfChangeV2);
  entry->set_data(change.SerializeAsString());
  return m;
}

// Persists and applies what is committed, applying configuration changes
// as they come (what the application does); returns the applied entries.
std::vector<Entry> ApplyCommitted(Raft& r, MemoryStorage& storage) {
  return NextEntries(r, storage, [&r](const Entry& entry) {
    if (entry.type() == raftpb::EntryConfChangeV2) {
      ConfChangeV2 change;
      EXPECT_TRUE(change.ParseFromString(entry.data()));
      EXPECT_TRUE(r.ApplyConfChange(change).ok());
    } else if (entry.type() == raftpb::EntryConfChange) {
      ConfChange change;
      EXPECT_TRUE(change.ParseFromString(entry.data()));
      EXPECT_TRUE(r.ApplyConfChange(AsV2(change)).ok());
    }
  });
}

// A leader of `voters` (+ learners) that has applied its first entry.
TestMember ReadyLeader(std::vector<uint64_t> voters,
                       std::vector<uint64_t> learners = {}) {
  TestMember r = NewTestMember(1, 10, 1, StorageWithPeers(voters, learners));
  r->BecomeCandidate();
  r->BecomeLeader();
  for (auto& [id, pr] : r->mutable_tracker().progress) {
    if (id == 1) continue;
    Message ack = MakeMessage(id, 1, raftpb::MsgAppResp, r->term());
    ack.set_index(1);
    EXPECT_TRUE(r->Step(ack).ok());
  }
  ReadMessages(*r);
  ApplyCommitted(*r, *r.storage);
  return r;
}

TEST(MembershipTest, AddingAVoterCreatesItsProgressAndGrowsTheQuorum) {
  TestMember r = NewTestMember(1, {1});
  ASSERT_TRUE(r->ApplyConfChange(Changes("v2")).ok());
  EXPECT_EQ(r->tracker().VoterNodes(), (std::vector<uint64_t>{1, 2}));
  const Progress& pr = r->tracker().progress.at(2);
  EXPECT_EQ(pr.match, 0u);
  EXPECT_FALSE(pr.is_learner);
}

TEST(MembershipTest, RemovingAVoterLetsThePendingEntryCommitWithTheSmallerQuorum) {
  TestMember r = ReadyLeader({1, 2});
  ASSERT_TRUE(r->Step(Proposal(1, "x")).ok());
  ReadMessages(*r);
  const uint64_t index = r->log().LastIndex();
  EXPECT_LT(r->log().committed(), index);
  ASSERT_TRUE(r->ApplyConfChange(Changes("r2")).ok());
  EXPECT_EQ(r->tracker().VoterNodes(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(r->log().committed(), index);
}

TEST(MembershipTest, ARemovedLeaderDropsProposals) {
  TestMember r = ReadyLeader({1, 2});
  ASSERT_TRUE(r->ApplyConfChange(Changes("r1")).ok());
  EXPECT_EQ(r->state(), StateType::kLeader);
  EXPECT_TRUE(IsError(r->Step(Proposal(1, "x")), Error::kProposalDropped));
}

TEST(MembershipTest, LearnersReceiveEntriesButDoNotCountTowardCommit) {
  TestMember r = ReadyLeader({1}, {2});
  ASSERT_TRUE(r->Step(Proposal(1, "x")).ok());
  // The single voter commits alone; the learner is sent the entry anyway.
  EXPECT_EQ(r->log().committed(), r->log().LastIndex());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to(), 2u);
  EXPECT_EQ(out[0].type(), raftpb::MsgApp);
}

TEST(MembershipTest, LearnersAreReplicatedToInANetwork) {
  std::vector<TestMember> members;
  members.push_back(NewTestMember(1, 10, 1, StorageWithPeers({1}, {2})));
  members.push_back(NewTestMember(2, 10, 1, StorageWithPeers({1}, {2})));
  TestNetwork network(std::move(members));
  Raft& learner = network.raft(2);
  for (int i = 0; i < 30; i++) learner.Tick();
  EXPECT_TRUE(ReadMessages(learner).empty());
  network.Campaign(1);
  network.Propose(1, "somedata");
  EXPECT_EQ(learner.log().committed(), 2u);
  EXPECT_EQ(learner.log().committed(), network.raft(1).log().committed());
  EXPECT_EQ(network.raft(1).tracker().progress.at(2).match, 2u);
}

TEST(MembershipTest, CheckQuorumIgnoresLearners) {
  TestMember r = NewTestMember(1, 10, 1, StorageWithPeers({1}, {2}),
                               [](Config& c) { c.check_quorum = true; });
  r->BecomeCandidate();
  r->BecomeLeader();
  // The learner never answers; the single voter is a quorum on its own.
  for (int i = 0; i < 50; i++) r->Tick();
  EXPECT_EQ(r->state(), StateType::kLeader);
}

TEST(MembershipTest, ALeaderAcceptsOneConfChangeAtATime) {
  TestMember r = ReadyLeader({1, 2});
  ASSERT_TRUE(r->Step(ConfChangeProposal(Changes("v3"))).ok());
  const uint64_t first = r->log().LastIndex();
  EXPECT_EQ(r->pending_conf_index(), first);
  // A second change while the first is unapplied becomes an empty entry.
  ASSERT_TRUE(r->Step(ConfChangeProposal(Changes("v4"))).ok());
  absl::StatusOr<std::vector<Entry>> second =
      r->log().Slice(first + 1, first + 2, kNoLimit);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)[0].type(), raftpb::EntryNormal);
  EXPECT_TRUE((*second)[0].data().empty());
  EXPECT_EQ(r->pending_conf_index(), first);
}

TEST(MembershipTest, ANewLeaderRefusesConfChangesUntilItsFirstEntryIsApplied) {
  TestMember r = NewTestMember(1, {1, 2});
  r->BecomeCandidate();
  r->BecomeLeader();
  // The empty entry of the term is at 1; nothing is applied yet.
  EXPECT_EQ(r->pending_conf_index(), 1u);
  ASSERT_TRUE(r->Step(ConfChangeProposal(Changes("v3"))).ok());
  absl::StatusOr<std::vector<Entry>> entries = r->log().Slice(2, 3, kNoLimit);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ((*entries)[0].type(), raftpb::EntryNormal);
  // After the empty entry commits and is applied, changes are accepted.
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, r->term());
  ack.set_index(2);
  ASSERT_TRUE(r->Step(ack).ok());
  ApplyCommitted(*r, *r.storage);
  ASSERT_TRUE(r->Step(ConfChangeProposal(Changes("v3"))).ok());
  entries = r->log().Slice(3, 4, kNoLimit);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ((*entries)[0].type(), raftpb::EntryConfChangeV2);
}

TEST(MembershipTest, JointConfigsCommitOnlyWithBothMajorities) {
  TestMember r = ReadyLeader({1, 2, 3});
  // (1 4 5)&&(1 2 3)
  ASSERT_TRUE(r->ApplyConfChange(Changes("r2 r3 v4 v5")).ok());
  EXPECT_EQ(r->tracker().config.String(), "voters=(1 4 5)&&(1 2 3) autoleave");
  ASSERT_TRUE(r->Step(Proposal(1, "x")).ok());
  const uint64_t index = r->log().LastIndex();
  auto ack = [&](uint64_t from) {
    Message m = MakeMessage(from, 1, raftpb::MsgAppResp, r->term());
    m.set_index(index);
    ASSERT_TRUE(r->Step(m).ok());
  };
  ack(2);
  ack(3);  // a majority of the old voters only
  EXPECT_LT(r->log().committed(), index);
  ack(4);  // now both
  EXPECT_EQ(r->log().committed(), index);
}

TEST(MembershipTest, JointConfigsElectOnlyWithBothMajorities) {
  TestMember r = NewTestMember(1, {1, 2, 3});
  ASSERT_TRUE(r->ApplyConfChange(Changes("r2 r3 v4 v5")).ok());
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
  EXPECT_EQ(ReadMessages(*r).size(), 4u);  // 2, 3, 4 and 5
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgVoteResp, 1)).ok());
  EXPECT_EQ(r->state(), StateType::kCandidate);
  ASSERT_TRUE(r->Step(MakeMessage(4, 1, raftpb::MsgVoteResp, 1)).ok());
  EXPECT_EQ(r->state(), StateType::kLeader);
}

TEST(MembershipTest, TheLeaderLeavesAnAutoLeaveJointConfigOnceApplied) {
  std::vector<TestMember> members(3);
  TestNetwork network(std::move(members));
  network.Campaign(1);
  Raft& leader = network.raft(1);
  for (uint64_t id : network.ids()) ApplyCommitted(network.raft(id), network.storage(id));
  ASSERT_TRUE(leader.Step(ConfChangeProposal(Changes("v4 l3"))).ok());
  network.Send(ReadMessages(leader));
  // Applying the joint entry makes the leader propose leaving it.
  for (uint64_t id : network.ids()) ApplyCommitted(network.raft(id), network.storage(id));
  EXPECT_EQ(leader.tracker().config.String(),
            "voters=(1 2 4)&&(1 2 3) learners_next=(3) autoleave");
  network.Send(ReadMessages(leader));
  for (uint64_t id : network.ids()) ApplyCommitted(network.raft(id), network.storage(id));
  EXPECT_EQ(leader.tracker().config.String(), "voters=(1 2 4) learners=(3)");
  EXPECT_EQ(network.raft(2).tracker().config.String(), "voters=(1 2 4) learners=(3)");
  EXPECT_TRUE(network.raft(3).is_learner());
}

TEST(MembershipTest, AnExplicitJointConfigWaitsForTheEmptyChange) {
  TestMember r = ReadyLeader({1});
  ASSERT_TRUE(r->Step(ConfChangeProposal(
                          Changes("v2", raftpb::ConfChangeTransitionJointExplicit)))
                  .ok());
  ApplyCommitted(*r, *r.storage);
  EXPECT_EQ(r->tracker().config.String(), "voters=(1 2)&&(1)");
  const uint64_t last = r->log().LastIndex();
  // Nothing is proposed automatically.
  ApplyCommitted(*r, *r.storage);
  EXPECT_EQ(r->log().LastIndex(), last);
  // Any other change is refused while joint.
  ASSERT_TRUE(r->Step(ConfChangeProposal(Changes("v3"))).ok());
  absl::StatusOr<std::vector<Entry>> entry = r->log().Slice(last + 1, last + 2, kNoLimit);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ((*entry)[0].type(), raftpb::EntryNormal);
  ReadMessages(*r);
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, r->term());
  ack.set_index(last + 1);
  ASSERT_TRUE(r->Step(ack).ok());
  ApplyCommitted(*r, *r.storage);
  // The empty change leaves.
  ASSERT_TRUE(r->Step(ConfChangeProposal(ConfChangeV2())).ok());
  ack.set_index(last + 2);
  ASSERT_TRUE(r->Step(ack).ok());
  ApplyCommitted(*r, *r.storage);
  EXPECT_EQ(r->tracker().config.String(), "voters=(1 2)");
}

TEST(MembershipTest, AnEmptyChangeOutsideAJointConfigIsRefused) {
  TestMember r = ReadyLeader({1});
  ASSERT_TRUE(r->Step(ConfChangeProposal(ConfChangeV2())).ok());
  absl::StatusOr<std::vector<Entry>> entry =
      r->log().Slice(r->log().LastIndex(), r->log().LastIndex() + 1, kNoLimit);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ((*entry)[0].type(), raftpb::EntryNormal);
}

TEST(MembershipTest, AnInvalidChangeIsRefusedAndLeavesTheConfigAlone) {
  TestMember r = NewTestMember(1, {1, 2});
  // Removing every voter.
  absl::StatusOr<ConfState> result = r->ApplyConfChange(Changes("r1 r2"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r->tracker().config.String(), "voters=(1 2)");
  // Leaving a joint config that is not joint.
  EXPECT_FALSE(r->ApplyConfChange(ConfChangeV2()).ok());
  EXPECT_EQ(r->tracker().config.String(), "voters=(1 2)");
}

TEST(MembershipTest, AppliedChangesReturnTheNewConfState) {
  TestMember r = NewTestMember(1, {1});
  absl::StatusOr<ConfState> state = r->ApplyConfChange(Changes("v2 l3"));
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->voters_size(), 2);
  EXPECT_EQ(state->voters_outgoing_size(), 1);
  EXPECT_EQ(state->learners_size(), 1);
  EXPECT_TRUE(state->auto_leave());
}

TEST(MembershipTest, RemovingTheTransfereeAbortsTheTransfer) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  network->Send(MakeMessage(3, 1, raftpb::MsgTransferLeader));
  ASSERT_EQ(network->raft(1).lead_transferee(), 3u);
  ASSERT_TRUE(network->raft(1).ApplyConfChange(Changes("r3")).ok());
  EXPECT_EQ(network->raft(1).lead_transferee(), kNone);
}

TEST(MembershipTest, AMemberRemovedFromTheGroupNoLongerCampaigns) {
  TestMember r = NewTestMember(2, {1, 2});
  ASSERT_TRUE(r->ApplyConfChange(Changes("r2")).ok());
  EXPECT_FALSE(r->Promotable());
  for (int i = 0; i < 50; i++) r->Tick();
  EXPECT_EQ(r->state(), StateType::kFollower);
  EXPECT_TRUE(ReadMessages(*r).empty());
}

}  // namespace
}  // namespace keel::raft
