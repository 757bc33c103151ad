// Record-by-record reconstruction of raft's state; see wal_replay.h.
#include "store/wal_replay.h"

#include <utility>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::store {

absl::Status WalReplay::Apply(WalRecordType type, std::string_view payload) {
  KEEL_ASSERT(type != WalRecordType::kSegmentHeader);
  records_++;
  switch (type) {
    case WalRecordType::kEntry: {
      raftpb::Entry entry;
      if (!entry.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return absl::DataLossError("undecodable entry record");
      }
      if (entry.index() == 0) return absl::DataLossError("entry with index 0");
      ApplyEntry(std::move(entry));
      return absl::OkStatus();
    }
    case WalRecordType::kHardState:
      if (!hard_state_.ParseFromArray(payload.data(),
                                      static_cast<int>(payload.size()))) {
        return absl::DataLossError("undecodable hard state record");
      }
      return absl::OkStatus();
    case WalRecordType::kSnapshot:
    case WalRecordType::kCompaction: {
      raftpb::SnapshotMetadata marker;
      if (!marker.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return absl::DataLossError("undecodable snapshot record");
      }
      if (type == WalRecordType::kCompaction) return ApplyCompaction(marker);
      entries_.clear();
      base_index_ = marker.index();
      base_known_ = true;
      snapshot_ = std::move(marker);
      return absl::OkStatus();
    }
    case WalRecordType::kSegmentHeader:
      break;
  }
  KEEL_UNREACHABLE();
}

void WalReplay::ApplyEntry(raftpb::Entry entry) {
  const uint64_t index = entry.index();
  if (index <= base_index_) {
    if (base_known_) return;  // compacted into the snapshot
    // Below a hole that nothing has covered yet: what precedes this entry
    // is unknown anyway, so the log simply starts here.
    entries_.clear();
    base_index_ = index - 1;
    entries_.push_back(std::move(entry));
    return;
  }
  if (index <= last_index() + 1) {
    entries_.resize(index - base_index_ - 1);
    entries_.push_back(std::move(entry));
    return;
  }
  // A hole: the entries before it were in released segments, and a later
  // marker must cover them (Finish checks).
  entries_.clear();
  base_index_ = index - 1;
  base_known_ = false;
  entries_.push_back(std::move(entry));
}

absl::Status WalReplay::ApplyCompaction(const raftpb::SnapshotMetadata& marker) {
  const uint64_t index = marker.index();
  if (index < base_index_) {
    // Older than what the log already starts after: a segment's copy of
    // the marker current when it began, while the entries that follow a
    // hole are being read. Nothing changes (Finish() still refuses a hole
    // that no later marker covers).
    return absl::OkStatus();
  }
  if (index > base_index_ && index <= last_index()) {
    const raftpb::Entry& at = entries_[index - base_index_ - 1];
    if (at.term() != marker.term()) {
      return absl::DataLossError(StrCat("snapshot marker at ", index, " has term ",
                                        marker.term(), " but the entry there has term ",
                                        at.term()));
    }
    entries_.erase(entries_.begin(),
                   entries_.begin() + static_cast<ptrdiff_t>(index - base_index_));
  } else if (index > last_index()) {
    entries_.clear();
  }
  base_index_ = index;
  base_known_ = true;
  snapshot_ = marker;
  return absl::OkStatus();
}

absl::Status WalReplay::Finish(WalState* out) {
  if (!base_known_) {
    return absl::DataLossError(StrCat("entries before index ", base_index_ + 1,
                                      " are missing and no snapshot covers them"));
  }
  KEEL_ASSERT(base_index_ == snapshot_.index());
  uint64_t previous_term = snapshot_.term();
  for (const raftpb::Entry& entry : entries_) {
    KEEL_ASSERT(entry.index() > base_index_);
    if (entry.term() < previous_term) {
      return absl::DataLossError(StrCat("entry ", entry.index(), " has term ",
                                        entry.term(), ", below the term ",
                                        previous_term, " before it"));
    }
    previous_term = entry.term();
  }
  if (hard_state_.commit() < snapshot_.index()) {
    hard_state_.set_commit(snapshot_.index());
  }
  if (hard_state_.commit() > last_index()) {
    return absl::DataLossError(StrCat("the commit index ", hard_state_.commit(),
                                      " is past the last entry ", last_index()));
  }
  out->hard_state = hard_state_;
  out->snapshot = snapshot_;
  out->entries = std::move(entries_);
  entries_.clear();
  return absl::OkStatus();
}

}  // namespace keel::store
