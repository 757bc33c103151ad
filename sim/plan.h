// Plans: a simulated run as an explicit schedule.
//
// A scenario that supports plans (ScenarioInfo::plans) first turns its seed
// into a Plan, the whole schedule of the run (the nemesis's faults, the
// operator's faults aimed at the leader, and each client's operation
// slots), and then executes that. keel-sim --save-plan writes it,
// --plan replays it, and --shrink (sim/shrink.h) cuts a failing one down
// to a smallest plan that still fails.
//
// What stays derived from the seed: the world's randomness (buggify, the
// network's delays, the members' timers and tuning) and each step's own
// parameters (disk fault rates, a swizzle's clog lengths, a client slot's
// request), drawn from the step's own sub-seed, so dropping one step or
// slot leaves the others as they were. Steps that depend on state at their
// time (a machine already down, no leader to isolate) are skipped then.
//
// The text form, one item a line ('#' starts a comment):
//
//   keel-plan 1
//   scenario cluster
//   seed 7
//   nodes 3
//   duration 20s
//   faults partition,isolate,kill
//   bug stale-read          (or "bug -" for --inject-bug without a name;
//                            no line without --inject-bug)
//   buggify 1
//   step 1534ms partition 0,2 2100ms 81985529216486895
//   step 2s heal-all
//   step 3100ms leader-kill leader 900ms 7
//   step 4s member-add-learner - 0s 99
//   client 0 1311768467463790320 0-2499
//   client 1 1311768467463790321 0-12,15,40-2499
//
// A step is: time from the start, kind (a fault name, heal-all,
// leader-isolate, leader-kill, leader-crash, swizzle-clog, or a membership
// change: member-add-learner, member-promote, member-remove,
// member-replace), targets (machine indices joined by commas, "leader", or
// "-"), how long it lasts, its seed. A membership step's member is chosen
// from its seed when its time comes, among the members then (so "-").
//
// "spares N" (only when N > 0) says the run has N machines beyond `nodes`
// that start outside the cluster, for membership steps to add; the fault
// steps' targets count them. A client is: its id, its seed, the slots it runs in order
// (index ranges; "-" for none).
#ifndef KEEL_SIM_PLAN_H_
#define KEEL_SIM_PLAN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/time.h"
#include "sim/nemesis.h"

namespace keel::sim {

inline constexpr int kPlanVersion = 1;

struct PlanStep {
  enum class Kind : uint8_t {
    kFault,        // a nemesis fault (`fault`) on `targets`
    kHealAll,      // the nemesis heals everything
    kLeaderIsolate,  // the operator's faults on whoever leads then
    kLeaderKill,
    kLeaderCrash,
    kSwizzleClog,  // clog `targets` one by one, unclog in random order
    // The membership operator's changes (the member chosen then, from `seed`).
    kMemberAddLearner,
    kMemberPromote,
    kMemberRemove,
    kMemberReplace,
  };
  Kind kind = Kind::kFault;
  Fault fault = Fault::kPartition;
  Duration at{};
  std::vector<size_t> targets;
  Duration lasts{};
  uint64_t seed = 0;

  bool operator==(const PlanStep& other) const = default;
};

struct PlanClient {
  int id = 0;
  uint64_t seed = 0;
  std::vector<uint64_t> slots;  // slot indices, in the order they run

  bool operator==(const PlanClient& other) const = default;
};

struct Plan {
  std::string scenario;
  uint64_t seed = 1;
  int nodes = 0;
  int spares = 0;  // machines outside the initial cluster
  Duration duration{};
  FaultSet faults;
  bool inject_bug = false;
  std::string bug;
  bool buggify = true;
  std::vector<PlanStep> steps;  // by time
  std::vector<PlanClient> clients;

  // Fault steps and client slots, for reports.
  size_t ops() const;
  bool operator==(const Plan& other) const = default;
};

// The text form above.
std::string FormatPlan(const Plan& plan);
// InvalidArgument "line N: ..." for anything malformed; fault names must be
// in `supported`.
absl::StatusOr<Plan> ParsePlan(std::string_view text, FaultSet supported);

absl::Status WritePlanFile(const std::string& path, const Plan& plan);
absl::StatusOr<Plan> ReadPlanFile(const std::string& path, FaultSet supported);

// "3 steps, 120 ops, 20s".
std::string DescribePlan(const Plan& plan);

// Whether `kind` is one of the membership operator's.
bool IsMembershipStep(PlanStep::Kind kind);

// The nemesis steps of `plan`, for Nemesis::StartPlanned.
std::vector<FaultStep> NemesisSteps(const Plan& plan);
PlanStep FromFaultStep(const FaultStep& step);

}  // namespace keel::sim

#endif  // KEEL_SIM_PLAN_H_
