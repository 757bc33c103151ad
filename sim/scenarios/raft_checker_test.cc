// Tests of RaftChecker on hand-made histories: each property accepts a
// correct history and names the members, terms and indexes of a broken
// one. Leaders are real raft state machines (raft's test members) put in
// the leader role directly; persists, recoveries and applies are reported
// as a member would report them. Snapshots are judged against the state
// hash of the canonical history (MixRaftState).
#include "sim/scenarios/raft_checker.h"

#include "gtest/gtest.h"
#include "raft/raft_test_util.h"

namespace keel::sim {
namespace {

using raft::testing::NewTestMember;
using raft::testing::TestMember;

raftpb::Entry MakeEntry(uint64_t index, uint64_t term, std::string data = "x") {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(std::move(data));
  return entry;
}

raftpb::HardState MakeHardState(uint64_t term, uint64_t vote, uint64_t commit = 0) {
  raftpb::HardState state;
  state.set_term(term);
  state.set_vote(vote);
  state.set_commit(commit);
  return state;
}

// Member `id` of voters (1 2 3), made leader of `term`.
TestMember LeaderOfTerm(uint64_t id, uint64_t term) {
  TestMember member = NewTestMember(id, {1, 2, 3});
  member->BecomeFollower(term - 1, raft::kNone);
  member->BecomeCandidate();
  member->BecomeLeader();
  EXPECT_EQ(member->term(), term);
  return member;
}

class RaftCheckerTest : public ::testing::Test {
 protected:
  RaftCheckerTest() {
    for (uint64_t id = 1; id <= 3; id++) checker_.Name(id, "n" + std::to_string(id));
  }

  // Member `id` persists entries [first, last] of `term` while in `in_term`.
  void Persist(uint64_t id, uint64_t first, uint64_t last, uint64_t term,
               uint64_t in_term) {
    std::vector<raftpb::Entry> entries;
    for (uint64_t i = first; i <= last; i++) entries.push_back(MakeEntry(i, term));
    const raftpb::HardState state = MakeHardState(in_term, raft::kNone);
    checker_.OnPersisted(id, entries, &state, /*synced=*/true);
  }

  std::string Failure() const { return std::string(checker_.verdict().message()); }

