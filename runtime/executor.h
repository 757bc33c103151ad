// The executor: a ready queue of coroutines and a heap of timers.
//
// One executor runs on one thread. Production drives it from an epoll loop
// (runtime/posix_loop.h); the simulator drives it in virtual time
// (sim/sim_world.h). Both use the same queue and heap, so server code cannot
// tell them apart. Everything that waits in keel waits in one of two ways: a
// Wakeup in some list (the ready queue or a primitive's waiters), or a Timer
// in the heap. Both unlink themselves when destroyed, which is what makes
// destroying a suspended coroutine frame (killing a process, cancelling the
// losers of WhenAny) safe at any suspension point.
#ifndef KEEL_RUNTIME_EXECUTOR_H_
#define KEEL_RUNTIME_EXECUTOR_H_

#include <coroutine>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "runtime/intrusive_list.h"
#include "runtime/time.h"

namespace keel {

class Executor;
class Process;

// A suspended coroutine, and the process it belongs to, that some event will
// make runnable. It lives inside the suspended frame (in an awaiter), so it
// dies with the frame and leaves whatever list holds it.
class Wakeup : public IntrusiveNode<Wakeup> {
 public:
  Wakeup() = default;

  // Records the coroutine to resume and the process to charge it to.
  void Arm(std::coroutine_handle<> handle, Process* process) {
    handle_ = handle;
    process_ = process;
  }
  std::coroutine_handle<> handle() const { return handle_; }
  Process* process() const { return process_; }

 private:
  std::coroutine_handle<> handle_;
  Process* process_ = nullptr;
};

// Something to do at an instant. Subclasses implement Fire(), which runs on
// the executor's thread with no coroutine running. A destroyed timer is
// disarmed.
class Timer {
 public:
  Timer() = default;
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  virtual ~Timer();

  bool armed() const { return executor_ != nullptr; }
  TimePoint deadline() const { return deadline_; }

  // Removes the timer from its executor's heap if it is armed.
  void Disarm();

 protected:
  virtual void Fire() = 0;

 private:
  friend class Executor;
  Executor* executor_ = nullptr;
  size_t heap_index_ = 0;
  TimePoint deadline_{};
  uint64_t tiebreak_ = 0;
  uint64_t sequence_ = 0;
};

// Told about every step the executor takes; the simulator hashes these into
// its determinism trace.
class ExecutorObserver {
 public:
  virtual ~ExecutorObserver() = default;
  virtual void OnResume(const Process* process) = 0;
  virtual void OnTimer(TimePoint deadline, uint64_t tiebreak) = 0;
};

class Executor {
 public:
  Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  ~Executor();

  // The executor whose loop runs on this thread, or null outside one.
  static Executor* Current();

  // The process of the coroutine running now, or null between coroutines.
  Process* current_process() const { return current_process_; }

  // Makes `wakeup` runnable after everything already ready. The wakeup must
  // not be in another list.
  void Schedule(Wakeup& wakeup);

  // Arms `timer` for `deadline`. Timers with equal deadlines fire in the
  // order of their tiebreak (drawn from the tiebreak source: the seed in
  // simulation, zero in production) and then in arming order.
  void ArmTimer(Timer& timer, TimePoint deadline);

  // Runs ready coroutines until the queue is empty. Coroutines of a paused
  // process are parked with it instead. Returns how many ran.
  size_t RunReady();
  bool has_ready() const { return !ready_.empty(); }
  size_t ready_count() const { return ready_.size(); }

  // The earliest armed timer's deadline, if any timer is armed.
  std::optional<TimePoint> NextDeadline() const;
  size_t timer_count() const { return heap_.size(); }

  // Fires the earliest timer. Requires an armed timer.
  void FireEarliest();

  // Fires, in order, every timer whose deadline is at or before `now`,
  // running ready coroutines after each. Returns how many fired.
  size_t FireTimersUpTo(TimePoint now);

  void set_tiebreak_source(std::function<uint64_t()> source) {
    tiebreak_source_ = std::move(source);
  }
  void set_observer(ExecutorObserver* observer) { observer_ = observer; }

  // Makes this executor Current() on this thread while in scope.
  class Scope {
   public:
    explicit Scope(Executor& executor);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Executor* previous_;
  };

 private:
  friend class Timer;
  friend class Process;

  void Disarm(Timer& timer);
  void SiftUp(size_t index);
  void SiftDown(size_t index);
  bool Before(const Timer* a, const Timer* b) const;
  void Place(Timer* timer, size_t index);

  IntrusiveList<Wakeup> ready_;
  std::vector<Timer*> heap_;
  uint64_t timer_sequence_ = 0;
  Process* current_process_ = nullptr;
  std::function<uint64_t()> tiebreak_source_;
  ExecutorObserver* observer_ = nullptr;
};

// co_await Yield(): go to the back of the ready queue.
class YieldAwaiter {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle);
  void await_resume() const noexcept {}

 private:
  Wakeup wakeup_;
};
inline YieldAwaiter Yield() { return {}; }

// A queue of waiting coroutines: the building block of Event, Mutex and
// Channel. Waking moves waiters to the ready queue; a waiter whose frame is
// destroyed leaves on its own.
class WaitQueue {
 public:
  class Awaiter {
   public:
    explicit Awaiter(WaitQueue& queue) : queue_(queue) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> handle);
    void await_resume() const noexcept {}

   private:
    WaitQueue& queue_;
    Wakeup wakeup_;
  };

  // Suspends until woken.
  Awaiter Wait() { return Awaiter(*this); }
  void WakeOne();
  void WakeAll();
  bool empty() const { return waiters_.empty(); }
  size_t size() const { return waiters_.size(); }

 private:
  IntrusiveList<Wakeup> waiters_;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_EXECUTOR_H_
