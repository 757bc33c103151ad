// Task<T>: keel's lazy coroutine.
//
// A Task does nothing until it is awaited (or spawned into a Process). Awaiting
// runs it inline until it first suspends or finishes; one that finishes
// without suspending lets the awaiter continue without suspending at all, so
// a loop of such awaits does not grow the stack (GCC does not turn symmetric
// transfer into a tail call at -O0 or under ASan, so keel does not rely on
// it). A task that suspended resumes its awaiter by symmetric transfer when it
// finishes, which nests at most as deep as tasks are nested. A Task owns its frame: destroying a Task destroys the frame
// and, transitively, every task the frame is awaiting. That is keel's only
// form of cancellation (see Process::Kill and WhenAny).
//
// Errors are values: Task<absl::Status>, Task<absl::StatusOr<T>>. An
// exception escaping a task is a bug and aborts.
#ifndef KEEL_RUNTIME_TASK_H_
#define KEEL_RUNTIME_TASK_H_

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "runtime/assert.h"

namespace keel {

class Process;

namespace internal {

struct RootTask;

// Called from the final awaiter of a task spawned into a process.
void FinishRootTask(RootTask* root);

struct PromiseBase {
  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(
        std::coroutine_handle<Promise> handle) noexcept {
      PromiseBase& promise = handle.promise();
      promise.completed = true;
      // Finished inside the awaiter's await_suspend, which resumes it.
      if (promise.running_inline) return std::noop_coroutine();
      if (promise.continuation) return promise.continuation;
      // A spawned root: the process destroys this frame now, which is legal
      // because this is the frame's last suspension.
      if (promise.root != nullptr) FinishRootTask(promise.root);
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  [[noreturn]] void unhandled_exception() const noexcept {
    KEEL_ASSERT_MSG(false, "exception escaped a keel task");
    std::terminate();
  }

  // Starts the task inline from the awaiter's await_suspend. Returns true
  // if the awaiter must suspend (the task suspended before finishing).
  bool StartInline(std::coroutine_handle<> self, std::coroutine_handle<> awaiter) {
    continuation = awaiter;
    running_inline = true;
    self.resume();
    running_inline = false;
    return !completed;
  }

  std::coroutine_handle<> continuation;
  RootTask* root = nullptr;
  bool running_inline = false;
  bool completed = false;
};

}  // namespace internal

template <typename T = void>
class [[nodiscard]] Task {
 public:
  struct promise_type : internal::PromiseBase {
    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    template <typename U>
      requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) {
      result.emplace(std::forward<U>(value));
    }
    std::optional<T> result;
  };

  Task() = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ~Task() { Reset(); }

  bool valid() const { return static_cast<bool>(handle_); }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> awaiter) {
    KEEL_ASSERT(handle_);
    return handle_.promise().StartInline(handle_, awaiter);
  }
  T await_resume() {
    KEEL_ASSERT(handle_.promise().result.has_value());
    return std::move(*handle_.promise().result);
  }

  // Gives up ownership of the frame (for Process::Spawn and combinators).
  std::coroutine_handle<promise_type> Release() {
    return std::exchange(handle_, {});
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  void Reset() {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  std::coroutine_handle<promise_type> handle_;
};

template <>
class [[nodiscard]] Task<void> {
 public:
  struct promise_type : internal::PromiseBase {
    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    void return_void() {}
  };

  Task() = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ~Task() { Reset(); }

  bool valid() const { return static_cast<bool>(handle_); }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> awaiter) {
    KEEL_ASSERT(handle_);
    return handle_.promise().StartInline(handle_, awaiter);
  }
  void await_resume() const noexcept {}

  std::coroutine_handle<promise_type> Release() {
    return std::exchange(handle_, {});
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  void Reset() {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  std::coroutine_handle<promise_type> handle_;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_H_
