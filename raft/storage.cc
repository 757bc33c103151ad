// MemoryStorage: the log, hard state and latest snapshot in memory.
#include "raft/storage.h"

#include <utility>

#include "raft/errors.h"
#include "runtime/assert.h"

namespace keel::raft {

MemoryStorage::MemoryStorage() : entries_(1) {}

MemoryStorage::MemoryStorage(const ConfState& initial) : entries_(1) {
  *snapshot_.mutable_metadata()->mutable_conf_state() = initial;
}

absl::StatusOr<InitialState> MemoryStorage::GetInitialState() {
  return InitialState{hard_state_, snapshot_.metadata().conf_state()};
}

void MemoryStorage::SetHardState(const HardState& state) { hard_state_ = state; }

absl::StatusOr<std::vector<Entry>> MemoryStorage::Entries(uint64_t lo,
                                                          uint64_t hi,
                                                          uint64_t max_size) {
  KEEL_ASSERT(lo <= hi);
  const uint64_t offset = entries_[0].index();
  if (lo <= offset) return MakeError(Error::kCompacted);
  KEEL_ASSERT_MSG(hi <= last_index() + 1, "entries hi is beyond last index");
  if (entries_.size() == 1) return MakeError(Error::kUnavailable);
  const auto begin = entries_.begin() + (lo - offset);
  const auto end = entries_.begin() + (hi - offset);
  if (begin == end) return std::vector<Entry>();
  // Copy only what fits in max_size (always one entry): copying the whole
  // range first made each append to a lagging follower cost the length of
  // the log behind it, so catching one up took quadratic time.
  uint64_t size = EntrySize(*begin);
  auto limit = begin + 1;
  for (; limit != end; ++limit) {
    size += EntrySize(*limit);
    if (size > max_size) break;
  }
  std::vector<Entry> out(begin, limit);
  KEEL_ASSERT(!out.empty());
  return out;
}

absl::StatusOr<uint64_t> MemoryStorage::Term(uint64_t index) {
  const uint64_t offset = entries_[0].index();
  if (index < offset) return MakeError(Error::kCompacted);
  if (index - offset >= entries_.size()) return MakeError(Error::kUnavailable);
  return entries_[index - offset].term();
}

absl::StatusOr<uint64_t> MemoryStorage::LastIndex() { return last_index(); }

absl::StatusOr<uint64_t> MemoryStorage::FirstIndex() { return first_index(); }

absl::StatusOr<raftpb::Snapshot> MemoryStorage::Snapshot() { return snapshot_; }

absl::Status MemoryStorage::ApplySnapshot(const raftpb::Snapshot& snapshot) {
  if (snapshot_.metadata().index() >= snapshot.metadata().index()) {
    return MakeError(Error::kSnapshotOutOfDate);
  }
  snapshot_ = snapshot;
  entries_.assign(1, Entry());
  entries_[0].set_index(snapshot.metadata().index());
  entries_[0].set_term(snapshot.metadata().term());
  return absl::OkStatus();
}

absl::StatusOr<raftpb::Snapshot> MemoryStorage::CreateSnapshot(
    uint64_t index, const ConfState* conf_state, std::string data) {
  if (index <= snapshot_.metadata().index()) {
    return MakeError(Error::kSnapshotOutOfDate);
  }
  KEEL_ASSERT_MSG(index <= last_index(), "snapshot index beyond last index");
  const uint64_t offset = entries_[0].index();
  KEEL_ASSERT(index >= offset);
  auto* metadata = snapshot_.mutable_metadata();
  metadata->set_index(index);
  metadata->set_term(entries_[index - offset].term());
  if (conf_state != nullptr) *metadata->mutable_conf_state() = *conf_state;
  snapshot_.set_data(std::move(data));
  return snapshot_;
}

absl::Status MemoryStorage::Compact(uint64_t compact_index) {
  const uint64_t offset = entries_[0].index();
  if (compact_index <= offset) return MakeError(Error::kCompacted);
  KEEL_ASSERT_MSG(compact_index <= last_index(), "compact beyond last index");
  const uint64_t i = compact_index - offset;
  std::vector<Entry> kept;
  kept.reserve(entries_.size() - i);
  kept.emplace_back();
  kept[0].set_index(entries_[i].index());
  kept[0].set_term(entries_[i].term());
  for (uint64_t j = i + 1; j < entries_.size(); j++) {
    kept.push_back(std::move(entries_[j]));
  }
  entries_ = std::move(kept);
  return absl::OkStatus();
}

absl::Status MemoryStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  const uint64_t first = first_index();
  const uint64_t last = entries[0].index() + entries.size() - 1;
  if (last < first) return absl::OkStatus();  // all compacted already
  size_t skip = 0;
  if (first > entries[0].index()) skip = first - entries[0].index();
  const uint64_t start = entries[skip].index();
  const uint64_t offset = start - entries_[0].index();
  KEEL_ASSERT_MSG(offset <= entries_.size(), "missing log entry before append");
  entries_.resize(offset);
  for (size_t j = skip; j < entries.size(); j++) {
    KEEL_ASSERT(entries[j].index() == entries_.back().index() + 1);
    entries_.push_back(entries[j]);
  }
  return absl::OkStatus();
}

}  // namespace keel::raft
