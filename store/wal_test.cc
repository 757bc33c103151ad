// Tests of the Wal on one simulated machine (sim/sim_testing.h): round
// trips through close and reopen, torn tails, damage in the middle,
// segment rotation and release, identity checks, fsync failures, and
// crashes that keep a random part of the unsynced writes.
#include "store/wal.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/sim_testing.h"
#include "store/wal_record.h"

namespace keel::store {
namespace {

using sim::SimHarness;

constexpr char kDir[] = "data/member/wal";
constexpr WalIdentity kIdentity{.member_id = 0x8e9e05c52164694d,
                                .cluster_id = 0xcdf818194e3a8c32};

raftpb::Entry MakeEntry(uint64_t index, uint64_t term) {
  raftpb::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data("entry-" + std::to_string(index) + "-" + std::to_string(term) +
                 std::string(index % 37, 'x'));
  return entry;
}

std::vector<raftpb::Entry> MakeEntries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<raftpb::Entry> entries;
  for (uint64_t i = from; i <= to; i++) entries.push_back(MakeEntry(i, term));
  return entries;
}

raftpb::HardState MakeHardState(uint64_t term, uint64_t commit) {
  raftpb::HardState state;
  state.set_term(term);
  state.set_vote(1);
  state.set_commit(commit);
  return state;
}

raftpb::ConfState Voters(std::vector<uint64_t> ids) {
  raftpb::ConfState conf;
  for (uint64_t id : ids) conf.add_voters(id);
  return conf;
}

class WalTest : public ::testing::Test {
 protected:
  explicit WalTest(uint64_t seed = 1) : h_(seed) {}

  WalOptions Options() const {
    return {.dir = kDir, .segment_bytes = segment_bytes_, .max_segments = max_segments_};
  }

  std::unique_ptr<Wal> Create() {
    auto wal = h_.Run(Wal::Create(h_.env(), Options(), kIdentity, Voters({1, 2, 3})));
    KEEL_ASSERT_MSG(wal.ok(), wal.status().ToString().c_str());
    return std::move(*wal);
  }

  absl::StatusOr<std::unique_ptr<Wal>> Open(WalState* state,
                                            WalIdentity expected = kIdentity) {
    return h_.Run(Wal::Open(h_.env(), Options(), expected, state, &report_));
  }

  void Sync(Wal& wal) { ASSERT_TRUE(h_.Run(wal.Sync()).ok()); }

  std::string SegmentPath(const Wal& wal, size_t i) const {
    return JoinPath(kDir, wal.segment_names().at(i));
  }

  SimHarness h_;
  uint64_t segment_bytes_ = kDefaultWalSegmentBytes;
  int max_segments_ = kDefaultWalMaxSegments;
  WalRecoveryReport report_;
};

TEST_F(WalTest, CreatedWalReopensWithWhatWasSynced) {
  {
    std::unique_ptr<Wal> wal = Create();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 100, 1)).ok());
    ASSERT_TRUE(wal->AppendHardState(MakeHardState(1, 90)).ok());
    Sync(*wal);
  }
  WalState state;
  auto wal = Open(&state);
  ASSERT_TRUE(wal.ok()) << wal.status();
  ASSERT_EQ(state.entries.size(), 100u);
  for (uint64_t i = 1; i <= 100; i++) {
    EXPECT_EQ(state.entries[i - 1].SerializeAsString(),
              MakeEntry(i, 1).SerializeAsString());
  }
  EXPECT_EQ(state.hard_state.commit(), 90u);
  EXPECT_EQ(state.snapshot.index(), 0u);
  EXPECT_EQ(state.snapshot.conf_state().voters_size(), 3);
  EXPECT_EQ(report_.identity, kIdentity);
  EXPECT_EQ(report_.torn_bytes, 0u);
  EXPECT_EQ((*wal)->last_index(), 100u);
}

