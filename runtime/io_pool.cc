// The I/O pool's threads and the void flavour of RunOnPool.
#include "runtime/io_pool.h"

namespace keel {

IoPool::IoPool(int thread_count) {
  KEEL_ASSERT(thread_count > 0);
  threads_.reserve(thread_count);
  for (int i = 0; i < thread_count; i++) {
    threads_.emplace_back([this] { WorkerMain(); });
  }
}

IoPool::~IoPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  KEEL_ASSERT(jobs_.empty());
}

void IoPool::Submit(absl::AnyInvocable<void() &&> job) {
  KEEL_ASSERT(job);
  {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_ASSERT_MSG(!stopping_, "job submitted to a stopping IoPool");
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void IoPool::WorkerMain() {
  while (true) {
    absl::AnyInvocable<void() &&> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      // Stopping still drains: submitted work always runs to its end.
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::move(job)();
  }
}

namespace {

Task<void> DiscardValue(Task<bool> task) { co_await std::move(task); }

}  // namespace

// Deliberately not a coroutine. Written as one (co_await RunOnPool<bool>(
// loop, pool, [work = std::move(work)] ...)), GCC 12 left the frame's copy
// of `work` holding its target while the lambda held it too, so whatever
// the work captured was destroyed twice (a double free in any caller whose
// work captured a string or a shared_ptr).
Task<void> RunOnPool(PosixLoop& loop, IoPool& pool,
                     absl::AnyInvocable<void() &&> work) {
  KEEL_ASSERT(work);
  // A bool stands in for "no value": the shape of the generic version.
  return DiscardValue(RunOnPool<bool>(loop, pool, [work = std::move(work)]() mutable {
    std::move(work)();
    return true;
  }));
}

}  // namespace keel
