// Scenario `cluster-lock`: the cluster scenario's members (real keel
// members on simulated machines, cluster_members.h) and nemesis, driven by
// the lock workload (lock_workload.h): clients that take one lock through
// the Lock service on short leases, some of which they stop keeping alive,
// and write as holders only through txns fenced by their lock key's create
// revision. Members are killed, crashed, paused and partitioned; leases
// expire under holders that paused past them.
//
// The run: chaos for --duration; heal (the faults stop, every member is
// restarted, the clients finish their rounds, and one more client takes
// the lock and makes a fenced write, each within a bound or the run
// fails); then check::CheckFencedWrites on every acknowledged fenced
// write: no two holders' writes interleave (doc/locks.md).
//
// It is a scenario of its own rather than more clients of `cluster`: the
// Lock service's writes (contender keys, unlocks, lease expiries) take
// revisions no operation of that scenario's history accounts for, which
// its linearizability checker rightly refuses.
//
// --inject-bug lock-skips-wait: the Lock service answers without waiting
// for the keys created before the caller's (node::failpoints::ServerBugs),
// so two clients hold the lock at once and the checker must say so.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "check/lock_checker.h"
#include "runtime/random.h"
#include "runtime/strings.h"
#include "sim/nemesis.h"
#include "sim/scenario.h"
#include "sim/scenarios/cluster_members.h"
#include "sim/scenarios/lock_workload.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim {
namespace {

using cluster::ClusterMembers;
using cluster::LockWorkload;

constexpr char kClientHost[] = "10.0.0.100";
constexpr int kDefaultClients = 4;
// Lock waits for at most 10 s and other calls for 2 s; a round pauses at
// most a few lease TTLs.
constexpr Duration kDrainLimit = Seconds(60);
constexpr Duration kFinalHoldLimit = Seconds(30);

class LockScenario {
 public:
  explicit LockScenario(const ScenarioOptions& options);
  ~LockScenario();
  ScenarioResult Run();

 private:
  void Fail(std::string message);

  ScenarioOptions options_;
  std::unique_ptr<SimWorld> world_;
  std::unique_ptr<ClusterMembers> members_;
  std::unique_ptr<LockWorkload> workload_;
  SimMachine* client_machine_ = nullptr;
  std::unique_ptr<Nemesis> nemesis_;
  absl::Status verdict_;
};

LockScenario::LockScenario(const ScenarioOptions& options)
    : options_(options), world_(std::make_unique<SimWorld>(WorldOptionsFor(options))) {
  cluster::ServerBugs bugs;
  bugs.lock_skips_wait = options.inject_bug;
  members_ = std::make_unique<ClusterMembers>(*world_, options_.nodes, cluster::MemberTuning{},
                                              bugs);
  Random random(world_->DeriveSeed(0x10c4, 0));
  std::vector<uint64_t> seeds;
  const int clients = options_.clients > 0 ? options_.clients : kDefaultClients;
  for (int c = 0; c < clients; c++) seeds.push_back(random.Next());
  workload_ = std::make_unique<LockWorkload>(members_->ClientEndpoints(), std::move(seeds));
  client_machine_ = &world_->AddMachine(
      {.name = "clients",
       .host = kClientHost,
       .boot = [this](Env& env) { return workload_->Run(env); }});
}

LockScenario::~LockScenario() {
  nemesis_.reset();
  world_.reset();
}

void LockScenario::Fail(std::string message) {
  if (!verdict_.ok()) return;
  world_->log().Note("checker", StrCat("FAILED: ", message));
  verdict_ = absl::InternalError(std::move(message));
  world_->Stop();
}

ScenarioResult LockScenario::Run() {
  members_->StartAll();
  client_machine_->Start();
  NemesisOptions nemesis_options;
  nemesis_options.faults = *options_.faults;
  nemesis_options.quiet_min = Milliseconds(200);
  nemesis_options.quiet_max = Seconds(3);
  nemesis_options.fault_min = Milliseconds(300);
  nemesis_options.fault_max = Seconds(4);
  nemesis_options.max_down = static_cast<size_t>(options_.nodes) / 2;
  nemesis_ = std::make_unique<Nemesis>(*world_, members_->machines(), nemesis_options);
  nemesis_->Start();
  world_->RunFor(options_.duration);
  nemesis_->StopAndHeal();
  workload_->Drain();
  if (!world_->RunUntil([this] { return !verdict_.ok() || workload_->drained(); },
                        kDrainLimit)) {
    Fail(StrCat("liveness: ", FormatDuration(kDrainLimit),
                " after the faults stopped, lock clients are still in a round:\n",
                members_->Describe()));
  }
  if (verdict_.ok()) {
    workload_->RequestFinalHold();
    if (!world_->RunUntil([this] { return !verdict_.ok() || workload_->final_hold_done(); },
                          kFinalHoldLimit)) {
      Fail(StrCat("liveness: ", FormatDuration(kFinalHoldLimit),
                  " after the clients drained, no client could take the lock and make a "
                  "fenced write:\n",
                  members_->Describe()));
    }
  }
  std::vector<check::Violation> violations;
  if (verdict_.ok()) {
    violations = check::CheckFencedWrites(workload_->writes());
    if (!violations.empty()) {
      std::string text;
      for (const check::Violation& v : violations) StrAppend(&text, FormatViolation(v), "\n");
      Fail(StrCat("the fenced writes fail their check:\n", text));
    }
  }
  ScenarioResult result = Finish(*world_, verdict_);
  const LockWorkload::Stats& s = workload_->stats();
  result.summary = absl::StrFormat(
      "clients=%d rounds=%d acquired=%d fenced_ok=%d fenced_refused=%d failed=%d "
      "unkept_leases=%d pauses=%d faults=%d starts=%d",
      workload_->clients(), s.rounds, s.acquired, s.fenced_ok, s.fenced_refused, s.failed,
      s.unkept_leases, s.pauses, nemesis_->faults_injected(), members_->starts());
  return result;
}

ScenarioResult RunLockScenario(const ScenarioOptions& options) {
  LockScenario scenario(options);
  return scenario.Run();
}

}  // namespace

KEEL_SIM_SCENARIO(cluster_lock, {
    .name = "cluster-lock",
    .description = "lock holders' fenced writes never interleave under faults, "
                   "lease expiry and member kills",
    .default_nodes = 3,
    .default_duration = Seconds(20),
    .supported_faults = FaultSet::Of({Fault::kPartition, Fault::kIsolate, Fault::kOneWay,
                                      Fault::kClog, Fault::kKill, Fault::kCrash,
                                      Fault::kPause, Fault::kDisk}),
    .takes_clients = true,
    .run = RunLockScenario,
});

}  // namespace keel::sim
