// Log replication: proposals reaching every member, batching within
// max_size_per_msg, pipelining in Replicate state bounded by the in-flight
// window (messages and bytes), one probe at a time in Probe state, fast
// backtracking with conflict hints, the commit rule, heartbeats carrying
// commit, the uncommitted-size limit and dropped proposals.
#include <algorithm>

#include <gtest/gtest.h>

#include "raft/describe.h"
#include "raft/errors.h"
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
using testing::Proposal;
using testing::ReadMessages;
using testing::StorageWithEntries;
using testing::StorageWithPeers;
using testing::TestMember;
using testing::TestNetwork;

// A leader of {1, 2} (or `voters`) at term 1 with its empty entry at 1.
TestMember NewLeader(std::vector<uint64_t> voters = {1, 2},
                     const Configure& configure = {}) {
  TestMember r = NewTestMember(1, voters, 5, 1, configure);
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  return r;
}

std::vector<std::string> DataOf(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) {
    if (!e.data().empty()) out.push_back(e.data());
  }
  return out;
}

TEST(ReplicationTest, ProposalsReachEveryMemberAndCommit) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  network->Propose(1, "a");
  network->Propose(2, "b");  // forwarded to the leader
  network->Campaign(2);      // a new leader
  network->Propose(1, "c");  // forwarded to the new leader
  for (uint64_t id : network->ids()) {
    Raft& r = network->raft(id);
    EXPECT_EQ(r.log().committed(), 5u) << id;
    EXPECT_EQ(DataOf(NextEntries(r, network->storage(id))),
              (std::vector<std::string>{"a", "b", "c"}))
        << id;
  }
}

TEST(ReplicationTest, FollowersForwardProposalsToTheLeader) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  std::vector<Message> forwarded;
  network->message_hook = [&](const Message& m) {
    if (m.type() == raftpb::MsgProp) forwarded.push_back(m);
    return true;
  };
  network->Propose(2, "somedata");
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_EQ(forwarded[0].to(), 1u);
  EXPECT_EQ(forwarded[0].term(), 0u);  // proposals are valid in any term
  EXPECT_EQ(network->raft(1).log().committed(), 2u);
}

TEST(ReplicationTest, ProposalsWithoutALeaderAreDropped) {
  TestMember follower = NewTestMember(1, {1, 2, 3});
  EXPECT_TRUE(IsError(follower->Step(Proposal(1, "x")), Error::kProposalDropped));
  TestMember candidate = NewTestMember(1, {1, 2, 3});
  candidate->BecomeCandidate();
  EXPECT_TRUE(IsError(candidate->Step(Proposal(1, "x")), Error::kProposalDropped));
  EXPECT_EQ(candidate->log().LastIndex(), 0u);
}

TEST(ReplicationTest, FollowersDropProposalsWhenForwardingIsDisabled) {
  auto network = TestNetwork::OfSize(
      3, [](Config& c) { c.disable_proposal_forwarding = true; });
  network->Campaign(1);
  EXPECT_TRUE(IsError(network->raft(2).Step(Proposal(2, "x")),
                      Error::kProposalDropped));
  EXPECT_TRUE(ReadMessages(network->raft(2)).empty());
}

TEST(ReplicationTest, AppendsAreBatchedUpToMaxSizePerMessage) {
  const Entry sample = MakeEntry(10, 1, "0123456789");
  const uint64_t one = EntrySize(sample);
  TestMember r = NewLeader({1, 2}, [one](Config& c) {
    c.max_size_per_msg = 3 * one;
  });
  // 2 is probing and has a probe in flight: proposals queue up.
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.probe_sent = true;
  for (int i = 0; i < 10; i++) ASSERT_TRUE(r->Step(Proposal(1, "0123456789")).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());
  // 2 acknowledges the empty entry: the leader switches it to Replicate and
  // streams the backlog in batches of three entries.
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
  ack.set_index(1);
  ASSERT_TRUE(r->Step(ack).ok());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].entries_size(), 3);
  EXPECT_EQ(out[1].entries_size(), 3);
  EXPECT_EQ(out[2].entries_size(), 3);
  EXPECT_EQ(out[3].entries_size(), 1);
  EXPECT_EQ(out[3].entries(0).index(), 11u);
  EXPECT_EQ(pr.inflights.Count(), 4u);
}

