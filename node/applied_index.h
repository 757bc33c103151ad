// AppliedIndex: how far this member's state machine has applied the raft
// log, and waiting for it to get somewhere.
//
// The applier advances it after each entry (or installed snapshot);
// linearizable reads, lease requests and tests wait on it. Waits end early
// when the member stops (the waiter checks MemberLife).
#ifndef KEEL_NODE_APPLIED_INDEX_H_
#define KEEL_NODE_APPLIED_INDEX_H_

#include <cstdint>

#include "node/member_life.h"
#include "runtime/assert.h"
#include "runtime/sync.h"
#include "runtime/task.h"

namespace keel::node {

class AppliedIndex {
 public:
  AppliedIndex(uint64_t index, MemberLife& life) : index_(index), life_(life) {}
  AppliedIndex(const AppliedIndex&) = delete;
  AppliedIndex& operator=(const AppliedIndex&) = delete;

  uint64_t index() const { return index_; }

  // Moves the index forward (never back); waiters are woken by Publish().
  void Advance(uint64_t index) {
    if (index > index_) index_ = index;
  }
  // Wakes every waiter to look at the index again (after a batch, and when
  // the member stops).
  void Publish() { changed_.WakeAll(); }

  // Suspends until the index reaches `index` or the member stops.
  Task<void> WaitFor(uint64_t index) {
    while (index_ < index && !life_.stopping()) co_await changed_.Wait();
  }

 private:
  uint64_t index_;
  MemberLife& life_;
  WaitQueue changed_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_APPLIED_INDEX_H_
