// Leader election and its extensions: elections with missing members and
// stale logs, split votes, pre-vote (a partitioned member cannot disrupt
// the group), check quorum (a leader without a quorum steps down), the
// leader lease (votes are ignored while a leader is heard from), learners
// (never campaign, still vote) and campaigns blocked by unapplied
// configuration changes.
#include <gtest/gtest.h>

#include "raft/raft.h"
#include "raft/raft_test_util.h"

namespace keel::raft {
namespace {

using testing::BlackHole;
using testing::Configure;
using testing::EntriesWithTerms;
using testing::MakeEntry;
using testing::MakeMessage;
using testing::NewTestMember;
using testing::NextEntries;
using testing::ReadMessages;
using testing::StorageWithEntries;
using testing::StorageWithPeers;
using testing::TestMember;
using testing::TestNetwork;

const Configure kPreVote = [](Config& c) { c.pre_vote = true; };
const Configure kCheckQuorum = [](Config& c) { c.check_quorum = true; };
const Configure kPreVoteAndCheckQuorum = [](Config& c) {
  c.pre_vote = true;
  c.check_quorum = true;
};

// A member of {1..n} whose log holds entries of the given terms.
TestMember MemberWithLog(uint64_t id, std::vector<uint64_t> voters,
                         std::vector<uint64_t> terms,
                         const Configure& configure = {}) {
  auto storage = StorageWithEntries(voters, EntriesWithTerms(terms));
  if (!terms.empty()) {
    HardState state;
    state.set_term(terms.back());
    storage->SetHardState(state);
  }
  return NewTestMember(id, 10, 1, std::move(storage), configure);
}

// Ticks r until its election timer fires.
void TickUntilElection(Raft& r) {
  r.set_randomized_election_timeout(r.election_timeout());
  for (int i = 0; i < r.election_timeout(); i++) r.Tick();
}

void CheckLeaderElection(bool pre_vote) {
  const Configure configure = pre_vote ? kPreVote : Configure();
  const StateType lost = pre_vote ? StateType::kPreCandidate : StateType::kCandidate;
  struct Case {
    std::function<std::vector<TestMember>()> members;
    StateType want;
    uint64_t want_term;
  } cases[] = {
      {[] { return std::vector<TestMember>(3); }, StateType::kLeader, 1},
      {[] {
         std::vector<TestMember> m(2);
         m.push_back(BlackHole());
         return m;
       },
       StateType::kLeader, 1},
      {[] {
         std::vector<TestMember> m(1);
         m.push_back(BlackHole());
         m.push_back(BlackHole());
         return m;
       },
       lost, 1},
      {[] {
         std::vector<TestMember> m(1);
         m.push_back(BlackHole());
         m.push_back(BlackHole());
         m.emplace_back();
         return m;
       },
       lost, 1},
      {[] {
         std::vector<TestMember> m(1);
         m.push_back(BlackHole());
         m.push_back(BlackHole());
         m.emplace_back();
         m.emplace_back();
         return m;
       },
       StateType::kLeader, 1},
      // Three members whose logs are ahead of 1's: 1 loses and ends as a
      // follower at their term (1) either way.
      {[configure] {
         std::vector<uint64_t> ids = {1, 2, 3, 4};
         std::vector<TestMember> m(1);
         m.push_back(MemberWithLog(2, ids, {1}, configure));
         m.push_back(MemberWithLog(3, ids, {1}, configure));
         m.push_back(MemberWithLog(4, ids, {1, 1}, configure));
         m.emplace_back();
         return m;
       },
       StateType::kFollower, 1},
  };
  for (size_t i = 0; i < std::size(cases); i++) {
    std::vector<TestMember> members = cases[i].members();
    TestNetwork network(std::move(members), configure);
    network.Campaign(1);
    Raft& r = network.raft(1);
    StateType want = cases[i].want;
    uint64_t want_term = cases[i].want_term;
    // A pre-candidate that cannot win never raises its term.
    if (pre_vote && want == StateType::kPreCandidate) want_term = 0;
    EXPECT_EQ(r.state(), want) << "case " << i;
    EXPECT_EQ(r.term(), want_term) << "case " << i;
  }
}

TEST(ElectionTest, ACandidateWinsWithVotesFromAMajority) {
  CheckLeaderElection(/*pre_vote=*/false);
}

TEST(ElectionTest, APreCandidateWinsOnlyIfAMajorityWouldVote) {
  CheckLeaderElection(/*pre_vote=*/true);
}

TEST(ElectionTest, ASingleMemberElectsItself) {
  for (const Configure& configure : {Configure(), kPreVote}) {
    auto network = TestNetwork::OfSize(1, configure);
    network->Campaign(1);
    EXPECT_EQ(network->raft(1).state(), StateType::kLeader);
    EXPECT_EQ(network->raft(1).term(), 1u);
  }
}

TEST(ElectionTest, DuelingCandidatesResolveToOneLeader) {
  auto network = TestNetwork::OfSize(3);
  network->Cut(1, 3);
  network->Campaign(1);
  network->Campaign(3);
  // 1 won with 2's vote; 3 could not win (2 had voted).
  EXPECT_EQ(network->raft(1).state(), StateType::kLeader);
  EXPECT_EQ(network->raft(3).state(), StateType::kCandidate);
  network->Recover();
  // 3 campaigns again at a higher term but its log is behind: 1 and 2
  // reject, and 1 steps down because of the higher term.
  network->Campaign(3);
  EXPECT_EQ(network->raft(1).state(), StateType::kFollower);
  EXPECT_EQ(network->raft(2).state(), StateType::kFollower);
  EXPECT_EQ(network->raft(3).state(), StateType::kFollower);
  EXPECT_EQ(network->raft(3).term(), 2u);
  EXPECT_EQ(network->raft(1).log().LastIndex(), 1u);
  EXPECT_EQ(network->raft(3).log().LastIndex(), 0u);
}

TEST(ElectionTest, DuelingPreCandidatesDoNotRaiseTerms) {
  auto network = TestNetwork::OfSize(3, kPreVote);
  network->Cut(1, 3);
  network->Campaign(1);
  network->Campaign(3);
  EXPECT_EQ(network->raft(1).state(), StateType::kLeader);
  // 3's pre-vote was rejected by 2 (it hears from a leader... or its log is
  // behind): 3 stays a follower at term 0.
  EXPECT_EQ(network->raft(3).state(), StateType::kFollower);
  network->Recover();
  network->Campaign(3);
  // 3 cannot get a pre-vote: 1 keeps leading at term 1.
  EXPECT_EQ(network->raft(1).state(), StateType::kLeader);
  EXPECT_EQ(network->raft(1).term(), 1u);
  EXPECT_EQ(network->raft(3).state(), StateType::kFollower);
  EXPECT_EQ(network->raft(3).term(), 1u);
}

TEST(ElectionTest, ACandidateConcedesToTheLeaderItHearsFrom) {
  auto network = TestNetwork::OfSize(3);
  network->Isolate(1);
  network->Campaign(1);
  network->Campaign(3);
  network->Recover();
  // 3 is the leader; its heartbeat reaches candidate 1, which concedes.
  network->Send(MakeMessage(3, 3, raftpb::MsgBeat));
  network->Propose(3, "force follower");
  network->Send(MakeMessage(3, 3, raftpb::MsgBeat));
  EXPECT_EQ(network->raft(1).state(), StateType::kFollower);
  EXPECT_EQ(network->raft(1).term(), 1u);
  EXPECT_EQ(network->raft(1).log().LastIndex(), 2u);
  EXPECT_EQ(network->raft(1).log().committed(), 2u);
}

TEST(ElectionTest, AnyMemberGrantsAVoteForAHigherTermWithAnUpToDateLog) {
  for (MessageType type : {raftpb::MsgVote, raftpb::MsgPreVote}) {
    for (StateType state : {StateType::kFollower, StateType::kCandidate,
                            StateType::kPreCandidate, StateType::kLeader}) {
      TestMember r = NewTestMember(1, {1, 2, 3});
      switch (state) {
        case StateType::kFollower:
          r->BecomeFollower(1, 3);
          break;
        case StateType::kPreCandidate:
          r->BecomePreCandidate();
          break;
        case StateType::kCandidate:
          r->BecomeCandidate();
          break;
        case StateType::kLeader:
          r->BecomeCandidate();
          r->BecomeLeader();
          break;
      }
      const uint64_t term = r->term();
      Message request = MakeMessage(2, 1, type, term + 1);
      request.set_log_term(term + 1);
      request.set_index(42);
      ASSERT_TRUE(r->Step(request).ok());
      std::vector<Message> out = ReadMessages(*r);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].type(), VoteResponseType(type));
      EXPECT_FALSE(out[0].reject());
      // The response carries the request's term.
      EXPECT_EQ(out[0].term(), term + 1);
      if (type == raftpb::MsgVote) {
        // A real vote moves us to the new term as a follower of no one.
        EXPECT_EQ(r->state(), StateType::kFollower);
        EXPECT_EQ(r->term(), term + 1);
        EXPECT_EQ(r->vote(), 2u);
      } else {
        // A pre-vote changes nothing.
        EXPECT_EQ(r->state(), state);
        EXPECT_EQ(r->term(), term);
      }
    }
  }
}

