// Waiting for several tasks: WhenAll (every one) and WhenAny (the first).
//
// The tasks run as children of the awaiting frame, started from the ready
// queue in the order given. WhenAny destroys the losers as soon as it
// resumes, which cancels them (their waiters unlink, their frames free what
// they hold). Destroying the awaiting frame destroys all children.
#ifndef KEEL_RUNTIME_WHEN_H_
#define KEEL_RUNTIME_WHEN_H_

#include <coroutine>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/assert.h"
#include "runtime/executor.h"
#include "runtime/task.h"

namespace keel {
namespace internal {

// Shared by a combinator and its children: counts completions and wakes the
// combinator when enough have finished.
struct JoinState {
  size_t remaining = 0;       // children still running
  size_t wanted = 0;          // completions that wake the waiter
  size_t done = 0;
  std::optional<size_t> first;  // index of the first child to finish
  WaitQueue waiter;

  void OnChildDone(size_t index) {
    KEEL_ASSERT(remaining > 0);
    remaining--;
    done++;
    if (!first.has_value()) first = index;
    if (done == wanted) waiter.WakeAll();
  }
};

// A child coroutine: runs one task, reports to the JoinState, then stays
// suspended at its end until its owner destroys it.
class ChildTask {
 public:
  struct promise_type {
    ChildTask get_return_object() {
      return ChildTask(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    struct FinalAwaiter {
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> handle) noexcept {
        promise_type& promise = handle.promise();
        promise.state->OnChildDone(promise.index);
      }
      void await_resume() const noexcept {}
    };
    FinalAwaiter final_suspend() const noexcept { return {}; }
    void return_void() {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }

    JoinState* state = nullptr;
    size_t index = 0;
  };

  ChildTask(ChildTask&& other) noexcept
      : handle_(std::exchange(other.handle_, {})) {}
  ChildTask& operator=(ChildTask&&) = delete;
  ~ChildTask() {
    if (handle_) handle_.destroy();
  }

  void Bind(JoinState* state, size_t index) {
    handle_.promise().state = state;
    handle_.promise().index = index;
  }
  std::coroutine_handle<> handle() const { return handle_; }

 private:
  explicit ChildTask(std::coroutine_handle<promise_type> handle)
      : handle_(handle) {}
  std::coroutine_handle<promise_type> handle_;
};

template <typename T>
ChildTask RunChild(Task<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

inline ChildTask RunChild(Task<void> task, char* out) {
  co_await std::move(task);
  *out = 1;
}

// Children plus the wakeups that start them. Lives in the combinator's frame.
struct ChildGroup {
  JoinState state;
  std::vector<ChildTask> children;
  std::vector<Wakeup> starts;

  explicit ChildGroup(size_t n) : starts(n) { children.reserve(n); }

  ~ChildGroup() { CancelAll(); }

  // Destroys every child, started or not, finished or not.
  void CancelAll() {
    for (Wakeup& start : starts) start.Unlink();
    children.clear();
  }

  void StartAll(size_t wanted) {
    Executor* executor = Executor::Current();
    KEEL_ASSERT(executor != nullptr);
    state.remaining = children.size();
    state.wanted = wanted;
    for (size_t i = 0; i < children.size(); i++) {
      children[i].Bind(&state, i);
      starts[i].Arm(children[i].handle(), executor->current_process());
      executor->Schedule(starts[i]);
    }
  }

  Task<void> Wait() {
    while (state.done < state.wanted) co_await state.waiter.Wait();
  }
};

}  // namespace internal

// Runs every task and returns their results in the given order.
template <typename T>
Task<std::vector<T>> WhenAll(std::vector<Task<T>> tasks) {
  std::vector<std::optional<T>> slots(tasks.size());
  internal::ChildGroup group(tasks.size());
  for (size_t i = 0; i < tasks.size(); i++) {
    group.children.push_back(internal::RunChild(std::move(tasks[i]), &slots[i]));
  }
  group.StartAll(tasks.size());
  co_await group.Wait();
  std::vector<T> results;
  results.reserve(slots.size());
  for (auto& slot : slots) results.push_back(std::move(*slot));
  co_return results;
}

inline Task<void> WhenAll(std::vector<Task<void>> tasks) {
  std::vector<char> done(tasks.size(), 0);
  internal::ChildGroup group(tasks.size());
  for (size_t i = 0; i < tasks.size(); i++) {
    group.children.push_back(
        internal::RunChild(std::move(tasks[i]), &done[i]));
  }
  group.StartAll(tasks.size());
  co_await group.Wait();
}

// The index and result of whichever task finishes first. The others are
// destroyed before this returns.
template <typename T>
struct AnyResult {
  size_t index;
  T value;
};

template <typename T>
Task<AnyResult<T>> WhenAny(std::vector<Task<T>> tasks) {
  KEEL_ASSERT(!tasks.empty());
  std::vector<std::optional<T>> slots(tasks.size());
  internal::ChildGroup group(tasks.size());
  for (size_t i = 0; i < tasks.size(); i++) {
    group.children.push_back(internal::RunChild(std::move(tasks[i]), &slots[i]));
  }
  group.StartAll(1);
  co_await group.Wait();
  const size_t index = *group.state.first;
  group.CancelAll();  // Cancel the losers now.
  co_return AnyResult<T>{index, std::move(*slots[index])};
}

inline Task<size_t> WhenAny(std::vector<Task<void>> tasks) {
  KEEL_ASSERT(!tasks.empty());
  std::vector<char> done(tasks.size(), 0);
  internal::ChildGroup group(tasks.size());
  for (size_t i = 0; i < tasks.size(); i++) {
    group.children.push_back(
        internal::RunChild(std::move(tasks[i]), &done[i]));
  }
  group.StartAll(1);
  co_await group.Wait();
  const size_t index = *group.state.first;
  group.CancelAll();
  co_return index;
}

}  // namespace keel

#endif  // KEEL_RUNTIME_WHEN_H_
