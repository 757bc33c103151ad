// The rules of the Raft paper's figure 2 ("Rules for Servers", RequestVote
// and AppendEntries receiver rules) and section 5, one test per rule, each
// named after it. Like etcd's raft_paper_test.go, these drive the Raft state
// machine directly and inspect the messages it emits.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "raft/describe.h"
#include "raft/raft.h"
#include "raft/raft_test_util.h"
#include "raft/raw_node.h"

namespace keel::raft {
namespace {

using testing::BlackHole;
using testing::EntriesWithTerms;
using testing::MakeEntry;
using testing::MakeMessage;
using testing::NewTestMember;
using testing::NextEntries;
using testing::Proposal;
using testing::ReadMessages;
using testing::StorageWithEntries;
using testing::StorageWithPeers;
using testing::TestMember;
using testing::TestNetwork;

std::vector<std::string> Describe(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(DescribeMessage(m));
  std::sort(out.begin(), out.end());
  return out;
}

// The follower's answer to a MsgApp that it accepts.
Message AcceptAndReply(const Message& m) {
  EXPECT_EQ(m.type(), raftpb::MsgApp);
  Message reply = MakeMessage(m.to(), m.from(), raftpb::MsgAppResp, m.term());
  reply.set_index(m.index() + m.entries_size());
  return reply;
}

// Makes r (a fresh leader) commit its empty entry with acks from everyone.
void CommitNoopEntry(Raft& r, MemoryStorage& storage) {
  ASSERT_EQ(r.state(), StateType::kLeader);
  r.BcastAppend();
  // Deliver the pending appends (the empty entry) and ack them.
  std::vector<Message> messages = ReadMessages(r);
  for (const Message& m : messages) {
    if (m.type() != raftpb::MsgApp || m.entries_size() != 1 ||
        !m.entries(0).data().empty()) {
      ADD_FAILURE() << "not a message to append noop entry: " << DescribeMessage(m);
    }
    ASSERT_TRUE(r.Step(AcceptAndReply(m)).ok());
  }
  // Drop the commit-index updates.
  ReadMessages(r);
  NextEntries(r, storage);
}

// --- Rules for all servers ---

void CheckUpdateTermFromMessage(StateType state) {
  TestMember r = NewTestMember(1, {1, 2, 3});
  switch (state) {
    case StateType::kFollower:
      r->BecomeFollower(1, 2);
      break;
    case StateType::kCandidate:
      r->BecomeCandidate();
      break;
    case StateType::kLeader:
      r->BecomeCandidate();
      r->BecomeLeader();
      break;
    default:
      break;
  }
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgApp, 2)).ok());
  EXPECT_EQ(r->term(), 2u);
  EXPECT_EQ(r->state(), StateType::kFollower);
}

// "If RPC request or response contains term T > currentTerm: set
// currentTerm = T, convert to follower."
TEST(RaftPaperTest, AllServersAdoptAHigherTermAndBecomeFollowers) {
  CheckUpdateTermFromMessage(StateType::kFollower);
  CheckUpdateTermFromMessage(StateType::kCandidate);
  CheckUpdateTermFromMessage(StateType::kLeader);
}

// "Reply false if term < currentTerm": a message from an older term never
// reaches the role's handler.
TEST(RaftPaperTest, AllServersIgnoreMessagesFromAnOlderTerm) {
  auto storage = StorageWithPeers({1, 2});
  HardState state;
  state.set_term(2);
  storage->SetHardState(state);
  TestMember r = NewTestMember(1, 10, 1, std::move(storage));
  ASSERT_EQ(r->term(), 2u);
  Message stale = MakeMessage(2, 1, raftpb::MsgApp, 1);
  *stale.add_entries() = MakeEntry(1, 1, "x");
  ASSERT_TRUE(r->Step(stale).ok());
  EXPECT_EQ(r->log().LastIndex(), 0u);
  EXPECT_EQ(r->term(), 2u);
  EXPECT_TRUE(ReadMessages(*r).empty());
}