  RaftChecker checker_;
};

TEST_F(RaftCheckerTest, TwoLeadersOfOneTermAreCaught) {
  TestMember a = LeaderOfTerm(1, 2);
  TestMember b = LeaderOfTerm(2, 2);
  checker_.ObserveRole(1, *a);
  checker_.ObserveRole(1, *a);
  EXPECT_FALSE(checker_.failed());
  checker_.ObserveRole(2, *b);
  ASSERT_TRUE(checker_.failed());
  EXPECT_EQ(Failure(), "election safety: n1(id 1) and n2(id 2) both lead term 2");
}

TEST_F(RaftCheckerTest, AVoteChangedWithinATermIsCaught) {
  raftpb::HardState first = MakeHardState(3, 1);
  checker_.OnPersisted(2, {}, &first, true);
  raftpb::HardState later_term = MakeHardState(4, 3);
  checker_.OnPersisted(2, {}, &later_term, true);
  EXPECT_FALSE(checker_.failed());
  raftpb::HardState changed = MakeHardState(4, 1);
  checker_.OnPersisted(2, {}, &changed, true);
  ASSERT_TRUE(checker_.failed());
  EXPECT_EQ(Failure(), "vote safety: n2(id 2) changed its vote in term 4 from n3(id 3) to n1(id 1)");
}

TEST_F(RaftCheckerTest, TwoEntriesWithOneIndexAndTermButDifferentDataAreCaught) {
  checker_.OnPersisted(1, {MakeEntry(1, 1, "a")}, nullptr, true);
  checker_.OnPersisted(2, {MakeEntry(1, 1, "a")}, nullptr, true);
  EXPECT_FALSE(checker_.failed());
  checker_.OnPersisted(3, {MakeEntry(1, 1, "b")}, nullptr, true);
  ASSERT_TRUE(checker_.failed());
  EXPECT_NE(Failure().find("log matching: n3(id 3) persisted 1/1"), std::string::npos)
      << Failure();
}

TEST_F(RaftCheckerTest, ALogThatSharesAnEntryButNotItsPrefixIsCaught) {
  checker_.OnPersisted(1, {MakeEntry(1, 1), MakeEntry(2, 3)}, nullptr, true);
  checker_.OnPersisted(2, {MakeEntry(1, 2), MakeEntry(2, 3)}, nullptr, true);
  ASSERT_TRUE(checker_.failed());
  EXPECT_NE(Failure().find("after an entry of term 2"), std::string::npos) << Failure();
}

TEST_F(RaftCheckerTest, ARecoveryThatLostSyncedEntriesIsCaught) {
  Persist(1, 1, 5, 1, 1);
  RecoveredLog longer;
  for (uint64_t i = 1; i <= 6; i++) longer.entries.push_back(MakeEntry(i, 1));
  longer.hard_state = MakeHardState(1, raft::kNone);
  checker_.OnRecovered(1, longer);  // an unsynced entry survived: fine
  EXPECT_FALSE(checker_.failed()) << Failure();
  RecoveredLog shorter = longer;
  shorter.entries.resize(4);
  checker_.OnRecovered(1, shorter);
  ASSERT_TRUE(checker_.failed());
  EXPECT_EQ(Failure(), "durability: n1(id 1) synced entries up to 6 but recovered only 4");
}

TEST_F(RaftCheckerTest, ARecoveredSuffixOfANewerTermIsNotALoss) {
  Persist(1, 1, 5, 1, 1);
  RecoveredLog replaced;
  for (uint64_t i = 1; i <= 3; i++) replaced.entries.push_back(MakeEntry(i, 1));
  replaced.entries.push_back(MakeEntry(4, 2));
  replaced.hard_state = MakeHardState(2, 2);
  checker_.OnRecovered(1, replaced);
  EXPECT_FALSE(checker_.failed()) << Failure();
}

TEST_F(RaftCheckerTest, EntriesAQuorumPersistedInTheirTermMayBeApplied) {
  TestMember leader = LeaderOfTerm(1, 2);
  checker_.ObserveRole(1, *leader);
  Persist(1, 1, 3, 2, 2);
  Persist(2, 1, 3, 2, 2);
  EXPECT_EQ(checker_.committed_index(), 3u);
  for (uint64_t i = 1; i <= 3; i++) checker_.OnApplied(3, 1, MakeEntry(i, 2));
  EXPECT_FALSE(checker_.failed()) << Failure();
}

TEST_F(RaftCheckerTest, ApplyingAnEntryNoQuorumPersistedIsCaught) {
  TestMember leader = LeaderOfTerm(1, 2);
  checker_.ObserveRole(1, *leader);
  Persist(1, 1, 3, 2, 2);
  Persist(2, 1, 2, 2, 2);
  checker_.OnApplied(1, 1, MakeEntry(1, 2));
  checker_.OnApplied(1, 1, MakeEntry(2, 2));
  EXPECT_FALSE(checker_.failed()) << Failure();
  checker_.OnApplied(1, 1, MakeEntry(3, 2));
  ASSERT_TRUE(checker_.failed());
  EXPECT_EQ(Failure(),
            "commitment: n1(id 1) applied 2/3 EntryNormal \"x\" but no quorum has "
            "committed index 3 (known committed up to 2); term 2 (leader n1(id 1), "
            "voters (1 2 3)) durable in-term logs: n1(id 1)=3 n2(id 2)=2");
}

// Figure 8 of the Raft paper: an entry of term 2 that reaches a quorum only
// in term 4 is not committed by counting, so applying it is caught.
TEST_F(RaftCheckerTest, AnOldTermEntryCountedInALaterTermIsNotCommitted) {
  TestMember old_leader = LeaderOfTerm(1, 2);
  checker_.ObserveRole(1, *old_leader);
  Persist(1, 1, 1, 2, 2);
  TestMember new_leader = LeaderOfTerm(1, 4);
  checker_.ObserveRole(1, *new_leader);
  Persist(1, 1, 1, 2, 4);
  Persist(3, 1, 1, 2, 4);
  EXPECT_EQ(checker_.committed_index(), 0u);
  checker_.OnApplied(1, 1, MakeEntry(1, 2));
  ASSERT_TRUE(checker_.failed());
  EXPECT_NE(Failure().find("commitment: n1(id 1) applied 2/1"), std::string::npos) << Failure();
  // Once an entry of term 4 after it reaches a quorum, both are committed.
  RaftChecker fresh;
  fresh.ObserveRole(1, *new_leader);
  fresh.OnPersisted(1, {MakeEntry(1, 2), MakeEntry(2, 4)}, nullptr, true);
  raftpb::HardState state = MakeHardState(4, 1);
  fresh.OnPersisted(1, {}, &state, true);
  fresh.OnPersisted(3, {MakeEntry(1, 2), MakeEntry(2, 4)}, &state, true);
  EXPECT_EQ(fresh.committed_index(), 2u);
}

// Found by the raft scenario (seed 237): a paused follower resumed, took
// the leader's appends and then a vote request of a later term, and
// persisted the entries with the later term in one Ready; its responses
// still acknowledge them in the leader's term, and the leader may commit.
TEST_F(RaftCheckerTest, AnAcknowledgementCountsEvenIfTheSenderMovedOnInTheSameReady) {
  TestMember leader = LeaderOfTerm(3, 7);
  checker_.ObserveRole(3, *leader);
  Persist(3, 1, 5, 7, 7);
  std::vector<raftpb::Entry> entries;
  for (uint64_t i = 1; i <= 5; i++) entries.push_back(MakeEntry(i, 7));
  const raftpb::HardState later = MakeHardState(8, raft::kNone);
  checker_.OnPersisted(2, entries, &later, true);
  EXPECT_EQ(checker_.committed_index(), 0u);
  raftpb::Message ack;
  ack.set_type(raftpb::MsgAppResp);
  ack.set_from(2);
  ack.set_to(3);
  ack.set_term(7);
  ack.set_index(5);
  raftpb::Message rejection = ack;
  rejection.set_index(9);
  rejection.set_reject(true);
  checker_.OnSending(2, {rejection});
  EXPECT_EQ(checker_.committed_index(), 0u);
  checker_.OnSending(2, {ack});
  EXPECT_EQ(checker_.committed_index(), 5u);
  checker_.OnApplied(3, 1, MakeEntry(1, 7));
  EXPECT_FALSE(checker_.failed()) << Failure();
}

// Found by the raft scenario (seed 268): a candidate paused after its
// votes were cast counts them seconds later and leads an old term, without
// entries committed since in later terms. Only later leaders must hold them.
TEST_F(RaftCheckerTest, ALeaderOfAnOlderTermNeedNotHoldWhatALaterTermCommitted) {
  TestMember leader = LeaderOfTerm(1, 9);
  checker_.ObserveRole(1, *leader);
  Persist(1, 1, 1, 9, 9);
  Persist(2, 1, 1, 9, 9);
  ASSERT_EQ(checker_.committed_index(), 1u);
  TestMember late = LeaderOfTerm(3, 8);
  checker_.ObserveRole(3, *late);
  EXPECT_FALSE(checker_.failed()) << Failure();
  TestMember later = LeaderOfTerm(3, 10);
  checker_.ObserveRole(3, *later);
  ASSERT_TRUE(checker_.failed());
  EXPECT_NE(Failure().find("leader of term 10, lacks committed entry 1 (term 9)"),
            std::string::npos)
      << Failure();
}

TEST_F(RaftCheckerTest, OverwritingACommittedEntryIsCaught) {
  TestMember leader = LeaderOfTerm(1, 2);
  checker_.ObserveRole(1, *leader);
  Persist(1, 1, 2, 2, 2);
  Persist(2, 1, 2, 2, 2);
  ASSERT_EQ(checker_.committed_index(), 2u);
  checker_.OnPersisted(2, {MakeEntry(2, 3, "other")}, nullptr, true);
  ASSERT_TRUE(checker_.failed());
  EXPECT_NE(Failure().find("committed entry changed: n2(id 2) persisted committed index 2 "
                           "(term 2) with 3/2"),
            std::string::npos)
      << Failure();
}

TEST_F(RaftCheckerTest, ALeaderWithoutACommittedEntryIsCaughtWhenElected) {
  TestMember leader = LeaderOfTerm(1, 2);
  checker_.ObserveRole(1, *leader);
  Persist(1, 1, 1, 2, 2);
  Persist(2, 1, 1, 2, 2);
  ASSERT_EQ(checker_.committed_index(), 1u);
  TestMember usurper = LeaderOfTerm(3, 3);  // an empty log but for its own entry
  checker_.ObserveRole(3, *usurper);
  ASSERT_TRUE(checker_.failed());
  EXPECT_NE(Failure().find("leader completeness: n3(id 3), leader of term 3, lacks "
                           "committed entry 1 (term 2) when elected"),
            std::string::npos)
      << Failure();
}

TEST_F(RaftCheckerTest, TwoMembersApplyingDifferentEntriesAtOneIndexAreCaught) {
  checker_.Bootstrap({MakeEntry(1, 1, "a")});
  checker_.OnApplied(1, 1, MakeEntry(1, 1, "a"));
  checker_.OnApplied(2, 7, MakeEntry(1, 1, "a"));
  EXPECT_FALSE(checker_.failed()) << Failure();
  checker_.OnApplied(3, 1, MakeEntry(1, 1, "b"));
  ASSERT_TRUE(checker_.failed());
  EXPECT_NE(Failure().find("state machine safety: n3(id 3) applied index 1"),
            std::string::npos)
      << Failure();
}

TEST_F(RaftCheckerTest, ApplyingOutOfOrderIsCaughtButARestartStartsOver) {
  checker_.Bootstrap({MakeEntry(1, 1), MakeEntry(2, 1)});
  checker_.OnApplied(1, 1, MakeEntry(1, 1));
  checker_.OnApplied(1, 2, MakeEntry(1, 1));  // a new incarnation replays
  EXPECT_FALSE(checker_.failed());
  checker_.OnApplied(1, 2, MakeEntry(1, 1));
  ASSERT_TRUE(checker_.failed());
  EXPECT_EQ(Failure(), "n1(id 1) applied index 1 after 1");
}

TEST_F(RaftCheckerTest, AReadIndexBelowAnEntryAcknowledgedBeforeTheReadIsCaught) {
  checker_.OnAcknowledged(5);
  checker_.OnReadIssued("r/a");
  checker_.OnAcknowledged(9);  // after r/a was issued: r/a need not see it
  checker_.OnReadIssued("r/b");
  checker_.OnReadAnswered(1, "r/a", 5);
  checker_.OnReadAnswered(1, "r/a", 4);  // a duplicate answer is ignored
  checker_.OnReadAnswered(2, "r/b", 12);
  EXPECT_FALSE(checker_.failed()) << Failure();
  EXPECT_EQ(checker_.reads_answered(), 2u);
  checker_.OnReadIssued("r/c");
  checker_.OnReadAnswered(3, "r/c", 8);
  ASSERT_TRUE(checker_.failed());
  EXPECT_EQ(Failure(),
            "linearizable read: n3(id 3) was answered read index 8 for r/c, but entry 9 "
            "was acknowledged to a client before the read was issued");
}

// Snapshots: a cluster where a quorum of term 2 committed 1..5 and n1
// applied them, so the canonical state is known at every index.
struct SnapshotHistory {
  SnapshotHistory() : leader(LeaderOfTerm(1, 2)) {
    for (uint64_t id = 1; id <= 3; id++) checker.Name(id, "n" + std::to_string(id));
    checker.ObserveRole(1, *leader);
    for (uint64_t id = 1; id <= 2; id++) {
      std::vector<raftpb::Entry> entries;
      for (uint64_t i = 1; i <= 5; i++) entries.push_back(Entry(i));
      const raftpb::HardState state = MakeHardState(2, raft::kNone);
      checker.OnPersisted(id, entries, &state, /*synced=*/true);
    }
    uint64_t hash = 0;
    for (uint64_t i = 1; i <= 5; i++) {
      checker.OnApplied(1, 1, Entry(i));
      hash = MixRaftState(hash, Entry(i));
      hashes.push_back(hash);
    }
  }

