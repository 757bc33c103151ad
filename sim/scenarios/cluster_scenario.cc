// Scenario `cluster`: real keel members (node::Node, the code tools/keel
// runs) on 3 or 5 simulated machines, driven by etcd clients (keel's
// EtcdClient over its gRPC client, over SimNetwork) issuing KV requests,
// lease requests and watches, under the nemesis (partitions, isolation,
// one-way cuts, clogs, kills, power losses, pauses, disk faults) plus an
// operator that isolates, kills or crashes the current leader, and
// swizzle-clogs (clogs a random subset of members one by one and unclogs
// them in random order). On some seeds (two in five, with faults) a
// membership operator (cluster_operator.h) also changes the membership at
// runtime, as etcd's runbooks do: adds a learner on a spare machine,
// promotes it, removes a member, replaces a voter (removed, disk wiped,
// added back under a new member ID, started with --initial-cluster-state
// existing); those runs have one spare machine outside the cluster, which
// the nemesis's faults reach as well.
//
// The run:
//  1. chaos for --duration: members, clients (cluster_workload.h) and the
//     nemesis all running;
//  2. heal: the faults stop, the network heals, every member is restarted;
//     the clients stop issuing requests;
//  3. liveness, each step within a bound of simulated time, or the run
//     fails: every request in flight completes or fails; a leader emerges
//     and every member follows it with the same applied index and the same
//     key-space Hash at the same revision; a linearizable read of the whole
//     key space succeeds (the history's final read-out). With membership
//     steps, the operator first settles the change under way; "every
//     member" is then every member in the leader's list, the ones added or
//     replaced at runtime included (so each must have caught up, by log or
//     snapshot), all holding the same member list, and that list must
//     agree with every change the cluster acknowledged to the operator;
//  4. the history is checked (check::CheckHistory: linearizability,
//     the watch guarantees, the lease rules, durability of every
//     acknowledged write).
// --clients N sets the number of KV clients (default 2 per member; the
// watchers come on top).
//
// The seed also draws the members' tuning: how often they snapshot, and on
// some runs snapshot chunks of a few KiB (so snapshots travel in many
// chunks under the faults) and a few KiB of raft appends in flight per
// follower, and on half of them --strict-reconfig-check=false. The summary counts snapshots sent (in several chunks), chunks
// and snapshots installed.
//
// --inject-bug NAME turns on a deliberate defect the checkers must catch:
//   stale-read, watch-skip, progress-early  client-side (cluster_workload.h);
//   ack-before-sync         the leader answers a write once it is in its own
//                           log, before it is persisted or committed
//                           (node::failpoints::ServerBugs): a leader crash or isolation
//                           loses acknowledged writes;
//   lease-early-expiry      the leader's lessor ignores keepalives when it
//                           decides expiry, so kept-alive leases expire;
//   snapshot-stale-conf     a leader labels the snapshots it sends with the
//                           configuration of its last log compaction, not
//                           the one as applied: a member added since (on
//                           runs that snapshot often) does not find itself
//                           in the snapshot and never catches up. Every run
//                           with this bug draws membership steps.
// A run is a plan (sim/plan.h): the seed first draws the nemesis's fault
// steps, the operator's (aimed at whoever leads when their time comes) and
// each client's operation slots, then the run executes them; keel-sim
// --save-plan, --plan and --shrink store, replay and reduce one.
//
// A checker failure writes the history to cluster-seed<N>.history.jsonl
// (for keel-check) and reports the violations. --timeline FILE draws the
// run as an HTML page (sim/timeline.h) from hooks that only look, so the
// run is the same run without it.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/random.h"
#include "runtime/strings.h"
#include "check/checker.h"
#include "check/history_json.h"
#include "sim/nemesis.h"
#include "sim/plan.h"
#include "sim/scenario.h"
#include "sim/scenarios/cluster_members.h"
#include "sim/scenarios/cluster_operator.h"
#include "sim/scenarios/cluster_workload.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"
#include "sim/timeline.h"

