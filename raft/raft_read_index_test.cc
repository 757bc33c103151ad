// ReadIndex: a leader answers a read only after it has committed an entry
// of its term and a quorum acknowledged a heartbeat sent after the request
// arrived (ReadOnlySafe); followers forward requests and learn the answer;
// the lease-based option answers from the check-quorum lease.
#include <gtest/gtest.h>

#include "raft/raft.h"
#include "raft/raft_test_util.h"

namespace keel::raft {
namespace {

using testing::MakeMessage;
using testing::NewTestMember;
using testing::ReadMessages;
using testing::TestNetwork;

Message ReadRequest(uint64_t to, std::string context) {
  Message m = MakeMessage(to, to, raftpb::MsgReadIndex);
  m.add_entries()->set_data(std::move(context));
  return m;
}

TEST(ReadIndexTest, SafeReadsAreAnsweredWithTheCommitIndexFromAnyMember) {
  auto network = TestNetwork::OfSize(3);
  for (uint64_t id : {1, 2, 3}) network->raft(id).set_randomized_election_timeout(100);
  network->Campaign(1);
  struct Case {
    uint64_t member;
    int proposals;
    uint64_t want_index;
    std::string context;
  } cases[] = {
      {1, 10, 11, "ctx1"}, {2, 10, 21, "ctx2"}, {3, 10, 31, "ctx3"},
      {1, 10, 41, "ctx4"}, {2, 10, 51, "ctx5"}, {3, 10, 61, "ctx6"},
  };
  for (const Case& c : cases) {
    for (int i = 0; i < c.proposals; i++) network->Propose(1, "x");
    network->Send(ReadRequest(c.member, c.context));
    std::vector<ReadState> states = network->raft(c.member).TakeReadStates();
    ASSERT_EQ(states.size(), 1u) << c.context;
    EXPECT_EQ(states[0].index, c.want_index);
    EXPECT_EQ(states[0].request_context, c.context);
  }
}

TEST(ReadIndexTest, ALeaderWaitsForAQuorumOfHeartbeatAcks) {
  auto r = NewTestMember(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  // Commit the empty entry of the term.
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
  ack.set_index(1);
  ASSERT_TRUE(r->Step(ack).ok());
  ReadMessages(*r);
  ASSERT_TRUE(r->Step(ReadRequest(1, "ctx")).ok());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 2u);
  for (const Message& m : out) {
    EXPECT_EQ(m.type(), raftpb::MsgHeartbeat);
    EXPECT_EQ(m.context(), "ctx");
  }
  EXPECT_TRUE(r->read_states().empty());
  // An ack without the context (a plain heartbeat's) does not count.
  ASSERT_TRUE(r->Step(MakeMessage(3, 1, raftpb::MsgHeartbeatResp, 1)).ok());
  EXPECT_TRUE(r->read_states().empty());
  Message beat_ack = MakeMessage(3, 1, raftpb::MsgHeartbeatResp, 1);
  beat_ack.set_context("ctx");
  ASSERT_TRUE(r->Step(beat_ack).ok());
  std::vector<ReadState> states = r->TakeReadStates();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].index, 1u);
  // A late duplicate ack finds nothing pending.
  ASSERT_TRUE(r->Step(beat_ack).ok());
  EXPECT_TRUE(r->read_states().empty());
}

TEST(ReadIndexTest, AnAckForALaterRequestConfirmsEarlierOnes) {
  auto r = NewTestMember(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
  ack.set_index(1);
  ASSERT_TRUE(r->Step(ack).ok());
  ASSERT_TRUE(r->Step(ReadRequest(1, "a")).ok());
  ASSERT_TRUE(r->Step(ReadRequest(1, "b")).ok());
  ReadMessages(*r);
  Message beat_ack = MakeMessage(2, 1, raftpb::MsgHeartbeatResp, 1);
  beat_ack.set_context("b");
  ASSERT_TRUE(r->Step(beat_ack).ok());
  std::vector<ReadState> states = r->TakeReadStates();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].request_context, "a");
  EXPECT_EQ(states[1].request_context, "b");
}

