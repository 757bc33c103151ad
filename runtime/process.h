// Process: the owner of a group of coroutines that live and die together.
//
// Every task keel runs belongs to a process: one member of a cluster, one
// simulated client, the production server. Killing a process destroys all of
// its coroutine frames at once, newest root first, and runs nothing of it
// again: that is the simulated `kill -9`. Frames own what they hold (sockets,
// files, server objects), so their destructors release it; waiters unlink
// themselves, so nothing of the dead process stays in any queue.
//
// Rule for code that spawns: a spawned task may use objects owned by tasks
// spawned before it, never after it, because Kill destroys newer roots first.
#ifndef KEEL_RUNTIME_PROCESS_H_
#define KEEL_RUNTIME_PROCESS_H_

#include <cstdint>
#include <string>

#include "runtime/executor.h"
#include "runtime/intrusive_list.h"
#include "runtime/task.h"

namespace keel {

namespace internal {
struct RootTask : IntrusiveNode<RootTask> {
  std::coroutine_handle<> handle;
  Process* process = nullptr;
  Wakeup start;
};
}  // namespace internal

class Process {
 public:
  Process(Executor& executor, std::string name);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Kills the process if it is still alive.
  ~Process();

  const std::string& name() const { return name_; }
  Executor& executor() const { return executor_; }

  // Starts `task` as a new root of this process. It first runs from the ready
  // queue, not inside this call. Its frame is destroyed when it finishes. Does
  // nothing if the process has been killed.
  void Spawn(Task<void> task);

  // Destroys every frame of the process, newest root first. Must not be called
  // from one of the process's own coroutines. Idempotent.
  void Kill();

  // A paused process keeps its state but runs nothing: its ready coroutines
  // park until Resume(). Timers still fire and I/O still arrives, as for a
  // stopped (SIGSTOP) process.
  void Pause();
  void Resume();

  bool paused() const { return paused_; }
  bool killed() const { return killed_; }
  // Roots spawned and not yet finished.
  size_t root_count() const { return roots_.size(); }

 private:
  friend class Executor;
  friend void internal::FinishRootTask(internal::RootTask* root);

  void FinishRoot(internal::RootTask* root);

  Executor& executor_;
  std::string name_;
  IntrusiveList<internal::RootTask> roots_;
  IntrusiveList<Wakeup> parked_;
  bool paused_ = false;
  bool killed_ = false;
  bool killing_ = false;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_PROCESS_H_
