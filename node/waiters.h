// Waiters: proposals waiting for their entry to be applied.
//
// A proposing coroutine registers a Waiter under its request id and
// suspends on it; the applier delivers the entry's result by id. The waiter
// lives in the proposing frame: if that frame is destroyed (the client went
// away), the waiter deregisters itself and the result is dropped.
#ifndef KEEL_NODE_WAITERS_H_
#define KEEL_NODE_WAITERS_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "node/apply_result.h"
#include "runtime/assert.h"
#include "runtime/sync.h"

namespace keel::node {

class WaiterRegistry;

class Waiter {
 public:
  Waiter(WaiterRegistry& registry, uint64_t id);
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter();

  uint64_t id() const { return id_; }
  bool done() const { return result_.has_value(); }
  // Suspends until the result arrives (bound it with Clock::WithTimeout).
  Task<void> Wait() { return done_.Wait(); }
  ApplyResult& result() {
    KEEL_ASSERT(result_.has_value());
    return *result_;
  }

 private:
  friend class WaiterRegistry;
  void Deliver(ApplyResult result) {
    result_ = std::move(result);
    done_.Set();
  }

  WaiterRegistry& registry_;
  const uint64_t id_;
  std::optional<ApplyResult> result_;
  Event done_;
};

class WaiterRegistry {
 public:
  // Delivers `result` to the waiter for `id`, if one is registered here.
  // Returns whether one was.
  bool Deliver(uint64_t id, ApplyResult result) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return false;
    Waiter* waiter = it->second;
    waiters_.erase(it);
    waiter->Deliver(std::move(result));
    return true;
  }
  // Fails every registered waiter with `status` (the server is stopping).
  // In id order: a hash table's iteration order follows the address of its
  // storage (absl salts probing with it), and the order waiters wake in
  // must not depend on the heap, or a simulated run would not replay.
  void FailAll(const absl::Status& status) {
    std::vector<std::pair<uint64_t, Waiter*>> waiters(waiters_.begin(), waiters_.end());
    waiters_.clear();
    std::sort(waiters.begin(), waiters.end());
    for (auto& [id, waiter] : waiters) waiter->Deliver(ApplyResult{status});
  }
  size_t size() const { return waiters_.size(); }
  // Whether a waiter for `id` is still registered (its caller still waits).
  bool Waiting(uint64_t id) const { return waiters_.contains(id); }

 private:
  friend class Waiter;
  absl::flat_hash_map<uint64_t, Waiter*> waiters_;
};

inline Waiter::Waiter(WaiterRegistry& registry, uint64_t id)
    : registry_(registry), id_(id) {
  const bool inserted = registry_.waiters_.emplace(id, this).second;
  KEEL_ASSERT_MSG(inserted, "duplicate proposal id");
}

inline Waiter::~Waiter() {
  if (!result_.has_value()) registry_.waiters_.erase(id_);
}

}  // namespace keel::node

#endif  // KEEL_NODE_WAITERS_H_
