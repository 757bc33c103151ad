// Defragmenter: the Maintenance service's long jobs over the key space,
// Defragment and the dbSizeInUse figure, run as root tasks of the member.
//
// Both may run LevelDB work off the loop for seconds (KeySpace::Defragment,
// KeySpace::LiveBytes). A gRPC handler's frame is destroyed when its client
// hangs up, so the work never runs in it: each job is a root task holding a
// MemberLife::LoopGuard (the member's stop waits for it, and the database it
// uses stays open), and callers wait for its result.
//
// One Defragment runs at a time; a call while one runs waits for that one
// and shares its result (a second pass right after would find nothing to
// drop). dbSizeInUse is counted by a scan, so it is kept for kInUseRefresh
// and recounted by the first Status after that; a Defragment forgets it.
#ifndef KEEL_NODE_DEFRAGMENTER_H_
#define KEEL_NODE_DEFRAGMENTER_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "node/key_space.h"
#include "node/member_life.h"
#include "runtime/env.h"
#include "runtime/sync.h"
#include "runtime/task.h"

namespace keel::node {

// How long a dbSizeInUse figure is served before it is counted again.
inline constexpr Duration kInUseRefresh = Seconds(10);

class Defragmenter {
 public:
  // References must outlive this, and this the member's loops.
  Defragmenter(Env& env, KeySpace& key_space, MemberLife& life)
      : env_(env), key_space_(key_space), life_(life) {}

  // Defragments the key space online (KeySpace::Defragment), once the
  // physical removal of a compaction in progress has finished. kStopped
  // once the member stops; LevelDB's errors.
  Task<absl::Status> Defragment();

  // dbSizeInUse: the live bytes (KeySpace::LiveBytes), at most `db_size`
  // (the figure Status reports beside it: live data never needs more than
  // the files that hold it, and the two are read at different moments).
  // The last count while it is fresh; else a new one. Before any count has
  // succeeded (the member is stopping, or LevelDB failed), `db_size`.
  Task<int64_t> InUseBytes(int64_t db_size);

 private:
  struct Job {
    Event done;
    absl::Status status;
  };
  Task<void> RunDefragment(std::shared_ptr<Job> job, std::unique_ptr<MemberLife::LoopGuard> guard);
  Task<void> RunCount(std::shared_ptr<Job> job, std::unique_ptr<MemberLife::LoopGuard> guard);

  Env& env_;
  KeySpace& key_space_;
  MemberLife& life_;
  std::shared_ptr<Job> defragment_;  // the run in progress
  std::shared_ptr<Job> count_;       // the count in progress
  std::optional<int64_t> in_use_;
  std::optional<TimePoint> counted_at_;
  // Bumped by each Defragment, so a count that began before one does not
  // pass for fresh afterwards.
  uint64_t generation_ = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_DEFRAGMENTER_H_