// Followers: "When servers start up, they begin as followers."
TEST(RaftPaperTest, ServersStartAsFollowers) {
  TestMember r = NewTestMember(1, {1, 2, 3});
  EXPECT_EQ(r->state(), StateType::kFollower);
  EXPECT_EQ(r->term(), 0u);
}

// Leaders: "Upon election: send initial empty AppendEntries RPCs (heartbeat)
// to each server; repeat during idle periods to prevent election timeouts."
TEST(RaftPaperTest, LeadersSendHeartbeatsEveryHeartbeatTimeout) {
  const int heartbeat = 1;
  TestMember r = NewTestMember(1, {1, 2, 3}, 10, heartbeat);
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  for (int i = 0; i < heartbeat; i++) r->Tick();
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{"1->2 MsgHeartbeat Term:1 Log:0/0",
                                      "1->3 MsgHeartbeat Term:1 Log:0/0"}));
}

void CheckStartsElection(StateType state) {
  const int election = 10;
  TestMember r = NewTestMember(1, {1, 2, 3}, election, 1);
  if (state == StateType::kFollower) {
    r->BecomeFollower(1, 2);
  } else {
    r->BecomeCandidate();
  }
  for (int i = 1; i < 2 * election; i++) r->Tick();
  EXPECT_EQ(r->term(), 2u);
  EXPECT_EQ(r->state(), StateType::kCandidate);
  EXPECT_EQ(r->vote(), r->id());
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{"1->2 MsgVote Term:2 Log:0/0",
                                      "1->3 MsgVote Term:2 Log:0/0"}));
}

// Followers: "If election timeout elapses without receiving AppendEntries
// RPC from current leader or granting vote to candidate: convert to
// candidate." Candidates: "On conversion to candidate, start election:
// increment currentTerm, vote for self, reset election timer, send
// RequestVote RPCs to all other servers."
TEST(RaftPaperTest, FollowersStartAnElectionAfterTheElectionTimeout) {
  CheckStartsElection(StateType::kFollower);
}

// Candidates: "If election timeout elapses: start new election."
TEST(RaftPaperTest, CandidatesStartANewElectionAfterTheElectionTimeout) {
  CheckStartsElection(StateType::kCandidate);
}

// Candidates: "If votes received from majority of servers: become leader";
// a majority of rejections sends it back to follower, otherwise it waits.
TEST(RaftPaperTest, CandidatesWinWithAMajorityOfVotes) {
  struct Case {
    size_t size;
    std::map<uint64_t, bool> votes;
    StateType want;
  } cases[] = {
      {1, {}, StateType::kLeader},
      {3, {{2, true}, {3, true}}, StateType::kLeader},
      {3, {{2, true}}, StateType::kLeader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, StateType::kLeader},
      {5, {{2, true}, {3, true}, {4, true}}, StateType::kLeader},
      {5, {{2, true}, {3, true}}, StateType::kLeader},
      {3, {{2, false}, {3, false}}, StateType::kFollower},
      {5, {{2, false}, {3, false}, {4, false}, {5, false}}, StateType::kFollower},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, StateType::kFollower},
      {3, {}, StateType::kCandidate},
      {5, {{2, true}}, StateType::kCandidate},
      {5, {{2, false}, {3, false}}, StateType::kCandidate},
      {5, {}, StateType::kCandidate},
  };
  for (const Case& c : cases) {
    std::vector<uint64_t> ids;
    for (uint64_t id = 1; id <= c.size; id++) ids.push_back(id);
    TestMember r = NewTestMember(1, ids);
    ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
    for (auto [id, granted] : c.votes) {
      Message vote = MakeMessage(id, 1, raftpb::MsgVoteResp, r->term());
      vote.set_reject(!granted);
      ASSERT_TRUE(r->Step(vote).ok());
    }
    EXPECT_EQ(r->state(), c.want) << c.size << " voters";
    EXPECT_EQ(r->term(), 1u);
  }
}