TEST(ElectionTest, PreVoteRejectionsCarryTheVotersHigherTerm) {
  TestMember r = NewTestMember(1, {1, 2, 3});
  r->BecomeFollower(5, kNone);
  Message request = MakeMessage(2, 1, raftpb::MsgPreVote, 3);
  ASSERT_TRUE(r->Step(request).ok());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].reject());
  EXPECT_EQ(out[0].term(), 5u);
}

TEST(ElectionTest, APreCandidateThatLosesReturnsToItsTerm) {
  auto storage = StorageWithPeers({1, 2, 3});
  HardState state;
  state.set_term(2);
  storage->SetHardState(state);
  TestMember r = NewTestMember(1, 10, 1, std::move(storage), kPreVote);
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
  ASSERT_EQ(r->state(), StateType::kPreCandidate);
  EXPECT_EQ(r->term(), 2u);
  EXPECT_EQ(r->vote(), kNone);
  // Voters at our term reject (their logs are ahead, say).
  Message reject = MakeMessage(2, 1, raftpb::MsgPreVoteResp, 2);
  reject.set_reject(true);
  ASSERT_TRUE(r->Step(reject).ok());
  ASSERT_TRUE(r->Step(reject).ok());  // a duplicate counts once
  EXPECT_EQ(r->state(), StateType::kPreCandidate);
  reject.set_from(3);
  ASSERT_TRUE(r->Step(reject).ok());
  EXPECT_EQ(r->state(), StateType::kFollower);
  EXPECT_EQ(r->term(), 2u);
  EXPECT_EQ(r->vote(), kNone);
}

