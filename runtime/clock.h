// Clock: monotonic time and sleeping, read only through an Env.
//
// Sleeping arms a Timer on the executor, so the same coroutine sleeps in real
// time in production and in virtual time in the simulator. A sleeping frame
// that is destroyed disarms its timer.
#ifndef KEEL_RUNTIME_CLOCK_H_
#define KEEL_RUNTIME_CLOCK_H_

#include <coroutine>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/executor.h"
#include "runtime/task.h"
#include "runtime/time.h"
#include "runtime/when.h"

namespace keel {

class Clock;

// co_await clock.Sleep(d): resumes once the deadline has passed.
class SleepAwaiter : public Timer {
 public:
  SleepAwaiter(Executor& executor, TimePoint deadline)
      : executor_(executor), deadline_(deadline) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle) {
    wakeup_.Arm(handle, executor_.current_process());
    executor_.ArmTimer(*this, deadline_);
  }
  void await_resume() const noexcept {}

 private:
  void Fire() override { executor_.Schedule(wakeup_); }

  Executor& executor_;
  TimePoint deadline_;
  Wakeup wakeup_;
};

class Clock {
 public:
  explicit Clock(Executor& executor) : executor_(executor) {}
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock() = default;

  // Monotonic now. Never goes backwards.
  virtual TimePoint Now() const = 0;
  // Wall-clock microseconds since the Unix epoch, for log lines and values
  // shown to people; never for timeouts or ordering.
  virtual int64_t WallUnixMicros() const = 0;

  // Suspends until `deadline` (at least one trip through the timer heap,
  // even for a deadline in the past).
  SleepAwaiter SleepUntil(TimePoint deadline) {
    return SleepAwaiter(executor_, deadline);
  }
  SleepAwaiter Sleep(Duration duration) { return SleepUntil(Now() + duration); }

  // Runs `task` for at most `timeout`. nullopt if the time ran out first, in
  // which case the task's frame has been destroyed.
  template <typename T>
  Task<std::optional<T>> WithTimeout(Duration timeout, Task<T> task) {
    std::optional<T> result;
    std::vector<Task<void>> race;
    race.push_back(StoreResult(std::move(task), &result));
    race.push_back(SleepTask(timeout));
    co_await WhenAny(std::move(race));
    co_return result;
  }

  // Like WithTimeout for a task without a result: true if it finished.
  Task<bool> WithTimeout(Duration timeout, Task<void> task) {
    std::vector<Task<void>> race;
    race.push_back(std::move(task));
    race.push_back(SleepTask(timeout));
    const size_t winner = co_await WhenAny(std::move(race));
    co_return winner == 0;
  }

  Executor& executor() const { return executor_; }

 private:
  template <typename T>
  static Task<void> StoreResult(Task<T> task, std::optional<T>* out) {
    out->emplace(co_await std::move(task));
  }
  Task<void> SleepTask(Duration duration) { co_await Sleep(duration); }

  Executor& executor_;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_CLOCK_H_