// RequestVote receiver: "If votedFor is null or candidateId, and
// candidate's log is at least as up-to-date as receiver's log, grant vote":
// each follower votes for at most one candidate per term.
TEST(RaftPaperTest, FollowersGrantAtMostOneVotePerTerm) {
  struct Case {
    uint64_t vote, from;
    bool want_reject;
  } cases[] = {
      {kNone, 1, false}, {kNone, 2, false}, {1, 1, false},
      {2, 2, false},     {1, 2, true},      {2, 1, true},
  };
  for (const Case& c : cases) {
    auto storage = StorageWithPeers({1, 2, 3});
    HardState state;
    state.set_term(1);
    state.set_vote(c.vote);
    storage->SetHardState(state);
    TestMember r = NewTestMember(3, 10, 1, std::move(storage));
    ASSERT_TRUE(r->Step(MakeMessage(c.from, 3, raftpb::MsgVote, 1)).ok());
    std::vector<Message> out = ReadMessages(*r);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type(), raftpb::MsgVoteResp);
    EXPECT_EQ(out[0].reject(), c.want_reject) << c.vote << " " << c.from;
  }
}

// Candidates: "If AppendEntries RPC received from new leader: convert to
// follower."
TEST(RaftPaperTest, CandidatesFallBackWhenANewLeaderAppends) {
  for (uint64_t term : {1, 2}) {
    TestMember r = NewTestMember(1, {1, 2, 3});
    ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgHup)).ok());
    ASSERT_EQ(r->state(), StateType::kCandidate);
    ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgApp, term)).ok());
    EXPECT_EQ(r->state(), StateType::kFollower);
    EXPECT_EQ(r->term(), term);
    EXPECT_EQ(r->lead(), 2u);
  }
}

// Section 5.2: "Raft uses randomized election timeouts", drawn from
// [election_timeout, 2 * election_timeout).
TEST(RaftPaperTest, ElectionTimeoutsAreRandomizedOverOneTimeout) {
  for (StateType state : {StateType::kFollower, StateType::kCandidate}) {
    const int election = 10;
    TestMember r = NewTestMember(1, {1, 2, 3}, election, 1);
    std::set<int> timeouts;
    for (int i = 0; i < 50 * election; i++) {
      if (state == StateType::kFollower) {
        r->BecomeFollower(r->term() + 1, 2);
      } else {
        r->BecomeCandidate();
      }
      int time = 0;
      while (ReadMessages(*r).empty()) {
        r->Tick();
        time++;
      }
      timeouts.insert(time);
    }
    for (int d = election + 1; d < 2 * election; d++) {
      EXPECT_TRUE(timeouts.contains(d)) << "timeout " << d << " never drawn";
    }
    EXPECT_EQ(*timeouts.rbegin(), 2 * election - 1);
    EXPECT_GE(*timeouts.begin(), election);
  }
}

// Section 5.2: randomization makes it rare that two members time out
// together (and so split the vote).
TEST(RaftPaperTest, ElectionTimeoutsRarelyCollide) {
  const int election = 10;
  const int size = 5;
  int conflicts = 0;
  std::vector<TestMember> members;
  std::vector<uint64_t> ids = {1, 2, 3, 4, 5};
  for (uint64_t id : ids) members.push_back(NewTestMember(id, ids, election, 1));
  const int rounds = 1000;
  for (int round = 0; round < rounds; round++) {
    for (TestMember& m : members) m->BecomeFollower(m->term() + 1, kNone);
    int timed_out = 0;
    while (timed_out == 0) {
      for (TestMember& m : members) {
        m->Tick();
        if (!ReadMessages(*m).empty()) timed_out++;
      }
    }
    if (timed_out > 1) conflicts++;
  }
  EXPECT_LE(static_cast<double>(conflicts) / rounds, 0.3) << size;
}

// Leaders: "If command received from client: append entry to local log";
// "If last log index >= nextIndex for a follower: send AppendEntries RPC
// with log entries starting at nextIndex".
TEST(RaftPaperTest, LeadersAppendProposalsAndReplicateThem) {
  TestMember r = NewTestMember(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  CommitNoopEntry(*r, *r.storage);
  const uint64_t last = r->log().LastIndex();
  ASSERT_TRUE(r->Step(Proposal(1, "some data")).ok());
  EXPECT_EQ(r->log().LastIndex(), last + 1);
  EXPECT_EQ(r->log().committed(), last);
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{
                "1->2 MsgApp Term:1 Log:1/1 Commit:1 Entries:[1/2 EntryNormal \"some data\"]",
                "1->3 MsgApp Term:1 Log:1/1 Commit:1 Entries:[1/2 EntryNormal \"some data\"]"}));
  EXPECT_EQ(r->log().UnstableEntries().size(), 1u);
}