namespace keel::sim {
namespace {

using cluster::ClusterMembers;
using cluster::ClusterWorkload;
using cluster::ServerBugs;

constexpr char kClientHost[] = "10.0.0.100";
constexpr char kOperatorHost[] = "10.0.0.101";
constexpr int kKeys = 8;
constexpr int kWatchers = 2;
// Liveness bounds, from the moment the faults stop. Requests time out
// within 8 s and watches end within 6 s; a healed cluster elects a leader
// within a few election timeouts and catches slow members up.
constexpr Duration kDrainLimit = Seconds(20);
constexpr Duration kConvergeLimit = Seconds(30);
constexpr Duration kFinalReadLimit = Seconds(20);
// The membership change under way settles within kSettleLimit of its last
// call (cluster_operator.h), a call lasting at most a few seconds.
constexpr Duration kOperatorLimit = cluster::kSettleLimit + Seconds(15);
constexpr size_t kMaxReportBytes = 6000;
// Operation slots drawn per client per simulated second: more than a client
// gets through (it stops when they run out).
constexpr int64_t kSlotsPerSecond = 200;

class ClusterScenario {
 public:
  explicit ClusterScenario(const ScenarioOptions& options);
  ~ClusterScenario();
  ScenarioResult Run();

 private:
  cluster::MemberTuning DrawTuning();
  NemesisOptions NemesisOptionsFor() const;
  Plan DrawPlan();
  void DrawMembershipSteps(Plan& plan);
  void OperatorStep(const PlanStep& step);
  void IsolateLeader(size_t m, Duration lasts);
  void TakeDownLeader(size_t m, bool crash, Duration lasts);
  void SwizzleClog(const PlanStep& step);
  void HealOperator();
  void Heal();
  bool CheckLiveness();
  void CheckHistory();
  void Fail(std::string message);
  std::string Summary() const;
  // --timeline: the members' states after each step, and the page.
  void SampleTimeline();
  void WriteTimeline(ScenarioResult& result);
  int64_t NowNs() const { return ToNanoseconds(world_->now()); }

