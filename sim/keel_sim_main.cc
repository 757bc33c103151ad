// keel-sim: runs simulated scenarios over seeds, checks determinism, and
// prints the one command line that replays any failure exactly.
//
//   keel-sim --list
//   keel-sim --scenario disk --seed 7 [--check-determinism] [--verbose]
//   keel-sim --scenario disk --seeds 1..1000 [--shard 2/4]
//   keel-sim --scenario cluster --seed 7 --timeline run.html
//   keel-sim --scenario cluster --seed 7 --inject-bug stale-read --shrink
//   keel-sim --plan cluster-seed7.plan
//
// Exit status: 0 if every run passed, 1 if any failed, 2 for a usage error.
// This tool, like the rest of sim/, may use stdio and the real clock (the
// latter only to report seeds per second).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/assert.h"
#include "runtime/strings.h"
#include "sim/nemesis.h"
#include "sim/plan.h"
#include "sim/scenario.h"
#include "sim/second_process.h"
#include "sim/shrink.h"
#include "sim/sim_buggify.h"

namespace keel::sim {
namespace {

constexpr const char* kUsage = R"(usage: keel-sim --scenario NAME [options]
       keel-sim --plan FILE [options]
       keel-sim --list

  --scenario NAME        the scenario to run (see --list)
  --seed S               run one seed (default 1)
  --seeds A..B           run every seed from A to B
  --shard K/N            with --seeds: run only the K-th of N shares (K in 1..N)
  --check-determinism    run each seed twice here and once more in a second
                         process (this program run again, with its own
                         address layout and hash seeds); fail if the trace
                         hashes, event counts or verdicts differ
  --nodes N              simulated machines (default: the scenario's)
  --clients N            simulated clients issuing requests, for scenarios
                         marked "takes --clients" in --list (cluster: default
                         2 per node); the other scenarios refuse it
  --duration D           simulated time, e.g. 30s, 2m (default: the scenario's)
  --faults LIST          nemesis faults: all, none, or e.g. partition,kill
  --inject-bug [NAME]    turn on the scenario's deliberate defect (NAME picks
                         one where the scenario has several; see --list)
  --no-buggify           switch Buggify() off
  --buggify-report       after the runs, list every Buggify() site reached:
                         on how many seeds it was reached and switched on,
                         and how often it fired
  --verbose              print every log line as it happens
  --trace FILE           write every trace record to FILE (one seed only;
                         with --check-determinism the second run goes to FILE.2)
  --timeline FILE        draw the run as a self-contained HTML page: member
                         roles and terms, faults, client operations by
                         outcome, violations (one seed only; cluster scenario)

  Plans (cluster scenario): a run is a plan, the explicit schedule of fault
  steps and client operation slots its seed draws, then executed.
  --save-plan FILE       write the run's plan to FILE (one seed only)
  --plan FILE            replay the plan in FILE (it sets the scenario, seed,
                         nodes, clients, duration, faults and bug)
  --shrink               if the run (--seed S or --plan FILE) fails, cut its
                         plan down (a shorter run, fewer fault steps,
                         clients and operations) to a smallest plan that
                         still fails; save it to --save-plan FILE or
                         SCENARIO-seed<S>.plan and print how to replay it
  --shrink-attempts N    runs --shrink tries at most (default 200)
  --shrink-any-failure   with --shrink: keep a smaller plan that fails in any
                         way (by default it must fail the same way: the
                         same violation kind, or liveness)

  For testing the determinism check itself:
  --inject-nondeterminism  fold this process's address layout into each
                         run, which --check-determinism's second process
                         must catch (two runs in one process agree)
  --hashes-only          print only "seed=S hash=H events=E ok=B" per seed
                         (what the second process of --check-determinism
                         prints), after a "layout=L" line
)";

struct Flags {
  std::string scenario;
  bool list = false;
  uint64_t first_seed = 1;
  uint64_t last_seed = 1;
  bool sweep = false;
  uint64_t shard_index = 1;
  uint64_t shard_count = 1;
  bool check_determinism = false;
  int nodes = 0;
  int clients = 0;
  Duration duration{};
  std::optional<std::string> faults;
  bool inject_bug = false;
  std::string bug;
  bool no_buggify = false;
  bool buggify_report = false;
  bool inject_nondeterminism = false;
  bool hashes_only = false;
  bool verbose = false;
  std::string trace;
  std::string timeline;
  std::string plan;
  std::string save_plan;
  bool shrink = false;
  int shrink_attempts = 200;
  bool shrink_any_failure = false;
  // Flags a plan sets itself.
  std::vector<std::string> run_shape;
};

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "keel-sim: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

// Parses "A<separator>B".
bool ParseRange(std::string_view text, std::string_view separator, uint64_t* a,
                uint64_t* b) {
  const size_t at = text.find(separator);
  if (at == std::string_view::npos) return false;
  return ParseInt(text.substr(0, at), a) &&
         ParseInt(text.substr(at + separator.size()), b);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); i++) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto value = [&]() -> std::string {
      if (inline_value.has_value()) return *inline_value;
      if (i + 1 >= args.size()) UsageError(name + " needs a value");
      return args[++i];
    };
    if (name == "--help" || name == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (name == "--list") {
      flags.list = true;
    } else if (name == "--scenario") {
      flags.scenario = value();
    } else if (name == "--plan") {
      flags.plan = value();
    } else if (name == "--save-plan") {
      flags.save_plan = value();
    } else if (name == "--shrink") {
      flags.shrink = true;
    } else if (name == "--shrink-attempts") {
      if (!ParseInt(value(), &flags.shrink_attempts) || flags.shrink_attempts <= 0) {
        UsageError("bad --shrink-attempts");
      }
    } else if (name == "--shrink-any-failure") {
      flags.shrink_any_failure = true;
    } else if (name == "--seed") {
      if (!ParseInt(value(), &flags.first_seed)) UsageError("bad --seed");
      flags.last_seed = flags.first_seed;
    } else if (name == "--seeds") {
      if (!ParseRange(value(), "..", &flags.first_seed, &flags.last_seed) ||
          flags.first_seed > flags.last_seed) {
        UsageError("bad --seeds (want A..B with A <= B)");
      }
      flags.sweep = true;
    } else if (name == "--shard") {
      if (!ParseRange(value(), "/", &flags.shard_index, &flags.shard_count) ||
          flags.shard_count == 0 || flags.shard_index == 0 ||
          flags.shard_index > flags.shard_count) {
        UsageError("bad --shard (want K/N with 1 <= K <= N)");
      }
    } else if (name == "--check-determinism") {
      flags.check_determinism = true;
    } else if (name == "--nodes") {
      if (!ParseInt(value(), &flags.nodes) || flags.nodes <= 0) {
        UsageError("bad --nodes");
      }
    } else if (name == "--clients") {
      if (!ParseInt(value(), &flags.clients) || flags.clients <= 0) {
        UsageError("bad --clients");
      }
    } else if (name == "--duration") {
      absl::StatusOr<Duration> d = ParseDuration(value());
      if (!d.ok() || *d <= Duration::zero()) UsageError("bad --duration");
      flags.duration = *d;
    } else if (name == "--faults") {
      flags.faults = value();
    } else if (name == "--inject-bug") {
      flags.inject_bug = true;
      // The name is optional: take the next argument unless it is a flag.
      if (inline_value.has_value()) {
        flags.bug = *inline_value;
      } else if (i + 1 < args.size() && !args[i + 1].starts_with("-")) {
        flags.bug = args[++i];
      }
    } else if (name == "--no-buggify") {
      flags.no_buggify = true;
    } else if (name == "--buggify-report") {
      flags.buggify_report = true;
    } else if (name == "--inject-nondeterminism") {
      flags.inject_nondeterminism = true;
    } else if (name == "--hashes-only") {
      flags.hashes_only = true;
    } else if (name == "--verbose" || name == "-v") {
      flags.verbose = true;
    } else if (name == "--trace") {
      flags.trace = value();
    } else if (name == "--timeline") {
      flags.timeline = value();
    } else {
      UsageError("unknown flag " + name);
    }
    for (const char* shape : {"--seed", "--seeds", "--nodes", "--clients", "--duration",
                              "--faults", "--inject-bug", "--no-buggify"}) {
      if (name == shape) flags.run_shape.push_back(name);
    }
  }
  return flags;
}

double WallSeconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

// " NAME_per_wall_s=R" for the figure NAME=N of a summary line, given the
// run's wall seconds; empty if the summary has no such figure. (A run cannot
// know its own wall time: everything in it is simulated.)
std::string PerWallSecond(const std::string& summary, const std::string& name,
                          double wall) {
  const std::optional<uint64_t> n = SummaryFigure(summary, name);
  if (!n.has_value()) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), " %s_per_wall_s=%.0f", name.c_str(),
                wall > 0 ? static_cast<double>(*n) / wall : 0.0);
  return buf;
}

std::string Seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(d.count()) / 1e9);
  return buf;
}

// The flags that replay a run: its options, or the plan file it came from.
std::string Replay(const Flags& flags, const ScenarioInfo& info,
                   const ScenarioOptions& resolved) {
  if (!flags.plan.empty()) return StrCat("--plan ", flags.plan);
  return ReplayFlags(info, resolved);
}

void PrintFailure(const std::string& argv0, const ScenarioInfo& info,
                  const ScenarioOptions& resolved, const ScenarioResult& result,
                  const std::string& replay) {
  std::printf("%s seed=%" PRIu64 ": FAILED: %s\n", info.name.c_str(),
              resolved.seed, result.failure.c_str());
  if (!result.log_tail.empty()) {
    std::printf("  --- the last %zu log lines ---\n", result.log_tail.size());
    for (const std::string& line : result.log_tail) {
      std::printf("  %s\n", line.c_str());
    }
  }
  std::printf("  replay: %s %s\n", argv0.c_str(), replay.c_str());
  if (info.plans) {
    std::printf("  shrink: %s %s --shrink\n", argv0.c_str(), replay.c_str());
  }
  std::fflush(stdout);
}

