// Tests of WalReplay: the order-dependent rules that rebuild raft's state
// from records (overwrites, snapshot markers, holes left by released
// segments) and the checks that refuse an inconsistent result.
#include "store/wal_replay.h"

#include "gtest/gtest.h"

namespace keel::store {
namespace {

std::string EntryRecord(uint64_t index, uint64_t term) {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data("d" + std::to_string(index));
  return entry.SerializeAsString();
}

std::string Marker(uint64_t index, uint64_t term) {
  raftpb::SnapshotMetadata marker;
  marker.set_index(index);
  marker.set_term(term);
  marker.mutable_conf_state()->add_voters(1);
  return marker.SerializeAsString();
}

std::string Hard(uint64_t term, uint64_t commit) {
  raftpb::HardState state;
  state.set_term(term);
  state.set_commit(commit);
  return state.SerializeAsString();
}

void Entries(WalReplay& replay, uint64_t from, uint64_t to, uint64_t term) {
  for (uint64_t i = from; i <= to; i++) {
    ASSERT_TRUE(replay.Apply(WalRecordType::kEntry, EntryRecord(i, term)).ok());
  }
}

std::vector<uint64_t> Terms(const WalState& state) {
  std::vector<uint64_t> terms;
  for (const raftpb::Entry& e : state.entries) terms.push_back(e.term());
  return terms;
}

TEST(WalReplayTest, LaterEntryOverwritesTheConflictingTail) {
  WalReplay replay;
  Entries(replay, 1, 5, 1);
  Entries(replay, 3, 4, 2);  // a new leader overwrote 3.. with term 2
  WalState state;
  ASSERT_TRUE(replay.Finish(&state).ok());
  EXPECT_EQ(Terms(state), (std::vector<uint64_t>{1, 1, 2, 2}));
}

TEST(WalReplayTest, SnapshotMarkerReplacesTheLog) {
  WalReplay replay;
  Entries(replay, 1, 5, 1);
  ASSERT_TRUE(replay.Apply(WalRecordType::kSnapshot, Marker(10, 3)).ok());
  Entries(replay, 11, 12, 3);
  WalState state;
  ASSERT_TRUE(replay.Finish(&state).ok());
  EXPECT_EQ(state.snapshot.index(), 10u);
  ASSERT_EQ(state.entries.size(), 2u);
  EXPECT_EQ(state.entries[0].index(), 11u);
  EXPECT_EQ(state.hard_state.commit(), 10u);  // raised to the snapshot
}

TEST(WalReplayTest, CompactionKeepsTheLaterEntries) {
  WalReplay replay;
  Entries(replay, 1, 8, 2);
  ASSERT_TRUE(replay.Apply(WalRecordType::kHardState, Hard(2, 8)).ok());
  ASSERT_TRUE(replay.Apply(WalRecordType::kCompaction, Marker(5, 2)).ok());
  WalState state;
  ASSERT_TRUE(replay.Finish(&state).ok());
  EXPECT_EQ(state.snapshot.index(), 5u);
  ASSERT_EQ(state.entries.size(), 3u);
  EXPECT_EQ(state.entries[0].index(), 6u);
}

TEST(WalReplayTest, CompactionWithTheWrongTermIsDataLoss) {
  WalReplay replay;
  Entries(replay, 1, 8, 2);
  EXPECT_EQ(replay.Apply(WalRecordType::kCompaction, Marker(5, 3)).code(),
            absl::StatusCode::kDataLoss);
}

TEST(WalReplayTest, HoleCoveredByALaterMarkerIsAccepted) {
  // The kept segments start with a copy of an old marker (3), then entries
  // from 20 on (11..19 were in released segments), then the marker that
  // covered them.
  WalReplay replay;
  ASSERT_TRUE(replay.Apply(WalRecordType::kCompaction, Marker(3, 1)).ok());
  Entries(replay, 20, 25, 1);
  ASSERT_TRUE(replay.Apply(WalRecordType::kCompaction, Marker(22, 1)).ok());
  WalState state;
  ASSERT_TRUE(replay.Finish(&state).ok());
  EXPECT_EQ(state.snapshot.index(), 22u);
  ASSERT_EQ(state.entries.size(), 3u);
  EXPECT_EQ(state.entries[0].index(), 23u);
}

TEST(WalReplayTest, UncoveredHoleIsDataLoss) {
  WalReplay replay;
  Entries(replay, 1, 3, 1);
  Entries(replay, 7, 9, 1);
  WalState state;
  absl::Status finished = replay.Finish(&state);
  EXPECT_EQ(finished.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(finished.message().find("missing"), absl::string_view::npos);
}

TEST(WalReplayTest, CommitPastTheLastEntryIsDataLoss) {
  WalReplay replay;
  Entries(replay, 1, 3, 1);
  ASSERT_TRUE(replay.Apply(WalRecordType::kHardState, Hard(1, 9)).ok());
  WalState state;
  EXPECT_EQ(replay.Finish(&state).code(), absl::StatusCode::kDataLoss);
}

TEST(WalReplayTest, TermGoingDownIsDataLoss) {
  WalReplay replay;
  Entries(replay, 1, 3, 4);
  Entries(replay, 4, 4, 2);
  WalState state;
  EXPECT_EQ(replay.Finish(&state).code(), absl::StatusCode::kDataLoss);
}

TEST(WalReplayTest, UndecodableEntryIsDataLoss) {
  WalReplay replay;
  EXPECT_EQ(replay.Apply(WalRecordType::kEntry, "\xff\xff\xff").code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace keel::store
