// The scenario registry and the helpers every scenario and keel-sim share.
#include "sim/scenario.h"

#include <algorithm>

#include "absl/time/time.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::sim {

ScenarioRegistry& ScenarioRegistry::Global() {
  static ScenarioRegistry* registry = new ScenarioRegistry;
  return *registry;
}

void ScenarioRegistry::Register(ScenarioInfo info) {
  KEEL_ASSERT_MSG(Find(info.name) == nullptr, "two scenarios with one name");
  KEEL_ASSERT(info.run != nullptr);
  KEEL_ASSERT(info.default_nodes > 0);
  scenarios_.push_back(std::move(info));
}

const ScenarioInfo* ScenarioRegistry::Find(std::string_view name) const {
  for (const ScenarioInfo& info : scenarios_) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::vector<const ScenarioInfo*> ScenarioRegistry::List() const {
  std::vector<const ScenarioInfo*> list;
  for (const ScenarioInfo& info : scenarios_) list.push_back(&info);
  std::sort(list.begin(), list.end(),
            [](const ScenarioInfo* a, const ScenarioInfo* b) {
              return a->name < b->name;
            });
  return list;
}

ScenarioOptions ResolveOptions(const ScenarioInfo& info,
                               ScenarioOptions options) {
  if (options.nodes <= 0) options.nodes = info.default_nodes;
  if (options.duration <= Duration::zero()) {
    options.duration = info.default_duration;
  }
  if (!options.faults.has_value()) options.faults = info.supported_faults;
  return options;
}

ScenarioResult RunScenario(const ScenarioInfo& info, ScenarioOptions options) {
  return info.run(ResolveOptions(info, std::move(options)));
}

ScenarioResult RunSeed(const ScenarioInfo& info,
                       const ScenarioOptions& resolved, bool check_determinism) {
  ScenarioResult first = info.run(resolved);
  if (!check_determinism) return first;
  ScenarioOptions again = resolved;
  again.verbose = false;
  if (!again.trace_path.empty()) again.trace_path += ".2";
  again.timeline_path.clear();
  const ScenarioResult second = info.run(again);
  if (first.trace_hash == second.trace_hash && first.ok == second.ok &&
      first.events == second.events) {
    return first;
  }
  ScenarioResult failed = first;
  failed.ok = false;
  failed.failure = StrCat(
      "nondeterministic: the same seed ran twice with trace hashes ",
      absl::Hex(first.trace_hash), " and ", absl::Hex(second.trace_hash), " (",
      first.events, " and ", second.events,
      " events); rerun with --trace FILE --check-determinism and diff FILE "
      "FILE.2");
  return failed;
}

SimWorldOptions WorldOptionsFor(const ScenarioOptions& options) {
  SimWorldOptions world;
  world.seed = options.seed;
  world.buggify = options.buggify;
  world.inject_nondeterminism = options.inject_nondeterminism;
  world.verbose = options.verbose;
  world.trace_path = options.trace_path;
  return world;
}

ScenarioResult Finish(SimWorld& world, const absl::Status& verdict) {
  ScenarioResult result;
  result.ok = verdict.ok();
  if (!verdict.ok()) {
    result.failure = std::string(verdict.message());
    result.log_tail = world.log().Tail(80);
  }
  result.trace_hash = world.trace().hash();
  result.events = world.events();
  result.simulated = world.elapsed();
  result.buggify_sites = world.buggify().Sites();
  return result;
}

ScenarioOptions OptionsFromPlan(const Plan& plan) {
  ScenarioOptions options;
  options.seed = plan.seed;
  options.nodes = plan.nodes;
  options.clients = static_cast<int>(plan.clients.size());
  options.duration = plan.duration;
  options.faults = plan.faults;
  options.inject_bug = plan.inject_bug;
  options.bug = plan.bug;
  options.buggify = plan.buggify;
  options.plan = std::make_shared<const Plan>(plan);
  return options;
}

std::string FormatDuration(Duration d) {
  const int64_t ns = d.count();
  if (ns % 1'000'000'000 == 0) return StrCat(ns / 1'000'000'000, "s");
  if (ns % 1'000'000 == 0) return StrCat(ns / 1'000'000, "ms");
  if (ns % 1'000 == 0) return StrCat(ns / 1'000, "us");
  return StrCat(ns, "ns");
}

absl::StatusOr<Duration> ParseDuration(std::string_view text) {
  int64_t seconds = 0;
  if (ParseInt(text, &seconds)) {
    if (seconds < 0) return absl::InvalidArgumentError("negative duration");
    return Seconds(seconds);
  }
  absl::Duration parsed;
  if (!absl::ParseDuration(AsAbsl(text), &parsed) ||
      parsed < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        StrCat("bad duration '", text, "' (try 30s, 500ms, 2m)"));
  }
  return Duration(absl::ToInt64Nanoseconds(parsed));
}

std::optional<uint64_t> SummaryFigure(std::string_view summary, std::string_view name) {
  size_t at = 0;
  while (at < summary.size()) {
    size_t end = summary.find(' ', at);
    if (end == std::string_view::npos) end = summary.size();
    const std::string_view field = summary.substr(at, end - at);
    if (field.size() > name.size() && field.substr(0, name.size()) == name &&
        field[name.size()] == '=') {
      uint64_t value = 0;
      if (!ParseInt(field.substr(name.size() + 1), &value)) return std::nullopt;
      return value;
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::string ReplayFlags(const ScenarioInfo& info,
                        const ScenarioOptions& resolved) {
  std::string flags =
      StrCat("--scenario ", info.name, " --seed ", resolved.seed, " --nodes ",
             resolved.nodes, " --duration ", FormatDuration(resolved.duration),
             " --faults ",
             resolved.faults.value_or(info.supported_faults).ToString());
  if (resolved.clients > 0) flags += StrCat(" --clients ", resolved.clients);
  if (resolved.inject_bug) {
    flags += " --inject-bug";
    if (!resolved.bug.empty()) flags += StrCat(" ", resolved.bug);
  }
  if (!resolved.buggify) flags += " --no-buggify";
  if (resolved.inject_nondeterminism) flags += " --inject-nondeterminism";
  return flags;
}

}  // namespace keel::sim