class Progress {
 public:
  Progress(std::string name, uint64_t total)
      : name_(std::move(name)),
        total_(total),
        enabled_(total > 1 && isatty(STDERR_FILENO)),
        start_(std::chrono::steady_clock::now()) {}

  void Update(uint64_t done, uint64_t failed, bool force = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double wall = WallSeconds(start_);
    std::fprintf(stderr, "\r\033[K[%s] %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64
                 " failed, %.1f seeds/s",
                 name_.c_str(), done, total_, failed, wall > 0 ? done / wall : 0.0);
    std::fflush(stderr);
  }
  // Clears the line before other output.
  void Clear() {
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  std::string name_;
  uint64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_{};
};

// keel-sim --shrink: runs the one seed or plan; if it fails, shrinks it and
// saves the smallest failing plan.
int Shrink(const Flags& flags, const std::string& argv0, const ScenarioInfo& info,
           const ScenarioOptions& resolved) {
  const auto start = std::chrono::steady_clock::now();
  const ScenarioResult first = info.run(resolved);
  if (first.ok) {
    std::printf("%s seed=%" PRIu64 ": ok, nothing to shrink (hash=%016" PRIx64 ")\n",
                info.name.c_str(), resolved.seed, first.trace_hash);
    return 0;
  }
  KEEL_ASSERT(first.plan != nullptr);
  std::printf("%s seed=%" PRIu64 ": FAILED (%s); shrinking its plan (%s), at most %d runs\n",
              info.name.c_str(), resolved.seed, FailureKind(first.failure).c_str(),
              DescribePlan(*first.plan).c_str(), flags.shrink_attempts);
  std::fflush(stdout);
  const auto run = [&](const Plan& plan) {
    ScenarioOptions options = OptionsFromPlan(plan);
    options.verbose = false;
    return info.run(options);
  };
  const ShrinkResult shrunk = ShrinkPlan(
      *first.plan, first, run,
      {.max_attempts = flags.shrink_attempts,
       .same_failure = !flags.shrink_any_failure,
       .on_progress = [](const std::string& line) {
         std::printf("  %s\n", line.c_str());
         std::fflush(stdout);
       }});
  const std::string path = !flags.save_plan.empty()
                               ? flags.save_plan
                               : StrCat(info.name, "-seed", resolved.seed, ".plan");
  const absl::Status written = WritePlanFile(path, shrunk.smallest);
  if (!written.ok()) {
    std::fprintf(stderr, "keel-sim: %s\n", std::string(written.message()).c_str());
    return 2;
  }
  std::printf("%s seed=%" PRIu64 ": FAILED: %s\n", info.name.c_str(), resolved.seed,
              shrunk.result.failure.c_str());
  std::printf("shrunk from %s\n          to %s\n", DescribePlan(shrunk.original).c_str(),
              DescribePlan(shrunk.smallest).c_str());
  std::printf("in %d runs (%d kept), wall %.1fs; the smallest plan fails with %s\n",
              shrunk.attempts, shrunk.kept, WallSeconds(start),
              FailureKind(shrunk.result.failure).c_str());
  std::printf("  wrote %s\nreplay it with:\n  %s --plan %s\n", path.c_str(), argv0.c_str(),
              path.c_str());
  return 1;
}

int Main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  std::optional<Plan> plan;
  if (!flags.plan.empty()) {
    if (!flags.run_shape.empty()) {
      UsageError(StrCat("--plan sets the run itself; drop ", flags.run_shape[0]));
    }
    // The scenario named in the file, which must take plans.
    for (const ScenarioInfo* info : ScenarioRegistry::Global().List()) {
      if (!info->plans) continue;
      absl::StatusOr<Plan> read = ReadPlanFile(flags.plan, info->supported_faults);
      if (!read.ok()) {
        std::fprintf(stderr, "keel-sim: %s\n", std::string(read.status().message()).c_str());
        return 2;
      }
      if (read->scenario != info->name) continue;
      plan = std::move(*read);
    }
    if (!plan.has_value()) UsageError(StrCat(flags.plan, ": no scenario here runs its plan"));
    flags.scenario = plan->scenario;
    flags.first_seed = flags.last_seed = plan->seed;
  }
  ScenarioRegistry& registry = ScenarioRegistry::Global();
  if (flags.list) {
    for (const ScenarioInfo* info : registry.List()) {
      std::string bugs;
      for (const std::string& bug : info->bugs) {
        bugs += StrCat(bugs.empty() ? ", bugs " : "|", bug);
      }
      std::printf("%-16s %s (nodes %d, duration %s, faults %s%s%s)\n",
                  info->name.c_str(), info->description.c_str(),
                  info->default_nodes, FormatDuration(info->default_duration).c_str(),
                  info->supported_faults.ToString().c_str(),
                  info->takes_clients ? ", takes --clients" : "", bugs.c_str());
    }
    return 0;
  }
  if (flags.scenario.empty()) UsageError("--scenario is required");
  const ScenarioInfo* info = registry.Find(flags.scenario);
  if (info == nullptr) UsageError("no scenario named " + flags.scenario + " (see --list)");
  if (!flags.trace.empty() && flags.first_seed != flags.last_seed) {
    UsageError("--trace needs a single seed");
  }
  if (!flags.timeline.empty() && (flags.sweep || flags.first_seed != flags.last_seed)) {
    UsageError("--timeline draws one run: give it --seed S, not --seeds A..B");
  }
  if (!flags.timeline.empty() && !info->timeline) {
    UsageError(StrCat("scenario ", info->name, " cannot draw a --timeline (cluster can)"));
  }
  if ((!flags.save_plan.empty() || flags.shrink) && !info->plans) {
    UsageError(StrCat("scenario ", info->name, " does not run plans (--save-plan, --shrink)"));
  }
  if ((!flags.save_plan.empty() || flags.shrink) &&
      (flags.sweep || flags.first_seed != flags.last_seed)) {
    UsageError("--save-plan and --shrink take one run: --seed S or --plan FILE");
  }
  if (flags.shrink && flags.check_determinism) {
    UsageError("--shrink and --check-determinism do not mix");
  }
  if (flags.clients > 0 && !info->takes_clients) {
    UsageError(StrCat("scenario ", info->name, " has no simulated clients to set (--clients)"));
  }
  ScenarioOptions base;
  base.nodes = flags.nodes;
  base.clients = flags.clients;
  base.duration = flags.duration;
  if (flags.faults.has_value()) {
    absl::StatusOr<FaultSet> faults =
        FaultSet::Parse(*flags.faults, info->supported_faults);
    if (!faults.ok()) UsageError(std::string(faults.status().message()));
    base.faults = *faults;
  }
  if (flags.inject_bug && !info->bugs.empty() &&
      std::find(info->bugs.begin(), info->bugs.end(), flags.bug) == info->bugs.end()) {
    std::string names;
    for (const std::string& bug : info->bugs) names += StrCat(names.empty() ? "" : ", ", bug);
    UsageError(StrCat("--inject-bug needs one of: ", names));
  }
  if (!flags.bug.empty() && info->bugs.empty()) {
    UsageError(StrCat("scenario ", info->name, " has no named bugs"));
  }
  base.inject_bug = flags.inject_bug;
  base.bug = flags.bug;
  base.buggify = !flags.no_buggify;
  base.inject_nondeterminism = flags.inject_nondeterminism;
  base.verbose = flags.verbose;
  base.trace_path = flags.trace;
  base.timeline_path = flags.timeline;
  if (plan.has_value()) {
    const ScenarioOptions from_plan = OptionsFromPlan(*plan);
    base.nodes = from_plan.nodes;
    base.clients = from_plan.clients;
    base.duration = from_plan.duration;
    base.faults = from_plan.faults;
    base.inject_bug = from_plan.inject_bug;
    base.bug = from_plan.bug;
    base.buggify = from_plan.buggify;
    base.plan = from_plan.plan;
    base.plan_path = flags.plan;
  }
  if (flags.shrink) {
    ScenarioOptions options = base;
    options.seed = flags.first_seed;
    return Shrink(flags, argv[0], *info, ResolveOptions(*info, options));
  }

