// RaftLog and UnstableLog: conflict detection, appends that truncate,
// commit/apply cursors, stabilisation, compaction and slicing across the
// stable/unstable boundary. Tables follow etcd's log_test.go cases.
#include "raft/raft_log.h"

#include <gtest/gtest.h>

#include "raft/errors.h"
#include "raft/raft_test_util.h"

namespace keel::raft {
namespace {

using testing::EntriesWithTerms;
using testing::MakeEntry;

using IndexTerms = std::vector<std::pair<uint64_t, uint64_t>>;

IndexTerms Describe(const std::vector<Entry>& entries) {
  IndexTerms out;
  for (const Entry& entry : entries) out.emplace_back(entry.index(), entry.term());
  return out;
}

std::vector<Entry> Entries(const IndexTerms& pairs) {
  std::vector<Entry> out;
  for (auto [index, term] : pairs) out.push_back(MakeEntry(index, term));
  return out;
}

raftpb::Snapshot SnapshotAt(uint64_t index, uint64_t term) {
  raftpb::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(index);
  snapshot.mutable_metadata()->set_term(term);
  return snapshot;
}

TEST(RaftLogTest, FindConflictReturnsTheFirstMismatchingIndex) {
  const IndexTerms previous = {{1, 1}, {2, 2}, {3, 3}};
  struct Case {
    IndexTerms entries;
    uint64_t want;
  } cases[] = {
      {{}, 0},
      // No conflict.
      {{{1, 1}, {2, 2}, {3, 3}}, 0},
      {{{2, 2}, {3, 3}}, 0},
      {{{3, 3}}, 0},
      // No conflict, but new entries.
      {{{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 4}}, 4},
      {{{3, 3}, {4, 4}, {5, 4}}, 4},
      {{{4, 4}, {5, 4}}, 4},
      // Conflicts with existing entries.
      {{{1, 4}, {2, 4}}, 1},
      {{{2, 1}, {3, 4}, {4, 4}}, 2},
      {{{3, 1}, {4, 2}, {5, 4}, {6, 4}}, 3},
  };
  for (const Case& c : cases) {
    MemoryStorage storage;
    RaftLog log(storage, kNoLimit);
    log.Append(Entries(previous));
    EXPECT_EQ(log.FindConflict(Entries(c.entries)), c.want);
  }
}

TEST(RaftLogTest, FindConflictByTermSkipsWholeTerms) {
  struct Case {
    IndexTerms log;  // starting after a snapshot at the first pair
    uint64_t index, term, want;
  } cases[] = {
      // Log starts from index 1.
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 100, 2, 100},
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 5, 6, 5},
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 5, 5, 5},
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 5, 4, 2},
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 5, 2, 2},
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 5, 1, 0},
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 1, 2, 1},
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 1, 1, 0},
      {{{0, 0}, {1, 2}, {2, 2}, {3, 5}, {4, 5}, {5, 5}}, 0, 0, 0},
      // Log with compacted entries: the compacted prefix stops the scan.
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 30, 3, 30},
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 14, 9, 14},
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 14, 4, 14},
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 14, 3, 12},
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 14, 2, 9},
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 11, 5, 11},
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 10, 5, 10},
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 10, 3, 10},
      {{{10, 3}, {11, 3}, {12, 3}, {13, 4}, {14, 4}, {15, 4}}, 10, 2, 9},
  };
  for (const Case& c : cases) {
    MemoryStorage storage;
    ASSERT_TRUE(
        storage.ApplySnapshot(SnapshotAt(c.log[0].first, c.log[0].second)).ok() ||
        c.log[0].first == 0);
    RaftLog log(storage, kNoLimit);
    log.Append(Entries(IndexTerms(c.log.begin() + 1, c.log.end())));
    EXPECT_EQ(log.FindConflictByTerm(c.index, c.term), c.want)
        << c.log[0].first << " " << c.index << " " << c.term;
  }
}

