// Coroutine synchronisation for one thread: Event, Mutex, Channel, Gate.
//
// All of them are built on WaitQueue, whose waiters leave when their frame is
// destroyed. Because a woken waiter may be destroyed before it runs, wakers
// wake every waiter and each re-checks its condition; none of these
// primitives hands a resource to a specific waiter.
#ifndef KEEL_RUNTIME_SYNC_H_
#define KEEL_RUNTIME_SYNC_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/assert.h"
#include "runtime/executor.h"
#include "runtime/task.h"

namespace keel {

// A latch that stays set until Reset().
class Event {
 public:
  bool is_set() const { return set_; }
  void Set() {
    set_ = true;
    waiters_.WakeAll();
  }
  void Reset() { set_ = false; }
  // Suspends until the event is set; returns at once if it is.
  Task<void> Wait() {
    while (!set_) co_await waiters_.Wait();
  }

 private:
  bool set_ = false;
  WaitQueue waiters_;
};

// A mutual-exclusion lock held across suspensions.
class Mutex {
 public:
  class [[nodiscard]] Guard {
   public:
    explicit Guard(Mutex* mutex) : mutex_(mutex) {}
    Guard(Guard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Guard& operator=(Guard&&) = delete;
    ~Guard() {
      if (mutex_ != nullptr) mutex_->Unlock();
    }

   private:
    Mutex* mutex_;
  };

  // Suspends until the lock is free, then takes it.
  Task<Guard> Lock() {
    while (locked_) co_await waiters_.Wait();
    locked_ = true;
    co_return Guard(this);
  }
  bool locked() const { return locked_; }

 private:
  void Unlock() {
    KEEL_ASSERT(locked_);
    locked_ = false;
    waiters_.WakeAll();
  }

  bool locked_ = false;
  WaitQueue waiters_;
};

// A bounded FIFO queue between coroutines. Send suspends while the channel is
// full; Receive suspends while it is empty. After Close(), Send fails and
// Receive drains what is left, then returns nullopt.
template <typename T>
class Channel {
 public:
  explicit Channel(size_t capacity) : capacity_(capacity) {
    KEEL_ASSERT(capacity > 0);
  }

  // Suspends while full. FailedPrecondition once closed.
  Task<absl::Status> Send(T value) {
    while (items_.size() >= capacity_ && !closed_) co_await senders_.Wait();
    if (closed_) co_return absl::FailedPreconditionError("channel closed");
    items_.push_back(std::move(value));
    receivers_.WakeAll();
    co_return absl::OkStatus();
  }

  // Adds without suspending. False if full or closed.
  bool TrySend(T value) {
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(value));
    receivers_.WakeAll();
    return true;
  }

  // Suspends while empty and open. nullopt once closed and drained.
  Task<std::optional<T>> Receive() {
    while (items_.empty() && !closed_) co_await receivers_.Wait();
    co_return TryReceive();
  }

  std::optional<T> TryReceive() {
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    senders_.WakeAll();
    return value;
  }

  void Close() {
    closed_ = true;
    senders_.WakeAll();
    receivers_.WakeAll();
  }
  bool closed() const { return closed_; }
  size_t size() const { return items_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  std::deque<T> items_;
  bool closed_ = false;
  WaitQueue senders_;
  WaitQueue receivers_;
};

// A gate that requests pass through while a service runs (Seastar's gate).
// Close() stops new entries and waits for those inside to leave.
class Gate {
 public:
  class [[nodiscard]] Holder {
   public:
    Holder() = default;
    explicit Holder(Gate* gate) : gate_(gate) {}
    Holder(Holder&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Holder& operator=(Holder&& other) noexcept {
      Release();
      gate_ = std::exchange(other.gate_, nullptr);
      return *this;
    }
    ~Holder() { Release(); }

   private:
    void Release() {
      if (gate_ != nullptr) std::exchange(gate_, nullptr)->Leave();
    }
    Gate* gate_ = nullptr;
  };

  // Enters the gate. Unavailable once the gate is closing.
  absl::StatusOr<Holder> Enter() {
    if (closing_) return absl::UnavailableError("service is stopping");
    inside_++;
    return Holder(this);
  }

  // Refuses new entries and suspends until everyone inside has left.
  Task<void> Close() {
    closing_ = true;
    while (inside_ > 0) co_await empty_.Wait();
  }
  bool closing() const { return closing_; }
  size_t inside() const { return inside_; }

 private:
  void Leave() {
    KEEL_ASSERT(inside_ > 0);
    if (--inside_ == 0) empty_.WakeAll();
  }

  size_t inside_ = 0;
  bool closing_ = false;
  WaitQueue empty_;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_SYNC_H_
