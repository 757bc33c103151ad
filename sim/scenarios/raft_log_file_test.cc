// Tests of RaftLogFile, the raft scenario's log, on a simulated disk: what
// was synced comes back after a crash; entries that replace a suffix win on
// replay; a torn tail (any crash of unsynced appends) is dropped, never
// refused; damage to synced records is refused, never returned; a failed
// fsync breaks the log, and recovery leaves a durable copy of what it read
// even though the page cache may have shown bytes the disk lost; a
// snapshot record replaces the log it covers (keeping later entries only
// when it is the member's own compaction), comes first in the rewrite, and
// lets a grown file be shrunk crash-safely.
#include "sim/scenarios/raft_log_file.h"

#include "gtest/gtest.h"
#include "runtime/strings.h"
#include "sim/sim_testing.h"

namespace keel::sim {
namespace {

raftpb::Entry MakeEntry(uint64_t index, uint64_t term, size_t bytes = 40) {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(std::string(bytes, static_cast<char>('a' + index % 26)));
  return entry;
}

std::vector<raftpb::Entry> Entries(uint64_t first, uint64_t last, uint64_t term) {
  std::vector<raftpb::Entry> out;
  for (uint64_t i = first; i <= last; i++) out.push_back(MakeEntry(i, term));
  return out;
}

raftpb::HardState MakeHardState(uint64_t term, uint64_t vote, uint64_t commit) {
  raftpb::HardState state;
  state.set_term(term);
  state.set_vote(vote);
  state.set_commit(commit);
  return state;
}

std::vector<std::pair<uint64_t, uint64_t>> IndexTerms(const RecoveredRaftLog& log) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const raftpb::Entry& entry : log.entries) out.emplace_back(entry.index(), entry.term());
  return out;
}

raftpb::Snapshot MakeSnapshot(uint64_t index, uint64_t term) {
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(index);
  snapshot.mutable_metadata()->set_term(term);
  snapshot.mutable_metadata()->mutable_conf_state()->add_voters(1);
  snapshot.set_data(StrCat("state at ", index));
  return snapshot;
}

class RaftLogFileTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<RaftLogFile>> Open(RecoveredRaftLog* out) {
    return h_.Run(RaftLogFile::Open(h_.env(), "raft", out));
  }

  std::unique_ptr<RaftLogFile> MustOpen(RecoveredRaftLog* out) {
    auto log = Open(out);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Entries 1..`count` of term 1 (100 B each), one record each, as member 3:
  // a log many times the size of what a snapshot near its end leaves.
  void WriteOneByOne(RaftLogFile& log, uint64_t count) {
    for (uint64_t i = 1; i <= count; i++) {
      std::vector<raftpb::Entry> one = {MakeEntry(i, 1, 100)};
      ASSERT_TRUE(log.Write(i == 1 ? 3 : 0, one, nullptr).ok());
    }
  }

  SimHarness h_{1};
};

TEST_F(RaftLogFileTest, SyncedEntriesAndHardStateComeBackAfterACrash) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  EXPECT_EQ(recovered.member_id, 0u);
  EXPECT_TRUE(recovered.entries.empty());
  const raftpb::HardState state = MakeHardState(3, 2, 7);
  ASSERT_TRUE(log->Write(42, Entries(1, 10, 3), &state).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  h_.CrashAndRestart();
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.member_id, 42u);
  EXPECT_EQ(recovered.entries.size(), 10u);
  EXPECT_EQ(recovered.hard_state.SerializeAsString(), state.SerializeAsString());
  EXPECT_FALSE(recovered.torn_tail());
}

TEST_F(RaftLogFileTest, EntriesThatReplaceASuffixWinOnReplay) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  ASSERT_TRUE(log->Write(1, Entries(1, 5, 1), nullptr).ok());
  ASSERT_TRUE(log->Write(Entries(3, 4, 2), nullptr).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  h_.CrashAndRestart();
  log = MustOpen(&recovered);
  const std::vector<std::pair<uint64_t, uint64_t>> want = {{1, 1}, {2, 1}, {3, 2}, {4, 2}};
  EXPECT_EQ(IndexTerms(recovered), want);
}

