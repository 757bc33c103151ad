// PosixLoop: the production event loop, one epoll thread driving an Executor.
//
// Each turn of the loop waits in epoll_wait until the next timer deadline or
// until a file descriptor, a posted callback or a signal needs attention (not
// at all if a coroutine is ready), then dispatches what arrived and runs the
// ready coroutines and the timers that are due (time is CLOCK_MONOTONIC
// through std::chrono::steady_clock). Everything that touches the
// executor runs on the loop's thread; other threads (the I/O pool, LevelDB's
// background thread) talk to it only through Post().
//
// File descriptors are watched through IoHandle: registered with epoll once,
// edge-triggered, with one list of coroutines waiting to read and one waiting
// to write. Their waiters are Wakeups, so a frame destroyed while it waits
// leaves the list on its own, exactly as SleepAwaiter and WaitQueue do. The
// protocol for users is "try the syscall; on EAGAIN await Readable() or
// Writable(); try again", which cannot lose an edge because the loop reports
// edges only between coroutine runs.
#ifndef KEEL_RUNTIME_POSIX_LOOP_H_
#define KEEL_RUNTIME_POSIX_LOOP_H_

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/assert.h"
#include "runtime/executor.h"
#include "runtime/intrusive_list.h"
#include "runtime/process.h"
#include "runtime/sync.h"
#include "runtime/task.h"
#include "runtime/time.h"

struct epoll_event;

namespace keel {

// Monotonic time since the first call in this process (CLOCK_MONOTONIC via
// std::chrono::steady_clock). The one place production reads the clock for
// timers; PosixClock::Now() returns it.
TimePoint MonotonicNow();

class PosixLoop;

// Something in the loop's epoll set. OnEvents runs on the loop thread while
// the loop dispatches a batch of events: it may schedule wakeups and set
// flags, but must run no coroutine and destroy no other source.
class EpollSource {
 public:
  virtual void OnEvents(uint32_t events) = 0;

 protected:
  ~EpollSource() = default;
};

// A file descriptor on the loop, with the coroutines waiting on it. Shared
// ownership: the object that owns the descriptor (a connection, a listener)
// holds one reference and each coroutine using it holds another, so a
// waiter that resumes after the owner was destroyed still finds its handle,
// closed. Loop thread only. Every handle must be destroyed before its loop.
class IoHandle : private EpollSource {
 public:
  // Waits until the descriptor may be readable or writable (or has an error,
  // or the handle was closed). Resumes without suspending if the handle is
  // already closed. Wake-ups may be spurious: retry the syscall.
  class [[nodiscard]] ReadyAwaiter {
   public:
    ReadyAwaiter(IoHandle& handle, IntrusiveList<Wakeup>& waiters)
        : handle_(handle), waiters_(waiters) {}
    bool await_ready() const noexcept { return handle_.closed(); }
    void await_suspend(std::coroutine_handle<> coroutine);
    void await_resume() const noexcept {}

   private:
    IoHandle& handle_;
    IntrusiveList<Wakeup>& waiters_;
    Wakeup wakeup_;
  };

  // Takes ownership of `fd`, which should be nonblocking, and adds it to the
  // loop's epoll set. On error (the kernel's epoll limits) closes `fd`.
  static absl::StatusOr<std::shared_ptr<IoHandle>> Create(PosixLoop& loop,
                                                          int fd);

  IoHandle(const IoHandle&) = delete;
  IoHandle& operator=(const IoHandle&) = delete;
  // Closes the descriptor if it is still open.
  ~IoHandle();

  // The descriptor, or -1 once closed.
  int fd() const { return fd_; }
  bool closed() const { return fd_ < 0; }
  PosixLoop& loop() const { return loop_; }

  // Removes the descriptor from epoll, closes it and wakes every waiter
  // (they find the handle closed). Idempotent. Does not suspend.
  void Close();

  ReadyAwaiter Readable() { return ReadyAwaiter(*this, readers_); }
  ReadyAwaiter Writable() { return ReadyAwaiter(*this, writers_); }

  size_t reader_count() const { return readers_.size(); }
  size_t writer_count() const { return writers_.size(); }

 private:
  IoHandle(PosixLoop& loop, int fd) : loop_(loop), fd_(fd) {}
  void OnEvents(uint32_t events) override;
  void WakeAll(IntrusiveList<Wakeup>& waiters);