TEST(ReplicationTest, ProbeStateSendsOneAppendUntilAnswered) {
  TestMember r = NewLeader();
  Progress& pr = r->mutable_tracker().progress.at(2);
  ASSERT_EQ(pr.state, ProgressState::kProbe);
  ASSERT_TRUE(r->Step(Proposal(1, "a")).ok());
  ASSERT_EQ(ReadMessages(*r).size(), 1u);
  EXPECT_TRUE(pr.probe_sent);
  ASSERT_TRUE(r->Step(Proposal(1, "b")).ok());
  ASSERT_TRUE(r->Step(Proposal(1, "c")).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());
  // A heartbeat still goes out, and its response unpauses the probe.
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgBeat)).ok());
  std::vector<Message> beats = ReadMessages(*r);
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(beats[0].type(), raftpb::MsgHeartbeat);
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgHeartbeatResp, 1)).ok());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), raftpb::MsgApp);
  EXPECT_EQ(out[0].entries_size(), 4);
}

TEST(ReplicationTest, ReplicateStatePipelinesUntilTheWindowIsFull) {
  TestMember r = NewLeader();
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.BecomeReplicate();
  const size_t window = r->tracker().max_inflight;
  for (size_t i = 0; i < window; i++) {
    ASSERT_TRUE(r->Step(Proposal(1, "somedata")).ok());
    ASSERT_EQ(ReadMessages(*r).size(), 1u) << i;
  }
  EXPECT_TRUE(pr.inflights.Full());
  for (int i = 0; i < 10; i++) {
    ASSERT_TRUE(r->Step(Proposal(1, "somedata")).ok());
    EXPECT_TRUE(ReadMessages(*r).empty());
  }
}

TEST(ReplicationTest, AcknowledgementsSlideTheWindowAndStaleOnesDoNot) {
  TestMember r = NewLeader({1, 2}, [](Config& c) { c.max_inflight_msgs = 8; });
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.BecomeReplicate();
  for (int i = 0; i < 8; i++) {
    ASSERT_TRUE(r->Step(Proposal(1, "somedata")).ok());
    ReadMessages(*r);
  }
  // Entry 1 is the empty entry; appends carry 2, 3, ...
  for (uint64_t index = 2; index < 8; index++) {
    Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
    ack.set_index(index);
    ASSERT_TRUE(r->Step(ack).ok());
    ReadMessages(*r);
    ASSERT_TRUE(r->Step(Proposal(1, "somedata")).ok());
    EXPECT_EQ(ReadMessages(*r).size(), 1u) << index;
    EXPECT_TRUE(pr.inflights.Full());
    for (uint64_t stale = 0; stale < index; stale++) {
      Message old = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
      old.set_index(stale);
      ASSERT_TRUE(r->Step(old).ok());
      EXPECT_TRUE(pr.inflights.Full()) << index << " " << stale;
    }
  }
}

TEST(ReplicationTest, AHeartbeatResponseFreesOneSlotOfAFullWindow) {
  TestMember r = NewLeader({1, 2}, [](Config& c) { c.max_inflight_msgs = 4; });
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.BecomeReplicate();
  for (int i = 0; i < 4; i++) {
    ASSERT_TRUE(r->Step(Proposal(1, "somedata")).ok());
    ReadMessages(*r);
  }
  for (int round = 1; round < 4; round++) {
    ASSERT_TRUE(pr.inflights.Full());
    // Each heartbeat response frees one slot (the follower may have lost
    // an append); the leader probes with an empty append meanwhile.
    for (int i = 0; i < round; i++) {
      ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgHeartbeatResp, 1)).ok());
      ReadMessages(*r);
      EXPECT_FALSE(pr.inflights.Full()) << round << " " << i;
    }
    // One slot: one append goes out, and no more.
    ASSERT_TRUE(r->Step(Proposal(1, "somedata")).ok());
    EXPECT_EQ(ReadMessages(*r).size(), 1u) << round;
    for (int i = 0; i < 10; i++) {
      ASSERT_TRUE(r->Step(Proposal(1, "somedata")).ok());
      EXPECT_TRUE(ReadMessages(*r).empty()) << round << " " << i;
    }
    // Clear the backlog for the next round.
    ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgHeartbeatResp, 1)).ok());
    ReadMessages(*r);
  }
}

