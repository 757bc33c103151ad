// IoPool: a few threads for work that would block the loop (fdatasync,
// fsync of a directory, Env::RunBlocking), and RunOnPool, which awaits such
// work from a coroutine.
//
// The loop never blocks on the disk: a coroutine hands the work to the pool
// and suspends; the pool thread runs it and posts the result back to the
// loop, which resumes the coroutine. The result travels in state shared by
// the pool job, the posted callback and the awaiting frame, so a frame
// destroyed while its work is in flight (a killed process, a lost WhenAny)
// leaves nothing dangling: the work runs to its end and its result is
// dropped on the loop.
#ifndef KEEL_RUNTIME_IO_POOL_H_
#define KEEL_RUNTIME_IO_POOL_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "runtime/assert.h"
#include "runtime/executor.h"
#include "runtime/posix_loop.h"
#include "runtime/task.h"

namespace keel {

class IoPool {
 public:
  static constexpr int kDefaultThreads = 2;

  explicit IoPool(int thread_count = kDefaultThreads);
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;
  // Runs every job already submitted, then joins the threads. Destroy the
  // pool before the loop its jobs post to.
  ~IoPool();

  // Queues `job` to run on some pool thread. Thread-safe. Jobs start in
  // submission order; with more than one thread they may finish in any.
  void Submit(absl::AnyInvocable<void() &&> job);

  int thread_count() const { return static_cast<int>(threads_.size()); }

 private:
  void WorkerMain();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<absl::AnyInvocable<void() &&>> jobs_;  // guarded by mu_
  bool stopping_ = false;                            // guarded by mu_
  std::vector<std::thread> threads_;
};

namespace internal {

// What a pool job delivers to its awaiting frame. Touched on the loop
// thread only; the pool thread merely carries the shared_ptr.
template <typename T>
struct PoolResult {
  std::optional<T> value;
  WaitQueue waiter;
};

}  // namespace internal

// Runs `work` on `pool` and suspends until its value is back on `loop`. The
// caller must be a coroutine on `loop`'s thread; `work` must own everything
// it touches, since it runs to its end even if the awaiting frame is
// destroyed first. `loop` must outlive the pool's jobs.
template <typename T>
Task<T> RunOnPool(PosixLoop& loop, IoPool& pool,
                  absl::AnyInvocable<T() &&> work) {
  KEEL_ASSERT(work);
  auto state = std::make_shared<internal::PoolResult<T>>();
  pool.Submit([&loop, state, work = std::move(work)]() mutable {
    T value = std::move(work)();
    // `work` travels back too, so that what it captured (often references
    // to loop-owned state) is released on the loop thread, never here.
    loop.Post([state = std::move(state), value = std::move(value),
               work = std::move(work)]() mutable {
      state->value.emplace(std::move(value));
      state->waiter.WakeAll();
    });
  });
  while (!state->value.has_value()) co_await state->waiter.Wait();
  co_return std::move(*state->value);
}

// RunOnPool for work without a result.
Task<void> RunOnPool(PosixLoop& loop, IoPool& pool,
                     absl::AnyInvocable<void() &&> work);

}  // namespace keel

#endif  // KEEL_RUNTIME_IO_POOL_H_
