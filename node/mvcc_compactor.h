// MvccCompactor: physical compaction of the key space off the apply path.
//
// Applying a compaction (Mvcc::Compact) only records where history ends;
// removing the superseded versions happens here, in bounded steps
// (--experimental-compaction-batch-limit revisions at a time) with a yield
// between them, so writes and heartbeats go on while a large compaction
// runs. A physical Compact RPC waits until the removal is done (Wait).
#ifndef KEEL_NODE_MVCC_COMPACTOR_H_
#define KEEL_NODE_MVCC_COMPACTOR_H_

#include "node/key_space.h"
#include "node/member_life.h"
#include "runtime/env.h"
#include "runtime/sync.h"

namespace keel::node {

class MvccCompactor {
 public:
  MvccCompactor(Env& env, KeySpace& key_space, MemberLife& life)
      : env_(env), key_space_(key_space), life_(life) {}
  MvccCompactor(const MvccCompactor&) = delete;
  MvccCompactor& operator=(const MvccCompactor&) = delete;

  // Starts the compaction loop in the member's process.
  void Start();
  // A compaction was applied (or the member is stopping): look again.
  void Wake() { work_.Set(); }
  // Suspends until no compaction is pending (or the member stops).
  Task<void> WaitIdle();

 private:
  Task<void> Loop();

  Env& env_;
  KeySpace& key_space_;
  MemberLife& life_;
  Event work_;
  WaitQueue idle_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_MVCC_COMPACTOR_H_