TEST(RaftLogTest, IsUpToDateComparesLastTermThenLastIndex) {
  MemoryStorage storage;
  RaftLog log(storage, kNoLimit);
  log.Append(Entries({{1, 1}, {2, 2}, {3, 3}}));
  struct Case {
    uint64_t last_index, term;
    bool want;
  } cases[] = {
      // Greater term wins regardless of index.
      {log.LastIndex() - 1, 4, true}, {log.LastIndex(), 4, true},
      {log.LastIndex() + 1, 4, true},
      // Smaller term loses.
      {log.LastIndex() - 1, 2, false}, {log.LastIndex(), 2, false},
      {log.LastIndex() + 1, 2, false},
      // Equal term: longer or equal log wins.
      {log.LastIndex() - 1, 3, false}, {log.LastIndex(), 3, true},
      {log.LastIndex() + 1, 3, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(log.IsUpToDate(c.last_index, c.term), c.want)
        << c.last_index << " " << c.term;
  }
}

TEST(RaftLogTest, AppendTruncatesTheUnstableSuffix) {
  struct Case {
    IndexTerms entries;
    uint64_t want_last;
    IndexTerms want;
    uint64_t want_unstable_offset;
  } cases[] = {
      {{}, 2, {{1, 1}, {2, 2}}, 3},
      {{{3, 2}}, 3, {{1, 1}, {2, 2}, {3, 2}}, 3},
      // Conflicts with index 1.
      {{{1, 2}}, 1, {{1, 2}}, 1},
      // Conflicts with index 2.
      {{{2, 3}, {3, 3}}, 3, {{1, 1}, {2, 3}, {3, 3}}, 2},
  };
  for (const Case& c : cases) {
    MemoryStorage storage;
    ASSERT_TRUE(storage.Append(Entries({{1, 1}, {2, 2}})).ok());
    RaftLog log(storage, kNoLimit);
    EXPECT_EQ(log.Append(Entries(c.entries)), c.want_last);
    EXPECT_EQ(Describe(log.AllEntries()), c.want);
    EXPECT_EQ(log.unstable().offset(), c.want_unstable_offset);
  }
}

TEST(RaftLogTest, MaybeAppendMatchesPreviousEntryThenCommits) {
  const IndexTerms previous = {{1, 1}, {2, 2}, {3, 3}};
  const uint64_t last_index = 3, last_term = 3, commit = 1;
  struct Case {
    uint64_t log_term, index, committed;
    IndexTerms entries;
    std::optional<uint64_t> want_last;
    uint64_t want_commit;
  } cases[] = {
      // Previous entry does not match.
      {last_term - 1, last_index, last_index, {{last_index + 1, 4}}, std::nullopt, commit},
      {last_term, last_index + 1, last_index, {{last_index + 2, 4}}, std::nullopt, commit},
      // Matches the last entry.
      {last_term, last_index, last_index, {}, last_index, last_index},
      {last_term, last_index, last_index + 1, {}, last_index, last_index},
      {last_term, last_index, last_index - 1, {}, last_index, last_index - 1},
      {last_term, last_index, 0, {}, last_index, commit},
      {0, 0, last_index, {}, 0, commit},
      {last_term, last_index, last_index, {{last_index + 1, 4}}, last_index + 1, last_index},
      {last_term, last_index, last_index + 1, {{last_index + 1, 4}}, last_index + 1, last_index + 1},
      {last_term, last_index, last_index + 2, {{last_index + 1, 4}}, last_index + 1, last_index + 1},
      {last_term, last_index, last_index + 2, {{last_index + 1, 4}, {last_index + 2, 4}}, last_index + 2, last_index + 2},
      // Matches an entry in the middle, with conflicts after it.
      {last_term - 1, last_index - 1, last_index, {{last_index, 4}}, last_index, last_index},
      {last_term - 2, last_index - 2, last_index, {{last_index - 1, 4}}, last_index - 1, last_index - 1},
      {last_term - 2, last_index - 2, last_index, {{last_index - 1, 4}, {last_index, 4}}, last_index, last_index},
  };
  for (const Case& c : cases) {
    MemoryStorage storage;
    RaftLog log(storage, kNoLimit);
    log.Append(Entries(previous));
    log.CommitTo(commit);
    std::optional<uint64_t> got =
        log.MaybeAppend(c.index, c.log_term, c.committed, Entries(c.entries));
    EXPECT_EQ(got, c.want_last) << c.index << " " << c.log_term;
    EXPECT_EQ(log.committed(), c.want_commit) << c.index << " " << c.log_term;
    if (got.has_value() && !c.entries.empty()) {
      absl::StatusOr<std::vector<Entry>> tail =
          log.Slice(log.LastIndex() - c.entries.size() + 1, log.LastIndex() + 1, kNoLimit);
      ASSERT_TRUE(tail.ok());
      EXPECT_EQ(Describe(*tail), c.entries);
    }
  }
}

TEST(RaftLogDeathTest, MaybeAppendRefusesToOverwriteCommittedEntries) {
  MemoryStorage storage;
  RaftLog log(storage, kNoLimit);
  log.Append(Entries({{1, 1}, {2, 2}, {3, 3}}));
  log.CommitTo(2);
  EXPECT_DEATH(log.MaybeAppend(0, 0, 3, Entries({{1, 4}})), "committed");
}

TEST(RaftLogTest, NextEntriesStartAfterAppliedAndTheSnapshot) {
  MemoryStorage storage;
  ASSERT_TRUE(storage.ApplySnapshot(SnapshotAt(3, 1)).ok());
  RaftLog log(storage, kNoLimit);
  log.Append(Entries({{4, 1}, {5, 1}, {6, 1}}));
  log.CommitTo(5);
  struct Case {
    uint64_t applied;
    bool has_next;
    IndexTerms want;
  } cases[] = {
      {0, true, {{4, 1}, {5, 1}}},
      {3, true, {{4, 1}, {5, 1}}},
      {4, true, {{5, 1}}},
      {5, false, {}},
  };
  for (const Case& c : cases) {
    MemoryStorage fresh;
    ASSERT_TRUE(fresh.ApplySnapshot(SnapshotAt(3, 1)).ok());
    RaftLog l(fresh, kNoLimit);
    l.Append(Entries({{4, 1}, {5, 1}, {6, 1}}));
    l.CommitTo(5);
    l.AppliedTo(c.applied);
    EXPECT_EQ(l.HasNextEntries(), c.has_next) << c.applied;
    EXPECT_EQ(Describe(l.NextEntries()), c.want) << c.applied;
  }
}

TEST(RaftLogTest, NextEntriesAreBoundedByTheSizeLimit) {
  MemoryStorage storage;
  std::vector<Entry> entries;
  for (uint64_t i = 1; i <= 10; i++) entries.push_back(MakeEntry(i, 1, std::string(100, 'x')));
  ASSERT_TRUE(storage.Append(std::vector<Entry>(entries.begin(), entries.begin() + 5)).ok());
  const uint64_t one = EntrySize(entries[0]);
  RaftLog log(storage, one * 3);
  log.Append(std::vector<Entry>(entries.begin() + 5, entries.end()));
  log.CommitTo(10);
  EXPECT_EQ(log.NextEntries().size(), 3u);
  log.AppliedTo(3);
  // Crosses from storage (4, 5) into the unstable tail (6).
  std::vector<Entry> next = log.NextEntries();
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next.back().index(), 6u);
}

