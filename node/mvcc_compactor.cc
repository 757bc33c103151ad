// MvccCompactor: the compaction loop.
#include "node/mvcc_compactor.h"

#include "node/self_repair.h"
#include "runtime/buggify.h"

namespace keel::node {

void MvccCompactor::Start() {
  env_.Spawn(Loop());
  work_.Set();
}

Task<void> MvccCompactor::WaitIdle() {
  while (key_space_.mvcc().compaction_pending() && !life_.stopping()) {
    co_await idle_.Wait();
  }
}

Task<void> MvccCompactor::Loop() {
  MemberLife::LoopGuard guard(life_);
  while (!life_.stopping()) {
    if (!key_space_.mvcc().compaction_pending()) {
      idle_.WakeAll();
      if (!work_.is_set()) co_await work_.Wait();
      work_.Reset();
      continue;
    }
    auto more = key_space_.mvcc().CompactStep();
    if (!more.ok()) {
      life_.Fail(KeySpaceDataLoss(more.status()));
      co_return;
    }
    // One bounded batch at a time, so writes and heartbeats go on
    // (Buggify: twice, so writes overtake it more often).
    co_await Yield();
    if (Buggify()) co_await Yield();
  }
  idle_.WakeAll();
}

}  // namespace keel::node
