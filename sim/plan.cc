// Plans: their text form.
#include "sim/plan.h"

#include <fstream>
#include <sstream>

#include "runtime/strings.h"
#include "sim/scenario.h"

namespace keel::sim {
namespace {

constexpr char kMagic[] = "keel-plan";

struct KindName {
  PlanStep::Kind kind;
  std::string_view name;
};
constexpr KindName kKindNames[] = {
    {PlanStep::Kind::kHealAll, "heal-all"},
    {PlanStep::Kind::kLeaderIsolate, "leader-isolate"},
    {PlanStep::Kind::kLeaderKill, "leader-kill"},
    {PlanStep::Kind::kLeaderCrash, "leader-crash"},
    {PlanStep::Kind::kSwizzleClog, "swizzle-clog"},
    {PlanStep::Kind::kMemberAddLearner, "member-add-learner"},
    {PlanStep::Kind::kMemberPromote, "member-promote"},
    {PlanStep::Kind::kMemberRemove, "member-remove"},
    {PlanStep::Kind::kMemberReplace, "member-replace"},
};

bool TargetsLeader(PlanStep::Kind kind) {
  return kind == PlanStep::Kind::kLeaderIsolate || kind == PlanStep::Kind::kLeaderKill ||
         kind == PlanStep::Kind::kLeaderCrash;
}

std::string StepKindName(const PlanStep& step) {
  if (step.kind == PlanStep::Kind::kFault) return std::string(FaultName(step.fault));
  for (const KindName& k : kKindNames) {
    if (k.kind == step.kind) return std::string(k.name);
  }
  return "unknown";
}

// "0-12,15,40-99" from sorted or unsorted indices (runs of consecutive ones).
std::string FormatSlots(const std::vector<uint64_t>& slots) {
  if (slots.empty()) return "-";
  std::string out;
  size_t i = 0;
  while (i < slots.size()) {
    size_t j = i;
    while (j + 1 < slots.size() && slots[j + 1] == slots[j] + 1) j++;
    if (!out.empty()) out.push_back(',');
    out += j == i ? StrCat(slots[i]) : StrCat(slots[i], "-", slots[j]);
    i = j + 1;
  }
  return out;
}

// The pieces of `text` between `separators` (empty ones kept unless
// `skip_empty`).
std::vector<std::string_view> Split(std::string_view text, std::string_view separators,
                                    bool skip_empty) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find_first_of(separators, start);
    const std::string_view piece =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!piece.empty() || !skip_empty) out.push_back(piece);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

absl::Status LineError(size_t line, std::string_view message) {
  return absl::InvalidArgumentError(StrCat("line ", line, ": ", message));
}

}  // namespace

bool IsMembershipStep(PlanStep::Kind kind) {
  return kind == PlanStep::Kind::kMemberAddLearner || kind == PlanStep::Kind::kMemberPromote ||
         kind == PlanStep::Kind::kMemberRemove || kind == PlanStep::Kind::kMemberReplace;
}

size_t Plan::ops() const {
  size_t n = 0;
  for (const PlanClient& client : clients) n += client.slots.size();
  return n;
}

std::string DescribePlan(const Plan& plan) {
  return StrCat(plan.steps.size(), " fault steps, ", plan.clients.size(), " clients, ",
                plan.ops(), " ops, ", FormatDuration(plan.duration));
}

std::string FormatPlan(const Plan& plan) {
  std::string out = StrCat(kMagic, " ", kPlanVersion, "\n");
  StrAppend(&out, "scenario ", plan.scenario, "\n", "seed ", plan.seed, "\n", "nodes ",
            plan.nodes, "\n", "duration ", FormatDuration(plan.duration), "\n", "faults ",
            plan.faults.ToString(), "\n");
  if (plan.spares > 0) StrAppend(&out, "spares ", plan.spares, "\n");
  if (plan.inject_bug) StrAppend(&out, "bug ", plan.bug.empty() ? "-" : plan.bug, "\n");
  StrAppend(&out, "buggify ", plan.buggify ? 1 : 0, "\n");
  for (const PlanStep& step : plan.steps) {
    StrAppend(&out, "step ", FormatDuration(step.at), " ", StepKindName(step));
    if (step.kind == PlanStep::Kind::kHealAll) {
      out += "\n";
      continue;
    }
    std::string targets;
    if (TargetsLeader(step.kind)) {
      targets = "leader";
    } else {
      for (size_t m : step.targets) StrAppend(&targets, targets.empty() ? "" : ",", m);
      if (targets.empty()) targets = "-";
    }
    StrAppend(&out, " ", targets, " ", FormatDuration(step.lasts), " ", step.seed, "\n");
  }
  for (const PlanClient& client : plan.clients) {
    StrAppend(&out, "client ", client.id, " ", client.seed, " ", FormatSlots(client.slots),
              "\n");
  }
  return out;
}

