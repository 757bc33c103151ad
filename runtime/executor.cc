// The ready queue and timer heap shared by the production loop and the
// simulator. The heap is a binary heap whose nodes remember their index, so a
// timer destroyed with its frame leaves in O(log n).
#include "runtime/executor.h"

#include "runtime/assert.h"
#include "runtime/process.h"

namespace keel {
namespace {
thread_local Executor* current_executor = nullptr;
}  // namespace

Timer::~Timer() { Disarm(); }

void Timer::Disarm() {
  if (executor_ != nullptr) executor_->Disarm(*this);
}

Executor::Executor() = default;

Executor::~Executor() {
  // Whoever owns the processes must kill them before the executor goes.
  KEEL_ASSERT(ready_.empty());
  while (!heap_.empty()) Disarm(*heap_.back());
}

Executor* Executor::Current() { return current_executor; }

Executor::Scope::Scope(Executor& executor) : previous_(current_executor) {
  current_executor = &executor;
}

Executor::Scope::~Scope() { current_executor = previous_; }

void Executor::Schedule(Wakeup& wakeup) {
  KEEL_ASSERT(wakeup.handle());
  ready_.PushBack(&wakeup);
}

size_t Executor::RunReady() {
  Scope scope(*this);
  size_t ran = 0;
  while (Wakeup* wakeup = ready_.PopFront()) {
    Process* process = wakeup->process();
    if (process != nullptr) {
      KEEL_ASSERT(!process->killed());
      if (process->paused()) {
        process->parked_.PushBack(wakeup);
        continue;
      }
    }
    if (observer_ != nullptr) observer_->OnResume(process);
    current_process_ = process;
    // The wakeup may be destroyed by the resumed coroutine; read it first.
    std::coroutine_handle<> handle = wakeup->handle();
    handle.resume();
    current_process_ = nullptr;
    ran++;
  }
  return ran;
}

bool Executor::Before(const Timer* a, const Timer* b) const {
  if (a->deadline_ != b->deadline_) return a->deadline_ < b->deadline_;
  if (a->tiebreak_ != b->tiebreak_) return a->tiebreak_ < b->tiebreak_;
  return a->sequence_ < b->sequence_;
}

void Executor::Place(Timer* timer, size_t index) {
  heap_[index] = timer;
  timer->heap_index_ = index;
}

void Executor::SiftUp(size_t index) {
  Timer* timer = heap_[index];
  while (index > 0) {
    size_t parent = (index - 1) / 2;
    if (!Before(timer, heap_[parent])) break;
    Place(heap_[parent], index);
    index = parent;
  }
  Place(timer, index);
}

void Executor::SiftDown(size_t index) {
  Timer* timer = heap_[index];
  const size_t n = heap_.size();
  while (true) {
    size_t child = 2 * index + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) child++;
    if (!Before(heap_[child], timer)) break;
    Place(heap_[child], index);
    index = child;
  }
  Place(timer, index);
}

void Executor::ArmTimer(Timer& timer, TimePoint deadline) {
  timer.Disarm();
  timer.executor_ = this;
  timer.deadline_ = deadline;
  timer.tiebreak_ = tiebreak_source_ ? tiebreak_source_() : 0;
  timer.sequence_ = timer_sequence_++;
  heap_.push_back(&timer);
  SiftUp(heap_.size() - 1);
}

void Executor::Disarm(Timer& timer) {
  KEEL_ASSERT(timer.executor_ == this);
  const size_t index = timer.heap_index_;
  KEEL_ASSERT(index < heap_.size() && heap_[index] == &timer);
  Timer* last = heap_.back();
  heap_.pop_back();
  timer.executor_ = nullptr;
  if (last == &timer) return;
  Place(last, index);
  SiftDown(index);
  SiftUp(last->heap_index_);
}

std::optional<TimePoint> Executor::NextDeadline() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front()->deadline_;
}

void Executor::FireEarliest() {
  KEEL_ASSERT(!heap_.empty());
  Scope scope(*this);
  Timer* timer = heap_.front();
  if (observer_ != nullptr) observer_->OnTimer(timer->deadline_, timer->tiebreak_);
  Disarm(*timer);
  timer->Fire();
}

size_t Executor::FireTimersUpTo(TimePoint now) {
  size_t fired = 0;
  while (!heap_.empty() && heap_.front()->deadline_ <= now) {
    FireEarliest();
    RunReady();
    fired++;
  }
  return fired;
}

void YieldAwaiter::await_suspend(std::coroutine_handle<> handle) {
  Executor* executor = Executor::Current();
  KEEL_ASSERT(executor != nullptr);
  wakeup_.Arm(handle, executor->current_process());
  executor->Schedule(wakeup_);
}

void WaitQueue::Awaiter::await_suspend(std::coroutine_handle<> handle) {
  Executor* executor = Executor::Current();
  KEEL_ASSERT(executor != nullptr);
  wakeup_.Arm(handle, executor->current_process());
  queue_.waiters_.PushBack(&wakeup_);
}

void WaitQueue::WakeOne() {
  if (waiters_.empty()) return;
  Executor* executor = Executor::Current();
  KEEL_ASSERT(executor != nullptr);
  executor->Schedule(*waiters_.PopFront());
}

void WaitQueue::WakeAll() {
  if (waiters_.empty()) return;
  Executor* executor = Executor::Current();
  KEEL_ASSERT(executor != nullptr);
  while (Wakeup* wakeup = waiters_.PopFront()) executor->Schedule(*wakeup);
}

}  // namespace keel
