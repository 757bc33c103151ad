// Process lifecycle: spawning roots, finishing them, killing them all.
#include "runtime/process.h"

#include "runtime/assert.h"

namespace keel {

namespace internal {
void FinishRootTask(RootTask* root) { root->process->FinishRoot(root); }
}  // namespace internal

Process::Process(Executor& executor, std::string name)
    : executor_(executor), name_(std::move(name)) {}

Process::~Process() { Kill(); }

void Process::Spawn(Task<void> task) {
  KEEL_ASSERT(task.valid());
  KEEL_ASSERT_MSG(!killing_, "a destructor spawned while its process died");
  if (killed_) return;  // The task's frame is destroyed unrun.
  auto handle = task.Release();
  auto* root = new internal::RootTask;
  root->handle = handle;
  root->process = this;
  handle.promise().root = root;
  roots_.PushBack(root);
  root->start.Arm(handle, this);
  executor_.Schedule(root->start);
}

void Process::FinishRoot(internal::RootTask* root) {
  KEEL_ASSERT(root->process == this);
  KEEL_ASSERT(!root->start.linked());
  roots_.Remove(root);
  std::coroutine_handle<> handle = root->handle;
  delete root;
  handle.destroy();
}

void Process::Kill() {
  if (killed_) return;
  KEEL_ASSERT_MSG(executor_.current_process() != this,
                  "a process cannot kill itself from its own coroutine");
  killed_ = true;
  killing_ = true;
  // Destructors of the frames may wake waiters of other processes (a
  // released Mutex, a closed socket's readers), which needs a current
  // executor even when Kill is called from outside the loop.
  Executor::Scope scope(executor_);
  while (!roots_.empty()) {
    internal::RootTask* root = roots_.back();
    roots_.Remove(root);
    std::coroutine_handle<> handle = root->handle;
    delete root;  // Unlinks its start wakeup if it never ran.
    handle.destroy();
  }
  killing_ = false;
  // Every parked wakeup lived in a frame destroyed above.
  KEEL_ASSERT(parked_.empty());
}

void Process::Pause() {
  KEEL_ASSERT(!killed_);
  paused_ = true;
}

void Process::Resume() {
  if (!paused_) return;
  paused_ = false;
  while (Wakeup* wakeup = parked_.PopFront()) executor_.Schedule(*wakeup);
}

}  // namespace keel