absl::StatusOr<Plan> ParsePlan(std::string_view text, FaultSet supported) {
  Plan plan;
  bool saw_magic = false, saw_scenario = false, saw_seed = false, saw_nodes = false,
       saw_duration = false, saw_faults = false;
  size_t line_number = 0;
  for (std::string_view raw : Split(text, "\n", false)) {
    line_number++;
    std::string_view line = raw;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::vector<std::string_view> words = Split(line, " \t\r", true);
    if (words.empty()) continue;
    const std::string_view key = words[0];
    auto want = [&](size_t n) -> absl::Status {
      if (words.size() == n) return absl::OkStatus();
      return LineError(line_number, StrCat("'", key, "' wants ", n - 1, " value",
                                           n == 2 ? "" : "s", ", got ", words.size() - 1));
    };
    auto duration = [&](std::string_view word, Duration* out) -> absl::Status {
      absl::StatusOr<Duration> d = ParseDuration(word);
      if (!d.ok()) return LineError(line_number, std::string(d.status().message()));
      *out = *d;
      return absl::OkStatus();
    };
    if (!saw_magic) {
      int version = 0;
      if (key != kMagic || words.size() != 2 || !ParseInt(words[1], &version)) {
        return LineError(line_number, StrCat("not a plan (want '", kMagic, " ", kPlanVersion,
                                             "' first)"));
      }
      if (version != kPlanVersion) {
        return LineError(line_number, StrCat("plan version ", version, " (this keel-sim reads ",
                                             kPlanVersion, ")"));
      }
      saw_magic = true;
      continue;
    }
    if (key == "scenario") {
      if (auto s = want(2); !s.ok()) return s;
      plan.scenario = std::string(words[1]);
      saw_scenario = true;
    } else if (key == "seed") {
      if (auto s = want(2); !s.ok()) return s;
      if (!ParseInt(words[1], &plan.seed)) return LineError(line_number, "bad seed");
      saw_seed = true;
    } else if (key == "nodes") {
      if (auto s = want(2); !s.ok()) return s;
      if (!ParseInt(words[1], &plan.nodes) || plan.nodes <= 0) {
        return LineError(line_number, "bad nodes");
      }
      saw_nodes = true;
    } else if (key == "spares") {
      if (auto s = want(2); !s.ok()) return s;
      if (!ParseInt(words[1], &plan.spares) || plan.spares < 0) {
        return LineError(line_number, "bad spares");
      }
    } else if (key == "duration") {
      if (auto s = want(2); !s.ok()) return s;
      if (auto s = duration(words[1], &plan.duration); !s.ok()) return s;
      saw_duration = true;
    } else if (key == "faults") {
      if (auto s = want(2); !s.ok()) return s;
      absl::StatusOr<FaultSet> faults = FaultSet::Parse(words[1], supported);
      if (!faults.ok()) return LineError(line_number, std::string(faults.status().message()));
      plan.faults = *faults;
      saw_faults = true;
    } else if (key == "bug") {
      if (auto s = want(2); !s.ok()) return s;
      plan.inject_bug = true;
      plan.bug = words[1] == "-" ? "" : std::string(words[1]);
    } else if (key == "buggify") {
      if (auto s = want(2); !s.ok()) return s;
      if (words[1] != "0" && words[1] != "1") return LineError(line_number, "buggify wants 0 or 1");
      plan.buggify = words[1] == "1";
    } else if (key == "step") {
      if (words.size() != 3 && words.size() != 6) {
        return LineError(line_number,
                         "a step is 'step AT KIND TARGETS LASTS SEED' (or 'step AT heal-all')");
      }
      PlanStep step;
      if (auto s = duration(words[1], &step.at); !s.ok()) return s;
      bool known = false;
      for (const KindName& k : kKindNames) {
        if (k.name == words[2]) {
          step.kind = k.kind;
          known = true;
        }
      }
      if (!known) {
        absl::StatusOr<FaultSet> fault = FaultSet::Parse(words[2], FaultSet::All());
        if (!fault.ok() || fault->list().size() != 1) {
          return LineError(line_number, StrCat("unknown step kind '", words[2], "'"));
        }
        step.kind = PlanStep::Kind::kFault;
        step.fault = fault->list()[0];
      }
      if (step.kind == PlanStep::Kind::kHealAll) {
        if (words.size() != 3) return LineError(line_number, "heal-all takes nothing more");
        plan.steps.push_back(std::move(step));
        continue;
      }
      if (words.size() != 6) return LineError(line_number, "a step wants TARGETS LASTS SEED");
      if (TargetsLeader(step.kind)) {
        if (words[3] != "leader") return LineError(line_number, "this step targets 'leader'");
      } else if (words[3] != "-") {
        for (std::string_view t : Split(words[3], ",", false)) {
          size_t m = 0;
          if (!ParseInt(t, &m)) return LineError(line_number, StrCat("bad target '", t, "'"));
          step.targets.push_back(m);
        }
      }
      if (auto s = duration(words[4], &step.lasts); !s.ok()) return s;
      if (!ParseInt(words[5], &step.seed)) return LineError(line_number, "bad step seed");
      if (!plan.steps.empty() && step.at < plan.steps.back().at) {
        return LineError(line_number, "steps must be in time order");
      }
      plan.steps.push_back(std::move(step));
    } else if (key == "client") {
      if (auto s = want(4); !s.ok()) return s;
      PlanClient client;
      if (!ParseInt(words[1], &client.id) || client.id < 0) {
        return LineError(line_number, "bad client id");
      }
      for (const PlanClient& other : plan.clients) {
        if (other.id == client.id) return LineError(line_number, "duplicate client id");
      }
      if (!ParseInt(words[2], &client.seed)) return LineError(line_number, "bad client seed");
      if (words[3] != "-") {
        for (std::string_view range : Split(words[3], ",", false)) {
          uint64_t a = 0, b = 0;
          const size_t dash = range.find('-');
          const bool ok = dash == std::string_view::npos
                              ? ParseInt(range, &a) && ParseInt(range, &b)
                              : ParseInt(range.substr(0, dash), &a) &&
                                    ParseInt(range.substr(dash + 1), &b);
          if (!ok || a > b) return LineError(line_number, StrCat("bad slot range '", range, "'"));
          if (b - a > 10'000'000) return LineError(line_number, "slot range too long");
          for (uint64_t i = a; i <= b; i++) client.slots.push_back(i);
        }
      }
      plan.clients.push_back(std::move(client));
    } else {
      return LineError(line_number, StrCat("unknown item '", key, "'"));
    }
  }
  if (!saw_magic) return absl::InvalidArgumentError("line 1: empty plan");
  const char* missing = !saw_scenario ? "scenario"
                        : !saw_seed   ? "seed"
                        : !saw_nodes  ? "nodes"
                        : !saw_duration ? "duration"
                        : !saw_faults ? "faults"
                                      : nullptr;
  if (missing != nullptr) {
    return absl::InvalidArgumentError(StrCat("line ", line_number, ": the plan has no '",
                                             missing, "' line"));
  }
  for (const PlanStep& step : plan.steps) {
    for (size_t m : step.targets) {
      if (m >= static_cast<size_t>(plan.nodes + plan.spares)) {
        return absl::InvalidArgumentError(
            StrCat("a step targets machine ", m, " of ", plan.nodes + plan.spares));
      }
    }
  }
  return plan;
}

