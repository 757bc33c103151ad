// Leadership transfer: the leader catches the transferee up, then sends
// MsgTimeoutNow, and the transferee campaigns at once (past any lease).
// Proposals are refused while a transfer runs; it is abandoned after an
// election timeout, when the transferee is removed, or when another
// transfer replaces it.
#include <gtest/gtest.h>

#include "raft/errors.h"
#include "raft/raft.h"
#include "raft/raft_test_util.h"

namespace keel::raft {
namespace {

using testing::Configure;
using testing::MakeMessage;
using testing::NewTestMember;
using testing::NextEntries;
using testing::Proposal;
using testing::ReadMessages;
using testing::TestNetwork;

Message Transfer(uint64_t leader, uint64_t transferee) {
  return MakeMessage(transferee, leader, raftpb::MsgTransferLeader);
}

void CheckLeader(TestNetwork& network, uint64_t id, uint64_t term,
                 uint64_t lead) {
  Raft& r = network.raft(id);
  EXPECT_EQ(r.state(), lead == id ? StateType::kLeader : StateType::kFollower) << id;
  EXPECT_EQ(r.term(), term) << id;
  EXPECT_EQ(r.lead(), lead) << id;
}

TEST(TransferTest, AnUpToDateFollowerTakesOverAtOnce) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Send(Transfer(1, 2));
  CheckLeader(*network, 1, 2, 2);
  CheckLeader(*network, 2, 2, 2);
  EXPECT_EQ(network->raft(1).lead_transferee(), kNone);
  // And back.
  network->Propose(1, "");
  network->Send(Transfer(2, 1));
  CheckLeader(*network, 1, 3, 1);
}

TEST(TransferTest, AFollowerForwardsATransferRequestForItself) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  // Stepped into the follower: it asks the leader to transfer to it.
  network->Send(MakeMessage(2, 2, raftpb::MsgTransferLeader));
  CheckLeader(*network, 1, 2, 2);
}

TEST(TransferTest, TransfersWorkDespiteTheLeaderLease) {
  auto network = TestNetwork::OfSize(3, [](Config& c) { c.check_quorum = true; });
  network->Campaign(1);
  // 2 hears from 1 constantly; the transfer campaign is forced anyway.
  network->Send(Transfer(1, 2));
  CheckLeader(*network, 1, 2, 2);
}

TEST(TransferTest, ASlowTransfereeIsCaughtUpFirst) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  network->Propose(1, "a");
  network->Propose(1, "b");
  network->Recover();
  ASSERT_LT(network->raft(1).tracker().progress.at(3).match,
            network->raft(1).log().LastIndex());
  network->Send(Transfer(1, 3));
  CheckLeader(*network, 1, 2, 3);
  EXPECT_EQ(network->raft(3).log().LastIndex(), 4u);
}

TEST(TransferTest, ATransfereeThatNeedsASnapshotGetsOneFirst) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  network->Propose(1, "a");
  // Compact 1's log so 3 needs a snapshot.
  Raft& leader = network->raft(1);
  MemoryStorage& storage = network->storage(1);
  NextEntries(leader, storage);
  ConfState state = leader.tracker().GetConfState();
  ASSERT_TRUE(storage.CreateSnapshot(leader.log().applied(), &state, "").ok());
  ASSERT_TRUE(storage.Compact(leader.log().applied()).ok());
  network->Recover();
  leader.mutable_tracker().progress.at(3).recent_active = true;
  int snapshots = 0;
  network->message_hook = [&](const Message& m) {
    if (m.type() == raftpb::MsgSnap) snapshots++;
    return true;
  };
  // The snapshot goes out first; 3 installs it (while it is still
  // unapplied, its unapplied range starts after the snapshot), answers
  // with its new last index, and then gets MsgTimeoutNow.
  network->Send(Transfer(1, 3));
  EXPECT_EQ(snapshots, 1);
  CheckLeader(*network, 1, 2, 3);
  EXPECT_EQ(leader.lead_transferee(), kNone);
}

TEST(TransferTest, TransfersToSelfOrToStrangersOrToLearnersAreIgnored) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Send(Transfer(1, 1));
  EXPECT_EQ(network->raft(1).lead_transferee(), kNone);
  network->Send(Transfer(1, 4));
  EXPECT_EQ(network->raft(1).lead_transferee(), kNone);
  CheckLeader(*network, 1, 1, 1);

  auto with_learner = testing::StorageWithPeers({1}, {2});
  auto leader = NewTestMember(1, 10, 1, std::move(with_learner));
  leader->BecomeCandidate();
  leader->BecomeLeader();
  ASSERT_TRUE(leader->Step(Transfer(1, 2)).ok());
  EXPECT_EQ(leader->lead_transferee(), kNone);
}

TEST(TransferTest, ATransferIsAbandonedAfterAnElectionTimeout) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  Raft& leader = network->raft(1);
  network->Send(Transfer(1, 3));
  ASSERT_EQ(leader.lead_transferee(), 3u);
  for (int i = 0; i < leader.election_timeout() - 1; i++) leader.Tick();
  EXPECT_EQ(leader.lead_transferee(), 3u);
  leader.Tick();
  ReadMessages(leader);
  EXPECT_EQ(leader.lead_transferee(), kNone);
  CheckLeader(*network, 1, 1, 1);
}

TEST(TransferTest, ProposalsAreDroppedDuringATransfer) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  network->Send(Transfer(1, 3));
  EXPECT_TRUE(IsError(network->raft(1).Step(Proposal(1, "x")), Error::kProposalDropped));
  EXPECT_EQ(network->raft(1).tracker().progress.at(1).match, 1u);
}

TEST(TransferTest, AHigherTermVoteEndsTheTransfer) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  network->Send(Transfer(1, 3));
  ASSERT_EQ(network->raft(1).lead_transferee(), 3u);
  network->Campaign(2);
  CheckLeader(*network, 1, 2, 2);
  EXPECT_EQ(network->raft(1).lead_transferee(), kNone);
}

TEST(TransferTest, TransferringBackToTheLeaderCancelsTheTransfer) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  network->Send(Transfer(1, 3));
  network->Send(Transfer(1, 1));
  EXPECT_EQ(network->raft(1).lead_transferee(), kNone);
  CheckLeader(*network, 1, 1, 1);
}

TEST(TransferTest, ASecondTransferReplacesTheFirst) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  network->Send(Transfer(1, 3));
  network->Send(Transfer(1, 2));
  CheckLeader(*network, 1, 2, 2);
}

TEST(TransferTest, RepeatingATransferDoesNotRestartItsTimer) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  Raft& leader = network->raft(1);
  network->Send(Transfer(1, 3));
  for (int i = 0; i < leader.election_timeout() / 2; i++) leader.Tick();
  network->Send(Transfer(1, 3));
  for (int i = 0; i < leader.election_timeout() - leader.election_timeout() / 2; i++) {
    leader.Tick();
  }
  ReadMessages(leader);
  EXPECT_EQ(leader.lead_transferee(), kNone);
}

TEST(TransferTest, TimeoutNowIsIgnoredByMembersThatCannotCampaign) {
  auto learner = NewTestMember(2, 10, 1, testing::StorageWithPeers({1}, {2}));
  ASSERT_TRUE(learner->Step(MakeMessage(1, 2, raftpb::MsgTimeoutNow, 1)).ok());
  EXPECT_EQ(learner->state(), StateType::kFollower);
  EXPECT_TRUE(ReadMessages(*learner).empty());
}

}  // namespace
}  // namespace keel::raft
