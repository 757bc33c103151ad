// MemberLife: whether a member is running, and the loops it must wait for
// before it may be destroyed.
//
// Every part of a member (the raft node, the applier, the lease
// coordinator, ...) runs loops in the member's process that refer to the
// parts. They all watch one MemberLife: once stopping() they leave at their
// next turn, and Stop() waits until the last LoopGuard is gone before it
// tears anything down. A fatal error (a failed fsync, a damaged disk, this
// member's removal) goes through Fail(): the first status is kept, the
// member's owner is told once, and the member stops without waiting.
//
// Single-threaded, like everything of a member.
#ifndef KEEL_NODE_MEMBER_LIFE_H_
#define KEEL_NODE_MEMBER_LIFE_H_

#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/errors.h"
#include "runtime/assert.h"
#include "runtime/sync.h"
#include "runtime/task.h"

namespace keel::node {

// Why a member stops once it knows it is no longer in the cluster (its own
// removal applied, or a peer refusing it as removed): etcd's words.
inline absl::Status MemberRemovedError() {
  return absl::FailedPreconditionError(
      "the member has been permanently removed from the cluster");
}
inline bool IsMemberRemoved(const absl::Status& status) {
  return status == MemberRemovedError();
}

class MemberLife {
 public:
  // Counts a loop in while it runs.
  class LoopGuard {
   public:
    explicit LoopGuard(MemberLife& life) : life_(life) { life_.loops_running_++; }
    ~LoopGuard() {
      KEEL_ASSERT(life_.loops_running_ > 0);
      life_.loops_running_--;
      life_.loop_exited_.WakeAll();
    }
    LoopGuard(const LoopGuard&) = delete;
    LoopGuard& operator=(const LoopGuard&) = delete;

   private:
    MemberLife& life_;
  };

  MemberLife() = default;
  MemberLife(const MemberLife&) = delete;
  MemberLife& operator=(const MemberLife&) = delete;

  // Called once, on the first Fail(), with its status: the owner stops the
  // parts (without waiting for anything).
  void set_on_fatal(std::function<void(const absl::Status&)> on_fatal) {
    on_fatal_ = std::move(on_fatal);
  }

  bool stopping() const { return stopping_; }
  // Set once the member begins to stop, for whatever reason.
  Event& stopping_event() { return stopping_event_; }
  // The first fatal error; OK if none (a clean stop, or still running).
  const absl::Status& fatal() const { return fatal_; }

  // Marks the member as stopping. Idempotent.
  void BeginStop() {
    stopping_ = true;
    stopping_event_.Set();
  }

  // A fatal error: the member stops at once. Only the first status counts.
  void Fail(absl::Status status) {
    KEEL_ASSERT(!status.ok());
    if (!fatal_.ok()) return;
    fatal_ = std::move(status);
    BeginStop();
    if (on_fatal_) on_fatal_(fatal_);
    KEEL_ASSERT(stopping_);
  }

  // Requests (proposals, linearizable reads, lease calls) enter while the
  // member runs; kStopped once it is stopping. The holder keeps Stop()
  // waiting until the request has left.
  absl::StatusOr<Gate::Holder> EnterRequest() {
    auto holder = requests_.Enter();
    if (!holder.ok() || stopping_) return MakeError(EtcdError::kStopped);
    return holder;
  }
  // Refuses new requests and waits for those inside to leave. Suspends.
  Task<void> CloseRequests() { return requests_.Close(); }

  int loops_running() const { return loops_running_; }
  // Waits until every loop has left. Suspends.
  Task<void> WaitLoopsExited() {
    while (loops_running_ > 0) co_await loop_exited_.Wait();
  }

 private:
  bool stopping_ = false;
  Event stopping_event_;
  absl::Status fatal_;
  std::function<void(const absl::Status&)> on_fatal_;
  Gate requests_;
  int loops_running_ = 0;
  WaitQueue loop_exited_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_MEMBER_LIFE_H_