TEST_F(RaftLogFileTest, AFailedFsyncBreaksTheLogAndRecoveryMakesWhatItReadDurable) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  ASSERT_TRUE(log->Write(1, Entries(1, 3, 1), nullptr).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  ASSERT_TRUE(log->Write(Entries(4, 8, 1), nullptr).ok());
  h_.disk().FailNextSyncs();
  EXPECT_FALSE(h_.Run(log->Sync()).ok());
  EXPECT_TRUE(log->broken());
  EXPECT_FALSE(log->Write(Entries(9, 9, 1), nullptr).ok());
  EXPECT_FALSE(h_.Run(log->Sync()).ok());
  // The member stops and restarts without a crash: the page cache still
  // shows entries 4..8, which the disk may not hold.
  log.reset();
  h_.KillAndRestart();
  log = MustOpen(&recovered);
  ASSERT_EQ(recovered.entries.size(), 8u);
  // What recovery read is durable now: a crash cannot take it back.
  log.reset();
  h_.CrashAndRestart();
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.entries.size(), 8u);
}

TEST_F(RaftLogFileTest, AFailedWriteBreaksTheLogAndItsPartialRecordIsATornTail) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  ASSERT_TRUE(log->Write(1, Entries(1, 3, 1), nullptr).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  h_.disk().FailNextWrites(absl::StatusCode::kResourceExhausted);
  std::vector<raftpb::Entry> big = {MakeEntry(4, 1, 3000)};
  EXPECT_FALSE(log->Write(big, nullptr).ok());
  EXPECT_TRUE(log->broken());
  log.reset();
  h_.KillAndRestart();
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.entries.size(), 3u);
}

TEST_F(RaftLogFileTest, ARottedBitInASyncedRecordIsRefused) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  ASSERT_TRUE(log->Write(1, Entries(1, 20, 1), nullptr).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  // Inside the payload of an entry in the middle of the log.
  ASSERT_TRUE(h_.disk().CorruptBit("raft/raft.log", 400, 3).ok());
  h_.KillAndRestart();
  auto refused = Open(&recovered);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsDataLoss(refused.status())) << refused.status();
}

TEST_F(RaftLogFileTest, ARottedLengthInTheMiddleIsRefusedNotTakenForATornTail) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  ASSERT_TRUE(log->Write(1, Entries(1, 20, 1), nullptr).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  // The second record starts after the 25-byte member record; bit 30 of
  // its length makes it claim to run far past the end of the file.
  ASSERT_TRUE(h_.disk().CorruptBit("raft/raft.log", 25 + 4 + 3, 6).ok());
  h_.KillAndRestart();
  auto refused = Open(&recovered);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsDataLoss(refused.status())) << refused.status();
}

TEST_F(RaftLogFileTest, BitsFlippedOnlyOnReadAreReadAgain) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  ASSERT_TRUE(log->Write(1, Entries(1, 20, 1), nullptr).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  h_.KillAndRestart();
  h_.disk().FlipBitOnNextReads(3);
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.entries.size(), 20u);
}

TEST_F(RaftLogFileTest, OwnSnapshotDropsTheEntriesItCoversAndKeepsLaterOnes) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  const raftpb::HardState state = MakeHardState(1, 1, 8);
  ASSERT_TRUE(log->Write(1, Entries(1, 10, 1), &state).ok());
  ASSERT_TRUE(log->WriteSnapshot(MakeSnapshot(6, 1)).ok());
  ASSERT_TRUE(log->Write(Entries(11, 12, 1), nullptr).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  h_.CrashAndRestart();
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.snapshot.metadata().index(), 6u);
  EXPECT_EQ(recovered.snapshot.data(), "state at 6");
  const std::vector<std::pair<uint64_t, uint64_t>> want = {
      {7, 1}, {8, 1}, {9, 1}, {10, 1}, {11, 1}, {12, 1}};
  EXPECT_EQ(IndexTerms(recovered), want);
  EXPECT_EQ(recovered.hard_state.commit(), 8u);
}

TEST_F(RaftLogFileTest, LeadersSnapshotReplacesADivergentLogWhole) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  ASSERT_TRUE(log->Write(1, Entries(1, 10, 1), nullptr).ok());
  // Index 8 has term 2 in the leader's log: everything held goes.
  ASSERT_TRUE(log->WriteSnapshot(MakeSnapshot(8, 2)).ok());
  const raftpb::HardState state = MakeHardState(2, 0, 8);
  ASSERT_TRUE(log->Write(Entries(9, 9, 2), &state).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  h_.CrashAndRestart();
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.snapshot.metadata().index(), 8u);
  const std::vector<std::pair<uint64_t, uint64_t>> want = {{9, 2}};
  EXPECT_EQ(IndexTerms(recovered), want);
}

