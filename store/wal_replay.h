// WalReplay: rebuilds raft's durable state from a WAL's records, in order.
//
// Recovery feeds it every good record of every segment (oldest first) and
// then asks for the result. It mirrors what the writer did at run time:
// an entry truncates any held entries at or after its index (a follower
// overwrote an uncommitted tail); a kSnapshot marker replaces the log; a
// kCompaction marker drops the entries up to its index. Released segments
// leave a hole before the entries of the oldest kept one; a hole is
// accepted only if a later marker covers it. Everything it returns has been
// checked as raft will rely on it (contiguous indexes, terms that never go
// down, commit within the log); any violation is DataLoss.
#ifndef KEEL_STORE_WAL_REPLAY_H_
#define KEEL_STORE_WAL_REPLAY_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "proto/raft.pb.h"
#include "store/wal_format.h"

namespace keel::store {

// raft's durable state as a WAL holds it.
struct WalState {
  raftpb::HardState hard_state;
  // The latest snapshot the log starts after (index 0: none), with the
  // configuration as of that snapshot.
  raftpb::SnapshotMetadata snapshot;
  // Entries snapshot.index + 1 .. , contiguous.
  std::vector<raftpb::Entry> entries;
};

class WalReplay {
 public:
  // Applies one record (not a segment header). DataLoss if the payload
  // does not decode; the caller adds the file and offset.
  absl::Status Apply(WalRecordType type, std::string_view payload);

  // Checks the result and moves it out. DataLoss if entries are missing
  // (a hole no snapshot covers), terms go down, or the commit index is past
  // the last entry. A commit index below the snapshot is raised to it: a
  // snapshot only ever holds committed state.
  absl::Status Finish(WalState* out);

  uint64_t records() const { return records_; }

 private:
  void ApplyEntry(raftpb::Entry entry);
  absl::Status ApplyCompaction(const raftpb::SnapshotMetadata& marker);
  uint64_t last_index() const { return base_index_ + entries_.size(); }

  raftpb::HardState hard_state_;
  raftpb::SnapshotMetadata snapshot_;
  // entries_[i] has index base_index_ + 1 + i.
  std::vector<raftpb::Entry> entries_;
  uint64_t base_index_ = 0;
  // False while the entries start after a hole that no marker has covered.
  bool base_known_ = true;
  uint64_t records_ = 0;
};

}  // namespace keel::store

#endif  // KEEL_STORE_WAL_REPLAY_H_