TEST(ReadIndexTest, ANewLeaderHoldsReadsUntilItCommitsAnEntryOfItsTerm) {
  auto network = TestNetwork::OfSize(3);
  for (uint64_t id : {1, 2, 3}) network->raft(id).set_randomized_election_timeout(100);
  // 1 wins, but its empty entry cannot be committed yet.
  network->Ignore(raftpb::MsgApp);
  network->Campaign(1);
  Raft& leader = network->raft(1);
  ASSERT_EQ(leader.state(), StateType::kLeader);
  network->Send(ReadRequest(1, "ctx"));
  EXPECT_TRUE(leader.read_states().empty());
  EXPECT_EQ(leader.pending_read_index_count(), 1u);
  network->Recover();
  // The empty entry commits; the held request is released and confirmed.
  for (int i = 0; i < leader.randomized_election_timeout(); i++) {
    leader.Tick();
    network->Send(ReadMessages(leader));
  }
  std::vector<ReadState> states = leader.TakeReadStates();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].index, 1u);
  EXPECT_EQ(states[0].request_context, "ctx");
}

TEST(ReadIndexTest, FollowersWithoutALeaderDropReads) {
  auto r = NewTestMember(2, {1, 2, 3});
  ASSERT_TRUE(r->Step(ReadRequest(2, "ctx")).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());
  EXPECT_TRUE(r->read_states().empty());
}

TEST(ReadIndexTest, ASingleVoterAnswersAtOnce) {
  auto network = TestNetwork::OfSize(1);
  network->Campaign(1);
  network->Send(ReadRequest(1, "ctx"));
  std::vector<ReadState> states = network->raft(1).TakeReadStates();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].index, 1u);
}

TEST(ReadIndexTest, LearnersForwardReadsToo) {
  std::vector<testing::TestMember> members;
  members.push_back(NewTestMember(1, 10, 1, testing::StorageWithPeers({1}, {2})));
  members.push_back(NewTestMember(2, 10, 1, testing::StorageWithPeers({1}, {2})));
  TestNetwork network(std::move(members));
  network.Campaign(1);
  network.Propose(1, "x");
  network.Send(ReadRequest(2, "ctx"));
  std::vector<ReadState> states = network.raft(2).TakeReadStates();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].index, 2u);
}

TEST(ReadIndexTest, LeaseBasedReadsAreAnsweredWithoutAHeartbeatRound) {
  auto network = TestNetwork::OfSize(3, [](Config& c) {
    c.check_quorum = true;
    c.read_only = ReadOnlyOption::kLeaseBased;
  });
  network->Campaign(1);
  network->Propose(1, "x");
  int heartbeats = 0;
  network->message_hook = [&](const Message& m) {
    if (m.type() == raftpb::MsgHeartbeat) heartbeats++;
    return true;
  };
  network->Send(ReadRequest(2, "ctx"));
  EXPECT_EQ(heartbeats, 0);
  std::vector<ReadState> states = network->raft(2).TakeReadStates();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].index, 2u);
}

TEST(ReadIndexTest, LeaseBasedReadsNeedCheckQuorum) {
  MemoryStorage storage;
  Random rng(1);
  Config config = testing::TestConfig(1, 10, 1, storage, rng);
  config.read_only = ReadOnlyOption::kLeaseBased;
  EXPECT_FALSE(config.Validate().ok());
}

TEST(ReadIndexTest, PendingReadsAreDroppedWhenTheLeaderStepsDown) {
  auto r = NewTestMember(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  ASSERT_TRUE(r->Step(ReadRequest(1, "held")).ok());
  EXPECT_EQ(r->pending_read_index_count(), 1u);
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgApp, 5)).ok());
  EXPECT_EQ(r->state(), StateType::kFollower);
  EXPECT_EQ(r->pending_read_index_count(), 0u);
  EXPECT_EQ(r->read_only().pending_count(), 0u);
}

}  // namespace
}  // namespace keel::raft
