// Progress state transitions and the in-flight window.
#include "raft/progress.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::raft {

void Inflights::Add(uint64_t index, uint64_t bytes) {
  KEEL_ASSERT_MSG(!Full(), "cannot add to full inflights");
  if (count_ > 0) {
    const Slot& last = buffer_[(start_ + count_ - 1) % max_count_];
    KEEL_ASSERT(index > last.index);
  }
  size_t next = start_ + count_;
  if (next >= max_count_) next -= max_count_;
  if (next >= buffer_.size()) {
    // Grow by doubling, up to max_count_. The ring cannot have wrapped
    // yet (wrapping needs all max_count_ slots), so resizing keeps every
    // occupied slot where it is.
    KEEL_ASSERT(next == start_ + count_);
    size_t size = std::max<size_t>(1, buffer_.size() * 2);
    buffer_.resize(std::min(size, max_count_));
  }
  buffer_[next] = Slot{index, bytes};
  count_++;
  bytes_ += bytes;
}

void Inflights::FreeLE(uint64_t to) {
  if (count_ == 0 || to < buffer_[start_].index) return;
  size_t index = start_;
  size_t freed = 0;
  for (; freed < count_; freed++) {
    if (to < buffer_[index].index) break;
    bytes_ -= buffer_[index].bytes;
    if (++index >= max_count_) index -= max_count_;
  }
  count_ -= freed;
  start_ = index;
  if (count_ == 0) {
    start_ = 0;
    KEEL_ASSERT(bytes_ == 0);
  }
}

void Inflights::FreeFirstOne() {
  if (count_ == 0) return;
  FreeLE(buffer_[start_].index);
}

bool Inflights::Full() const {
  return count_ == max_count_ || (max_bytes_ != 0 && bytes_ >= max_bytes_);
}

void Inflights::Reset() {
  count_ = 0;
  start_ = 0;
  bytes_ = 0;
}

std::string_view ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "StateProbe";
    case ProgressState::kReplicate:
      return "StateReplicate";
    case ProgressState::kSnapshot:
      return "StateSnapshot";
  }
  KEEL_UNREACHABLE();
}

void Progress::ResetState(ProgressState to) {
  probe_sent = false;
  pending_snapshot = 0;
  state = to;
  inflights.Reset();
}

void Progress::BecomeProbe() {
  // Coming from Snapshot, the follower has (or will have) the snapshot, so
  // probe right after it.
  if (state == ProgressState::kSnapshot) {
    const uint64_t snapshot_index = pending_snapshot;
    ResetState(ProgressState::kProbe);
    next = std::max(match + 1, snapshot_index + 1);
  } else {
    ResetState(ProgressState::kProbe);
    next = match + 1;
  }
}

void Progress::BecomeReplicate() {
  ResetState(ProgressState::kReplicate);
  next = match + 1;
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  ResetState(ProgressState::kSnapshot);
  pending_snapshot = snapshot_index;
}

bool Progress::MaybeUpdate(uint64_t n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t match_hint) {
  if (state == ProgressState::kReplicate) {
    // Stale if it is about an index we already know matches.
    if (rejected <= match) return false;
    // Entries after match were sent optimistically; resend from match + 1.
    next = match + 1;
    return true;
  }
  // In Probe only one append is outstanding: anything not about next - 1
  // is stale.
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  KEEL_ASSERT(next >= 1);
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  KEEL_UNREACHABLE();
}

std::string Progress::String() const {
  std::string out = StrCat(ProgressStateName(state), " match=", match,
                           " next=", next);
  if (is_learner) out += " learner";
  if (IsPaused()) out += " paused";
  if (pending_snapshot > 0) StrAppend(&out, " pendingSnap=", pending_snapshot);
  if (!recent_active) out += " inactive";
  if (inflights.Count() > 0) {
    StrAppend(&out, " inflight=", inflights.Count());
    if (inflights.Full()) out += "[full]";
  }
  return out;
}

}  // namespace keel::raft
