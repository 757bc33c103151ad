// The epoll loop: turns of run-ready / fire-timers / wait / dispatch, the
// eventfd that Post() and Stop() ring, and the signalfd for SIGINT/SIGTERM.
#include "runtime/posix_loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>

#include "runtime/posix_errors.h"

namespace keel {
namespace {

// Events taken from the kernel per epoll_wait; more simply wait a turn.
constexpr int kMaxEventsPerTurn = 256;

// Edge-triggered readiness for IoHandles; level-triggered for the loop's own
// eventfd and signalfd, which are drained on every report.
constexpr uint32_t kHandleEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

}  // namespace

TimePoint MonotonicNow() {
  static const std::chrono::steady_clock::time_point start =
      std::chrono::steady_clock::now();
  return TimePoint(std::chrono::duration_cast<Duration>(
      std::chrono::steady_clock::now() - start));
}

// The eventfd that other threads write to wake the loop.
class PosixLoop::WakeSource final : public EpollSource {
 public:
  explicit WakeSource(PosixLoop& loop) : loop_(loop) {
    fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    KEEL_ASSERT_MSG(fd_ >= 0, "eventfd failed");
  }
  ~WakeSource() { ::close(fd_); }
  int fd() const { return fd_; }

  // Thread-safe.
  void Notify() {
    const uint64_t one = 1;
    ssize_t n;
    do {
      n = ::write(fd_, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
    // EAGAIN means the counter is saturated: the loop is already woken.
    KEEL_ASSERT(n == sizeof(one) || errno == EAGAIN);
  }

  void OnEvents(uint32_t events) override {
    uint64_t count = 0;
    while (::read(fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
    }
    loop_.posted_pending_ = true;
  }

 private:
  PosixLoop& loop_;
  int fd_ = -1;
};

// SIGINT and SIGTERM, blocked and read from a signalfd.
class PosixLoop::SignalSource final : public EpollSource {
 public:
  explicit SignalSource(PosixLoop& loop) : loop_(loop) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    KEEL_ASSERT(pthread_sigmask(SIG_BLOCK, &signals_, &previous_mask_) == 0);
    fd_ = signalfd(-1, &signals_, SFD_NONBLOCK | SFD_CLOEXEC);
    KEEL_ASSERT_MSG(fd_ >= 0, "signalfd failed");
  }
  ~SignalSource() {
    // Consume what arrived unhandled rather than let the restored mask
    // deliver it with its default action (killing the process).
    Drain();
    ::close(fd_);
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }
  int fd() const { return fd_; }

  void OnEvents(uint32_t events) override {
    const int signal = Drain();
    if (signal == 0) return;
    if (loop_.shutdown_signal_ == 0) loop_.shutdown_signal_ = signal;
    loop_.shutdown_requested_.Set();
  }

 private:
  // Reads every pending signal; returns the first, or 0.
  int Drain() {
    int first = 0;
    signalfd_siginfo info;
    while (true) {
      const ssize_t n = ::read(fd_, &info, sizeof(info));
      if (n < 0 && errno == EINTR) continue;
      if (n != sizeof(info)) break;
      if (first == 0) first = static_cast<int>(info.ssi_signo);
    }
    return first;
  }

  PosixLoop& loop_;
  sigset_t signals_;
  sigset_t previous_mask_;
  int fd_ = -1;
};

PosixLoop::PosixLoop(PosixLoopOptions options) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  KEEL_ASSERT_MSG(epoll_fd_ >= 0, "epoll_create1 failed");
  wake_ = std::make_unique<WakeSource>(*this);
  KEEL_ASSERT(Add(wake_->fd(), EPOLLIN, wake_.get()).ok());
  if (options.handle_signals) {
    signals_ = std::make_unique<SignalSource>(*this);
    KEEL_ASSERT(Add(signals_->fd(), EPOLLIN, signals_.get()).ok());
  }
}

PosixLoop::~PosixLoop() {
  KEEL_ASSERT_MSG(!running_, "loop destroyed while running");
  KEEL_ASSERT_MSG(handle_count_ == 0, "an IoHandle outlived its loop");
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.clear();
  }
  signals_.reset();
  wake_.reset();
  ::close(epoll_fd_);
}

absl::Status PosixLoop::Add(int fd, uint32_t events, EpollSource* source) {
  KEEL_ASSERT(fd >= 0);
  epoll_event event{};
  event.events = events;
  event.data.ptr = source;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return ErrnoToStatus(errno, "epoll_ctl add");
  }
  return absl::OkStatus();
}

void PosixLoop::Remove(int fd) {
  KEEL_ASSERT(fd >= 0);
  const int rc = epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  KEEL_ASSERT_MSG(rc == 0, "epoll_ctl del failed");
}

void PosixLoop::Post(absl::AnyInvocable<void() &&> callback) {
  KEEL_ASSERT(callback);
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(callback));
  }
  // A non-empty queue has a wake-up on its way already.
  if (was_empty) wake_->Notify();
}

void PosixLoop::Stop() {
  stop_requested_.store(true);
  wake_->Notify();
}

void PosixLoop::Run() {
  KEEL_ASSERT_MSG(!running_, "PosixLoop::Run is not reentrant");
  running_ = true;
  while (!stop_requested_.load()) RunOnce(TimePoint::max());
  stop_requested_.store(false);
  running_ = false;
}

