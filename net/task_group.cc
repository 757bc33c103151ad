// TaskGroup's child frames: a small coroutine type that awaits the given task
// and, at its final suspension, asks the group to destroy it.
#include "net/task_group.h"

#include <exception>
#include <utility>

#include "runtime/assert.h"

namespace keel::net {

struct TaskGroup::Frame {
  struct promise_type {
    Frame get_return_object() {
      return Frame{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    struct FinalAwaiter {
      bool await_ready() const noexcept { return false; }
      // The frame is at its last suspension point, so destroying it here is
      // legal; nothing of it is touched afterwards.
      void await_suspend(std::coroutine_handle<promise_type> handle) noexcept {
        TaskGroup* group = handle.promise().group;
        const uint64_t id = handle.promise().id;
        group->Finish(id);
      }
      void await_resume() const noexcept {}
    };
    FinalAwaiter final_suspend() const noexcept { return {}; }
    void return_void() {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }

    TaskGroup* group = nullptr;
    uint64_t id = 0;
    Wakeup start;
  };

  std::coroutine_handle<promise_type> handle;
};

namespace {
TaskGroup::Frame RunInGroup(Task<void> task) { co_await std::move(task); }
}  // namespace

TaskGroup::~TaskGroup() { CancelAll(); }

uint64_t TaskGroup::Start(Task<void> task) {
  KEEL_ASSERT(task.valid());
  const uint64_t id = next_id_++;
  Frame frame = RunInGroup(std::move(task));
  auto& promise = frame.handle.promise();
  promise.group = this;
  promise.id = id;
  promise.start.Arm(frame.handle, executor_.current_process());
  frames_.emplace(id, frame.handle);
  executor_.Schedule(promise.start);
  return id;
}

bool TaskGroup::Cancel(uint64_t id) {
  auto it = frames_.find(id);
  if (it == frames_.end()) return false;
  // Destructors in the frame may wake waiters; they need a current executor
  // even when this is called from outside the loop (an owner's destructor).
  Executor::Scope scope(executor_);
  std::coroutine_handle<> handle = it->second;
  frames_.erase(it);
  handle.destroy();  // Unlinks its start wakeup if it never ran.
  if (frames_.empty()) empty_waiters_.WakeAll();
  return true;
}

void TaskGroup::CancelAll() {
  Executor::Scope scope(executor_);
  // A destructor run below may start or cancel tasks; re-read every time.
  while (!frames_.empty()) {
    auto it = frames_.begin();
    std::coroutine_handle<> handle = it->second;
    frames_.erase(it);
    handle.destroy();
  }
  empty_waiters_.WakeAll();
}

void TaskGroup::Finish(uint64_t id) {
  auto it = frames_.find(id);
  KEEL_ASSERT(it != frames_.end());
  std::coroutine_handle<> handle = it->second;
  frames_.erase(it);
  handle.destroy();
  if (frames_.empty()) empty_waiters_.WakeAll();
}

Task<void> TaskGroup::WaitEmpty() {
  while (!frames_.empty()) co_await empty_waiters_.Wait();
}

}  // namespace keel::net