TEST(ElectionTest, APreVoteRejectionFromALaterTermMakesThePreCandidateFollow) {
  TestMember r = NewTestMember(1, {1, 2, 3}, 10, 1, kPreVote);
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
  Message reject = MakeMessage(2, 1, raftpb::MsgPreVoteResp, 4);
  reject.set_reject(true);
  ASSERT_TRUE(r->Step(reject).ok());
  EXPECT_EQ(r->state(), StateType::kFollower);
  EXPECT_EQ(r->term(), 4u);
}

TEST(ElectionTest, APreCandidateThatWinsCampaignsAtTheNextTerm) {
  TestMember r = NewTestMember(1, {1, 2, 3}, 10, 1, kPreVote);
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
  ReadMessages(*r);
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgPreVoteResp, 1)).ok());
  EXPECT_EQ(r->state(), StateType::kCandidate);
  EXPECT_EQ(r->term(), 1u);
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 2u);
  for (const Message& m : out) EXPECT_EQ(m.type(), raftpb::MsgVote);
}

TEST(ElectionTest, PreVoteKeepsAPartitionedMemberFromDisruptingTheGroup) {
  auto network = TestNetwork::OfSize(3, kPreVote);
  network->Campaign(1);
  network->Isolate(3);
  network->Propose(1, "somedata");
  // 3 times out again and again while partitioned.
  for (int i = 0; i < 5; i++) network->Campaign(3);
  EXPECT_EQ(network->raft(3).term(), 1u);
  EXPECT_EQ(network->raft(3).state(), StateType::kPreCandidate);
  network->Recover();
  // Back in the group, its campaign fails the pre-vote: its log is behind.
  network->Campaign(3);
  EXPECT_EQ(network->raft(1).state(), StateType::kLeader);
  EXPECT_EQ(network->raft(1).term(), 1u);
}

TEST(ElectionTest, WithoutPreVoteAPartitionedMemberDisruptsTheGroup) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Isolate(3);
  network->Propose(1, "somedata");
  for (int i = 0; i < 3; i++) network->Campaign(3);
  EXPECT_EQ(network->raft(3).term(), 4u);
  network->Recover();
  // 1 steps down on seeing term 4 in 3's vote request, though 3 cannot win.
  network->Campaign(3);
  EXPECT_EQ(network->raft(1).state(), StateType::kFollower);
  EXPECT_EQ(network->raft(1).term(), 5u);
}