TEST(ReplicationTest, TheInFlightByteLimitPausesAFollower) {
  TestMember r = NewLeader({1, 2}, [](Config& c) {
    c.max_inflight_bytes = 1000;
    c.max_size_per_msg = 1;  // one entry per message
  });
  Progress& pr = r->mutable_tracker().progress.at(2);
  // 2 acknowledges the empty entry and moves to Replicate.
  Message first = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
  first.set_index(1);
  ASSERT_TRUE(r->Step(first).ok());
  ASSERT_EQ(pr.state, ProgressState::kReplicate);
  ReadMessages(*r);
  const std::string payload(300, 'x');
  // 300, 600, 900, then 1200 >= 1000: the fourth append fills the budget.
  for (int i = 0; i < 4; i++) {
    ASSERT_TRUE(r->Step(Proposal(1, payload)).ok());
    EXPECT_EQ(ReadMessages(*r).size(), 1u) << i;
  }
  EXPECT_TRUE(pr.IsPaused());
  ASSERT_TRUE(r->Step(Proposal(1, payload)).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());
  // Acknowledging the first two (indexes 2 and 3) frees 600 bytes and the
  // backlog flows.
  Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
  ack.set_index(3);
  ASSERT_TRUE(r->Step(ack).ok());
  EXPECT_EQ(ReadMessages(*r).size(), 1u);
  EXPECT_EQ(pr.inflights.bytes(), 900u);
}

// What a leader sends a follower in Replicate state before the in-flight
// window pauses it, per message and byte limit (one entry per message). The
// byte limit is etcd's: checked before an append, so the bytes in flight
// overshoot it by less than one append, and an append larger than the
// whole budget still goes out when nothing is in flight.
TEST(ReplicationTest, TheInFlightWindowBoundsWhatIsSentTable) {
  struct Case {
    const char* name;
    uint64_t max_inflight_bytes;
    size_t max_inflight_msgs;
    size_t payload;
    int proposals;
    size_t want_sent;  // appends sent before the follower is paused
    uint64_t want_bytes;
  } cases[] = {
      {"no byte limit", 0, 256, 300, 10, 10, 3000},
      {"300-byte entries, 1000-byte budget", 1000, 256, 300, 10, 4, 1200},
      {"entries that fill the budget exactly", 900, 256, 300, 10, 3, 900},
      {"an entry larger than the budget goes out alone", 1000, 256, 5000, 3, 1, 5000},
      {"the message limit binds first", 1 << 20, 3, 300, 10, 3, 900},
      // node/server_config.h's default: 8 MiB, with 1 MiB appends.
      {"the server's 8 MiB with 1 MiB entries", 8 << 20, 512, 1 << 20, 10, 8, 8u << 20},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TestMember r = NewLeader({1, 2}, [&c](Config& config) {
      config.max_inflight_bytes = c.max_inflight_bytes;
      config.max_inflight_msgs = c.max_inflight_msgs;
      config.max_size_per_msg = 1;  // one entry per message
    });
    Progress& pr = r->mutable_tracker().progress.at(2);
    Message first = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
    first.set_index(1);
    ASSERT_TRUE(r->Step(first).ok());
    ASSERT_EQ(pr.state, ProgressState::kReplicate);
    ReadMessages(*r);
    const std::string payload(c.payload, 'x');
    size_t sent = 0;
    for (int i = 0; i < c.proposals; i++) {
      ASSERT_TRUE(r->Step(Proposal(1, payload)).ok());
      for (const Message& m : ReadMessages(*r)) {
        if (m.to() == 2 && m.type() == raftpb::MsgApp) sent++;
      }
    }
    EXPECT_EQ(sent, c.want_sent);
    EXPECT_EQ(pr.inflights.bytes(), c.want_bytes);
    const bool want_paused = c.want_sent < static_cast<size_t>(c.proposals);
    EXPECT_EQ(pr.IsPaused(), want_paused);
    if (c.max_inflight_bytes != 0 && c.want_sent < c.max_inflight_msgs) {
      // The overshoot is less than one append.
      EXPECT_LT(pr.inflights.bytes(), c.max_inflight_bytes + c.payload);
    }
    // Acknowledging everything sent lets the backlog flow again.
    Message ack = MakeMessage(2, 1, raftpb::MsgAppResp, 1);
    ack.set_index(1 + sent);
    ASSERT_TRUE(r->Step(ack).ok());
    size_t resumed = 0;
    for (const Message& m : ReadMessages(*r)) {
      if (m.to() == 2 && m.type() == raftpb::MsgApp && m.entries_size() > 0) resumed++;
    }
    if (want_paused) {
      EXPECT_EQ(resumed, std::min(c.want_sent, static_cast<size_t>(c.proposals) - sent));
    } else {
      EXPECT_EQ(resumed, 0u);
    }
  }
}