TEST_F(RaftLogFileTest, SnapshotBeyondTheLogDropsItAndRaisesTheCommit) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  const raftpb::HardState state = MakeHardState(3, 0, 2);
  ASSERT_TRUE(log->Write(1, Entries(1, 3, 1), &state).ok());
  ASSERT_TRUE(log->WriteSnapshot(MakeSnapshot(50, 3)).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  h_.KillAndRestart();
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.snapshot.metadata().index(), 50u);
  EXPECT_TRUE(recovered.entries.empty());
  EXPECT_EQ(recovered.hard_state.commit(), 50u);
}

TEST_F(RaftLogFileTest, RewriteHoldsTheSnapshotRecordFirst) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  ASSERT_TRUE(log->Write(1, Entries(1, 5, 1), nullptr).ok());
  ASSERT_TRUE(log->WriteSnapshot(MakeSnapshot(4, 1)).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  h_.KillAndRestart();
  log = MustOpen(&recovered);
  auto file = h_.env().fs().Open("raft/raft.log", OpenOptions{});
  ASSERT_TRUE(file.ok());
  auto bytes = (*file)->ReadAt(0, kRaftRecordHeaderBytes);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(static_cast<uint8_t>((*bytes)[16]),
            static_cast<uint8_t>(RaftRecordType::kSnapshot));
  EXPECT_EQ(recovered.member_id, 1u);
  EXPECT_EQ(recovered.entries.size(), 1u);
}