absl::Status WritePlanFile(const std::string& path, const Plan& plan) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::UnavailableError(StrCat("cannot write ", path));
  out << FormatPlan(plan);
  out.close();
  if (!out) return absl::UnavailableError(StrCat("writing ", path, " failed"));
  return absl::OkStatus();
}

absl::StatusOr<Plan> ReadPlanFile(const std::string& path, FaultSet supported) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Plan> plan = ParsePlan(text.str(), supported);
  if (!plan.ok()) {
    return absl::InvalidArgumentError(StrCat(path, ": ", plan.status().message()));
  }
  return plan;
}

std::vector<FaultStep> NemesisSteps(const Plan& plan) {
  std::vector<FaultStep> steps;
  for (const PlanStep& step : plan.steps) {
    if (step.kind != PlanStep::Kind::kFault && step.kind != PlanStep::Kind::kHealAll) continue;
    steps.push_back(FaultStep{.at = step.at,
                              .heal_all = step.kind == PlanStep::Kind::kHealAll,
                              .fault = step.fault,
                              .targets = step.targets,
                              .lasts = step.lasts,
                              .seed = step.seed});
  }
  return steps;
}

PlanStep FromFaultStep(const FaultStep& step) {
  return PlanStep{.kind = step.heal_all ? PlanStep::Kind::kHealAll : PlanStep::Kind::kFault,
                  .fault = step.fault,
                  .at = step.at,
                  .targets = step.targets,
                  .lasts = step.lasts,
                  .seed = step.seed};
}

}  // namespace keel::sim