TEST(RaftLogTest, StableToIgnoresEntriesThatWereReplaced) {
  struct Case {
    uint64_t index, term, want_offset;
  } cases[] = {{1, 1, 2}, {2, 2, 3}, {2, 1, 1}, {3, 1, 1}};
  for (const Case& c : cases) {
    MemoryStorage storage;
    RaftLog log(storage, kNoLimit);
    log.Append(Entries({{1, 1}, {2, 2}}));
    log.StableTo(c.index, c.term);
    EXPECT_EQ(log.unstable().offset(), c.want_offset) << c.index << " " << c.term;
  }
}

TEST(RaftLogTest, StableToAfterASnapshotOnlyCountsNewerEntries) {
  const uint64_t snap_index = 5, snap_term = 2;
  struct Case {
    uint64_t index, term;
    IndexTerms new_entries;
    uint64_t want_offset;
  } cases[] = {
      {snap_index + 1, snap_term, {}, snap_index + 1},
      {snap_index, snap_term, {}, snap_index + 1},
      {snap_index - 1, snap_term, {}, snap_index + 1},
      {snap_index + 1, snap_term + 1, {}, snap_index + 1},
      {snap_index, snap_term + 1, {}, snap_index + 1},
      {snap_index - 1, snap_term + 1, {}, snap_index + 1},
      {snap_index + 1, snap_term, {{snap_index + 1, snap_term}}, snap_index + 2},
      {snap_index, snap_term, {{snap_index + 1, snap_term}}, snap_index + 1},
      {snap_index - 1, snap_term, {{snap_index + 1, snap_term}}, snap_index + 1},
      {snap_index + 1, snap_term + 1, {{snap_index + 1, snap_term}}, snap_index + 1},
  };
  for (const Case& c : cases) {
    MemoryStorage storage;
    ASSERT_TRUE(storage.ApplySnapshot(SnapshotAt(snap_index, snap_term)).ok());
    RaftLog log(storage, kNoLimit);
    log.Append(Entries(c.new_entries));
    log.StableTo(c.index, c.term);
    EXPECT_EQ(log.unstable().offset(), c.want_offset);
  }
}

