// MemoryStorage against the Storage contract (raft/storage.h): term and
// entry lookups around the compaction point, size-limited reads, snapshots,
// compaction and appends that overwrite a suffix.
#include "raft/storage.h"

#include <gtest/gtest.h>

#include "raft/errors.h"
#include "raft/raft_test_util.h"

namespace keel::raft {
namespace {

using testing::MakeEntry;

// A storage whose log is the dummy (3,3) followed by (4,4) and (5,5).
std::unique_ptr<MemoryStorage> ThreeFiveStorage() {
  auto storage = std::make_unique<MemoryStorage>();
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(3);
  snapshot.mutable_metadata()->set_term(3);
  EXPECT_TRUE(storage->ApplySnapshot(snapshot).ok());
  EXPECT_TRUE(storage->Append({MakeEntry(4, 4), MakeEntry(5, 5)}).ok());
  return storage;
}

std::vector<std::pair<uint64_t, uint64_t>> IndexTerms(
    const std::vector<Entry>& entries) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const Entry& entry : entries) out.emplace_back(entry.index(), entry.term());
  return out;
}

TEST(MemoryStorageTest, EmptyLogHasFirstIndexOneAndLastIndexZero) {
  MemoryStorage storage;
  EXPECT_EQ(*storage.FirstIndex(), 1u);
  EXPECT_EQ(*storage.LastIndex(), 0u);
  EXPECT_EQ(*storage.Term(0), 0u);
  EXPECT_TRUE(IsError(storage.Term(1).status(), Error::kUnavailable));
}

TEST(MemoryStorageTest, TermIsKnownFromTheSnapshotIndexOn) {
  auto storage = ThreeFiveStorage();
  struct Case {
    uint64_t index;
    std::optional<Error> error;
    uint64_t term;
  } cases[] = {
      {2, Error::kCompacted, 0}, {3, std::nullopt, 3}, {4, std::nullopt, 4},
      {5, std::nullopt, 5},      {6, Error::kUnavailable, 0},
  };
  for (const Case& c : cases) {
    absl::StatusOr<uint64_t> term = storage->Term(c.index);
    if (c.error.has_value()) {
      EXPECT_TRUE(IsError(term.status(), *c.error)) << c.index;
    } else {
      ASSERT_TRUE(term.ok()) << c.index;
      EXPECT_EQ(*term, c.term) << c.index;
    }
  }
}

TEST(MemoryStorageTest, EntriesAreCutToMaxSizeButNeverEmpty) {
  auto storage = std::make_unique<MemoryStorage>();
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(3);
  snapshot.mutable_metadata()->set_term(3);
  ASSERT_TRUE(storage->ApplySnapshot(snapshot).ok());
  std::vector<Entry> entries = {MakeEntry(4, 4), MakeEntry(5, 5), MakeEntry(6, 6)};
  ASSERT_TRUE(storage->Append(entries).ok());
  const uint64_t one = EntrySize(entries[0]);
  struct Case {
    uint64_t lo, hi, max_size;
    std::optional<Error> error;
    std::vector<std::pair<uint64_t, uint64_t>> want;
  } cases[] = {
      {2, 6, kNoLimit, Error::kCompacted, {}},
      {3, 4, kNoLimit, Error::kCompacted, {}},
      {4, 5, kNoLimit, std::nullopt, {{4, 4}}},
      {4, 6, kNoLimit, std::nullopt, {{4, 4}, {5, 5}}},
      {4, 7, kNoLimit, std::nullopt, {{4, 4}, {5, 5}, {6, 6}}},
      // Even a zero limit returns one entry.
      {4, 7, 0, std::nullopt, {{4, 4}}},
      {4, 7, one * 2, std::nullopt, {{4, 4}, {5, 5}}},
      {4, 7, one * 2 + one / 2, std::nullopt, {{4, 4}, {5, 5}}},
      {4, 7, one * 3 - 1, std::nullopt, {{4, 4}, {5, 5}}},
      {4, 7, one * 3, std::nullopt, {{4, 4}, {5, 5}, {6, 6}}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<Entry>> got =
        storage->Entries(c.lo, c.hi, c.max_size);
    if (c.error.has_value()) {
      EXPECT_TRUE(IsError(got.status(), *c.error)) << c.lo;
      continue;
    }
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(IndexTerms(*got), c.want) << c.lo << " " << c.hi << " " << c.max_size;
  }
}

// A lagging follower is caught up by many size-limited reads of a long
// log. Each read must cost what it returns: MemoryStorage used to copy the
// whole requested range before cutting it to size, which made catching up
// a member quadratic in the log's length (found by keel-sim's raft
// scenario, where a member added late spent most of the run in that copy).
// With that copy, this test takes hours; without it, milliseconds.
TEST(MemoryStorageTest, SizeLimitedReadsOfALongLogCostWhatTheyReturn) {
  constexpr uint64_t kEntries = 200'000;
  MemoryStorage storage;
  std::vector<Entry> entries;
  entries.reserve(kEntries);
  for (uint64_t i = 1; i <= kEntries; i++) {
    Entry entry = MakeEntry(i, 1);
    entry.set_data(std::string(64, 'x'));
    entries.push_back(std::move(entry));
  }
  ASSERT_TRUE(storage.Append(entries).ok());
  for (uint64_t lo = 1; lo <= kEntries; lo += 4) {
    absl::StatusOr<std::vector<Entry>> got = storage.Entries(lo, kEntries + 1, 0);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);
    ASSERT_EQ(got->front().index(), lo);
  }
}