TEST(ReplicationTest, LeaderHandlesAppendResponses) {
  struct Case {
    uint64_t index;
    bool reject;
    uint64_t want_match, want_next;
    size_t want_messages;
    uint64_t want_index, want_commit;
  } cases[] = {
      // A rejection of an index we did not send is stale.
      {3, true, 0, 3, 0, 0, 0},
      // A rejection of our probe: back off and probe again.
      {2, true, 0, 2, 1, 1, 0},
      // An acceptance: commit and tell everyone.
      {2, false, 2, 4, 2, 2, 2},
      // A response about index 0 (a heartbeat-style ack) changes nothing.
      {0, false, 0, 3, 0, 0, 0},
  };
  for (const Case& c : cases) {
    // Index 2 has term 1, the term the leader will have.
    auto storage = StorageWithEntries({1, 2, 3}, EntriesWithTerms({0, 1}));
    TestMember r = NewTestMember(1, 10, 1, std::move(storage));
    r->BecomeCandidate();
    r->BecomeLeader();  // empty entry at 3, term 1; next = 3
    ReadMessages(*r);
    Message response = MakeMessage(2, 1, raftpb::MsgAppResp, r->term());
    response.set_index(c.index);
    response.set_reject(c.reject);
    response.set_reject_hint(c.index);
    ASSERT_TRUE(r->Step(response).ok());
    const Progress& pr = r->tracker().progress.at(2);
    EXPECT_EQ(pr.match, c.want_match) << c.index << c.reject;
    EXPECT_EQ(pr.next, c.want_next) << c.index << c.reject;
    std::vector<Message> out = ReadMessages(*r);
    EXPECT_EQ(out.size(), c.want_messages) << c.index << c.reject;
    for (const Message& m : out) {
      EXPECT_EQ(m.index(), c.want_index) << DescribeMessage(m);
      EXPECT_EQ(m.commit(), c.want_commit) << DescribeMessage(m);
    }
  }
}

// A follower whose log diverges from the leader's over many entries of a
// few terms: with conflict hints the leader needs one round trip per term,
// not one per entry.
TEST(ReplicationTest, RejectionHintsSkipWholeTermsWhenBacktracking) {
  std::vector<uint64_t> leader_terms(5, 1), follower_terms(5, 1);
  for (int i = 0; i < 100; i++) leader_terms.push_back(4);
  for (int i = 0; i < 100; i++) follower_terms.push_back(2);
  for (int i = 0; i < 100; i++) follower_terms.push_back(3);
  auto leader_storage = StorageWithEntries({1, 2, 3}, EntriesWithTerms(leader_terms));
  HardState leader_state;
  leader_state.set_term(4);
  leader_state.set_commit(5);
  leader_storage->SetHardState(leader_state);
  auto follower_storage =
      StorageWithEntries({1, 2, 3}, EntriesWithTerms(follower_terms));
  HardState follower_state;
  follower_state.set_term(3);
  follower_state.set_commit(5);
  follower_storage->SetHardState(follower_state);
  std::vector<TestMember> members;
  members.push_back(NewTestMember(1, 10, 1, std::move(leader_storage)));
  members.push_back(NewTestMember(2, 10, 1, std::move(follower_storage)));
  members.push_back(BlackHole());
  TestNetwork network(std::move(members));
  int rejections = 0;
  network.message_hook = [&](const Message& m) {
    if (m.type() == raftpb::MsgAppResp && m.reject()) rejections++;
    return true;
  };
  // 1's log ends in a later term, so 2 votes for it.
  network.Campaign(1);
  ASSERT_EQ(network.raft(1).state(), StateType::kLeader);
  network.Propose(1, "x");
  // One rejection: the hint (index 105, term 3) lets the leader skip all of
  // term 4 in its log at once, to index 5.
  EXPECT_EQ(rejections, 1);
  std::vector<uint64_t> a, b;
  for (const Entry& e : network.raft(1).log().AllEntries()) a.push_back(e.term());
  for (const Entry& e : network.raft(2).log().AllEntries()) b.push_back(e.term());
  EXPECT_EQ(a, b);
  EXPECT_EQ(network.raft(2).log().committed(), network.raft(1).log().committed());
}