TEST_F(WalTest, AppendsAfterReopenContinueTheLog) {
  {
    std::unique_ptr<Wal> wal = Create();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 10, 1)).ok());
    Sync(*wal);
  }
  {
    WalState state;
    auto wal = Open(&state);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->AppendEntries(MakeEntries(8, 12, 2)).ok());
    Sync(**wal);
  }
  WalState state;
  ASSERT_TRUE(Open(&state).ok());
  ASSERT_EQ(state.entries.size(), 12u);
  EXPECT_EQ(state.entries[6].term(), 1u);
  EXPECT_EQ(state.entries[7].term(), 2u);
  EXPECT_EQ(state.entries[11].term(), 2u);
}

TEST_F(WalTest, OpenWithoutAWalIsNotFound) {
  WalState state;
  EXPECT_EQ(Open(&state).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(Wal::Exists(h_.env().fs(), kDir));
}

TEST_F(WalTest, CreateRefusesAnExistingWal) {
  Create();
  EXPECT_TRUE(Wal::Exists(h_.env().fs(), kDir));
  auto again = h_.Run(Wal::Create(h_.env(), Options(), kIdentity, Voters({1})));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(WalTest, AnotherMembersWalIsRefused) {
  Create();
  WalState state;
  auto other = Open(&state, {.member_id = 42, .cluster_id = kIdentity.cluster_id});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("belongs to member 8e9e05c52164694d"),
            absl::string_view::npos)
      << other.status();
  auto cluster = Open(&state, {.member_id = 0, .cluster_id = 7});
  EXPECT_EQ(cluster.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(WalTest, TornTailIsTruncated) {
  std::string path;
  uint64_t good_bytes = 0;
  {
    std::unique_ptr<Wal> wal = Create();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 20, 1)).ok());
    Sync(*wal);
    path = SegmentPath(*wal, 0);
    good_bytes = wal->tail_bytes();
  }
  // Half of one more record made it to the disk.
  std::string record;
  AppendWalRecord(&record, WalRecordType::kEntry,
                  MakeEntry(21, 1).SerializeAsString(), good_bytes);
  {
    auto file = h_.env().fs().Open(path, {});
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(record.substr(0, record.size() / 2)).ok());
    ASSERT_TRUE((*file)->SyncNow().ok());
  }
  WalState state;
  auto wal = Open(&state);
  ASSERT_TRUE(wal.ok()) << wal.status();
  EXPECT_EQ(state.entries.size(), 20u);
  EXPECT_EQ(report_.torn_bytes, record.size() / 2);
  EXPECT_EQ(report_.torn_file, path);
  EXPECT_EQ(report_.torn_offset, good_bytes);
  // The cut is durable, and appending carries on from it.
  EXPECT_EQ(h_.disk().DurableContents(path)->size(), good_bytes);
  ASSERT_TRUE((*wal)->AppendEntries(MakeEntries(21, 22, 1)).ok());
  Sync(**wal);
  wal->reset();
  ASSERT_TRUE(Open(&state).ok());
  EXPECT_EQ(state.entries.size(), 22u);
  EXPECT_EQ(report_.torn_bytes, 0u);
}

TEST_F(WalTest, CorruptMiddleIsRefused) {
  std::string path;
  uint64_t middle = 0;
  {
    std::unique_ptr<Wal> wal = Create();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 20, 1)).ok());
    Sync(*wal);
    middle = wal->tail_bytes();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(21, 40, 1)).ok());
    Sync(*wal);
    path = SegmentPath(*wal, 0);
  }
  // Entry 21's payload rots; good records follow it.
  ASSERT_TRUE(h_.disk().CorruptBit(path, middle + kWalHeaderBytes + 3, 2).ok());
  WalState state;
  auto wal = Open(&state);
  EXPECT_EQ(wal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(wal.status().message().find(path), absl::string_view::npos) << wal.status();
  EXPECT_NE(wal.status().message().find("offset " + std::to_string(middle)),
            absl::string_view::npos)
      << wal.status();
  EXPECT_TRUE(state.entries.empty());
}