// Leaders: "A log entry is committed once the leader that created the
// entry has replicated it on a majority of the servers"; the leader then
// applies it and tells the followers.
TEST(RaftPaperTest, LeadersCommitAnEntryReplicatedOnAMajority) {
  TestMember r = NewTestMember(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  CommitNoopEntry(*r, *r.storage);
  const uint64_t last = r->log().LastIndex();
  ASSERT_TRUE(r->Step(Proposal(1, "some data")).ok());
  for (const Message& m : ReadMessages(*r)) ASSERT_TRUE(r->Step(AcceptAndReply(m)).ok());
  EXPECT_EQ(r->log().committed(), last + 1);
  std::vector<Entry> applied = NextEntries(*r, *r.storage);
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].data(), "some data");
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 2u);
  for (const Message& m : out) {
    EXPECT_EQ(m.type(), raftpb::MsgApp);
    EXPECT_EQ(m.commit(), last + 1);
  }
}

// Leaders: "If there exists an N such that N > commitIndex, a majority of
// matchIndex[i] >= N ...: set commitIndex = N" — with any majority.
TEST(RaftPaperTest, LeadersCommitOnceAnyMajorityAcknowledges) {
  struct Case {
    size_t size;
    std::set<uint64_t> acks;
    bool want;
  } cases[] = {
      {1, {}, true},         {3, {}, false},           {3, {2}, true},
      {3, {2, 3}, true},     {5, {}, false},           {5, {2}, false},
      {5, {2, 3}, true},     {5, {2, 3, 4}, true},     {5, {2, 3, 4, 5}, true},
  };
  for (const Case& c : cases) {
    std::vector<uint64_t> ids;
    for (uint64_t id = 1; id <= c.size; id++) ids.push_back(id);
    TestMember r = NewTestMember(1, ids);
    r->BecomeCandidate();
    r->BecomeLeader();
    CommitNoopEntry(*r, *r.storage);
    const uint64_t last = r->log().LastIndex();
    ASSERT_TRUE(r->Step(Proposal(1, "some data")).ok());
    for (const Message& m : ReadMessages(*r)) {
      if (c.acks.contains(m.to())) {
        ASSERT_TRUE(r->Step(AcceptAndReply(m)).ok());
      }
    }
    EXPECT_EQ(r->log().committed() > last, c.want) << c.size;
  }
}

// Leaders: committing an entry "also commits all preceding entries in the
// leader's log, including entries created by previous leaders".
TEST(RaftPaperTest, LeadersCommitPrecedingEntriesWithTheirOwn) {
  const std::vector<std::vector<uint64_t>> logs = {{}, {2}, {1, 2}, {1}};
  for (const std::vector<uint64_t>& terms : logs) {
    auto storage = StorageWithEntries({1, 2, 3}, EntriesWithTerms(terms));
    HardState state;
    state.set_term(2);
    storage->SetHardState(state);
    TestMember r = NewTestMember(1, 10, 1, std::move(storage));
    r->BecomeCandidate();
    r->BecomeLeader();
    ASSERT_TRUE(r->Step(Proposal(1, "some data")).ok());
    for (const Message& m : ReadMessages(*r)) ASSERT_TRUE(r->Step(AcceptAndReply(m)).ok());
    const uint64_t li = terms.size();
    std::vector<Entry> applied = NextEntries(*r, *r.storage);
    ASSERT_EQ(applied.size(), li + 2);
    EXPECT_EQ(applied[li].term(), 3u);
    EXPECT_TRUE(applied[li].data().empty());  // the leader's empty entry
    EXPECT_EQ(applied[li + 1].data(), "some data");
  }
}