TEST(ReplicationTest, CommitNeedsAQuorumAndAnEntryOfTheCurrentTerm) {
  struct Case {
    std::vector<uint64_t> matches;
    std::vector<uint64_t> log_terms;
    uint64_t term, want;
  } cases[] = {
      {{1}, {1}, 1, 1}, {{1}, {1}, 2, 0}, {{2}, {1, 2}, 2, 2}, {{1}, {2}, 2, 1},
      {{2, 1, 1}, {1, 2}, 1, 1}, {{2, 1, 1}, {1, 1}, 2, 0},
      {{2, 1, 2}, {1, 2}, 2, 2}, {{2, 1, 2}, {1, 1}, 2, 0},
      {{2, 1, 1, 1}, {1, 2}, 2, 0}, {{2, 1, 1, 1}, {1, 1}, 2, 0},
      {{2, 1, 1, 2}, {1, 2}, 1, 1}, {{2, 1, 1, 2}, {1, 1}, 2, 0},
      {{2, 1, 2, 2}, {1, 2}, 2, 2}, {{2, 1, 2, 2}, {1, 1}, 2, 0},
  };
  for (const Case& c : cases) {
    std::vector<uint64_t> ids;
    for (size_t i = 0; i < c.matches.size(); i++) ids.push_back(i + 1);
    auto storage = StorageWithEntries(ids, EntriesWithTerms(c.log_terms));
    HardState state;
    state.set_term(c.term);
    storage->SetHardState(state);
    TestMember r = NewTestMember(1, 10, 1, std::move(storage));
    for (size_t i = 0; i < c.matches.size(); i++) {
      Progress& pr = r->mutable_tracker().progress.at(i + 1);
      pr.match = c.matches[i];
      pr.next = c.matches[i] + 1;
    }
    r->MaybeCommit();
    EXPECT_EQ(r->log().committed(), c.want)
        << ::testing::PrintToString(c.matches) << " "
        << ::testing::PrintToString(c.log_terms) << " term " << c.term;
  }
}

// The release build has no bug switches (raft/failpoints.h): setting one
// does not compile. The deliberately wrong commit rule is tested in
// raft_bugs_test, on the failpoint build.
template <typename C>
concept HasBugSwitches = requires(C config) { config.bugs; };
static_assert(!HasBugSwitches<Config>);

TEST(ReplicationTest, HeartbeatsNeverCommitBeyondAFollowersMatch) {
  auto storage = StorageWithEntries({1, 2, 3}, EntriesWithTerms({1, 1, 1}));
  HardState state;
  state.set_term(1);
  state.set_commit(3);
  storage->SetHardState(state);
  TestMember r = NewTestMember(1, 10, 1, std::move(storage));
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  r->mutable_tracker().progress.at(2).match = 5;
  r->mutable_tracker().progress.at(3).match = 1;
  ASSERT_TRUE(r->Step(MakeMessage(1, 1, raftpb::MsgBeat)).ok());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 2u);
  for (const Message& m : out) {
    EXPECT_EQ(m.type(), raftpb::MsgHeartbeat);
    EXPECT_EQ(m.commit(), m.to() == 2 ? 3u : 1u);
    EXPECT_EQ(m.entries_size(), 0);
  }
}

TEST(ReplicationTest, FollowersCommitFromHeartbeatsButNeverBackwards) {
  struct Case {
    uint64_t commit, want;
  } cases[] = {{3, 3}, {1, 2}};
  for (const Case& c : cases) {
    auto storage = StorageWithEntries({1, 2}, EntriesWithTerms({1, 2, 3}));
    TestMember r = NewTestMember(1, 10, 1, std::move(storage));
    r->BecomeFollower(2, 2);
    r->mutable_log().CommitTo(2);
    Message beat = MakeMessage(2, 1, raftpb::MsgHeartbeat, 2);
    beat.set_commit(c.commit);
    ASSERT_TRUE(r->Step(beat).ok());
    EXPECT_EQ(r->log().committed(), c.want);
    std::vector<Message> out = ReadMessages(*r);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type(), raftpb::MsgHeartbeatResp);
  }
}

