// RaftLog: the stable and unstable log behind one interface.
#include "raft/raft_log.h"

#include <algorithm>
#include <utility>

#include "raft/errors.h"
#include "runtime/assert.h"

namespace keel::raft {
namespace {

// Storage failures other than the documented kinds are fatal (etcd panics
// too): a member that cannot read its own log must not keep going.
uint64_t MustValue(const absl::StatusOr<uint64_t>& value) {
  KEEL_ASSERT_MSG(value.ok(), "storage failed to return an index");
  return *value;
}

}  // namespace

RaftLog::RaftLog(Storage& storage, uint64_t max_next_entries_size)
    : storage_(storage),
      unstable_(MustValue(storage.LastIndex()) + 1),
      committed_(MustValue(storage.FirstIndex()) - 1),
      applied_(committed_),
      max_next_entries_size_(max_next_entries_size) {
  KEEL_ASSERT(committed_ <= LastIndex());
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t index, uint64_t log_term,
                                             uint64_t committed,
                                             std::vector<Entry> entries) {
  if (!MatchTerm(index, log_term)) return std::nullopt;
  const uint64_t last_new_index = index + entries.size();
  const uint64_t conflict = FindConflict(entries);
  if (conflict != 0) {
    KEEL_ASSERT_MSG(conflict > committed_,
                    "entry conflicts with a committed entry");
    const uint64_t skip = conflict - (index + 1);
    entries.erase(entries.begin(), entries.begin() + skip);
    Append(std::move(entries));
  }
  CommitTo(std::min(committed, last_new_index));
  return last_new_index;
}

uint64_t RaftLog::Append(std::vector<Entry> entries) {
  if (entries.empty()) return LastIndex();
  KEEL_ASSERT_MSG(entries[0].index() > committed_,
                  "append would overwrite committed entries");
  unstable_.TruncateAndAppend(std::move(entries));
  return LastIndex();
}

uint64_t RaftLog::FindConflict(const std::vector<Entry>& entries) const {
  for (const Entry& entry : entries) {
    if (!MatchTerm(entry.index(), entry.term())) return entry.index();
  }
  return 0;
}

uint64_t RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  if (index > LastIndex()) return index;
  while (true) {
    absl::StatusOr<uint64_t> held = Term(index);
    if (!held.ok() || *held <= term) break;
    index--;
  }
  return index;
}

std::vector<Entry> RaftLog::NextEntries() const {
  const uint64_t offset = std::max(applied_ + 1, FirstIndex());
  if (committed_ + 1 <= offset) return {};
  absl::StatusOr<std::vector<Entry>> entries =
      Slice(offset, committed_ + 1, max_next_entries_size_);
  KEEL_ASSERT_MSG(entries.ok(), "unexpected error reading unapplied entries");
  return *std::move(entries);
}

bool RaftLog::HasNextEntries() const {
  return committed_ + 1 > std::max(applied_ + 1, FirstIndex());
}

absl::StatusOr<raftpb::Snapshot> RaftLog::Snapshot() const {
  if (unstable_.snapshot().has_value()) return *unstable_.snapshot();
  return storage_.Snapshot();
}

uint64_t RaftLog::FirstIndex() const {
  if (auto index = unstable_.MaybeFirstIndex()) return *index;
  return MustValue(storage_.FirstIndex());
}

uint64_t RaftLog::LastIndex() const {
  if (auto index = unstable_.MaybeLastIndex()) return *index;
  return MustValue(storage_.LastIndex());
}

uint64_t RaftLog::LastTerm() const {
  absl::StatusOr<uint64_t> term = Term(LastIndex());
  KEEL_ASSERT_MSG(term.ok(), "unexpected error getting the last term");
  return *term;
}

absl::StatusOr<uint64_t> RaftLog::Term(uint64_t index) const {
  // The valid range includes the dummy entry before the first index.
  const uint64_t dummy_index = FirstIndex() - 1;
  if (index < dummy_index || index > LastIndex()) return 0;
  if (auto term = unstable_.MaybeTerm(index)) return *term;
  absl::StatusOr<uint64_t> term = storage_.Term(index);
  if (term.ok()) return term;
  KEEL_ASSERT_MSG(IsError(term.status(), Error::kCompacted) ||
                      IsError(term.status(), Error::kUnavailable),
                  "storage failed to return a term");
  return term.status();
}