TEST_F(WalTest, CorruptLastRecordIsRefusedToo) {
  std::string path;
  uint64_t last = 0;
  {
    std::unique_ptr<Wal> wal = Create();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 20, 1)).ok());
    last = wal->tail_bytes() - WalFramedBytes(MakeEntry(20, 1).ByteSizeLong());
    Sync(*wal);
    path = SegmentPath(*wal, 0);
  }
  // A synced record with a flipped bit is damage even at the very end.
  ASSERT_TRUE(h_.disk().CorruptBit(path, last + kWalHeaderBytes + 1, 0).ok());
  WalState state;
  EXPECT_EQ(Open(&state).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(WalTest, SegmentsRotateAtTheConfiguredSize) {
  segment_bytes_ = 4096;
  {
    std::unique_ptr<Wal> wal = Create();
    for (uint64_t i = 1; i <= 300; i += 10) {
      ASSERT_TRUE(wal->AppendEntries(MakeEntries(i, i + 9, 1)).ok());
      ASSERT_TRUE(wal->AppendHardState(MakeHardState(1, i + 9)).ok());
      Sync(*wal);
    }
    EXPECT_GE(wal->segment_names().size(), 4u);
    EXPECT_EQ(wal->segment_names()[0], WalSegmentName(0, 1));
  }
  WalState state;
  auto wal = Open(&state);
  ASSERT_TRUE(wal.ok()) << wal.status();
  EXPECT_EQ(state.entries.size(), 300u);
  EXPECT_EQ(state.hard_state.commit(), 300u);
  EXPECT_EQ(report_.segments, (*wal)->segment_names().size());
}

// Leader changes rewrite an uncommitted tail that began in the previous
// segment until the current one fills: the next segment's first index is
// below the current one's, and the WAL still opens.
TEST_F(WalTest, ASegmentMayBeginBelowItsPredecessorAfterTruncations) {
  segment_bytes_ = 2048;
  {
    std::unique_ptr<Wal> wal = Create();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 40, 1)).ok());
    Sync(*wal);
    ASSERT_EQ(wal->segment_names().size(), 2u);
    for (uint64_t term = 2; wal->segment_names().size() == 2; term++) {
      ASSERT_LT(term, 20u);
      ASSERT_TRUE(wal->AppendEntries(MakeEntries(30, 35, term)).ok());
      ASSERT_TRUE(wal->AppendHardState(MakeHardState(term, 29)).ok());
      Sync(*wal);
    }
    uint64_t seq = 0, first_of_second = 0, first_of_third = 0;
    ASSERT_TRUE(ParseWalSegmentName(wal->segment_names()[1], &seq, &first_of_second));
    ASSERT_TRUE(ParseWalSegmentName(wal->segment_names()[2], &seq, &first_of_third));
    EXPECT_EQ(first_of_second, 41u);
    EXPECT_EQ(first_of_third, 36u);
  }
  WalState state;
  auto wal = Open(&state);
  ASSERT_TRUE(wal.ok()) << wal.status();
  ASSERT_EQ(state.entries.size(), 35u);
  EXPECT_EQ(state.entries[34].term(), state.hard_state.term());
  EXPECT_EQ(state.entries[28].term(), 1u);
  EXPECT_EQ((*wal)->last_index(), 35u);
}