TEST(RaftLogTest, CompactionMovesTheFirstIndexAndKeepsTheTail) {
  MemoryStorage storage;
  for (uint64_t i = 1; i <= 1000; i++) ASSERT_TRUE(storage.Append({MakeEntry(i, i)}).ok());
  RaftLog log(storage, kNoLimit);
  for (uint64_t i = 1001; i <= 1500; i++) log.Append({MakeEntry(i, i)});
  log.CommitTo(1500);
  log.AppliedTo(1000);
  ASSERT_TRUE(storage.Compact(500).ok());
  EXPECT_EQ(log.LastIndex(), 1500u);
  EXPECT_EQ(log.FirstIndex(), 501u);
  for (uint64_t i = 500; i <= 1500; i++) EXPECT_TRUE(log.MatchTerm(i, i)) << i;
  // Below the compaction point the term is simply unknown (0).
  EXPECT_EQ(*log.Term(499), 0u);
  EXPECT_EQ(log.ZeroTermOnCompacted(499), 0u);
  EXPECT_EQ(log.AllEntries().size(), 1000u);
  // Reading from a compacted index reports it.
  EXPECT_TRUE(IsError(log.Slice(400, 600, kNoLimit).status(), Error::kCompacted));
}

TEST(RaftLogTest, TermIsZeroOutsideTheLogAndKnownAtTheSnapshot) {
  MemoryStorage storage;
  ASSERT_TRUE(storage.ApplySnapshot(SnapshotAt(100, 1)).ok());
  RaftLog log(storage, kNoLimit);
  for (uint64_t i = 1; i < 100; i++) log.Append({MakeEntry(100 + i, i)});
  struct Case {
    uint64_t index, want;
  } cases[] = {{99, 0}, {100, 1}, {150, 50}, {199, 99}, {200, 0}};
  for (const Case& c : cases) {
    absl::StatusOr<uint64_t> term = log.Term(c.index);
    ASSERT_TRUE(term.ok()) << c.index;
    EXPECT_EQ(*term, c.want) << c.index;
  }
}