TEST(ElectionTest, CheckQuorumMakesALeaderWithoutAQuorumStepDown) {
  auto network = TestNetwork::OfSize(3, kCheckQuorum);
  network->Campaign(1);
  ASSERT_EQ(network->raft(1).state(), StateType::kLeader);
  network->Isolate(1);
  Raft& leader = network->raft(1);
  // One election timeout: the round that starts now records who answered.
  for (int i = 0; i < 2 * leader.election_timeout(); i++) leader.Tick();
  ReadMessages(leader);
  EXPECT_EQ(leader.state(), StateType::kFollower);
  EXPECT_EQ(leader.lead(), kNone);
}

TEST(ElectionTest, CheckQuorumKeepsALeaderThatHearsFromAQuorum) {
  auto network = TestNetwork::OfSize(3, kCheckQuorum);
  network->Campaign(1);
  network->Isolate(3);
  Raft& leader = network->raft(1);
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < leader.election_timeout(); i++) {
      leader.Tick();
      network->Send(ReadMessages(leader));
    }
  }
  EXPECT_EQ(leader.state(), StateType::kLeader);
}

TEST(ElectionTest, LeaseMakesMembersIgnoreVotesWhileTheyHearFromALeader) {
  auto network = TestNetwork::OfSize(3, kCheckQuorum);
  Raft& a = network->raft(1);
  Raft& c = network->raft(3);
  // Make 2's timer fire late so it never campaigns here.
  network->raft(2).set_randomized_election_timeout(2 * 10 + 1);
  network->Campaign(1);
  ASSERT_EQ(a.state(), StateType::kLeader);
  network->Campaign(3);
  // 3's vote request is ignored: 2 heard from 1 within the lease.
  EXPECT_EQ(c.state(), StateType::kCandidate);
  EXPECT_EQ(a.state(), StateType::kLeader);
  // Once 2's lease has run out (no heartbeats reached it), 3 can win.
  for (int i = 0; i < 10; i++) network->raft(2).Tick();
  ReadMessages(network->raft(2));
  network->Campaign(3);
  EXPECT_EQ(c.state(), StateType::kLeader);
}

TEST(ElectionTest, LeaseIsIgnoredForATransferCampaign) {
  auto network = TestNetwork::OfSize(3, kCheckQuorum);
  network->Campaign(1);
  Message request = MakeMessage(3, 2, raftpb::MsgVote, 2);
  request.set_log_term(1);
  request.set_index(1);
  request.set_context(std::string(kCampaignTransferContext));
  ASSERT_TRUE(network->raft(2).Step(request).ok());
  std::vector<Message> out = ReadMessages(network->raft(2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].reject());
}

TEST(ElectionTest, AStuckCandidateIsFreedByCheckQuorum) {
  auto network = TestNetwork::OfSize(3, kCheckQuorum);
  network->raft(2).set_randomized_election_timeout(21);
  network->Campaign(1);
  network->Isolate(1);
  Raft& c = network->raft(3);
  // 2 hears from no leader now, but its lease has not expired: it ignores
  // 3's vote requests, and 3 is stuck raising its term.
  network->Campaign(3);
  EXPECT_EQ(c.state(), StateType::kCandidate);
  EXPECT_EQ(c.term(), network->raft(2).term() + 1);
  network->Campaign(3);
  EXPECT_EQ(c.term(), network->raft(2).term() + 2);
  network->Recover();
  // The old leader's heartbeat is answered with 3's higher term (check
  // quorum makes followers and candidates answer stale heartbeats), so it
  // steps down and the group can elect a leader again.
  network->Send(MakeMessage(1, 1, raftpb::MsgBeat));
  EXPECT_EQ(network->raft(1).state(), StateType::kFollower);
  EXPECT_EQ(network->raft(1).term(), c.term());
  network->Campaign(3);
  EXPECT_EQ(c.state(), StateType::kLeader);
}

TEST(ElectionTest, AStaleLeaderStepsDownOnAnAppendResponseOfAHigherTerm) {
  for (const Configure& configure : {kCheckQuorum, kPreVote}) {
    TestMember r = NewTestMember(2, {1, 2, 3}, 10, 1, configure);
    r->BecomeFollower(3, kNone);
    // A leader of term 1 appends: it gets a response at our term.
    ASSERT_TRUE(r->Step(MakeMessage(1, 2, raftpb::MsgApp, 1)).ok());
    std::vector<Message> out = ReadMessages(*r);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type(), raftpb::MsgAppResp);
    EXPECT_EQ(out[0].term(), 3u);
  }
  // Without either option the stale message is ignored silently.
  TestMember plain = NewTestMember(2, {1, 2, 3});
  plain->BecomeFollower(3, kNone);
  ASSERT_TRUE(plain->Step(MakeMessage(1, 2, raftpb::MsgApp, 1)).ok());
  EXPECT_TRUE(ReadMessages(*plain).empty());
}