TEST(ReplicationTest, AnAppendBelowTheCommitIndexIsAnsweredWithIt) {
  auto storage = StorageWithEntries({1, 2}, EntriesWithTerms({1, 1, 1}));
  HardState state;
  state.set_term(1);
  state.set_commit(3);
  storage->SetHardState(state);
  TestMember r = NewTestMember(2, 10, 1, std::move(storage));
  Message m = MakeMessage(1, 2, raftpb::MsgApp, 1);
  m.set_index(1);
  m.set_log_term(1);
  *m.add_entries() = MakeEntry(2, 1);
  ASSERT_TRUE(r->Step(m).ok());
  std::vector<Message> out = ReadMessages(*r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].reject());
  EXPECT_EQ(out[0].index(), 3u);
}

TEST(ReplicationTest, UnreachableFollowersGoBackToProbing) {
  TestMember r = NewLeader();
  Progress& pr = r->mutable_tracker().progress.at(2);
  pr.BecomeReplicate();
  ASSERT_TRUE(r->Step(Proposal(1, "a")).ok());
  ReadMessages(*r);
  ASSERT_TRUE(r->Step(MakeMessage(2, 1, raftpb::MsgUnreachable)).ok());
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_EQ(pr.next, pr.match + 1);
}

TEST(ReplicationTest, UncommittedProposalsAreBoundedInBytes) {
  const uint64_t limit = 1024;
  TestMember r = NewLeader({1, 2, 3}, [limit](Config& c) {
    c.max_uncommitted_entries_size = limit;
  });
  // Keep the followers from acknowledging: nothing commits.
  for (uint64_t id : {2, 3}) {
    r->mutable_tracker().progress.at(id).BecomeReplicate();
  }
  const std::string payload(256, 'x');
  for (int i = 0; i < 4; i++) {
    EXPECT_TRUE(r->Step(Proposal(1, payload)).ok()) << i;
  }
  EXPECT_EQ(r->uncommitted_size(), limit);
  EXPECT_TRUE(IsError(r->Step(Proposal(1, payload)), Error::kProposalDropped));
  // A batch that does not fit is refused whole.
  Message batch = Proposal(1, payload);
  *batch.add_entries() = batch.entries(0);
  EXPECT_TRUE(IsError(r->Step(batch), Error::kProposalDropped));
  // Committed entries free the budget.
  r->ReduceUncommittedSize(limit);
  EXPECT_EQ(r->uncommitted_size(), 0u);
  // With nothing uncommitted, even an oversized proposal is accepted so it
  // cannot be starved.
  EXPECT_TRUE(r->Step(Proposal(1, std::string(2 * limit, 'y'))).ok());
  // An empty entry never counts.
  Message empty = Proposal(1, "");
  EXPECT_TRUE(r->Step(empty).ok());
}

TEST(ReplicationTest, ANewLeaderOverwritesUncommittedEntriesOfAnOldOne) {
  auto network = TestNetwork::OfSize(3);
  network->Campaign(1);
  // 1 appends an entry that only it has.
  network->Isolate(1);
  network->Propose(1, "lost");
  network->Recover();
  network->Isolate(1);
  network->Campaign(2);
  network->Propose(2, "kept");
  network->Recover();
  // 1 hears from 2 and its uncommitted entry is replaced.
  network->Send(MakeMessage(2, 2, raftpb::MsgBeat));
  network->Propose(2, "more");
  for (uint64_t id : network->ids()) {
    EXPECT_EQ(DataOf(network->raft(id).log().AllEntries()),
              (std::vector<std::string>{"kept", "more"}))
        << id;
  }
}

TEST(ReplicationTest, EntriesOfAnOldTermCommitOnlyWithANewTermEntry) {
  auto network = TestNetwork::OfSize(5);
  network->Campaign(1);
  // 1 replicates two entries to 2 only.
  network->Cut(1, 3);
  network->Cut(1, 4);
  network->Cut(1, 5);
  network->Propose(1, "a");
  network->Propose(1, "b");
  EXPECT_EQ(network->raft(1).log().committed(), 1u);
  network->Recover();
  // 2 becomes leader of term 2 with 1's entries in its log; they commit
  // along with 2's own empty entry.
  network->Ignore(raftpb::MsgApp);
  network->Campaign(2);
  EXPECT_EQ(network->raft(2).state(), StateType::kLeader);
  EXPECT_EQ(network->raft(2).log().committed(), 1u);
  network->Recover();
  network->Send(MakeMessage(2, 2, raftpb::MsgBeat));
  EXPECT_EQ(network->raft(2).log().committed(), 4u);
}

}  // namespace
}  // namespace keel::raft
