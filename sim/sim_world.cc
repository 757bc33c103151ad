// The world's run loop, callbacks, trace observer and machine registry.
#include "sim/sim_world.h"

#include <cstdio>
#include <cstring>

#include "runtime/assert.h"
#include "runtime/process.h"
#include "runtime/strings.h"
#include "sim/sim_machine.h"

namespace keel::sim {

class SimWorld::CallbackTimer : public Timer {
 public:
  CallbackTimer(SimWorld* world, uint64_t id, absl::AnyInvocable<void()> fn)
      : world_(world), id_(id), fn_(std::move(fn)) {}

  absl::AnyInvocable<void()> TakeFunction() { return std::move(fn_); }

 private:
  void Fire() override { world_->RunCallback(id_); }

  SimWorld* world_;
  uint64_t id_;
  absl::AnyInvocable<void()> fn_;
};

uint64_t AddressLayoutProbe() {
  static const char kProbe = 0;
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&kProbe) >> 12);
}

SimWorld::SimWorld(SimWorldOptions options)
    : options_(std::move(options)),
      log_(&now_, &trace_, options_.log_capacity_lines),
      world_sink_(log_.NewSink("world")),
      world_logger_(world_sink_.get(), options_.log_level),
      random_(Mix64(options_.seed ^ 0x5157a7e5ULL)),
      tiebreak_random_(Mix64(options_.seed ^ 0x71eb4eacULL)),
      buggify_(options_.seed, options_.buggify),
      buggify_scope_(&buggify_),
      executor_scope_(executor_) {
  log_.set_echo(options_.verbose);
  if (!options_.trace_path.empty()) {
    const absl::Status opened = trace_.OpenFile(options_.trace_path);
    if (!opened.ok()) {
      std::fprintf(stderr, "keel-sim: %s\n", opened.ToString().c_str());
    }
  }
  if (options_.inject_nondeterminism) {
    trace_.RecordText(TraceKind::kNote,
                      StrCat("address layout ", AddressLayoutProbe() & 0xffff));
  }
  executor_.set_tiebreak_source([this] { return tiebreak_random_.Next(); });
  executor_.set_observer(this);
  network_ = std::make_unique<SimNetwork>(*this, options_.network);
}

SimWorld::~SimWorld() {
  // Processes first (their frames own sockets and files), then the network,
  // then callbacks that never ran, then the executor.
  machines_.clear();
  network_.reset();
  callbacks_.clear();
  executor_.set_observer(nullptr);
}

uint64_t SimWorld::DeriveSeed(uint64_t a, uint64_t b) const {
  return Mix64(options_.seed ^ Mix64(a * 0x9e3779b97f4a7c15ULL + b + 1));
}

SimMachine& SimWorld::AddMachine(SimMachineOptions options) {
  machines_.push_back(
      std::make_unique<SimMachine>(*this, machines_.size(), std::move(options)));
  return *machines_.back();
}

SimMachine& SimWorld::machine(size_t index) {
  KEEL_ASSERT(index < machines_.size());
  return *machines_[index];
}

uint64_t SimWorld::At(TimePoint when, absl::AnyInvocable<void()> fn) {
  const uint64_t id = next_callback_id_++;
  auto timer = std::make_unique<CallbackTimer>(this, id, std::move(fn));
  executor_.ArmTimer(*timer, std::max(when, now_));
  callbacks_.emplace(id, std::move(timer));
  return id;
}

void SimWorld::Cancel(uint64_t id) { callbacks_.erase(id); }

void SimWorld::RunCallback(uint64_t id) {
  auto it = callbacks_.find(id);
  KEEL_ASSERT(it != callbacks_.end());
  std::unique_ptr<CallbackTimer> timer = std::move(it->second);
  callbacks_.erase(it);
  absl::AnyInvocable<void()> fn = timer->TakeFunction();
  timer.reset();
  fn();
}

void SimWorld::OnResume(const Process* process) {
  events_++;
  if (process == nullptr) {
    trace_.Record(TraceKind::kResume);
    return;
  }
  trace_.RecordName(TraceKind::kResume, process->name());
}

void SimWorld::OnTimer(TimePoint deadline, uint64_t tiebreak) {
  events_++;
  trace_.Record(TraceKind::kTimer, static_cast<uint64_t>(ToNanoseconds(deadline)),
                tiebreak);
}

size_t SimWorld::RunReady() {
  const size_t ran = executor_.RunReady();
  if (step_observer_) step_observer_();
  return ran;
}

bool SimWorld::Step() {
  const size_t ran = RunReady();
  const std::optional<TimePoint> next = executor_.NextDeadline();
  if (!next.has_value()) return ran > 0;
  if (*next > now_) now_ = *next;
  executor_.FireEarliest();
  return true;
}

void SimWorld::RunUntilTime(TimePoint deadline) {
  stop_requested_ = false;
  while (!stop_requested_) {
    RunReady();
    const std::optional<TimePoint> next = executor_.NextDeadline();
    if (!next.has_value() || *next > deadline) break;
    if (*next > now_) now_ = *next;
    executor_.FireEarliest();
  }
  RunReady();
  if (!stop_requested_ && now_ < deadline) now_ = deadline;
}

bool SimWorld::RunUntil(absl::FunctionRef<bool()> done, Duration limit) {
  stop_requested_ = false;
  KEEL_ASSERT(limit >= Duration::zero());
  const TimePoint deadline = limit >= TimePoint::max() - now_
                                 ? TimePoint::max()
                                 : now_ + limit;
  while (!stop_requested_) {
    if (done()) return true;
    RunReady();
    if (done()) return true;
    const std::optional<TimePoint> next = executor_.NextDeadline();
    if (!next.has_value() || *next > deadline) break;
    if (*next > now_) now_ = *next;
    executor_.FireEarliest();
  }
  if (!stop_requested_ && now_ < deadline) now_ = deadline;
  return done();
}

}  // namespace keel::sim