// Followers: "Once a follower learns that a log entry is committed, it
// applies the entry to its local state machine (in log order)."
TEST(RaftPaperTest, FollowersApplyEntriesOnceTheyLearnTheyAreCommitted) {
  struct Case {
    std::vector<Entry> entries;
    uint64_t commit;
  } cases[] = {
      {{MakeEntry(1, 1, "some data")}, 1},
      {{MakeEntry(1, 1, "some data"), MakeEntry(2, 1, "some data2")}, 2},
      {{MakeEntry(1, 1, "some data2"), MakeEntry(2, 1, "some data")}, 2},
      {{MakeEntry(1, 1, "some data"), MakeEntry(2, 1, "some data2")}, 1},
  };
  for (const Case& c : cases) {
    TestMember r = NewTestMember(1, {1, 2, 3});
    r->BecomeFollower(1, 2);
    Message m = MakeMessage(2, 1, raftpb::MsgApp, 1);
    m.set_commit(c.commit);
    for (const Entry& e : c.entries) *m.add_entries() = e;
    ASSERT_TRUE(r->Step(m).ok());
    EXPECT_EQ(r->log().committed(), c.commit);
    std::vector<Entry> applied = NextEntries(*r, *r.storage);
    ASSERT_EQ(applied.size(), c.commit);
    for (size_t i = 0; i < applied.size(); i++) {
      EXPECT_EQ(applied[i].data(), c.entries[i].data());
    }
  }
}

// AppendEntries receiver: "Reply false if log doesn't contain an entry at
// prevLogIndex whose term matches prevLogTerm", with a hint of where to
// retry.
TEST(RaftPaperTest, FollowersRejectAppendsWhosePreviousEntryDoesNotMatch) {
  struct Case {
    uint64_t term, index;
    std::string want;
  } cases[] = {
      // Match with a committed entry.
      {0, 0, "2->1 MsgAppResp Term:2 Log:0/1"},
      {1, 1, "2->1 MsgAppResp Term:2 Log:0/1"},
      // Match with an uncommitted entry.
      {2, 2, "2->1 MsgAppResp Term:2 Log:0/2"},
      // Unmatched with an existing entry: hint at the last index whose term
      // is <= 1.
      {1, 2, "2->1 MsgAppResp Term:2 Log:1/2 Rejected (Hint: 1)"},
      // Unmatched with a missing entry: hint at our last index.
      {3, 3, "2->1 MsgAppResp Term:2 Log:2/3 Rejected (Hint: 2)"},
  };
  for (const Case& c : cases) {
    auto storage = StorageWithEntries({1, 2, 3}, EntriesWithTerms({1, 2}));
    HardState state;
    state.set_commit(1);
    storage->SetHardState(state);
    TestMember r = NewTestMember(2, 10, 1, std::move(storage));
    r->BecomeFollower(2, 1);
    Message m = MakeMessage(1, 2, raftpb::MsgApp, 2);
    m.set_log_term(c.term);
    m.set_index(c.index);
    ASSERT_TRUE(r->Step(m).ok());
    std::vector<Message> out = ReadMessages(*r);
    ASSERT_EQ(out.size(), 1u);
    std::string got = DescribeMessage(out[0]);
    // Our describer prints from->to; normalise the ids of this case.
    EXPECT_EQ(got, c.want) << c.term << "/" << c.index;
  }
}

