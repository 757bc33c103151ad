// AutoCompactor: the leader's automatic compaction (etcd 3.4's v3compactor,
// scheduled the same way; --auto-compaction-mode/-retention).
//
// Periodic, retention P: the interval is P/10 for P up to an hour, six
// minutes above (one hour / 10). Every interval the loop records the
// current revision, keeping the last P/interval + 1; once P has passed
// since the start (later: an hour, or P if shorter, since the last
// success) it compacts at the oldest revision recorded, so history about P
// old is kept. Revision, retention N: every five minutes it compacts at
// current - N, unless that is not positive or the revision it compacted
// at last time.
//
// Only the leader compacts: on other members the loop keeps its records
// but does nothing (etcd pauses the compactor when a member loses the
// leadership). A compaction goes through raft like a client's (logical:
// physical removal follows in the background) and counts as done also when
// the revision was compacted already; a failure is retried at the next
// interval.
#ifndef KEEL_NODE_AUTO_COMPACTOR_H_
#define KEEL_NODE_AUTO_COMPACTOR_H_

#include <cstdint>
#include <deque>
#include <functional>

#include "absl/status/status.h"
#include "node/auto_compaction.h"
#include "node/member_life.h"
#include "node/raft_node.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace keel::node {

// etcd's revision-mode interval (v3compactor revInterval).
inline constexpr Duration kRevisionCompactInterval = Seconds(5 * 60);

class AutoCompactor {
 public:
  // Compacts at a revision through raft; kCompacted counts as done.
  using CompactFn = std::function<Task<absl::Status>(int64_t revision)>;
  // The current revision of the key space.
  using RevisionFn = std::function<int64_t()>;

  // `config` must be enabled(). References must outlive the member's loops.
  AutoCompactor(Env& env, AutoCompaction config, const RaftNode& raft, RevisionFn revision,
                CompactFn compact, MemberLife& life);

  // Starts the loop in the member's process.
  void Start();

  // Compactions that succeeded (tests).
  int64_t compactions() const { return compactions_; }

 private:
  Task<void> PeriodicLoop();
  Task<void> RevisionLoop();
  // Sleeps `d`, or less if the member stops.
  Task<void> Sleep(Duration d);
  Task<bool> Compact(int64_t revision, std::string_view mode);

  Env& env_;
  const AutoCompaction config_;
  const RaftNode& raft_;
  RevisionFn revision_;
  CompactFn compact_;
  MemberLife& life_;
  int64_t compactions_ = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_AUTO_COMPACTOR_H_