  ScenarioOptions options_;
  std::unique_ptr<SimWorld> world_;
  Random random_;
  Plan plan_;
  cluster::MemberTuning tuning_;
  std::unique_ptr<ClusterMembers> members_;
  std::unique_ptr<ClusterWorkload> workload_;
  std::unique_ptr<Nemesis> nemesis_;
  // With membership steps only.
  std::unique_ptr<cluster::MembershipOperator> membership_;
  SimMachine* client_machine_ = nullptr;
  absl::Status verdict_;
  bool operating_ = false;
  // The operator's own faults, undone at heal.
  std::vector<std::pair<std::string, std::string>> cuts_;
  std::vector<size_t> downed_;
  uint64_t isolations_ = 0, leader_kills_ = 0, swizzles_ = 0;
  Duration converged_after_{};
  std::optional<check::History> history_;  // once taken from the workload
  check::CheckReport report_;
  std::unique_ptr<TimelineRecorder> timeline_;  // with --timeline only
};

ClusterScenario::ClusterScenario(const ScenarioOptions& options)
    : options_(options),
      world_(std::make_unique<SimWorld>(WorldOptionsFor(options))),
      random_(world_->DeriveSeed(0xc105e4)) {
  auto injected = [&options](std::string_view bug) {
    return options.inject_bug && options.bug == bug;
  };
  cluster::ServerBugs server_bugs;
  server_bugs.ack_before_sync = injected("ack-before-sync");
  server_bugs.lease_early_expiry = injected("lease-early-expiry");
  server_bugs.snapshot_stale_conf = injected("snapshot-stale-conf");
  tuning_ = DrawTuning();
  plan_ = options_.plan != nullptr ? *options_.plan : DrawPlan();
  members_ = std::make_unique<ClusterMembers>(*world_, options_.nodes, tuning_, server_bugs,
                                              plan_.spares);
  cluster::WorkloadBugs bugs;
  bugs.stale_read = injected("stale-read");
  bugs.watch_skip = injected("watch-skip");
  bugs.progress_early = injected("progress-early");
  workload_ = std::make_unique<ClusterWorkload>(members_->ClientEndpoints(), plan_.clients,
                                                kWatchers, kKeys, bugs);
  client_machine_ = &world_->AddMachine(
      {.name = "clients",
       .host = kClientHost,
       .boot = [this](Env& env) { return workload_->Run(env); }});
  if (plan_.spares > 0) {
    membership_ = std::make_unique<cluster::MembershipOperator>(
        *world_, *members_, static_cast<size_t>(options_.nodes));
    world_->AddMachine({.name = "operator",
                        .host = kOperatorHost,
                        .boot = [this](Env& env) { return membership_->Run(env); }})
        .Start();
  }
  if (!options_.timeline_path.empty()) {
    std::vector<std::string> names;
    for (SimMachine* machine : members_->machines()) names.push_back(machine->name());
    timeline_ = std::make_unique<TimelineRecorder>(std::move(names));
    world_->set_step_observer([this] { SampleTimeline(); });
  }
}

ClusterScenario::~ClusterScenario() {
  // The machines' frames (members and clients) go before what they use.
  world_->set_step_observer(nullptr);
  nemesis_.reset();
  world_.reset();
  membership_.reset();
}

cluster::MemberTuning ClusterScenario::DrawTuning() {
  cluster::MemberTuning tuning;
  // Some runs snapshot and compact the raft log often, so members that fall
  // behind catch up from a snapshot of the leader's key space.
  static constexpr uint64_t kSnapshotCounts[] = {60, 400, 100000};
  tuning.snapshot_count = kSnapshotCounts[random_.Uniform(3)];
  tuning.snapshot_catchup_entries = std::min<uint64_t>(tuning.snapshot_count / 4, 5000);
  // Drawn from a stream of their own, so the draws above (and what each
  // seed tested before) stay as they were. Half the runs that snapshot send
  // snapshots (tens of KiB here) in chunks of a few KiB, so transfers of
  // many chunks meet the faults; a third of the runs bound raft's bytes in
  // flight per follower to a few appends.
  Random more(world_->DeriveSeed(0xc105e4, 1));
  static constexpr uint64_t kChunkBytes[] = {1 << 10, 4 << 10, 8 << 10};
  if (tuning.snapshot_count < 100000 && more.OneIn(2)) {
    tuning.snapshot_chunk_bytes = kChunkBytes[more.Uniform(3)];
  }
  if (more.OneIn(3)) tuning.max_inflight_bytes = 4 << 10;
  // Half the runs turn --strict-reconfig-check off, so the membership
  // changes (on the seeds that draw them) go through under the faults
  // rather than wait for a healthy cluster.
  Random reconfig(world_->DeriveSeed(0xc105e4, 2));
  tuning.strict_reconfig_check = reconfig.OneIn(2);
  return tuning;
}

NemesisOptions ClusterScenario::NemesisOptionsFor() const {
  NemesisOptions nemesis_options;
  nemesis_options.faults = *options_.faults;
  nemesis_options.quiet_min = Milliseconds(200);
  nemesis_options.quiet_max = Seconds(3);
  nemesis_options.fault_min = Milliseconds(300);
  nemesis_options.fault_max = Seconds(4);
  nemesis_options.max_down = static_cast<size_t>(options_.nodes) / 2;
  // Destructive disk faults hit the key space, which a member repairs from
  // its peers (doc/self-repair.md); damage to the WAL still stops a member
  // for good, which this scenario's liveness check would not allow.
  nemesis_options.destructive_path_contains = "/member/kv/";
  return nemesis_options;
}

// The run's schedule, from the seed: the nemesis's steps, the operator's
// (a tick every 0.5-4 s from 2 s on: maybe a fault on the leader, maybe a
// swizzle-clog) and the clients' slots.
Plan ClusterScenario::DrawPlan() {
  Plan plan;
  plan.scenario = "cluster";
  plan.seed = options_.seed;
  plan.nodes = options_.nodes;
  plan.duration = options_.duration;
  plan.faults = *options_.faults;
  plan.inject_bug = options_.inject_bug;
  plan.bug = options_.bug;
  plan.buggify = options_.buggify;
  const FaultSet& faults = plan.faults;
  // Membership steps first (they decide whether there is a spare machine,
  // which the faults reach too), from a stream of their own so that the
  // seeds without them draw what they drew before.
  DrawMembershipSteps(plan);
  for (const FaultStep& step :
       Nemesis::Schedule(NemesisOptionsFor(), static_cast<size_t>(options_.nodes + plan.spares),
                         world_->DeriveSeed(0x706c616e, 0), options_.duration)) {
    plan.steps.push_back(FromFaultStep(step));
  }
  if (!faults.empty()) {
    Random r(world_->DeriveSeed(0x706c616e, 1));
    auto between = [&r](Duration low, Duration high) {
      return low + Nanoseconds(static_cast<int64_t>(
                       r.Uniform(static_cast<uint64_t>((high - low).count()) + 1)));
    };
    for (Duration at = Seconds(2); at < options_.duration;
         at += between(Milliseconds(500), Seconds(4))) {
      const uint64_t roll = r.Uniform(100);
      PlanStep step{.at = at};
      if (roll < 20 && faults.has(Fault::kIsolate)) {
        step.kind = PlanStep::Kind::kLeaderIsolate;
        step.lasts = between(Milliseconds(300), Seconds(4));
      } else if (roll < 30 && faults.has(Fault::kKill)) {
        step.kind = PlanStep::Kind::kLeaderKill;
        step.lasts = between(Milliseconds(200), Seconds(3));
      } else if (roll < 35 && faults.has(Fault::kCrash)) {
        step.kind = PlanStep::Kind::kLeaderCrash;
        step.lasts = between(Milliseconds(200), Seconds(3));
      }
      if (step.kind != PlanStep::Kind::kFault) {
        step.seed = r.Next();
        plan.steps.push_back(std::move(step));
      }
      if (faults.has(Fault::kClog) && r.OneIn(6)) {
        PlanStep swizzle{.kind = PlanStep::Kind::kSwizzleClog, .at = at};
        for (size_t m = 0; m < static_cast<size_t>(options_.nodes); m++) {
          if (r.OneIn(2)) swizzle.targets.push_back(m);
        }
        swizzle.seed = r.Next();
        if (!swizzle.targets.empty()) plan.steps.push_back(std::move(swizzle));
      }
    }
  }
  // Whole milliseconds, for people reading the plan.
  for (PlanStep& step : plan.steps) {
    step.at = std::chrono::duration_cast<std::chrono::milliseconds>(step.at);
    step.lasts = std::chrono::duration_cast<std::chrono::milliseconds>(step.lasts);
  }
  std::stable_sort(plan.steps.begin(), plan.steps.end(),
                   [](const PlanStep& a, const PlanStep& b) { return a.at < b.at; });
  Random r(world_->DeriveSeed(0x706c616e, 2));
  const int clients = options_.clients > 0 ? options_.clients : 2 * options_.nodes;
  const uint64_t slots = static_cast<uint64_t>(
      std::max<int64_t>(1, options_.duration.count() * kSlotsPerSecond / 1'000'000'000));
  for (int c = 0; c < clients; c++) {
    PlanClient client{.id = c, .seed = r.Next()};
    for (uint64_t i = 0; i < slots; i++) client.slots.push_back(i);
    plan.clients.push_back(std::move(client));
  }
  return plan;
}

// Two seeds in five with faults (every seed with --inject-bug
// snapshot-stale-conf, which only membership changes reveal) draw 1 to 4
// membership changes between 1.5 s and 3 s before the end; an added learner
// is usually promoted a few seconds later. The run gets one spare machine.
void ClusterScenario::DrawMembershipSteps(Plan& plan) {
  Random r(world_->DeriveSeed(0x706c616e, 3));
  const bool always = options_.inject_bug && options_.bug == "snapshot-stale-conf";
  const bool draw = r.Uniform(5) < 2;
  if (plan.faults.empty() || options_.duration < Seconds(8) || !(draw || always)) return;
  plan.spares = 1;
  const int64_t first = Milliseconds(1500).count();
  const int64_t last = (options_.duration - Seconds(3)).count();
  const int changes = 1 + static_cast<int>(r.Uniform(4));
  for (int i = 0; i < changes; i++) {
    PlanStep step{.at = Nanoseconds(r.UniformRange(first, last)), .seed = r.Next()};
    const uint64_t roll = r.Uniform(100);
    step.kind = roll < 35   ? PlanStep::Kind::kMemberAddLearner
                : roll < 70 ? PlanStep::Kind::kMemberReplace
                : roll < 85 ? PlanStep::Kind::kMemberRemove
                            : PlanStep::Kind::kMemberPromote;
    plan.steps.push_back(step);
    if (step.kind == PlanStep::Kind::kMemberAddLearner && r.Uniform(4) < 3) {
      plan.steps.push_back(PlanStep{
          .kind = PlanStep::Kind::kMemberPromote,
          .at = step.at + Milliseconds(r.UniformRange(1000, 5000)),
          .seed = r.Next()});
    }
  }
}

void ClusterScenario::Fail(std::string message) {
  if (!verdict_.ok()) return;
  world_->log().Note("checker", StrCat("FAILED: ", message));
  verdict_ = absl::InternalError(std::move(message));
  world_->Stop();
}

// ---- the targeted operator: faults aimed at the current leader ----

void ClusterScenario::OperatorStep(const PlanStep& step) {
  if (!operating_ || !verdict_.ok()) return;
  if (IsMembershipStep(step.kind)) {
    if (membership_ != nullptr) membership_->Enqueue(step);
    return;
  }
  if (step.kind == PlanStep::Kind::kSwizzleClog) {
    SwizzleClog(step);
    return;
  }
  const int leader = members_->Leader();
  if (leader < 0) {
    world_->trace().Record(TraceKind::kNemesis, 98, static_cast<uint64_t>(step.kind));
    world_->log().Note("operator", "skip a fault on the leader: there is none");
    return;
  }
  const size_t m = static_cast<size_t>(leader);
  if (step.kind == PlanStep::Kind::kLeaderIsolate) {
    IsolateLeader(m, step.lasts);
  } else {
    TakeDownLeader(m, step.kind == PlanStep::Kind::kLeaderCrash, step.lasts);
  }
}

void ClusterScenario::IsolateLeader(size_t m, Duration lasts) {
  SimNetwork& net = world_->net();
  const std::string host = members_->machines()[m]->host();
  std::vector<std::pair<std::string, std::string>> cuts;
  for (const std::string& other : net.hosts()) {
    if (other == host) continue;
    cuts.emplace_back(host, other);
    cuts.emplace_back(other, host);
  }
  for (const auto& [a, b] : cuts) net.Cut(a, b);
  cuts_.insert(cuts_.end(), cuts.begin(), cuts.end());
  isolations_++;
  const std::string what = StrCat("isolate leader ", members_->machines()[m]->name());
  world_->log().Note("operator", what);
  if (timeline_ != nullptr) {
    timeline_->BeginFault(m, NowNs(), MarkKind::kIsolate, StrCat("operator: ", what));
  }
  world_->After(lasts, [this, cuts, m, what] {
    if (!operating_) return;  // the heal already undid them
    for (const auto& [a, b] : cuts) world_->net().Heal(a, b);
    world_->log().Note("operator", "heal the leader's isolation");
    if (timeline_ != nullptr) {
      timeline_->EndFault(m, NowNs(), MarkKind::kIsolate, StrCat("operator: ", what));
    }
  });
}

// FoundationDB's swizzle-clog: clog a random subset of the members one by
// one, then let the clogs lift in a random order.
void ClusterScenario::SwizzleClog(const PlanStep& plan_step) {
  std::vector<size_t> chosen;
  for (size_t m : plan_step.targets) {
    if (m < members_->size()) chosen.push_back(m);
  }
  if (chosen.empty()) return;
  swizzles_++;
  Random r(plan_step.seed);
  auto between = [&r](Duration low, Duration high) {
    return low + Nanoseconds(static_cast<int64_t>(
                     r.Uniform(static_cast<uint64_t>((high - low).count()) + 1)));
  };
  const Duration step = between(Milliseconds(50), Milliseconds(500));
  std::string names;
  for (size_t i = 0; i < chosen.size(); i++) {
    SimMachine* machine = members_->machines()[chosen[i]];
    StrAppend(&names, " ", machine->name());
    // Clogged at i * step, lifted at a random time after the last clog.
    const Duration start = step * static_cast<int64_t>(i);
    const Duration end = step * static_cast<int64_t>(chosen.size()) +
                         between(Milliseconds(100), Seconds(3));
    world_->After(start, [this, machine, m = chosen[i], length = end - start] {
      if (!operating_) return;
      world_->net().Clog(machine->host(), length);
      if (timeline_ != nullptr) {
        timeline_->AddFault(m, NowNs(), NowNs() + length.count(), MarkKind::kClog,
                            StrCat("operator: swizzle-clog ", machine->name(), " for ",
                                   FormatDuration(length)));
      }
    });
  }
  world_->log().Note("operator", StrCat("swizzle-clog", names));
}

void ClusterScenario::TakeDownLeader(size_t m, bool crash, Duration lasts) {
  SimMachine* machine = members_->machines()[m];
  size_t down = 0;
  for (size_t other = 0; other < members_->size(); other++) {
    if (members_->seat(other).member) down += members_->machines()[other]->running() ? 0 : 1;
  }
  // Keep a majority of the members up, as the nemesis does.
  if (down + 1 > members_->SeatedMembers() / 2) return;
  const std::string what = StrCat(crash ? "crash" : "kill", " leader ", machine->name());
  world_->log().Note("operator", what);
  if (timeline_ != nullptr) {
    // Ends when the machine runs again (SampleMember sees it).
    timeline_->BeginFault(m, NowNs(), crash ? MarkKind::kCrash : MarkKind::kKill,
                          StrCat("operator: ", what));
  }
  if (crash) {
    machine->Crash();
  } else {
    machine->Kill();
  }
  leader_kills_++;
  downed_.push_back(m);
  world_->After(lasts, [this, machine] {
    if (!operating_ || machine->running()) return;
    world_->log().Note("operator", StrCat("restart ", machine->name()));
    machine->Start();
  });
}

void ClusterScenario::HealOperator() {
  for (const auto& [a, b] : cuts_) world_->net().Heal(a, b);
  cuts_.clear();
  for (size_t m : downed_) {
    SimMachine* machine = members_->machines()[m];
    if (!machine->running()) machine->Start();
  }
  downed_.clear();
}

// ---- the run ----

void ClusterScenario::Heal() {
  operating_ = false;
  if (nemesis_ != nullptr) nemesis_->StopAndHeal();
  HealOperator();
  if (membership_ != nullptr) membership_->Finish();
  workload_->Drain();
}

bool ClusterScenario::CheckLiveness() {
  const TimePoint healed = world_->now();
  if (!world_->RunUntil([this] { return !verdict_.ok() || workload_->drained(); },
                        kDrainLimit)) {
    Fail(StrCat("liveness: ", FormatDuration(kDrainLimit),
                " after the faults stopped, client requests are still pending (",
                workload_->recorder().pending(), " in flight):\n", members_->Describe()));
  }
  if (!verdict_.ok()) return false;
  // Each membership step still queued gets its own bound.
  const Duration operator_limit =
      kOperatorLimit *
      static_cast<int64_t>(1 + (membership_ != nullptr ? membership_->pending() : 0));
  if (membership_ != nullptr &&
      !world_->RunUntil([this] { return !verdict_.ok() || membership_->idle(); },
                        operator_limit)) {
    Fail(StrCat("liveness: ", FormatDuration(operator_limit),
                " after the clients drained, a membership change is still under way:\n",
                members_->Describe()));
  }
  if (!verdict_.ok()) return false;
  // Reconciling (uncertain seats, from the leader's list) may start a
  // member, so it goes on until convergence.
  std::vector<std::string> contradictions;
  if (!world_->RunUntil(
          [this, &contradictions] {
            if (!verdict_.ok()) return true;
            contradictions = members_->Reconcile();
            return members_->Converged();
          },
          kConvergeLimit)) {
    const std::vector<std::string> lagging = members_->Lagging();
    Fail(StrCat("liveness: ", FormatDuration(kConvergeLimit),
                " after the clients drained, the members have not converged on one "
                "leader, one applied index, one member list and one Hash",
                lagging.empty() ? ""
                                : StrCat(" (not caught up: ", absl::StrJoin(lagging, ", "), ")"),
                ":\n", members_->Describe()));
  }
  if (!verdict_.ok()) return false;
  if (!contradictions.empty()) {
    Fail(StrCat("membership: the converged member list contradicts changes the cluster "
                "acknowledged: ",
                absl::StrJoin(contradictions, "; "), "\n", members_->Describe()));
    return false;
  }
  converged_after_ = world_->now() - healed;
  workload_->RequestFinalRead();
  if (!world_->RunUntil([this] { return !verdict_.ok() || workload_->final_read_done(); },
                        kFinalReadLimit)) {
    Fail(StrCat("liveness: the final linearizable read did not succeed within ",
                FormatDuration(kFinalReadLimit), " of convergence:\n", members_->Describe()));
  }
  return verdict_.ok();
}

void ClusterScenario::CheckHistory() {
  history_ = workload_->TakeHistory();
  const check::History& history = *history_;
  auto report = check::CheckHistory(history);
  if (!report.ok()) {
    Fail(StrCat("the recorded history is malformed: ", report.status().ToString()));
    return;
  }
  report_ = std::move(*report);
  if (report_.ok()) return;
  const std::string path = StrCat("cluster-seed", options_.seed, ".history.jsonl");
  const absl::Status written = check::WriteHistoryFile(path, history);
  std::string text = check::FormatReport(report_);
  if (text.size() > kMaxReportBytes) {
    text.resize(kMaxReportBytes);
    text += "\n... (cut; run keel-check on the history for the whole report)";
  }
  Fail(StrCat("the history fails its checks",
              written.ok() ? StrCat(" (history written to ", path, ")")
                           : StrCat(" (writing it failed: ", written.ToString(), ")"),
              ":\n", text));
}

ScenarioResult ClusterScenario::Run() {
  members_->StartAll();
  client_machine_->Start();
  NemesisOptions nemesis_options = NemesisOptionsFor();
  if (timeline_ != nullptr) {
    nemesis_options.on_event = [this](const NemesisEvent& event) {
      timeline_->OnNemesisEvent(event);
    };
  }
  nemesis_ = std::make_unique<Nemesis>(*world_, members_->machines(), nemesis_options);
  operating_ = true;
  nemesis_->StartPlanned(NemesisSteps(plan_));
  for (const PlanStep& step : plan_.steps) {
    if (step.kind == PlanStep::Kind::kFault || step.kind == PlanStep::Kind::kHealAll) continue;
    world_->After(step.at, [this, step] { OperatorStep(step); });
  }
  world_->RunFor(options_.duration);
  if (verdict_.ok()) {
    Heal();
    if (CheckLiveness()) CheckHistory();
  }
  if (verdict_.ok() && workload_->stats().ok == 0) Fail("no client request ever succeeded");
  ScenarioResult result = Finish(*world_, verdict_);
  result.summary = Summary();
  auto ran = std::make_shared<Plan>(plan_);
  ran->clients = workload_->SlotsRun();
  result.plan = std::move(ran);
  if (timeline_ != nullptr) WriteTimeline(result);
  return result;
}

void ClusterScenario::SampleTimeline() {
  const int64_t now_ns = NowNs();
  for (size_t m = 0; m < members_->size(); m++) {
    const SimMachine& machine = *members_->machines()[m];
    MemberState state;
    if (!machine.running()) {
      state.role = MemberRole::kDown;
    } else if (node::Node* node = members_->node(m); node == nullptr) {
      state.role = MemberRole::kStarting;
    } else {
      // The server's view: whom it follows, and its term. A member up
      // without a leader is campaigning or waiting to hear of one.
      const node::Server& server = node->server();
      state.term = server.raft().term();
      state.role = server.raft().is_leader()       ? MemberRole::kLeader
                   : server.raft().leader() != 0 ? MemberRole::kFollower
                                          : MemberRole::kCandidate;
    }
    timeline_->SampleMember(m, now_ns, state, machine.running(), machine.paused(),
                            machine.incarnation());
  }
}

void ClusterScenario::WriteTimeline(ScenarioResult& result) {
  world_->set_step_observer(nullptr);
  TimelinePage page = std::move(*timeline_).Finish(NowNs());
  timeline_.reset();
  page.title =
      StrCat("keel-sim cluster, seed ", options_.seed, result.ok ? ": passed" : ": FAILED");
  if (const ScenarioInfo* info = ScenarioRegistry::Global().Find("cluster"); info != nullptr) {
    page.command = StrCat("keel-sim ", options_.plan_path.empty()
                                           ? ReplayFlags(*info, options_)
                                           : StrCat("--plan ", options_.plan_path));
  }
  page.summary = result.summary;
  page.verdict = result.failure;
  // Unless a failure stopped the run while the faults were still going.
  if (options_.duration.count() <= page.end_ns) page.faults_end_ns = options_.duration.count();
  page.history = history_.has_value() ? std::move(*history_) : workload_->TakeHistory();
  history_.reset();
  // The workload's client ids: clients, then watchers, then the final read.
  const check::ClientId clients = workload_->first_watcher();
  for (check::ClientId c = clients; c < clients + kWatchers; c++) {
    page.client_names[c] = StrCat("watcher ", c);
  }
  page.client_names[clients + kWatchers] = "final read";
  page.violations = report_.violations;
  const absl::StatusOr<size_t> written = WriteTimelineFile(options_.timeline_path, page);
  if (written.ok()) {
    result.outputs.push_back(StrCat("timeline ", options_.timeline_path, ", ", *written, " bytes"));
    return;
  }
  result.ok = false;
  StrAppend(&result.failure, result.failure.empty() ? "" : "\n", "--timeline: ",
            written.status().message());
}

std::string ClusterScenario::Summary() const {
  const ClusterWorkload::Stats& s = workload_->stats();
  const cluster::SnapshotTally snapshots = members_->snapshots();
  const cluster::MembershipTally m =
      membership_ != nullptr ? membership_->tally() : cluster::MembershipTally{};
  return absl::StrFormat(
      "clients=%d ok=%d failed=%d unknown=%d watches=%d watch_events=%d progress=%d "
      "leases=%d leases_ended=%d faults=%d "
      "isolations=%d leader_kills=%d swizzles=%d starts=%d failed_starts=%d fatal_stops=%d "
      "repairs=%d converged_after=%s gaps=%d search_steps=%d snapshot_chunk_bytes=%d "
      "snapshots_sent=%d in_chunks=%d chunks=%d installed=%d max_inflight_bytes=%d "
      "strict_reconfig=%d spares=%d member_steps=%d adds=%d promotes=%d removes=%d replaces=%d "
      "member_refused=%d member_skipped=%d member_unsettled=%d",
      workload_->clients(), s.ok, s.failed, s.unknown, s.watches, s.watch_events, s.watch_progress,
      s.leases_granted, s.leases_seen_ended,
      nemesis_ == nullptr ? 0 : nemesis_->faults_injected(), isolations_, leader_kills_, swizzles_,
      members_->starts(), members_->failed_starts(), members_->fatal_stops(),
      members_->repairs(), FormatDuration(converged_after_), report_.linearizability.gaps,
      report_.linearizability.search_steps, tuning_.snapshot_chunk_bytes, snapshots.sent,
      snapshots.sent_in_chunks, snapshots.chunks, snapshots.installed,
      tuning_.max_inflight_bytes, tuning_.strict_reconfig_check ? 1 : 0, plan_.spares, m.steps, m.adds, m.promotes, m.removes,
      m.replaces, m.refused, m.skipped, m.unsettled);
}

ScenarioResult RunClusterScenario(const ScenarioOptions& options) {
  ClusterScenario scenario(options);
  return scenario.Run();
}

}  // namespace

KEEL_SIM_SCENARIO(cluster, {
    .name = "cluster",
    .description = "keel members serve etcd clients linearizably (KV and watch) "
                   "under faults, and converge once the faults stop",
    .default_nodes = 3,
    .default_duration = Seconds(20),
    .supported_faults = FaultSet::Of({Fault::kPartition, Fault::kIsolate, Fault::kOneWay,
                                      Fault::kClog, Fault::kKill, Fault::kCrash,
                                      Fault::kPause, Fault::kDisk}),
    .takes_clients = true,
    .run = RunClusterScenario,
    .bugs = {"stale-read", "watch-skip", "progress-early", "ack-before-sync",
             "lease-early-expiry", "snapshot-stale-conf"},
    .timeline = true,
    .plans = true,
    // spares is 1 on each seed that drew membership steps.
    .sweep_totals = {"spares", "member_steps", "adds", "promotes", "removes", "replaces",
                     "member_refused", "member_skipped", "member_unsettled"},
});

}  // namespace keel::sim