bool PosixLoop::RunUntil(absl::FunctionRef<bool()> done, Duration timeout) {
  KEEL_ASSERT(timeout >= Duration::zero());
  const TimePoint deadline = Now() + timeout;
  while (!done()) {
    if (Now() >= deadline) return false;
    RunOnce(deadline);
  }
  return true;
}

std::optional<Duration> PosixLoop::WaitTimeout(TimePoint wait_limit) const {
  if (executor_.has_ready() || posted_pending_ || stop_requested_.load()) {
    return Duration::zero();
  }
  TimePoint deadline = wait_limit;
  if (auto next = executor_.NextDeadline(); next && *next < deadline) {
    deadline = *next;
  }
  if (deadline == TimePoint::max()) return std::nullopt;
  const Duration left = deadline - Now();
  return left <= Duration::zero() ? Duration::zero() : left;
}

int PosixLoop::Wait(epoll_event* events, int max_events,
                    std::optional<Duration> timeout) {
  // A timer fires when the wait ends: waking to the millisecond made every
  // timer up to a millisecond late (plus the kernel's slack), enough for a
  // client's own deadline to beat a server's answer to an expired call.
  static std::atomic<bool> pwait2_missing{false};
  if (!pwait2_missing.load(std::memory_order_relaxed)) {
    timespec ts{};
    if (timeout.has_value()) {
      const int64_t ns = timeout->count();
      ts.tv_sec = ns / 1'000'000'000;
      ts.tv_nsec = ns % 1'000'000'000;
    }
    const int n = epoll_pwait2(epoll_fd_, events, max_events,
                               timeout.has_value() ? &ts : nullptr, nullptr);
    if (n >= 0 || errno == EINTR) return n;
    // ENOSYS before Linux 5.11; EPERM where a container's seccomp filter
    // does not know the call. A real error comes back from epoll_wait too.
    pwait2_missing.store(true, std::memory_order_relaxed);
  }
  int ms = -1;
  if (timeout.has_value()) {
    // Round up: waking a little late fires the timer; early would spin.
    const int64_t rounded = (timeout->count() + 999'999) / 1'000'000;
    ms = rounded > INT_MAX ? INT_MAX : static_cast<int>(rounded);
  }
  return epoll_wait(epoll_fd_, events, max_events, ms);
}

void PosixLoop::RunOnce(TimePoint wait_limit) {
  Executor::Scope scope(executor_);
  // Wait first and run last, so that when a turn returns everything that
  // was runnable has run and the caller's condition is up to date. With
  // work already ready (a fresh Spawn) the wait is a poll.
  epoll_event events[kMaxEventsPerTurn];
  const int n = Wait(events, kMaxEventsPerTurn, WaitTimeout(wait_limit));
  KEEL_ASSERT_MSG(n >= 0 || errno == EINTR, "epoll_wait failed");
  // Sources only schedule wakeups and set flags here, so none of them can
  // be destroyed before its turn in this batch.
  for (int i = 0; i < n; i++) {
    static_cast<EpollSource*>(events[i].data.ptr)->OnEvents(events[i].events);
  }
  if (posted_pending_) RunPosted();
  executor_.RunReady();
  executor_.FireTimersUpTo(Now());
}

void PosixLoop::RunPosted() {
  posted_pending_ = false;
  std::vector<absl::AnyInvocable<void() &&>> batch;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    batch.swap(posted_);
  }
  for (auto& callback : batch) {
    std::move(callback)();
    executor_.RunReady();
  }
}

absl::StatusOr<std::shared_ptr<IoHandle>> IoHandle::Create(PosixLoop& loop,
                                                           int fd) {
  KEEL_ASSERT(fd >= 0);
  std::shared_ptr<IoHandle> handle(new IoHandle(loop, fd));
  absl::Status added = loop.Add(fd, kHandleEvents, handle.get());
  if (!added.ok()) {
    handle->fd_ = -1;
    ::close(fd);
    return added;
  }
  loop.handle_count_++;
  return handle;
}

IoHandle::~IoHandle() {
  Close();
  KEEL_ASSERT(readers_.empty());
  KEEL_ASSERT(writers_.empty());
}

void IoHandle::Close() {
  if (fd_ < 0) return;
  loop_.Remove(fd_);
  KEEL_ASSERT(loop_.handle_count_ > 0);
  loop_.handle_count_--;
  // Linux releases the descriptor even when close reports EINTR or EIO, so
  // there is nothing to retry; data errors surfaced at write or sync time.
  ::close(fd_);
  fd_ = -1;
  WakeAll(readers_);
  WakeAll(writers_);
}

void IoHandle::WakeAll(IntrusiveList<Wakeup>& waiters) {
  while (Wakeup* wakeup = waiters.PopFront()) {
    loop_.executor().Schedule(*wakeup);
  }
}

void IoHandle::OnEvents(uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) WakeAll(readers_);
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) WakeAll(writers_);
}

void IoHandle::ReadyAwaiter::await_suspend(std::coroutine_handle<> coroutine) {
  KEEL_ASSERT(!handle_.closed());
  wakeup_.Arm(coroutine, handle_.loop().executor().current_process());
  waiters_.PushBack(&wakeup_);
}

}  // namespace keel
