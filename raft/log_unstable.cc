// UnstableLog: entries and a snapshot awaiting persistence.
#include "raft/log_unstable.h"

#include <utility>

#include "runtime/assert.h"

namespace keel::raft {

std::optional<uint64_t> UnstableLog::MaybeFirstIndex() const {
  if (snapshot_.has_value()) return snapshot_->metadata().index() + 1;
  return std::nullopt;
}

std::optional<uint64_t> UnstableLog::MaybeLastIndex() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_.has_value()) return snapshot_->metadata().index();
  return std::nullopt;
}

std::optional<uint64_t> UnstableLog::MaybeTerm(uint64_t index) const {
  if (index < offset_) {
    if (snapshot_.has_value() && snapshot_->metadata().index() == index) {
      return snapshot_->metadata().term();
    }
    return std::nullopt;
  }
  std::optional<uint64_t> last = MaybeLastIndex();
  if (!last.has_value() || index > *last) return std::nullopt;
  return entries_[index - offset_].term();
}

void UnstableLog::StableTo(uint64_t index, uint64_t term) {
  std::optional<uint64_t> held_term = MaybeTerm(index);
  if (!held_term.has_value()) return;
  // Only entries still carrying the persisted term are stable; a newer
  // leader may have replaced them after the Ready was handed out.
  if (*held_term != term || index < offset_) return;
  entries_.erase(entries_.begin(), entries_.begin() + (index + 1 - offset_));
  offset_ = index + 1;
  if (entries_.capacity() > 64 && entries_.size() * 4 < entries_.capacity()) {
    entries_.shrink_to_fit();
  }
}

void UnstableLog::StableSnapshotTo(uint64_t index) {
  if (snapshot_.has_value() && snapshot_->metadata().index() == index) {
    snapshot_.reset();
  }
}

void UnstableLog::Restore(raftpb::Snapshot snapshot) {
  offset_ = snapshot.metadata().index() + 1;
  entries_.clear();
  snapshot_ = std::move(snapshot);
}

void UnstableLog::TruncateAndAppend(std::vector<Entry> entries) {
  KEEL_ASSERT(!entries.empty());
  const uint64_t after = entries[0].index();
  if (after == offset_ + entries_.size()) {
    // The common case: the new entries directly follow ours.
    for (Entry& entry : entries) entries_.push_back(std::move(entry));
  } else if (after <= offset_) {
    // Replace everything held (and move the offset back: the application
    // will overwrite its persisted suffix from `after` on).
    offset_ = after;
    entries_ = std::move(entries);
  } else {
    // Keep [offset, after) and append the rest.
    entries_.resize(after - offset_);
    for (Entry& entry : entries) entries_.push_back(std::move(entry));
  }
  KEEL_ASSERT(entries_.front().index() == offset_);
}

std::vector<Entry> UnstableLog::Slice(uint64_t lo, uint64_t hi) const {
  CheckBounds(lo, hi);
  return std::vector<Entry>(entries_.begin() + (lo - offset_),
                            entries_.begin() + (hi - offset_));
}

void UnstableLog::CheckBounds(uint64_t lo, uint64_t hi) const {
  KEEL_ASSERT_MSG(lo <= hi, "invalid unstable slice");
  KEEL_ASSERT_MSG(lo >= offset_, "unstable slice below offset");
  KEEL_ASSERT_MSG(hi <= offset_ + entries_.size(), "unstable slice beyond end");
}

}  // namespace keel::raft