  static raftpb::Entry Entry(uint64_t index) {
    return MakeEntry(index, 2, "e" + std::to_string(index));
  }
  static raftpb::SnapshotMetadata Metadata(uint64_t index, uint64_t term) {
    raftpb::SnapshotMetadata metadata;
    metadata.set_index(index);
    metadata.set_term(term);
    return metadata;
  }
  // The canonical state hash after applying `index`.
  uint64_t HashAt(uint64_t index) const { return hashes[index - 1]; }
  std::string Failure() const { return std::string(checker.verdict().message()); }

  RaftChecker checker;
  TestMember leader;
  std::vector<uint64_t> hashes;
};

TEST(RaftCheckerSnapshotTest, SnapshotsMustHoldTheCanonicalStateOfTheirIndex) {
  struct Case {
    std::string name;
    bool installed;  // else taken
    uint64_t index, term, state_index;
    uint64_t hash_of;  // the canonical hash of this index is put in the data
    std::string failure;  // a substring of the failure, or empty
  };
  const Case cases[] = {
      {"taken honestly", false, 5, 2, 5, 5, ""},
      {"installed honestly", true, 3, 2, 3, 3, ""},
      {"data one entry short of its label", false, 5, 2, 4, 4,
       "snapshots: n1(id 1) took a snapshot labelled index 5 term 2, but its state "
       "is that of index 4"},
      {"right index, wrong state", true, 5, 2, 5, 4,
       "snapshots: n3(id 3) installed a snapshot labelled index 5 term 2, but its "
       "state hash"},
      {"label names the wrong term", true, 4, 1, 4, 4,
       "but term 2 was applied there"},
      {"beyond anything applied", true, 6, 2, 6, 5,
       "but no member has applied that far (5)"},
      {"a state ahead of its label (a restart replaying its log)", true, 3, 2, 5, 5, ""},
      {"a state ahead of its label, not the canonical one", false, 3, 2, 5, 4,
       "snapshots: n1(id 1) took a snapshot labelled index 3 term 2, but its state hash"},
      {"no label, only a state", true, 0, 0, 4, 4, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SnapshotHistory fresh;
    const uint64_t member = c.installed ? 3 : 1;
    const raftpb::SnapshotMetadata metadata = SnapshotHistory::Metadata(c.index, c.term);
    if (c.installed) {
      fresh.checker.OnSnapshotInstalled(member, 1, metadata, c.state_index,
                                         fresh.HashAt(c.hash_of));
    } else {
      fresh.checker.OnSnapshotTaken(member, metadata, c.state_index,
                                     fresh.HashAt(c.hash_of));
    }
    if (c.failure.empty()) {
      EXPECT_FALSE(fresh.checker.failed()) << fresh.Failure();
    } else {
      ASSERT_TRUE(fresh.checker.failed());
      EXPECT_NE(fresh.Failure().find(c.failure), std::string::npos) << fresh.Failure();
    }
  }
}

TEST(RaftCheckerSnapshotTest, AMemberAppliesOnFromTheSnapshotItInstalled) {
  SnapshotHistory h;
  h.checker.OnSnapshotInstalled(3, 1, h.Metadata(3, 2), 3, h.HashAt(3));
  h.checker.OnApplied(3, 1, h.Entry(4));
  h.checker.OnApplied(3, 1, h.Entry(5));
  EXPECT_FALSE(h.checker.failed()) << h.Failure();
}

TEST(RaftCheckerSnapshotTest, AMemberThatSkipsPastItsSnapshotIsCaught) {
  SnapshotHistory h;
  h.checker.OnSnapshotInstalled(3, 1, h.Metadata(3, 2), 3, h.HashAt(3));
  h.checker.OnApplied(3, 1, h.Entry(5));
  ASSERT_TRUE(h.checker.failed());
  EXPECT_EQ(h.Failure(), "n3(id 3) applied index 5 after 3");
}

TEST(RaftCheckerSnapshotTest, ARestartFromAnOwnSnapshotKeepsTheDurableLog) {
  SnapshotHistory h;
  h.checker.OnSnapshotTaken(2, h.Metadata(4, 2), 4, h.HashAt(4));
  RecoveredLog recovered;
  *recovered.snapshot.mutable_metadata() = h.Metadata(4, 2);
  recovered.entries.push_back(h.Entry(5));
  recovered.hard_state = MakeHardState(2, raft::kNone, 5);
  h.checker.OnRecovered(2, recovered);
  h.checker.OnSnapshotInstalled(2, 2, h.Metadata(4, 2), 4, h.HashAt(4));
  h.checker.OnApplied(2, 2, h.Entry(5));
  h.checker.CheckAllLogs();
  EXPECT_FALSE(h.checker.failed()) << h.Failure();
}

TEST(RaftCheckerSnapshotTest, ARestartThatLostEntriesBehindASnapshotIsCaught) {
  SnapshotHistory h;
  RecoveredLog recovered;
  *recovered.snapshot.mutable_metadata() = h.Metadata(3, 2);
  recovered.hard_state = MakeHardState(2, raft::kNone, 3);
  h.checker.OnRecovered(2, recovered);
  ASSERT_TRUE(h.checker.failed());
  EXPECT_EQ(h.Failure(), "durability: n2(id 2) synced entries up to 5 but recovered only 3");
}

TEST(RaftCheckerSnapshotTest, ALeadersSnapshotReplacesADivergentLog) {
  SnapshotHistory h;
  // n3 holds an old term's entries the leader never had.
  h.checker.OnPersisted(3, {MakeEntry(1, 1, "old"), MakeEntry(2, 1, "old")}, nullptr, true);
  h.checker.OnSnapshotPersisted(3, h.Metadata(5, 2));
  h.checker.CheckAllLogs();
  EXPECT_FALSE(h.checker.failed()) << h.Failure();
  h.checker.OnPersisted(3, {MakeEntry(6, 2)}, nullptr, true);
  EXPECT_FALSE(h.checker.failed()) << h.Failure();
}

TEST(RaftCheckerSnapshotTest, PersistingASnapshotOfUncommittedEntriesIsCaught) {
  SnapshotHistory h;
  h.checker.OnSnapshotPersisted(3, h.Metadata(7, 2));
  ASSERT_TRUE(h.checker.failed());
  EXPECT_EQ(h.Failure(),
            "snapshots: n3(id 3) persisted a snapshot at index 7 term 2 but only 5 "
            "entries are committed");
}

}  // namespace
}  // namespace keel::sim