  PosixLoop& loop_;
  int fd_;
  IntrusiveList<Wakeup> readers_;
  IntrusiveList<Wakeup> writers_;
};

struct PosixLoopOptions {
  // Blocks SIGINT and SIGTERM in the constructing thread (and so in every
  // thread it starts afterwards) and turns them into shutdown_requested().
  // Construct the loop before starting any thread for that to cover all.
  bool handle_signals = false;
};

class PosixLoop {
 public:
  explicit PosixLoop(PosixLoopOptions options = {});
  PosixLoop(const PosixLoop&) = delete;
  PosixLoop& operator=(const PosixLoop&) = delete;
  // Drops posted callbacks that never ran and restores the signal mask.
  // Every process on the executor must be killed and every IoHandle
  // destroyed first.
  ~PosixLoop();

  Executor& executor() { return executor_; }
  TimePoint Now() const { return MonotonicNow(); }

  // Queues `callback` to run on the loop thread, outside any coroutine, in
  // the order posted. Thread-safe; the one way other threads reach the loop.
  // Callbacks still queued when the loop is destroyed are destroyed unrun.
  void Post(absl::AnyInvocable<void() &&> callback);

  // Runs turns of the loop until Stop(). Not reentrant.
  void Run();
  // Makes Run() return after its current turn. Thread-safe. A Stop() that
  // arrives while Run() is not running ends the next Run() after one turn.
  void Stop();

  // Runs turns until `done()` holds, checking it after every turn, or until
  // `timeout` of real time has passed. True if `done()` held. For tests and
  // tools that wait on a condition with a bound.
  bool RunUntil(absl::FunctionRef<bool()> done, Duration timeout);

  // Runs `task` as the root of a fresh process to completion and returns its
  // value; the process is killed before returning, with whatever it spawned.
  template <typename T>
  T RunTask(Task<T> task) {
    Process process(executor_, "main");
    return RunInProcess(process, std::move(task));
  }

  // Runs `task` as a new root of `process` until it finishes; other roots of
  // the process keep running afterwards. The process must not be killed
  // while the task runs.
  template <typename T>
  T RunInProcess(Process& process, Task<T> task) {
    std::optional<T> result;
    process.Spawn(StoreResult(std::move(task), &result));
    while (!result.has_value()) {
      KEEL_ASSERT_MSG(!process.killed(), "process killed under RunInProcess");
      RunOnce(TimePoint::max());
    }
    return std::move(*result);
  }

  // Set once SIGINT or SIGTERM arrives, if the loop handles signals. A tool
  // awaits shutdown_requested().Wait() and shuts down gracefully.
  Event& shutdown_requested() { return shutdown_requested_; }
  // The signal that set shutdown_requested(), or 0.
  int shutdown_signal() const { return shutdown_signal_; }

  // Descriptors registered through IoHandle and not yet closed.
  size_t handle_count() const { return handle_count_; }

 private:
  friend class IoHandle;
  class WakeSource;
  class SignalSource;

  template <typename T>
  static Task<void> StoreResult(Task<T> task, std::optional<T>* out) {
    out->emplace(co_await std::move(task));
  }

  // One turn: wait for I/O until the next timer deadline or `wait_limit`
  // (not at all if something is ready), dispatch the events, run posted
  // callbacks, ready coroutines and due timers.
  void RunOnce(TimePoint wait_limit);
  // How long the next wait may block: until the earlier of `wait_limit`
  // and the next timer; zero when work is ready; nullopt for no limit.
  std::optional<Duration> WaitTimeout(TimePoint wait_limit) const;
  // epoll_wait with a timeout to the nanosecond (epoll_pwait2, Linux 5.11),
  // falling back to whole milliseconds, rounded up, where the kernel or a
  // seccomp filter refuses it.
  int Wait(epoll_event* events, int max_events, std::optional<Duration> timeout);
  void RunPosted();

  absl::Status Add(int fd, uint32_t events, EpollSource* source);
  void Remove(int fd);

  // Declared first, destroyed last: everything below may point into it.
  Executor executor_;
  int epoll_fd_ = -1;
  std::unique_ptr<WakeSource> wake_;
  std::unique_ptr<SignalSource> signals_;
  bool running_ = false;
  std::atomic<bool> stop_requested_{false};
  bool posted_pending_ = false;
  size_t handle_count_ = 0;

  std::mutex posted_mu_;
  std::vector<absl::AnyInvocable<void() &&>> posted_;  // guarded by posted_mu_

  Event shutdown_requested_;
  int shutdown_signal_ = 0;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_POSIX_LOOP_H_
