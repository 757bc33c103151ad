// TaskGroup: a dynamic set of child coroutines owned by one object.
//
// WhenAll and WhenAny take a fixed list of tasks; a server needs children
// that come and go: one per connection, one per call. A TaskGroup starts
// each task from the ready queue, charged to the process that was running
// when Start() was called, and destroys each task's frame as soon as it
// finishes. Destroying the group (or Cancel/CancelAll) destroys the frames
// still running, which is keel's cancellation: their waiters unlink and their
// destructors release what they hold.
//
// Rules: a task must not cancel itself or destroy its own group; the group
// must outlive nothing its tasks reference (declare it after what they use,
// or CancelAll() first in the owner's destructor). The tasks are charged to
// a process but are not its roots: the group itself must live in that
// process's frames (or objects they own), so that killing the process
// destroys the group and with it the tasks.
#ifndef KEEL_NET_TASK_GROUP_H_
#define KEEL_NET_TASK_GROUP_H_

#include <coroutine>
#include <cstdint>
#include <map>

#include "runtime/executor.h"
#include "runtime/task.h"

namespace keel::net {

class TaskGroup {
 public:
  explicit TaskGroup(Executor& executor) : executor_(executor) {}
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  // Destroys every task still running, oldest first.
  ~TaskGroup();

  // Starts `task` from the ready queue (not inside this call). Returns an id
  // for Cancel(). Does not suspend.
  uint64_t Start(Task<void> task);

  // Destroys the task `id` if it is still running; true if it was. Must not
  // be called from that task.
  bool Cancel(uint64_t id);

  // Destroys every running task, oldest first.
  void CancelAll();

  bool running(uint64_t id) const { return frames_.count(id) != 0; }
  size_t size() const { return frames_.size(); }
  bool empty() const { return frames_.empty(); }

  // Suspends until the group has no running task.
  Task<void> WaitEmpty();

  // The coroutine type that wraps each task (defined in task_group.cc).
  struct Frame;

 private:
  void Finish(uint64_t id);

  Executor& executor_;
  uint64_t next_id_ = 1;
  // Ordered by id so cancellation order never depends on pointer values.
  std::map<uint64_t, std::coroutine_handle<>> frames_;
  WaitQueue empty_waiters_;
};

}  // namespace keel::net

#endif  // KEEL_NET_TASK_GROUP_H_