TEST(RaftLogTest, SliceStitchesStorageAndUnstableWithinTheSizeLimit) {
  const uint64_t offset = 100, num = 100, last = offset + num, half = offset + num / 2;
  MemoryStorage storage;
  ASSERT_TRUE(storage.ApplySnapshot(SnapshotAt(offset, 0)).ok());
  for (uint64_t i = 1; i < num / 2; i++) {
    ASSERT_TRUE(storage.Append({MakeEntry(offset + i, offset + i)}).ok());
  }
  RaftLog log(storage, kNoLimit);
  for (uint64_t i = num / 2; i < num; i++) log.Append({MakeEntry(offset + i, offset + i)});
  const uint64_t one = EntrySize(MakeEntry(half, half));
  struct Case {
    uint64_t lo, hi, limit;
    std::optional<Error> error;
    IndexTerms want;
  } cases[] = {
      {offset - 1, offset + 1, kNoLimit, Error::kCompacted, {}},
      {offset, offset + 1, kNoLimit, Error::kCompacted, {}},
      {half - 1, half + 1, kNoLimit, std::nullopt, {{half - 1, half - 1}, {half, half}}},
      {half, half + 1, kNoLimit, std::nullopt, {{half, half}}},
      {last - 1, last, kNoLimit, std::nullopt, {{last - 1, last - 1}}},
      {half - 1, half + 1, 0, std::nullopt, {{half - 1, half - 1}}},
      {half - 1, half + 1, one + 1, std::nullopt, {{half - 1, half - 1}}},
      {half - 2, half + 1, one + 1, std::nullopt, {{half - 2, half - 2}}},
      {half - 1, half + 1, one * 2, std::nullopt, {{half - 1, half - 1}, {half, half}}},
      {half - 1, half + 2, one * 3, std::nullopt,
       {{half - 1, half - 1}, {half, half}, {half + 1, half + 1}}},
      {half, half + 2, one, std::nullopt, {{half, half}}},
      {half, half + 2, one * 2, std::nullopt, {{half, half}, {half + 1, half + 1}}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<Entry>> got = log.Slice(c.lo, c.hi, c.limit);
    if (c.error.has_value()) {
      EXPECT_TRUE(IsError(got.status(), *c.error)) << c.lo;
      continue;
    }
    ASSERT_TRUE(got.ok()) << c.lo;
    EXPECT_EQ(Describe(*got), c.want) << c.lo << " " << c.hi << " " << c.limit;
  }
}

TEST(RaftLogTest, RestoreResetsToTheSnapshot) {
  MemoryStorage storage;
  RaftLog log(storage, kNoLimit);
  log.Append(Entries({{1, 1}, {2, 1}}));
  log.Restore(SnapshotAt(10, 3));
  EXPECT_EQ(log.committed(), 10u);
  EXPECT_EQ(log.FirstIndex(), 11u);
  EXPECT_EQ(log.LastIndex(), 10u);
  EXPECT_EQ(log.LastTerm(), 3u);
  EXPECT_TRUE(log.UnstableEntries().empty());
  EXPECT_EQ(log.unstable().offset(), 11u);
}

TEST(RaftLogTest, CommitToNeverMovesBackwards) {
  MemoryStorage storage;
  RaftLog log(storage, kNoLimit);
  log.Append(Entries({{1, 1}, {2, 2}, {3, 3}}));
  log.CommitTo(2);
  log.CommitTo(1);
  EXPECT_EQ(log.committed(), 2u);
  log.CommitTo(3);
  EXPECT_EQ(log.committed(), 3u);
}

TEST(RaftLogDeathTest, CommitBeyondTheLastIndexIsAProgrammingError) {
  MemoryStorage storage;
  RaftLog log(storage, kNoLimit);
  log.Append(Entries({{1, 1}}));
  EXPECT_DEATH(log.CommitTo(4), "beyond");
}

TEST(RaftLogTest, MaybeCommitOnlyCommitsEntriesOfTheGivenTerm) {
  MemoryStorage storage;
  RaftLog log(storage, kNoLimit);
  log.Append(Entries({{1, 1}, {2, 2}, {3, 2}}));
  EXPECT_FALSE(log.MaybeCommit(1, 2));
  EXPECT_EQ(log.committed(), 0u);
  EXPECT_TRUE(log.MaybeCommit(2, 2));
  EXPECT_EQ(log.committed(), 2u);
  EXPECT_FALSE(log.MaybeCommit(2, 2));
}

TEST(UnstableLogTest, IndexesComeFromEntriesThenTheSnapshot) {
  UnstableLog empty(5);
  EXPECT_FALSE(empty.MaybeFirstIndex().has_value());
  EXPECT_FALSE(empty.MaybeLastIndex().has_value());
  EXPECT_FALSE(empty.MaybeTerm(5).has_value());

  UnstableLog with_snapshot(5);
  with_snapshot.Restore(SnapshotAt(4, 1));
  EXPECT_EQ(with_snapshot.MaybeFirstIndex(), 5u);
  EXPECT_EQ(with_snapshot.MaybeLastIndex(), 4u);
  EXPECT_EQ(with_snapshot.MaybeTerm(4), 1u);
  EXPECT_FALSE(with_snapshot.MaybeTerm(3).has_value());
  with_snapshot.TruncateAndAppend(Entries({{5, 1}}));
  EXPECT_EQ(with_snapshot.MaybeLastIndex(), 5u);
  EXPECT_EQ(with_snapshot.MaybeTerm(5), 1u);
  EXPECT_FALSE(with_snapshot.MaybeTerm(6).has_value());
  with_snapshot.StableSnapshotTo(3);
  EXPECT_TRUE(with_snapshot.snapshot().has_value());
  with_snapshot.StableSnapshotTo(4);
  EXPECT_FALSE(with_snapshot.snapshot().has_value());
}

TEST(UnstableLogTest, TruncateAndAppendReplacesFromTheFirstNewIndex) {
  struct Case {
    IndexTerms entries;
    uint64_t offset;
    IndexTerms append;
    uint64_t want_offset;
    IndexTerms want;
  } cases[] = {
      // Directly after.
      {{{5, 1}}, 5, {{6, 1}, {7, 1}}, 5, {{5, 1}, {6, 1}, {7, 1}}},
      // Replace everything.
      {{{5, 1}}, 5, {{5, 2}, {6, 2}}, 5, {{5, 2}, {6, 2}}},
      {{{5, 1}}, 5, {{4, 2}, {5, 2}, {6, 2}}, 4, {{4, 2}, {5, 2}, {6, 2}}},
      // Truncate the middle and append.
      {{{5, 1}, {6, 1}, {7, 1}}, 5, {{6, 2}}, 5, {{5, 1}, {6, 2}}},
      {{{5, 1}, {6, 1}, {7, 1}}, 5, {{7, 2}, {8, 2}}, 5, {{5, 1}, {6, 1}, {7, 2}, {8, 2}}},
  };
  for (const Case& c : cases) {
    UnstableLog log(c.offset);
    log.TruncateAndAppend(Entries(c.entries));
    log.TruncateAndAppend(Entries(c.append));
    EXPECT_EQ(log.offset(), c.want_offset);
    EXPECT_EQ(Describe(log.entries()), c.want);
  }
}

}  // namespace
}  // namespace keel::raft
