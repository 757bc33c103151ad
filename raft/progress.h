// Progress: what a leader knows about one follower's log, and Inflights,
// the window of appends sent to it but not yet acknowledged.
//
// A follower's progress is in one of three states (etcd's design):
//   Probe      the leader does not know where the follower's log ends; it
//              sends one append per heartbeat interval and waits for the
//              answer before sending another.
//   Replicate  the follower is known to match; appends stream optimistically
//              (next runs ahead of match), bounded by Inflights.
//   Snapshot   the follower needs a snapshot; nothing else is sent until it
//              is applied (or reported failed).
#ifndef KEEL_RAFT_PROGRESS_H_
#define KEEL_RAFT_PROGRESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"

namespace keel::raft {

// A ring buffer of the last index (and payload bytes) of each append sent
// to one follower in Replicate state. It is full when it holds
// max_count messages or at least max_bytes payload bytes (0 = no byte
// limit); the leader then pauses that follower until acknowledgements free
// slots. The byte limit is checked before an append is added, not against
// the append's size, so bytes() may exceed max_bytes by less than the last
// append's bytes (etcd's semantics: one append larger than the whole budget
// is still sent when nothing is in flight).
class Inflights {
 public:
  Inflights(size_t max_count, uint64_t max_bytes)
      : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records an append whose last entry is `index`, carrying `bytes` of
  // payload. Indexes must increase. Requires !Full().
  void Add(uint64_t index, uint64_t bytes);
  // Frees every append whose last index is <= to.
  void FreeLE(uint64_t to);
  // Frees the oldest append.
  void FreeFirstOne();
  bool Full() const;
  size_t Count() const { return count_; }
  uint64_t bytes() const { return bytes_; }
  size_t max_count() const { return max_count_; }
  uint64_t max_bytes() const { return max_bytes_; }
  void Reset();

 private:
  struct Slot {
    uint64_t index;
    uint64_t bytes;
  };

  size_t max_count_;
  uint64_t max_bytes_;
  size_t start_ = 0;
  size_t count_ = 0;
  uint64_t bytes_ = 0;
  // Grows lazily up to max_count_, so idle followers cost little.
  std::vector<Slot> buffer_;
};

enum class ProgressState : uint8_t { kProbe, kReplicate, kSnapshot };

std::string_view ProgressStateName(ProgressState state);

struct Progress {
  Progress(size_t max_inflight, uint64_t max_inflight_bytes)
      : inflights(max_inflight, max_inflight_bytes) {}

  // Resets state-specific fields and enters `to`.
  void ResetState(ProgressState to);
  // Probe: the follower's next index is unknown; restart after match.
  void BecomeProbe();
  // Replicate: stream entries after match.
  void BecomeReplicate();
  // Snapshot: wait until the snapshot at snapshot_index is applied.
  void BecomeSnapshot(uint64_t snapshot_index);

  // The follower acknowledged index n. Returns false if that is stale.
  bool MaybeUpdate(uint64_t n);
  // An append up to n was sent in Replicate state.
  void OptimisticUpdate(uint64_t n) { next = n + 1; }
  // The follower rejected an append whose previous index was `rejected`;
  // match_hint is the largest index that may still match. Returns false if
  // the rejection is stale (and next is unchanged).
  bool MaybeDecrTo(uint64_t rejected, uint64_t match_hint);

  // Whether the leader should hold back appends to this follower.
  bool IsPaused() const;

  // "StateReplicate match=5 next=6 inflight=1".
  std::string String() const;

  uint64_t match = 0;
  uint64_t next = 0;
  ProgressState state = ProgressState::kProbe;
  // In Snapshot state: the index of the snapshot being sent.
  uint64_t pending_snapshot = 0;
  // Heard from since the last check-quorum round.
  bool recent_active = false;
  // In Probe state: an append is outstanding, so the follower is paused
  // until it answers or a heartbeat response arrives.
  bool probe_sent = false;
  Inflights inflights;
  bool is_learner = false;
};

// Ordered by id, so iteration (and the messages it produces) is
// deterministic.
using ProgressMap = absl::btree_map<uint64_t, Progress>;

}  // namespace keel::raft

#endif  // KEEL_RAFT_PROGRESS_H_
