// Scenarios: named simulated runs that keel-sim sweeps over seeds.
//
// A scenario is a function from options (seed, nodes, duration, faults, ...)
// to a result (ok or a failure message, plus the trace hash, the number of
// events and the simulated time). It builds a SimWorld from the options
// (WorldOptionsFor), runs its machines under a Nemesis, checks what it must,
// and returns Finish(world, verdict). Everything it does must follow from
// the options, so the command line keel-sim prints for a failure replays it
// exactly.
//
// Registering one, in a file of the keel_sim_scenarios object library:
//
//   ScenarioResult RunRaftElection(const ScenarioOptions& options) { ... }
//   KEEL_SIM_SCENARIO(raft_election, {
//       .name = "raft-election",
//       .description = "leaders are elected under partitions",
//       .default_nodes = 5,
//       .default_duration = Seconds(30),
//       .supported_faults = FaultSet::Of({Fault::kPartition, Fault::kKill}),
//       .run = RunRaftElection,
//   });
#ifndef KEEL_SIM_SCENARIO_H_
#define KEEL_SIM_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/time.h"
#include "sim/nemesis.h"
#include "sim/plan.h"
#include "sim/sim_world.h"

namespace keel::sim {

struct ScenarioOptions {
  uint64_t seed = 1;
  // Zero, or unset, means the scenario's default (ResolveOptions fills it).
  int nodes = 0;
  // Simulated clients, for a scenario that has them (ScenarioInfo::
  // takes_clients); zero means the scenario's default, which may depend on
  // the nodes (ResolveOptions leaves it zero).
  int clients = 0;
  Duration duration{};
  std::optional<FaultSet> faults;
  // Turns on the scenario's deliberate defect, to show its checks can fail.
  bool inject_bug = false;
  // Which defect, for a scenario that has several (ScenarioInfo::bugs);
  // empty for a scenario with one.
  std::string bug;
  bool buggify = true;
  // Makes the run depend on the process's address layout
  // (SimWorldOptions::inject_nondeterminism), to show that keel-sim
  // --check-determinism's second process catches it.
  bool inject_nondeterminism = false;
  // Echo log lines as they are written.
  bool verbose = false;
  // Write every trace record to this file.
  std::string trace_path;
  // Write an HTML page of the run (member roles, faults, client operations,
  // violations) to this file; only for a scenario with
  // ScenarioInfo::timeline. Watching does not change the run.
  std::string timeline_path;
  // Run this plan (sim/plan.h) instead of the one the seed draws, for a
  // scenario with ScenarioInfo::plans; the options above must match its
  // header (OptionsFromPlan).
  std::shared_ptr<const Plan> plan;
  // The file `plan` was read from (keel-sim --plan), for replay commands.
  std::string plan_path;
};

struct ScenarioResult {
  bool ok = true;
  std::string failure;  // set when !ok
  uint64_t trace_hash = 0;
  uint64_t events = 0;
  Duration simulated{};
  // The last log lines, kept on failure to show what led to it.
  std::vector<std::string> log_tail;
  // One line of scenario-specific figures ("acked=1234 crashes=5").
  std::string summary;
  // Files the run wrote for people to read, one line each
  // ("timeline T.html, 812345 bytes").
  std::vector<std::string> outputs;
  // The plan the run executed (drawn from the seed or given), for a
  // scenario with ScenarioInfo::plans; its clients' slots cut to those
  // that ran (the same run).
  std::shared_ptr<const Plan> plan;
  // Each Buggify() site the run reached, with how often it fired.
  std::vector<BuggifySiteStats> buggify_sites;
};

struct ScenarioInfo {
  std::string name;
  std::string description;
  int default_nodes = 3;
  Duration default_duration = Seconds(30);
  FaultSet supported_faults = FaultSet::All();
  // Whether the scenario reads ScenarioOptions::clients (keel-sim refuses
  // --clients for the others).
  bool takes_clients = false;
  // Runs one seed with resolved options. Must not throw or exit.
  std::function<ScenarioResult(const ScenarioOptions&)> run;
  // The defects `--inject-bug NAME` may name; empty for a scenario with a
  // single defect (plain --inject-bug) or none.
  std::vector<std::string> bugs;
  // Whether the scenario honours ScenarioOptions::timeline_path.
  bool timeline = false;
  // Whether runs are plans (sim/plan.h): ScenarioOptions::plan,
  // ScenarioResult::plan, keel-sim --plan, --save-plan and --shrink.
  bool plans = false;
  // Figures of the summary line (name=N) a sweep adds up over its passing
  // seeds and prints after its verdict ("totals: name=N ...").
  std::vector<std::string> sweep_totals;
};

class ScenarioRegistry {
 public:
  static ScenarioRegistry& Global();

  // Adds a scenario; a duplicate name is a programmer error (asserts).
  void Register(ScenarioInfo info);
  // Null if no scenario has that name.
  const ScenarioInfo* Find(std::string_view name) const;
  // Every scenario, sorted by name.
  std::vector<const ScenarioInfo*> List() const;

 private:
  std::vector<ScenarioInfo> scenarios_;
};

struct ScenarioRegistrar {
  explicit ScenarioRegistrar(ScenarioInfo info) {
    ScenarioRegistry::Global().Register(std::move(info));
  }
};

#define KEEL_SIM_SCENARIO(id, ...)                                   \
  static const ::keel::sim::ScenarioRegistrar keel_sim_scenario_##id( \
      ::keel::sim::ScenarioInfo __VA_ARGS__)

// Fills the options left at zero or unset with the scenario's defaults.
ScenarioOptions ResolveOptions(const ScenarioInfo& info,
                               ScenarioOptions options);

// Resolves the options and runs one seed.
ScenarioResult RunScenario(const ScenarioInfo& info, ScenarioOptions options);

// Runs one seed with resolved options; with `check_determinism`, runs it a
// second time (quietly and without a timeline; a trace goes to trace_path +
// ".2") and turns the result into a failure if the two runs' trace hashes,
// event counts or verdicts differ.
ScenarioResult RunSeed(const ScenarioInfo& info,
                       const ScenarioOptions& resolved, bool check_determinism);

// The world options a scenario run should use.
SimWorldOptions WorldOptionsFor(const ScenarioOptions& options);

// The result of a finished run: the verdict plus the world's trace hash,
// event count and simulated time; on failure, the captured log's tail.
ScenarioResult Finish(SimWorld& world, const absl::Status& verdict);

// The keel-sim flags that replay a run exactly (without the binary name):
// "--scenario disk --seed 7 --nodes 3 --duration 30s --faults all-names"
// (plus "--clients N", "--inject-bug [NAME]", "--no-buggify" and
// "--inject-nondeterminism" when set).
std::string ReplayFlags(const ScenarioInfo& info,
                        const ScenarioOptions& resolved);

// The resolved options that run `plan` (its header, and the plan).
ScenarioOptions OptionsFromPlan(const Plan& plan);

// The whole-number figure `name`=N of a summary line ("acked=1234
// crashes=5"); nullopt if the line has no such figure or it is not a whole
// number.
std::optional<uint64_t> SummaryFigure(std::string_view summary, std::string_view name);

// "30s", "1500ms", "250us", "7ns": the shortest exact form.
std::string FormatDuration(Duration d);
// Parses "30s", "1.5m", "500ms", ... (absl::ParseDuration's forms) or a
// plain number of seconds. InvalidArgument otherwise or if negative.
absl::StatusOr<Duration> ParseDuration(std::string_view text);

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIO_H_
