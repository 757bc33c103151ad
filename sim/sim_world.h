// SimWorld: one seeded, single-threaded, virtual-time universe.
//
// A world holds the run's seed, its one Random, the Executor every simulated
// process runs on, virtual `now`, the simulated network, the machines (each
// with its disk), the captured log and the trace hash. Nothing in it reads a
// real clock or a real random source, so a run is a pure function of its seed
// and options, and `keel-sim --check-determinism` can prove it by comparing
// trace hashes.
//
// The run loop: run every ready coroutine, then advance `now` to the earliest
// timer and fire it, and repeat. Simultaneous timers fire in an order drawn
// from the seed (the executor's tiebreak source), so different seeds explore
// different interleavings of events that happen at the same instant.
//
//   SimWorld world({.seed = 7});
//   SimMachine& a = world.AddMachine({.name = "n1", .boot = Serve});
//   a.Start();
//   world.RunFor(Seconds(10));
//
// Lifetime: the world owns its machines and destroys them (killing their
// processes) before the network and the executor. A Process a test creates
// on world.executor() itself must be destroyed before the world. While it
// exists, a world's executor is the thread's current one and its Buggify
// policy the thread's policy, so worlds on one thread must nest (one at a
// time, as keel-sim runs them, is the usual case).
#ifndef KEEL_SIM_SIM_WORLD_H_
#define KEEL_SIM_SIM_WORLD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "runtime/executor.h"
#include "runtime/log.h"
#include "runtime/random.h"
#include "runtime/time.h"
#include "sim/sim_buggify.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"
#include "sim/sim_log.h"
#include "sim/sim_network.h"
#include "sim/trace.h"

namespace keel::sim {

class SimMachine;
struct SimMachineOptions;

struct SimWorldOptions {
  uint64_t seed = 1;
  // Installs the seeded Buggify() policy for the run; false: Buggify() is
  // always false (keel-sim --no-buggify).
  bool buggify = true;
  // Echo every log line to stderr as it is written (keel-sim --verbose).
  bool verbose = false;
  // If set, every trace record is also written to this file as a line.
  std::string trace_path;
  // Folds where the kernel placed this program's code into the trace, so
  // the run differs between processes but not within one: for showing
  // that keel-sim --check-determinism's second process catches what two
  // runs in one process cannot (--inject-nondeterminism).
  bool inject_nondeterminism = false;
  // The level of the processes' loggers.
  LogLevel log_level = LogLevel::kInfo;
  // Log lines kept for printing on failure.
  size_t log_capacity_lines = 4000;
  NetworkOptions network;
  DiskOptions disk;
};

// A value that depends on where the kernel placed this program in memory:
// equal within one process, different between processes under ASLR
// (SimWorldOptions::inject_nondeterminism; keel-sim's second process
// reports it).
uint64_t AddressLayoutProbe();

class SimWorld : private ExecutorObserver {
 public:
  explicit SimWorld(SimWorldOptions options);
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;
  ~SimWorld() override;

  const SimWorldOptions& options() const { return options_; }
  uint64_t seed() const { return options_.seed; }

  Executor& executor() { return executor_; }
  Clock& clock() { return clock_; }
  TimePoint now() const { return now_; }
  // The world's random stream: network latencies, crash subsets, nemesis
  // choices. Each process has its own stream (derived from the seed).
  Random& random() { return random_; }
  Trace& trace() { return trace_; }
  SimLog& log() { return log_; }
  // A logger for the harness itself (source "world").
  Logger& logger() { return world_logger_; }
  SimNetwork& net() { return *network_; }
  SimBuggify& buggify() { return buggify_; }

  // A deterministic seed for a named stream of this run (a process
  // incarnation, a disk): the same (seed, a, b) always gives the same value.
  uint64_t DeriveSeed(uint64_t a, uint64_t b = 0) const;

  // Adds a machine: a host on the network (10.0.0.N unless options.host is
  // set), a disk, and a boot function. The machine is not started. The
  // reference stays valid for the world's lifetime.
  SimMachine& AddMachine(SimMachineOptions options);
  size_t machine_count() const { return machines_.size(); }
  SimMachine& machine(size_t index);

  // Runs `fn` at `when` (at once if in the past) on the loop, outside any
  // process. Returns an id for Cancel. `fn` may start, kill or crash
  // machines and change the network.
  uint64_t At(TimePoint when, absl::AnyInvocable<void()> fn);
  uint64_t After(Duration delay, absl::AnyInvocable<void()> fn) {
    return At(now_ + delay, std::move(fn));
  }
  // Cancels a callback that has not run yet. No-op otherwise.
  void Cancel(uint64_t id);

  // One step: runs every ready coroutine, then advances time to the earliest
  // timer and fires it. False if there was nothing to do at all.
  bool Step();
  // Steps until virtual time reaches `deadline` (timers at `deadline` fire)
  // or Stop() is called; time then stands at `deadline`.
  void RunUntilTime(TimePoint deadline);
  void RunFor(Duration duration) { RunUntilTime(now_ + duration); }
  // Steps until `done()` is true (true), or `limit` of virtual time passes,
  // the world runs out of events, or Stop() is called (false). `done` is
  // checked before each step.
  bool RunUntil(absl::FunctionRef<bool()> done, Duration limit);
  // Makes the running RunUntil/RunUntilTime return after the current step.
  void Stop() { stop_requested_ = true; }

  // Recording hook (keel-sim --timeline): `observer` is called after every
  // batch of ready coroutines has run, with now() at their virtual time, so
  // it sees each change of the simulated state at the instant it happened.
  // It only looks: it must not schedule, start or stop anything, log, trace
  // or draw randomness, so a run with an observer is the same run as one
  // without (same trace hash). Null removes it.
  void set_step_observer(std::function<void()> observer) {
    step_observer_ = std::move(observer);
  }

  // Coroutine resumes plus timer fires so far.
  uint64_t events() const { return events_; }
  Duration elapsed() const { return now_ - TimePoint{}; }

 private:
  class CallbackTimer;

  void OnResume(const Process* process) override;
  void OnTimer(TimePoint deadline, uint64_t tiebreak) override;
  void RunCallback(uint64_t id);
  // Runs every ready coroutine, then tells the step observer.
  size_t RunReady();

  SimWorldOptions options_;
  TimePoint now_{};
  Trace trace_{&now_};
  SimLog log_;
  std::unique_ptr<LogSink> world_sink_;
  Logger world_logger_;
  Random random_;
  Random tiebreak_random_;
  SimBuggify buggify_;
  BuggifyScope buggify_scope_;
  Executor executor_;
  Executor::Scope executor_scope_;
  SimClock clock_{executor_, &now_};
  std::map<uint64_t, std::unique_ptr<CallbackTimer>> callbacks_;
  uint64_t next_callback_id_ = 1;
  std::unique_ptr<SimNetwork> network_;
  std::vector<std::unique_ptr<SimMachine>> machines_;
  uint64_t events_ = 0;
  bool stop_requested_ = false;
  std::function<void()> step_observer_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_WORLD_H_