TEST_F(WalTest, CoveredSegmentsAreReleasedAndRecoveryStillWorks) {
  segment_bytes_ = 4096;
  max_segments_ = 1;
  {
    std::unique_ptr<Wal> wal = Create();
    for (uint64_t i = 1; i <= 300; i += 10) {
      ASSERT_TRUE(wal->AppendEntries(MakeEntries(i, i + 9, 1)).ok());
      Sync(*wal);
    }
    const size_t before = wal->segment_names().size();
    raftpb::SnapshotMetadata marker;
    marker.set_index(250);
    marker.set_term(1);
    *marker.mutable_conf_state() = Voters({1, 2});
    ASSERT_TRUE(wal->AppendCompaction(marker).ok());
    Sync(*wal);
    ASSERT_TRUE(h_.Run(wal->ReleaseTo(250)).ok());
    EXPECT_LT(wal->segment_names().size(), before);
    EXPECT_NE(wal->segment_names()[0], WalSegmentName(0, 1));
    auto listed = h_.env().fs().List(kDir);
    EXPECT_EQ(listed->size(), wal->segment_names().size());
  }
  WalState state;
  auto wal = Open(&state);
  ASSERT_TRUE(wal.ok()) << wal.status();
  EXPECT_EQ(state.snapshot.index(), 250u);
  EXPECT_EQ(state.snapshot.conf_state().voters_size(), 2);
  ASSERT_EQ(state.entries.size(), 50u);
  EXPECT_EQ(state.entries[0].index(), 251u);
}

TEST_F(WalTest, ReleaseKeepsMaxSegmentsAndNeverAnUncoveredOne) {
  segment_bytes_ = 2048;
  max_segments_ = 3;
  std::unique_ptr<Wal> wal = Create();
  for (uint64_t i = 1; i <= 200; i += 10) {
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(i, i + 9, 1)).ok());
    Sync(*wal);
  }
  const size_t before = wal->segment_names().size();
  ASSERT_GT(before, 4u);
  // Nothing is covered yet: nothing goes.
  ASSERT_TRUE(h_.Run(wal->ReleaseTo(0)).ok());
  EXPECT_EQ(wal->segment_names().size(), before);
  raftpb::SnapshotMetadata marker;
  marker.set_index(200);
  marker.set_term(1);
  ASSERT_TRUE(wal->AppendCompaction(marker).ok());
  Sync(*wal);
  ASSERT_TRUE(h_.Run(wal->ReleaseTo(200)).ok());
  EXPECT_EQ(wal->segment_names().size(), 3u);
}

TEST_F(WalTest, MissingSegmentInTheMiddleIsDataLoss) {
  segment_bytes_ = 2048;
  std::string victim;
  {
    std::unique_ptr<Wal> wal = Create();
    for (uint64_t i = 1; i <= 100; i += 10) {
      ASSERT_TRUE(wal->AppendEntries(MakeEntries(i, i + 9, 1)).ok());
      Sync(*wal);
    }
    ASSERT_GT(wal->segment_names().size(), 2u);
    victim = SegmentPath(*wal, 1);
  }
  ASSERT_TRUE(h_.env().fs().Remove(victim).ok());
  WalState state;
  EXPECT_EQ(Open(&state).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(WalTest, LeftoverTemporarySegmentIsRemoved) {
  Create();
  const std::string temp = JoinPath(kDir, WalSegmentName(1, 5) + ".tmp");
  ASSERT_TRUE(h_.env().fs().Open(temp, {.create = true}).ok());
  WalState state;
  ASSERT_TRUE(Open(&state).ok());
  EXPECT_FALSE(h_.env().fs().Stat(temp).ok());
}

TEST_F(WalTest, FailedFsyncBreaksTheWal) {
  std::unique_ptr<Wal> wal = Create();
  ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 3, 1)).ok());
  h_.disk().FailNextSyncs(1);
  EXPECT_FALSE(h_.Run(wal->Sync()).ok());
  EXPECT_FALSE(wal->broken().ok());
  EXPECT_FALSE(wal->AppendEntries(MakeEntries(4, 4, 1)).ok());
  EXPECT_FALSE(h_.Run(wal->Sync()).ok());
}