TEST(MemoryStorageTest, LastAndFirstIndexFollowAppendAndCompact) {
  auto storage = ThreeFiveStorage();
  EXPECT_EQ(*storage->LastIndex(), 5u);
  EXPECT_EQ(*storage->FirstIndex(), 4u);
  ASSERT_TRUE(storage->Append({MakeEntry(6, 5)}).ok());
  EXPECT_EQ(*storage->LastIndex(), 6u);
  ASSERT_TRUE(storage->Compact(4).ok());
  EXPECT_EQ(*storage->FirstIndex(), 5u);
}

TEST(MemoryStorageTest, CompactKeepsTheTermOfTheCompactionPoint) {
  struct Case {
    uint64_t index;
    std::optional<Error> error;
    uint64_t dummy_index, dummy_term;
    size_t length;
  } cases[] = {
      {2, Error::kCompacted, 3, 3, 3},
      {3, Error::kCompacted, 3, 3, 3},
      {4, std::nullopt, 4, 4, 2},
      {5, std::nullopt, 5, 5, 1},
  };
  for (const Case& c : cases) {
    auto storage = ThreeFiveStorage();
    absl::Status status = storage->Compact(c.index);
    if (c.error.has_value()) {
      EXPECT_TRUE(IsError(status, *c.error));
    } else {
      EXPECT_TRUE(status.ok());
    }
    EXPECT_EQ(*storage->FirstIndex(), c.dummy_index + 1) << c.index;
    EXPECT_EQ(*storage->Term(c.dummy_index), c.dummy_term) << c.index;
    EXPECT_EQ(*storage->LastIndex() - c.dummy_index + 1, c.length) << c.index;
  }
}

TEST(MemoryStorageTest, CreateSnapshotRecordsIndexTermConfigAndData) {
  ConfState state;
  state.add_voters(1);
  state.add_voters(2);
  state.add_voters(3);
  struct Case {
    uint64_t index;
    std::optional<Error> error;
    uint64_t term;
  } cases[] = {{4, std::nullopt, 4}, {5, std::nullopt, 5}, {3, Error::kSnapshotOutOfDate, 0}};
  for (const Case& c : cases) {
    auto storage = ThreeFiveStorage();
    absl::StatusOr<raftpb::Snapshot> snapshot =
        storage->CreateSnapshot(c.index, &state, "data");
    if (c.error.has_value()) {
      EXPECT_TRUE(IsError(snapshot.status(), *c.error));
      continue;
    }
    ASSERT_TRUE(snapshot.ok());
    EXPECT_EQ(snapshot->metadata().index(), c.index);
    EXPECT_EQ(snapshot->metadata().term(), c.term);
    EXPECT_EQ(snapshot->data(), "data");
    EXPECT_TRUE(ConfStatesEquivalent(snapshot->metadata().conf_state(), state));
    EXPECT_EQ(storage->Snapshot()->metadata().index(), c.index);
  }
}

TEST(MemoryStorageTest, AppendTruncatesConflictsAndSkipsCompactedEntries) {
  struct Case {
    std::vector<Entry> entries;
    std::vector<std::pair<uint64_t, uint64_t>> want;
  } cases[] = {
      // Already held: nothing changes.
      {{MakeEntry(4, 4), MakeEntry(5, 5)}, {{3, 3}, {4, 4}, {5, 5}}},
      // Overwrites from index 4 on.
      {{MakeEntry(4, 6), MakeEntry(5, 6)}, {{3, 3}, {4, 6}, {5, 6}}},
      {{MakeEntry(4, 4), MakeEntry(5, 5), MakeEntry(6, 5)},
       {{3, 3}, {4, 4}, {5, 5}, {6, 5}}},
      // Starts before the first index: the compacted part is skipped.
      {{MakeEntry(2, 3), MakeEntry(3, 3), MakeEntry(4, 5)}, {{3, 3}, {4, 5}}},
      {{MakeEntry(4, 5)}, {{3, 3}, {4, 5}}},
      // Directly after the last entry.
      {{MakeEntry(6, 5)}, {{3, 3}, {4, 4}, {5, 5}, {6, 5}}},
  };
  for (const Case& c : cases) {
    auto storage = ThreeFiveStorage();
    ASSERT_TRUE(storage->Append(c.entries).ok());
    std::vector<std::pair<uint64_t, uint64_t>> got;
    for (uint64_t i = *storage->FirstIndex() - 1; i <= *storage->LastIndex(); i++) {
      got.emplace_back(i, *storage->Term(i));
    }
    EXPECT_EQ(got, c.want);
  }
}

TEST(MemoryStorageTest, ApplySnapshotReplacesTheLogAndRefusesOlderOnes) {
  MemoryStorage storage;
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(4);
  snapshot.mutable_metadata()->set_term(4);
  snapshot.mutable_metadata()->mutable_conf_state()->add_voters(1);
  ASSERT_TRUE(storage.ApplySnapshot(snapshot).ok());
  EXPECT_EQ(*storage.FirstIndex(), 5u);
  EXPECT_EQ(*storage.LastIndex(), 4u);
  EXPECT_EQ(*storage.Term(4), 4u);
  EXPECT_EQ(storage.GetInitialState()->conf_state.voters_size(), 1);
  snapshot.mutable_metadata()->set_index(3);
  EXPECT_TRUE(IsError(storage.ApplySnapshot(snapshot), Error::kSnapshotOutOfDate));
}

TEST(RaftErrorsTest, KindsAreRecognisedByPayloadNotByCode) {
  absl::Status compacted = MakeError(Error::kCompacted);
  EXPECT_TRUE(IsError(compacted, Error::kCompacted));
  EXPECT_FALSE(IsError(compacted, Error::kUnavailable));
  // A storage's own error with the same code is not mistaken for one.
  EXPECT_FALSE(IsError(absl::OutOfRangeError("disk"), Error::kCompacted));
  EXPECT_FALSE(IsError(absl::OkStatus(), Error::kCompacted));
}

}  // namespace
}  // namespace keel::raft