  std::vector<uint64_t> seeds;
  for (uint64_t s = flags.first_seed, i = 0; s <= flags.last_seed; s++, i++) {
    if (i % flags.shard_count == flags.shard_index - 1) seeds.push_back(s);
    if (s == UINT64_MAX) break;
  }
  if (flags.hashes_only) {
    std::printf("layout=%" PRIx64 "\n", AddressLayoutProbe());
    for (uint64_t seed : seeds) {
      ScenarioOptions options = base;
      options.seed = seed;
      const ScenarioResult result = info->run(ResolveOptions(*info, options));
      std::printf("%s\n", FormatSeedOutcome(seed, OutcomeOf(result)).c_str());
    }
    return 0;
  }
  // The second process runs beside this one and is read at the end.
  std::optional<SecondProcess> second;
  if (flags.check_determinism) {
    absl::StatusOr<SecondProcess> started = SecondProcess::Start(
        SecondProcessArgs(std::vector<std::string>(argv + 1, argv + argc)));
    if (!started.ok()) {
      std::fprintf(stderr, "keel-sim: %s\n", std::string(started.status().message()).c_str());
      return 2;
    }
    second.emplace(std::move(*started));
  }

  const auto start = std::chrono::steady_clock::now();
  Progress progress(info->name, seeds.size());
  uint64_t failed = 0;
  uint64_t events = 0;
  Duration simulated{};
  std::vector<std::string> replays;
  std::map<uint64_t, SeedOutcome> outcomes;
  BuggifyTally buggify_tally;
  std::vector<uint64_t> totals(info->sweep_totals.size(), 0);
  std::string ok_line;  // one seed: printed once the second process agrees
  for (size_t i = 0; i < seeds.size(); i++) {
    ScenarioOptions options = base;
    options.seed = seeds[i];
    const ScenarioOptions resolved = ResolveOptions(*info, options);
    const auto seed_start = std::chrono::steady_clock::now();
    const ScenarioResult result =
        RunSeed(*info, resolved, flags.check_determinism);
    events += result.events;
    simulated += result.simulated;
    outcomes[seeds[i]] = OutcomeOf(result);
    buggify_tally.Add(result.buggify_sites);
    for (size_t t = 0; t < totals.size() && result.ok; t++) {
      totals[t] += SummaryFigure(result.summary, info->sweep_totals[t]).value_or(0);
    }
    if (!result.ok) {
      failed++;
      progress.Clear();
      PrintFailure(argv[0], *info, resolved, result, Replay(flags, *info, resolved));
      replays.push_back(StrCat(argv[0], " ", Replay(flags, *info, resolved)));
    } else if (seeds.size() == 1) {
      const double wall = WallSeconds(seed_start);
      char buf[256];
      std::snprintf(buf, sizeof(buf), " events=%" PRIu64 " simulated=%s hash=%016" PRIx64 " wall=%.2fs ",
                    result.events, Seconds(result.simulated).c_str(), result.trace_hash, wall);
      ok_line = StrCat(info->name, " seed=", resolved.seed, ": ok",
                       flags.check_determinism ? " (deterministic here and in a second process)" : "",
                       buf, result.summary,
                       PerWallSecond(result.summary, "committed",
                                     flags.check_determinism ? wall / 2 : wall));
    }
    if (!flags.save_plan.empty() && result.plan != nullptr) {
      const absl::Status written = WritePlanFile(flags.save_plan, *result.plan);
      if (!written.ok()) {
        std::fprintf(stderr, "keel-sim: %s\n", std::string(written.message()).c_str());
        return 2;
      }
      std::printf("  wrote plan %s (%s); replay: %s --plan %s\n", flags.save_plan.c_str(),
                  DescribePlan(*result.plan).c_str(), argv[0], flags.save_plan.c_str());
    }
    for (const std::string& output : result.outputs) {
      std::printf("  wrote %s\n", output.c_str());
    }
    progress.Update(i + 1, failed, i + 1 == seeds.size());
  }
  progress.Clear();
  if (second.has_value()) {
    const int pid = second->pid();
    absl::StatusOr<std::string> out = second->Finish();
    if (!out.ok()) {
      std::fprintf(stderr, "keel-sim: %s\n", std::string(out.status().message()).c_str());
      return 2;
    }
    absl::StatusOr<SecondRun> other = ParseSecondRun(*out);
    if (!other.ok()) {
      std::fprintf(stderr, "keel-sim: second process %d: %s\n", pid,
                   std::string(other.status().message()).c_str());
      return 2;
    }
    for (uint64_t seed : seeds) {
      const SeedOutcome& here = outcomes[seed];
      auto there = other->outcomes.find(seed);
      if (!here.ok || (there != other->outcomes.end() && there->second == here)) continue;
      ScenarioOptions options = base;
      options.seed = seed;
      const ScenarioOptions resolved = ResolveOptions(*info, options);
      ScenarioResult result;
      result.ok = false;
      result.failure = StrCat(
          "nondeterministic across processes: this process ran the seed (twice) with ",
          DescribeSeedOutcome(here), ", a second process (pid ", pid, ", ",
          other->layout == AddressLayoutProbe() ? "the same address layout: is ASLR off?"
                                                : "another address layout",
          ") with ",
          there == other->outcomes.end() ? "no result" : DescribeSeedOutcome(there->second),
          "; the run depends on where the program sits in memory or on a per-process "
          "hash seed (absl::Hash iteration order, pointer comparisons): diff the --trace "
          "FILE of two separate runs");
      failed++;
      ok_line.clear();
      PrintFailure(argv[0], *info, resolved, result, Replay(flags, *info, resolved));
      replays.push_back(StrCat(argv[0], " ", Replay(flags, *info, resolved)));
    }
  }
  if (!ok_line.empty()) std::printf("%s\n", ok_line.c_str());
  if (flags.buggify_report) std::fputs(buggify_tally.Format(seeds.size()).c_str(), stdout);
  const double wall = WallSeconds(start);
  // Events executed, counting both runs of a determinism check.
  const uint64_t executed = events * (flags.check_determinism ? 2 : 1);
  if (flags.sweep || failed > 0) {
    std::printf("%s: %zu seeds (%" PRIu64 "..%" PRIu64 " shard %" PRIu64
                "/%" PRIu64 "), %" PRIu64 " failed; wall %.1fs, %.1f seeds/s, "
                "%.2fM events/s, %s simulated%s\n",
                info->name.c_str(), seeds.size(), flags.first_seed,
                flags.last_seed, flags.shard_index, flags.shard_count, failed,
                wall, wall > 0 ? seeds.size() / wall : 0.0,
                wall > 0 ? executed / wall / 1e6 : 0.0,
                Seconds(simulated).c_str(),
                flags.check_determinism && failed == 0
                    ? "; deterministic here and in a second process"
                    : "");
  }
  if (flags.sweep && !totals.empty()) {
    std::string line;
    for (size_t t = 0; t < totals.size(); t++) {
      StrAppend(&line, " ", info->sweep_totals[t], "=", totals[t]);
    }
    std::printf("totals over the passing seeds:%s\n", line.c_str());
  }
  if (failed > 0) {
    std::printf("replay the first failure with:\n  %s\n", replays[0].c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace keel::sim

int main(int argc, char** argv) { return keel::sim::Main(argc, argv); }