uint64_t RaftLog::ZeroTermOnCompacted(uint64_t index) const {
  absl::StatusOr<uint64_t> term = Term(index);
  if (term.ok()) return *term;
  KEEL_ASSERT_MSG(IsError(term.status(), Error::kCompacted),
                  "unexpected error reading a term");
  return 0;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  absl::StatusOr<uint64_t> held = Term(index);
  return held.ok() && *held == term;
}

absl::StatusOr<std::vector<Entry>> RaftLog::EntriesFrom(
    uint64_t index, uint64_t max_size) const {
  if (index > LastIndex()) return std::vector<Entry>();
  return Slice(index, LastIndex() + 1, max_size);
}

std::vector<Entry> RaftLog::AllEntries() const {
  absl::StatusOr<std::vector<Entry>> entries =
      EntriesFrom(FirstIndex(), kNoLimit);
  KEEL_ASSERT_MSG(entries.ok(), "unexpected error reading the whole log");
  return *std::move(entries);
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t term) const {
  const uint64_t last_term = LastTerm();
  return term > last_term || (term == last_term && last_index >= LastIndex());
}

bool RaftLog::MaybeCommit(uint64_t max_index, uint64_t term) {
  if (max_index > committed_ && ZeroTermOnCompacted(max_index) == term) {
    CommitTo(max_index);
    return true;
  }
  return false;
}

void RaftLog::CommitTo(uint64_t to) {
  if (committed_ >= to) return;  // never decrease the commit index
  KEEL_ASSERT_MSG(to <= LastIndex(), "commit index beyond the last index");
  committed_ = to;
}

void RaftLog::AppliedTo(uint64_t index) {
  if (index == 0) return;
  KEEL_ASSERT_MSG(index <= committed_, "applied beyond committed");
  KEEL_ASSERT_MSG(index >= applied_, "applied moved backwards");
  applied_ = index;
}

void RaftLog::Restore(raftpb::Snapshot snapshot) {
  committed_ = snapshot.metadata().index();
  unstable_.Restore(std::move(snapshot));
}

absl::StatusOr<std::vector<Entry>> RaftLog::Slice(uint64_t lo, uint64_t hi,
                                                  uint64_t max_size) const {
  if (absl::Status status = CheckOutOfBounds(lo, hi); !status.ok()) {
    return status;
  }
  if (lo == hi) return std::vector<Entry>();
  std::vector<Entry> entries;
  const uint64_t unstable_offset = unstable_.offset();
  if (lo < unstable_offset) {
    const uint64_t stable_hi = std::min(hi, unstable_offset);
    absl::StatusOr<std::vector<Entry>> stored =
        storage_.Entries(lo, stable_hi, max_size);
    if (!stored.ok()) {
      KEEL_ASSERT_MSG(IsError(stored.status(), Error::kCompacted),
                      "entries are unavailable from storage");
      return stored.status();
    }
    // Storage stopped early because of max_size: that is all we return.
    if (stored->size() < stable_hi - lo) return *std::move(stored);
    entries = *std::move(stored);
  }
  if (hi > unstable_offset) {
    // Copy from the unstable tail only what fits in max_size.
    uint64_t size = 0;
    for (const Entry& entry : entries) size += EntrySize(entry);
    const std::vector<Entry>& tail = unstable_.entries();
    const uint64_t from = std::max(lo, unstable_offset);
    KEEL_ASSERT(hi - unstable_offset <= tail.size());
    for (uint64_t i = from; i < hi; i++) {
      const Entry& entry = tail[i - unstable_offset];
      size += EntrySize(entry);
      if (!entries.empty() && size > max_size) break;
      entries.push_back(entry);
    }
  }
  return entries;
}

absl::Status RaftLog::CheckOutOfBounds(uint64_t lo, uint64_t hi) const {
  KEEL_ASSERT_MSG(lo <= hi, "invalid slice");
  if (lo < FirstIndex()) return MakeError(Error::kCompacted);
  KEEL_ASSERT_MSG(hi <= LastIndex() + 1, "slice beyond the last index");
  return absl::OkStatus();
}

}  // namespace keel::raft