TEST_F(WalTest, EntriesRecoveredAfterAFailedFsyncAreMadeDurable) {
  {
    std::unique_ptr<Wal> wal = Create();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 10, 1)).ok());
    Sync(*wal);
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(11, 60, 1)).ok());
    h_.disk().FailNextSyncs(1);
    ASSERT_FALSE(h_.Run(wal->Sync()).ok());
  }
  // The process dies; the page cache still returns entries 11..60 although
  // the failed fsync left them never to reach the disk (fsyncgate).
  h_.KillAndRestart();
  WalState state;
  ASSERT_TRUE(Open(&state).ok());
  ASSERT_EQ(state.entries.size(), 60u);
  // Recovery wrote them again and synced, so raft may rely on them: a
  // power loss now keeps them all.
  h_.CrashAndRestart();
  auto wal = Open(&state);
  ASSERT_TRUE(wal.ok()) << wal.status();
  EXPECT_EQ(state.entries.size(), 60u);
}

TEST_F(WalTest, SnapshotMarkerReplacesTheLogAcrossReopen) {
  {
    std::unique_ptr<Wal> wal = Create();
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(1, 30, 1)).ok());
    Sync(*wal);
    raftpb::SnapshotMetadata snapshot;
    snapshot.set_index(50);
    snapshot.set_term(3);
    *snapshot.mutable_conf_state() = Voters({1, 2, 3, 4});
    ASSERT_TRUE(wal->AppendSnapshot(snapshot).ok());
    ASSERT_TRUE(wal->AppendEntries(MakeEntries(51, 55, 3)).ok());
    ASSERT_TRUE(wal->AppendHardState(MakeHardState(3, 52)).ok());
    Sync(*wal);
  }
  WalState state;
  ASSERT_TRUE(Open(&state).ok());
  EXPECT_EQ(state.snapshot.index(), 50u);
  EXPECT_EQ(state.snapshot.conf_state().voters_size(), 4);
  ASSERT_EQ(state.entries.size(), 5u);
  EXPECT_EQ(state.entries[0].index(), 51u);
  EXPECT_EQ(state.hard_state.commit(), 52u);
}

// Crashes that keep a random part of the unsynced writes (torn at
// sectors): every synced entry survives, and what comes back is a prefix
// of what was written, every time.
class WalCrashTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(WalCrashTest, CrashKeepsEverySyncedEntryAndOnlyAPrefix) {
  SimHarness h(GetParam());
  Random random{GetParam() * 7919};
  const WalOptions options{.dir = kDir, .segment_bytes = 8192, .max_segments = 0};
  {
    auto created = h.Run(Wal::Create(h.env(), options, kIdentity, Voters({1})));
    ASSERT_TRUE(created.ok());
  }
  uint64_t written = 0;  // entries appended (all of term 1)
  uint64_t synced = 0;   // entries known durable
  for (int round = 0; round < 12; round++) {
    WalState state;
    WalRecoveryReport report;
    auto wal = h.Run(Wal::Open(h.env(), options, kIdentity, &state, &report));
    ASSERT_TRUE(wal.ok()) << "round " << round << ": " << wal.status();
    const uint64_t recovered = state.entries.size();
    ASSERT_GE(recovered, synced) << "round " << round << ": lost synced entries";
    ASSERT_LE(recovered, written);
    for (uint64_t i = 0; i < recovered; i++) {
      ASSERT_EQ(state.entries[i].SerializeAsString(),
                MakeEntry(i + 1, 1).SerializeAsString());
    }
    written = recovered;
    synced = recovered;
    const int batches = static_cast<int>(random.UniformRange(1, 8));
    for (int b = 0; b < batches; b++) {
      const uint64_t n = random.UniformRange(1, 40);
      ASSERT_TRUE((*wal)->AppendEntries(MakeEntries(written + 1, written + n, 1)).ok());
      written += n;
      if (random.OneIn(3)) {
        ASSERT_TRUE((*wal)->Flush().ok());  // written, never synced
        continue;
      }
      ASSERT_TRUE(h.Run((*wal)->Sync()).ok());
      synced = written;
    }
    // The unsynced records reach the page cache, where a crash may keep
    // any subset of their sectors.
    ASSERT_TRUE((*wal)->Flush().ok());
    wal->reset();
    h.CrashAndRestart();
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, WalCrashTest, ::testing::Range<uint64_t>(1, 21));

}  // namespace
}  // namespace keel::store