// AppendEntries receiver: "If an existing entry conflicts with a new one
// (same index but different terms), delete the existing entry and all that
// follow it. Append any new entries not already in the log."
TEST(RaftPaperTest, FollowersDeleteConflictingEntriesAndAppendNewOnes) {
  struct Case {
    uint64_t index, term;
    std::vector<Entry> entries;
    std::vector<uint64_t> want_terms;
    std::vector<uint64_t> want_unstable_terms;
  } cases[] = {
      {2, 2, {MakeEntry(3, 3)}, {1, 2, 3}, {3}},
      {1, 1, {MakeEntry(2, 3), MakeEntry(3, 4)}, {1, 3, 4}, {3, 4}},
      {0, 0, {MakeEntry(1, 1)}, {1, 2}, {}},
      {0, 0, {MakeEntry(1, 3)}, {3}, {3}},
  };
  for (const Case& c : cases) {
    auto storage = StorageWithEntries({1, 2, 3}, EntriesWithTerms({1, 2}));
    TestMember r = NewTestMember(1, 10, 1, std::move(storage));
    r->BecomeFollower(2, 2);
    Message m = MakeMessage(2, 1, raftpb::MsgApp, 2);
    m.set_log_term(c.term);
    m.set_index(c.index);
    for (const Entry& e : c.entries) *m.add_entries() = e;
    ASSERT_TRUE(r->Step(m).ok());
    std::vector<uint64_t> terms;
    for (const Entry& e : r->log().AllEntries()) terms.push_back(e.term());
    EXPECT_EQ(terms, c.want_terms);
    std::vector<uint64_t> unstable;
    for (const Entry& e : r->log().UnstableEntries()) unstable.push_back(e.term());
    EXPECT_EQ(unstable, c.want_unstable_terms);
  }
}

// AppendEntries receiver: "If leaderCommit > commitIndex, set commitIndex
// = min(leaderCommit, index of last new entry)".
TEST(RaftPaperTest, FollowersCommitUpToTheLastNewEntryAtMost) {
  TestMember r = NewTestMember(1, {1, 2, 3});
  r->BecomeFollower(1, 2);
  Message m = MakeMessage(2, 1, raftpb::MsgApp, 1);
  m.set_commit(5);
  *m.add_entries() = MakeEntry(1, 1);
  *m.add_entries() = MakeEntry(2, 1);
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_EQ(r->log().committed(), 2u);
}

// Leaders: "If AppendEntries fails because of log inconsistency: decrement
// nextIndex and retry" until the follower's log matches the leader's
// (figure 7's followers a-f).
TEST(RaftPaperTest, LeadersBringEveryFollowerLogIntoConsistency) {
  const std::vector<uint64_t> leader_terms = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<std::vector<uint64_t>> followers = {
      {1, 1, 1, 4, 4, 5, 5, 6, 6},
      {1, 1, 1, 4},
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},
      {1, 1, 1, 4, 4, 4, 4},
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},
  };
  const uint64_t term = 8;
  for (const std::vector<uint64_t>& follower_terms : followers) {
    auto leader_storage = StorageWithEntries({1, 2, 3}, EntriesWithTerms(leader_terms));
    HardState leader_state;
    leader_state.set_term(term);
    leader_state.set_commit(leader_terms.size());
    leader_storage->SetHardState(leader_state);
    auto follower_storage = StorageWithEntries({1, 2, 3}, EntriesWithTerms(follower_terms));
    HardState follower_state;
    follower_state.set_term(term - 1);
    follower_storage->SetHardState(follower_state);
    std::vector<TestMember> members;
    members.push_back(NewTestMember(1, 10, 1, std::move(leader_storage)));
    members.push_back(NewTestMember(2, 10, 1, std::move(follower_storage)));
    members.push_back(BlackHole());
    TestNetwork network(std::move(members));
    network.Campaign(1);
    // Member 3 is a black hole: vote for 1 on its behalf.
    network.Send(MakeMessage(3, 1, raftpb::MsgVoteResp, term + 1));
    network.Propose(1, "");
    std::vector<std::pair<uint64_t, uint64_t>> leader_log, follower_log;
    for (const Entry& e : network.raft(1).log().AllEntries()) {
      leader_log.emplace_back(e.index(), e.term());
    }
    for (const Entry& e : network.raft(2).log().AllEntries()) {
      follower_log.emplace_back(e.index(), e.term());
    }
    EXPECT_EQ(leader_log, follower_log);
    EXPECT_EQ(network.raft(2).log().committed(), network.raft(1).log().committed());
  }
}

