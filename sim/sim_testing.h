// SimHarness: one simulated machine whose Env a unit test drives directly.
//
// For tests of code that takes an Env (a log, a store, a codec over a
// connection) without writing a scenario: the harness starts machine "m"
// whose process just idles, exposes its Env, and runs a Task to completion
// in that process while virtual time advances.
//
//   SimHarness h(/*seed=*/1);
//   auto file = h.env().fs().Open("f", {.create = true});
//   EXPECT_TRUE(h.Run((*file)->Sync()).ok());
//   h.CrashAndRestart();
#ifndef KEEL_SIM_SIM_TESTING_H_
#define KEEL_SIM_SIM_TESTING_H_

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "runtime/assert.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim {

class SimHarness {
 public:
  explicit SimHarness(uint64_t seed) : SimHarness(SimWorldOptions{.seed = seed}) {}
  explicit SimHarness(SimWorldOptions options)
      : world_(std::move(options)),
        machine_(world_.AddMachine(
            {.name = "m", .boot = [this](Env& env) -> Task<void> {
               env_ = &env;
               co_await env.clock().Sleep(Seconds(1'000'000'000));
             }})) {
    Start();
  }

  SimWorld& world() { return world_; }
  SimMachine& machine() { return machine_; }
  SimDisk& disk() { return machine_.disk(); }
  // The running incarnation's Env.
  Env& env() {
    KEEL_ASSERT(env_ != nullptr && machine_.running());
    return *env_;
  }

  // Runs `task` in the machine's process until it finishes (or `limit` of
  // virtual time passes: then the result is DeadlineExceeded).
  template <typename T>
  T Run(Task<T> task, Duration limit = Seconds(3600)) {
    std::optional<T> result;
    env().Spawn([](Task<T> task, std::optional<T>* out) -> Task<void> {
      out->emplace(co_await std::move(task));
    }(std::move(task), &result));
    world_.RunUntil([&] { return result.has_value(); }, limit);
    if constexpr (std::is_same_v<T, absl::Status>) {
      if (!result.has_value()) return absl::DeadlineExceededError("did not finish");
    } else {
      KEEL_ASSERT_MSG(result.has_value(), "the task did not finish");
    }
    return std::move(*result);
  }

  // Kills the process, crashes the disk, and starts a new incarnation.
  void CrashAndRestart() {
    machine_.Crash();
    Start();
  }
  // Kills the process (the disk keeps its unsynced writes) and restarts.
  void KillAndRestart() {
    machine_.Kill();
    Start();
  }

 private:
  void Start() {
    env_ = nullptr;
    machine_.Start();
    world_.RunUntil([&] { return env_ != nullptr; }, Seconds(1));
  }

  SimWorld world_;
  SimMachine& machine_;
  Env* env_ = nullptr;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_TESTING_H_