TEST(ElectionTest, PreVoteWithCheckQuorumElectsANewLeaderAfterTheOldOneFails) {
  auto network = TestNetwork::OfSize(3, kPreVoteAndCheckQuorum);
  network->Campaign(1);
  network->Isolate(1);
  // 2 and 3 stop hearing from 1; once their lease has expired, one of them
  // wins the pre-vote and the election.
  for (uint64_t id : {2, 3}) {
    for (int i = 0; i < 10; i++) network->raft(id).Tick();
    ReadMessages(network->raft(id));
  }
  network->Campaign(2);
  EXPECT_EQ(network->raft(2).state(), StateType::kLeader);
  EXPECT_EQ(network->raft(2).term(), 2u);
}

TEST(ElectionTest, LearnersNeverCampaignButDoVote) {
  auto storage = StorageWithPeers({1}, {2});
  TestMember learner = NewTestMember(2, 10, 1, std::move(storage));
  EXPECT_TRUE(learner->is_learner());
  for (int i = 0; i < 100; i++) learner->Tick();
  EXPECT_EQ(learner->state(), StateType::kFollower);
  EXPECT_TRUE(ReadMessages(*learner).empty());
  ASSERT_TRUE(learner->Step(MakeMessage(2, 2, raftpb::MsgHup)).ok());
  EXPECT_EQ(learner->state(), StateType::kFollower);
  // A learner that is asked for its vote gives it: the candidate may know
  // of a configuration in which it was promoted.
  Message request = MakeMessage(1, 2, raftpb::MsgVote, 2);
  ASSERT_TRUE(learner->Step(request).ok());
  std::vector<Message> out = ReadMessages(*learner);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].reject());
}

TEST(ElectionTest, APromotedLearnerCanCampaign) {
  auto storage = StorageWithPeers({1}, {2});
  TestMember learner = NewTestMember(2, 10, 1, std::move(storage));
  ConfChangeV2 promote;
  promote.add_changes()->set_node_id(2);
  ASSERT_TRUE(learner->ApplyConfChange(promote).ok());
  EXPECT_FALSE(learner->is_learner());
  TickUntilElection(*learner);
  EXPECT_EQ(learner->state(), StateType::kCandidate);
}

TEST(ElectionTest, UnappliedConfChangesPreventCampaigning) {
  auto storage = StorageWithPeers({1, 2});
  Entry change = MakeEntry(1, 1);
  change.set_type(raftpb::EntryConfChangeV2);
  ConfChangeV2 v2;
  v2.add_changes()->set_node_id(3);
  change.set_data(v2.SerializeAsString());
  ASSERT_TRUE(storage->Append({change}).ok());
  HardState state;
  state.set_term(1);
  state.set_commit(1);
  storage->SetHardState(state);
  TestMember r = NewTestMember(1, 10, 1, std::move(storage));
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
  EXPECT_EQ(r->state(), StateType::kFollower);
  // Once applied, the campaign goes ahead.
  NextEntries(*r, *r.storage);
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
  EXPECT_EQ(r->state(), StateType::kCandidate);
}

TEST(ElectionTest, ALeaderIgnoresHupAndCampaignsNever) {
  auto network = TestNetwork::OfSize(3, kPreVote);
  network->Campaign(1);
  network->Campaign(1);
  EXPECT_EQ(network->raft(1).state(), StateType::kLeader);
  EXPECT_EQ(network->raft(1).term(), 1u);
}

TEST(ElectionTest, VotesFromAnEarlierElectionAreNotCounted) {
  TestMember r = NewTestMember(1, {1, 2, 3});
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
  ASSERT_EQ(r->term(), 2u);
  // A grant for term 1 is stale.
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgVoteResp, 1)).ok());
  EXPECT_EQ(r->state(), StateType::kCandidate);
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgVoteResp, 2)).ok());
  EXPECT_EQ(r->state(), StateType::kLeader);
}

}  // namespace
}  // namespace keel::raft