// Section 5.4.1: a voter denies its vote "if its own log is more
// up-to-date than that of the candidate" (last term first, then length).
TEST(RaftPaperTest, VotersGrantOnlyToCandidatesWithAnUpToDateLog) {
  struct Case {
    std::vector<uint64_t> log_terms;
    uint64_t log_term, index;
    bool want_reject;
  } cases[] = {
      // Same log term.
      {{1}, 1, 1, false}, {{1}, 1, 2, false}, {{1, 1}, 1, 1, true},
      // Candidate's last term is higher.
      {{1}, 2, 1, false}, {{1}, 2, 2, false}, {{1, 1}, 2, 1, false},
      // Voter's last term is higher.
      {{2}, 1, 1, true}, {{2}, 1, 2, true}, {{2, 1}, 1, 1, true},
  };
  for (const Case& c : cases) {
    TestMember r = NewTestMember(1, 10, 1,
                                 StorageWithEntries({1, 2}, EntriesWithTerms(c.log_terms)));
    Message m = MakeMessage(2, 1, raftpb::MsgVote, 3);
    m.set_log_term(c.log_term);
    m.set_index(c.index);
    ASSERT_TRUE(r->Step(m).ok());
    std::vector<Message> out = ReadMessages(*r);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type(), raftpb::MsgVoteResp);
    EXPECT_EQ(out[0].reject(), c.want_reject)
        << c.log_term << "/" << c.index;
  }
}

// Section 5.4.2: "Raft never commits log entries from previous terms by
// counting replicas. Only log entries from the leader's current term are
// committed by counting replicas."
TEST(RaftPaperTest, LeadersOnlyCommitEntriesOfTheirTermByCounting) {
  struct Case {
    uint64_t index, want_commit;
  } cases[] = {
      // Acks of the previous term's entries commit nothing.
      {1, 0},
      {2, 0},
      // The ack of the current term's entry commits it and everything
      // before it.
      {3, 3},
  };
  for (const Case& c : cases) {
    auto storage = StorageWithEntries({1, 2}, EntriesWithTerms({1, 2}));
    HardState state;
    state.set_term(2);
    storage->SetHardState(state);
    TestMember r = NewTestMember(1, 10, 1, std::move(storage));
    r->BecomeCandidate();
    r->BecomeLeader();
    ReadMessages(*r);
    Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, r->term());
    ack.set_index(c.index);
    ASSERT_TRUE(r->Step(ack).ok());
    EXPECT_EQ(r->log().committed(), c.want_commit) << c.index;
  }
}

// A new leader appends an empty entry of its term at once (section 8: the
// leader must commit an entry of its term to learn what is committed).
TEST(RaftPaperTest, NewLeadersAppendAnEmptyEntryOfTheirTerm) {
  TestMember r = NewTestMember(1, 10, 1,
                               StorageWithEntries({1, 2, 3}, EntriesWithTerms({1, 1})));
  r->BecomeCandidate();
  r->BecomeLeader();
  const std::vector<Entry> entries = r->log().AllEntries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].term(), r->term());
  EXPECT_TRUE(entries[2].data().empty());
  EXPECT_EQ(entries[2].type(), raftpb::EntryNormal);
}

// Figure 2, persistent state: "Updated on stable storage before responding
// to RPCs". The Ready that carries a vote also carries the hard state with
// that vote and asks for a sync.
TEST(RaftPaperTest, ServersPersistTermAndVoteBeforeResponding) {
  ConfState conf;
  conf.add_voters(1);
  conf.add_voters(2);
  conf.add_voters(3);
  MemoryStorage peers(conf);
  Random rng(1);
  auto node = RawNode::Create(testing::TestConfig(1, 10, 1, peers, rng));
  ASSERT_TRUE(node.ok());
  ASSERT_TRUE((*node)->Step(MakeMessage(2, 1, raftpb::MsgVote, 5)).ok());
  Ready rd = (*node)->Ready();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].type(), raftpb::MsgVoteResp);
  EXPECT_FALSE(rd.messages[0].reject());
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term(), 5u);
  EXPECT_EQ(rd.hard_state->vote(), 2u);
  EXPECT_TRUE(rd.must_sync);
  (*node)->Advance();
}

}  // namespace
}  // namespace keel::raft