TEST_F(RaftLogFileTest, GrownLogIsShrunkToItsStateAndSurvivesACrash) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  WriteOneByOne(*log, 1000);
  const raftpb::HardState state = MakeHardState(1, 3, 1000);
  ASSERT_TRUE(log->Write({}, &state).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  // Not yet: nothing is compacted, the file is its state.
  ASSERT_TRUE(h_.Run(log->MaybeShrink()).ok());
  EXPECT_EQ(log->shrinks(), 0u);
  ASSERT_TRUE(log->WriteSnapshot(MakeSnapshot(990, 1)).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  const uint64_t before = log->end();
  ASSERT_TRUE(h_.Run(log->MaybeShrink()).ok());
  EXPECT_EQ(log->shrinks(), 1u);
  EXPECT_LT(log->end() * 10, before);
  // The shrunk file takes appends, and all of it is durable.
  ASSERT_TRUE(log->Write(Entries(1001, 1001, 1), nullptr).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  log.reset();
  h_.CrashAndRestart();
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.member_id, 3u);
  EXPECT_EQ(recovered.snapshot.metadata().index(), 990u);
  ASSERT_EQ(recovered.entries.size(), 11u);
  EXPECT_EQ(recovered.entries.front().index(), 991u);
  EXPECT_EQ(recovered.hard_state.commit(), 1000u);
}

TEST_F(RaftLogFileTest, AFailedSyncDuringAShrinkBreaksTheLogAndLosesNothing) {
  RecoveredRaftLog recovered;
  auto log = MustOpen(&recovered);
  WriteOneByOne(*log, 1000);
  ASSERT_TRUE(log->WriteSnapshot(MakeSnapshot(990, 1)).ok());
  ASSERT_TRUE(h_.Run(log->Sync()).ok());
  h_.disk().FailNextSyncs();
  EXPECT_FALSE(h_.Run(log->MaybeShrink()).ok());
  EXPECT_TRUE(log->broken());
  log.reset();
  h_.CrashAndRestart();
  log = MustOpen(&recovered);
  EXPECT_EQ(recovered.snapshot.metadata().index(), 990u);
  EXPECT_EQ(recovered.entries.size(), 10u);
}

// Every crash of unsynced appends, however the disk tears them, recovers a
// prefix of what was written that includes everything synced, and is never
// mistaken for damage.
TEST(RaftLogFileCrashTest, AnyTornTailRecoversAPrefixThatHoldsEverythingSynced) {
  int torn = 0;
  for (uint64_t seed = 1; seed <= 200; seed++) {
    SimHarness h(seed);
    RecoveredRaftLog recovered;
    auto log = h.Run(RaftLogFile::Open(h.env(), "raft", &recovered));
    ASSERT_TRUE(log.ok());
    const raftpb::HardState synced = MakeHardState(2, 1, 5);
    ASSERT_TRUE((*log)->Write(7, Entries(1, 10, 2), &synced).ok());
    ASSERT_TRUE(h.Run((*log)->Sync()).ok());
    // Unsynced: more entries of various sizes, a suffix replaced, a vote.
    for (uint64_t i = 11; i <= 30; i++) {
      std::vector<raftpb::Entry> one = {MakeEntry(i, 2, 10 + (i * 97) % 900)};
      ASSERT_TRUE((*log)->Write(one, nullptr).ok());
    }
    ASSERT_TRUE((*log)->Write(Entries(25, 27, 3), nullptr).ok());
    const raftpb::HardState later = MakeHardState(3, 7, 9);
    ASSERT_TRUE((*log)->Write({}, &later).ok());
    log->reset();
    h.CrashAndRestart();
    auto again = h.Run(RaftLogFile::Open(h.env(), "raft", &recovered));
    ASSERT_TRUE(again.ok()) << "seed " << seed << ": " << again.status();
    if (recovered.torn_tail()) torn++;
    ASSERT_GE(recovered.entries.size(), 10u) << "seed " << seed;
    EXPECT_EQ(recovered.member_id, 7u);
    // Replay order: 1..30 of term 2, then 25..27 of term 3 replacing the
    // suffix from 25.
    bool replaced = false;
    for (size_t i = 0; i < recovered.entries.size(); i++) {
      const raftpb::Entry& entry = recovered.entries[i];
      ASSERT_EQ(entry.index(), i + 1);
      if (entry.term() == 3) replaced = true;
      ASSERT_EQ(entry.term(), entry.index() >= 25 && replaced ? 3u : 2u) << "seed " << seed;
    }
    if (replaced) {
      EXPECT_LE(recovered.entries.size(), 27u);
    }
    EXPECT_GE(recovered.hard_state.term(), 2u);
  }
  EXPECT_GT(torn, 20) << "the crashes should tear some tails";
}

// The same with snapshot records among the synced and the torn writes:
// recovery starts from the newest snapshot that survived, with the entries
// after it contiguous.
TEST(RaftLogFileCrashTest, ATornTailAfterSnapshotsRecoversFromTheNewestSurvivingOne) {
  int torn = 0;
  for (uint64_t seed = 1; seed <= 200; seed++) {
    SimHarness h(seed);
    RecoveredRaftLog recovered;
    auto log = h.Run(RaftLogFile::Open(h.env(), "raft", &recovered));
    ASSERT_TRUE(log.ok());
    const raftpb::HardState synced = MakeHardState(2, 1, 10);
    ASSERT_TRUE((*log)->Write(7, Entries(1, 10, 2), &synced).ok());
    ASSERT_TRUE((*log)->WriteSnapshot(MakeSnapshot(6, 2)).ok());
    ASSERT_TRUE(h.Run((*log)->Sync()).ok());
    // Unsynced: entries of various sizes and a later snapshot among them.
    for (uint64_t i = 11; i <= 30; i++) {
      std::vector<raftpb::Entry> one = {MakeEntry(i, 2, 10 + (i * 97) % 900)};
      ASSERT_TRUE((*log)->Write(one, nullptr).ok());
      if (i == 20) {
        ASSERT_TRUE((*log)->WriteSnapshot(MakeSnapshot(18, 2)).ok());
      }
    }
    log->reset();
    h.CrashAndRestart();
    auto again = h.Run(RaftLogFile::Open(h.env(), "raft", &recovered));
    ASSERT_TRUE(again.ok()) << "seed " << seed << ": " << again.status();
    if (recovered.torn_tail()) torn++;
    const uint64_t base = recovered.snapshot.metadata().index();
    ASSERT_TRUE(base == 6 || base == 18) << "seed " << seed << ": " << base;
    EXPECT_EQ(recovered.snapshot.data(), StrCat("state at ", base));
    ASSERT_GE(base + recovered.entries.size(), base == 6 ? 10u : 20u) << "seed " << seed;
    for (size_t i = 0; i < recovered.entries.size(); i++) {
      ASSERT_EQ(recovered.entries[i].index(), base + i + 1) << "seed " << seed;
    }
    EXPECT_GE(recovered.hard_state.commit(), base);
  }
  EXPECT_GT(torn, 20) << "the crashes should tear some tails";
}

}  // namespace
}  // namespace keel::sim
