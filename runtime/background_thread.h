// BackgroundThread: one real thread that runs queued work in order, for
// libraries that must have one in production (LevelDB's compactions, which
// would stall the loop for hundreds of milliseconds if run on it).
//
// Only production code may use it: the simulator runs everything on its
// one thread, and store/leveldb_env.h queues LevelDB's work instead there.
// It lives in runtime/ because threads and sleeps are banned elsewhere
// (ci/lint-determinism).
#ifndef KEEL_RUNTIME_BACKGROUND_THREAD_H_
#define KEEL_RUNTIME_BACKGROUND_THREAD_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "runtime/assert.h"

namespace keel {

class BackgroundThread {
 public:
  BackgroundThread() = default;
  BackgroundThread(const BackgroundThread&) = delete;
  BackgroundThread& operator=(const BackgroundThread&) = delete;

  // Runs every item already queued, then joins the thread.
  ~BackgroundThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Queues function(arg) to run on the thread (started on first use).
  // Safe from any thread, including from queued work itself.
  void Schedule(void (*function)(void*), void* arg) {
    KEEL_ASSERT(function != nullptr);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      KEEL_ASSERT_MSG(!stopping_, "work scheduled on a stopping thread");
      queue_.emplace_back(function, arg);
      if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    }
    wake_.notify_one();
  }

  // Blocks the calling thread for `micros`: for the write slowdown LevelDB
  // asks its Env for, which only production may honour.
  static void SleepForMicroseconds(int micros) {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      auto [function, arg] = queue_.front();
      queue_.pop_front();
      lock.unlock();
      function(arg);
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<void (*)(void*), void*>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_BACKGROUND_THREAD_H_
