// The `raft` scenarios: machines, tuning drawn from the seed, the operator
// (leadership transfers, leader isolation, membership changes), the final
// liveness check, and the failover and throughput measurements.
//
// The operator follows the rules etcd's server and raft's own chaos tests
// (raft/rafttest) keep: every change goes through the leader, one at a
// time (only when the leader's state machine has applied its last one,
// RaftNode::applied_index()); voters are never demoted; the leader is never
// removed in one step (leadership is transferred away first); a voter is
// removed only if the voters that
// remain are a majority of the current configuration and a quorum of them
// is up, and a learner is promoted only once it has caught up (90% of the
// leader's log) and a quorum of the new configuration is up (etcd's strict
// reconfiguration checks). A removed member is stopped; its machine may
// later be wiped and added back as a learner under a new id (ids are never
// reused), which starts with an empty log and no peers, and catches up from
// the log or, once the log was compacted past its start, a leader's
// snapshot.
#include "sim/scenarios/raft_scenario.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "absl/strings/str_format.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "sim/nemesis.h"
#include "sim/scenarios/raft_member.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim {
namespace {

constexpr Duration kRestartAfterExit = Milliseconds(300);
// An add or remove that has not shown up in the leader's configuration by
// then is proposed again.
constexpr Duration kRequestRetry = Seconds(5);
constexpr size_t kNoMachine = std::numeric_limits<size_t>::max();

struct Slot {
  enum class Role { kMember, kJoining, kDormant };
  Role role = Role::kMember;
  RaftMemberFlags flags;
  RaftMember* live = nullptr;  // the running incarnation's member
  bool removing = false;       // the operator proposed its removal
  TimePoint requested{};       // when its add or removal was last proposed
};

// Clears a slot's pointer to its member when the member's frame dies.
struct LiveGuard {
  Slot* slot;
  ~LiveGuard() { slot->live = nullptr; }
};

bool InConfig(const raft::TrackerConfig& config, uint64_t id) {
  return config.voters.incoming.contains(id) || config.voters.outgoing.contains(id) ||
         config.learners.contains(id);
}

class RaftScenario {
 public:
  RaftScenario(const ScenarioOptions& options, RaftMode mode);
  ScenarioResult Run();

 private:
  Task<void> Boot(Env& env, size_t m);
  void DrawTuning();
  void Fail(std::string message);
  Duration Between(Duration min, Duration max);
  bool Up(size_t m) const;
  RaftMember* LiveMember(size_t m) const;
  RaftMember* Leader() const;
  size_t MachineOf(uint64_t id) const;

  void RunChaos();
  void OperatorTick();
  void TrackMembership(const raft::Raft& leader);
  void ChangeMembership(RaftMember& leader);
  void AddLearner(RaftMember& leader, size_t m);
  void ProposeAddLearner(RaftMember& leader, size_t m);
  bool RemoveMember(RaftMember& leader, size_t m);
  void PromoteLearner(RaftMember& leader, size_t m);
  void TransferLeadership(RaftMember& leader);
  void IsolateLeader(RaftMember& leader);
  void MaybeIsolateNewLeader(RaftMember& leader);
  void HealIsolation();
  void CheckLiveness();
  bool Converged() const;

  void RunFailover();
  void RunThroughput();
  std::string DescribeCluster() const;
  std::string Summary() const;

  ScenarioOptions options_;
  RaftMode mode_;
  // Declared before the world: the members that use them die with it.
  RaftCluster cluster_;
  std::vector<Slot> slots_;
  SimWorld world_;
  Random random_;  // the tuning's and the operator's choices
  std::vector<SimMachine*> machines_;
  std::unique_ptr<Nemesis> nemesis_;
  absl::Status verdict_;
  uint64_t initial_entries_ = 0;
  uint64_t next_id_ = 1;
  bool operating_ = false;
  std::vector<std::pair<int, int>> isolation_cuts_;
  uint64_t transfers_ = 0;
  uint64_t isolations_ = 0;
  uint64_t adds_ = 0;
  uint64_t removals_ = 0;
  uint64_t promotions_ = 0;
  std::vector<Duration> elections_;
  std::optional<Duration> converged_after_;
};

RaftScenario::RaftScenario(const ScenarioOptions& options, RaftMode mode)
    : options_(options),
      mode_(mode),
      slots_(static_cast<size_t>(options.nodes)),
      world_(WorldOptionsFor(options)),
      random_(world_.DeriveSeed(0x7a, 0xf7)) {
  KEEL_ASSERT(options_.nodes > 0);
  DrawTuning();
  cluster_.checker.set_on_failure([this](const std::string& message) { Fail(message); });
  const size_t n = slots_.size();
  for (size_t m = 0; m < n; m++) {
    machines_.push_back(&world_.AddMachine(
        {.name = StrCat("n", m + 1),
         .boot = [this, m](Env& env) { return Boot(env, m); },
         .restart_after_exit = kRestartAfterExit}));
  }
  std::vector<raft::Peer> peers;
  for (size_t m = 0; m < n; m++) {
    peers.push_back(raft::Peer{.id = m + 1,
                               .context = StrCat(machines_[m]->host(), ":", kRaftPort)});
  }
  for (size_t m = 0; m < n; m++) {
    slots_[m].flags = RaftMemberFlags{.id = m + 1,
                                      .address = peers[m].context,
                                      .initial = true,
                                      .initial_peers = peers};
    cluster_.checker.Name(m + 1, machines_[m]->name());
  }
  next_id_ = n + 1;
  initial_entries_ = n;
  cluster_.checker.Bootstrap(BootstrapEntries(peers));
}

void RaftScenario::DrawTuning() {
  RaftTuning& tuning = cluster_.tuning;
  if (mode_ == RaftMode::kChaos) {
    // Swarm testing: each seed runs one of raft's configurations.
    tuning.pre_vote = random_.OneIn(2);
    // RaftNode always checks the quorum, as etcd's server does; the draw
    // stays so the operator's choices that follow keep their stream.
    (void)random_.OneIn(4);
    const uint64_t sizes[] = {0, 4 << 10, 64 << 10};
    tuning.max_size_per_msg = sizes[random_.Uniform(3)];
    tuning.max_inflight_msgs = random_.OneIn(3) ? 4 : 256;
    // From a stream of its own, so the draws above and the operator's
    // (random_ goes on to choose them) stay what each seed had before.
    // Half the seeds bound the bytes in flight per follower to a few
    // entries (entries carry up to 128 bytes, 8 KiB under Buggify), so the
    // bound binds whenever a follower lags.
    Random more(world_.DeriveSeed(0x7a, 0xf8));
    static constexpr uint64_t kInflightBytes[] = {0, 0, 512, 4 << 10};
    tuning.max_inflight_bytes = kInflightBytes[more.Uniform(4)];
    // Every client asks for a read index now and then.
    tuning.read_every = 4;
    // A quarter of the seeds never compact; the rest snapshot every 10..200
    // entries and keep 0..50 behind, so a follower a little behind gets
    // entries and one further behind (or a new learner) gets a snapshot.
    Random snapshots(world_.DeriveSeed(0x7a, 0x5a));
    tuning.snapshot_every = snapshots.OneIn(4) ? 0 : 10 + snapshots.Uniform(191);
    tuning.snapshot_keep_entries = snapshots.Uniform(51);
    // A third of the seeds stream snapshots in chunks of a few dozen bytes
    // (a state file is a few hundred), the rest in one.
    static constexpr uint64_t kChunkBytes[] = {0, 0, 48};
    tuning.snapshot_chunk_bytes = kChunkBytes[snapshots.Uniform(3)];
  }
  if (mode_ == RaftMode::kThroughput) {
    tuning.propose_interval_min = Milliseconds(1);
    tuning.propose_interval_max = Milliseconds(1);
    tuning.proposals_per_wake = 32;
    tuning.max_outstanding = 1024;
  }
  if (options_.inject_bug) {
    tuning.bugs.double_vote = options_.bug == "double-vote";
    tuning.bugs.commit_old_term = options_.bug == "commit-old-term";
    tuning.bugs.stale_read_index = options_.bug == "stale-read-index";
    tuning.stale_snapshot = options_.bug == "stale-snapshot";
    // The bug lives in the snapshots: every seed takes them, often.
    if (tuning.stale_snapshot && tuning.snapshot_every == 0) tuning.snapshot_every = 10;
  }
}

void RaftScenario::Fail(std::string message) {
  if (!verdict_.ok()) return;
  world_.log().Note("checker", StrCat("FAILED: ", message));
  verdict_ = absl::InternalError(message);
  world_.Stop();
}

Duration RaftScenario::Between(Duration min, Duration max) {
  KEEL_ASSERT(min <= max);
  return min + Duration(static_cast<int64_t>(
                   random_.Uniform(static_cast<uint64_t>((max - min).count()) + 1)));
}

Task<void> RaftScenario::Boot(Env& env, size_t m) {
  Slot& slot = slots_[m];
  if (slot.role == Slot::Role::kDormant) {
    // Not a member: the machine idles until the operator reuses it.
    Event never;
    co_await never.Wait();
    co_return;
  }
  RaftMember member(env, cluster_, machines_[m]->name(), machines_[m]->incarnation(),
                    slot.flags);
  slot.live = &member;
  LiveGuard guard{&slot};
  co_await member.Run();
  // No fault in these scenarios damages synced data, so a refusal means the
  // log or its recovery is wrong, unless reads flip bits now: the WAL
  // refuses a record whose read failed its checksum, and the member's few
  // retries may all meet a flip when the log spans many segments. It stops
  // then, and its supervisor starts it again.
  if (member.refused()) {
    if (machines_[m]->disk().fault_rates().read_bit_flip > 0) {
      cluster_.stats.refusals++;
    } else {
      Fail(StrCat(machines_[m]->name(), " refused to start on its log: ",
                  member.stop_reason()));
    }
  }
  if (member.removed()) slot.role = Slot::Role::kDormant;
}

bool RaftScenario::Up(size_t m) const {
  return machines_[m]->running() && !machines_[m]->paused();
}

RaftMember* RaftScenario::LiveMember(size_t m) const {
  RaftMember* member = slots_[m].live;
  if (!Up(m) || member == nullptr || member->node() == nullptr) return nullptr;
  return member;
}

RaftMember* RaftScenario::Leader() const {
  RaftMember* best = nullptr;
  for (size_t m = 0; m < machines_.size(); m++) {
    RaftMember* member = LiveMember(m);
    if (member == nullptr) continue;
    const raft::Raft& raft = member->raft();
    if (raft.state() != raft::StateType::kLeader) continue;
    if (best == nullptr || raft.term() > best->raft().term()) best = member;
  }
  return best;
}

size_t RaftScenario::MachineOf(uint64_t id) const {
  for (size_t m = 0; m < slots_.size(); m++) {
    if (slots_[m].flags.id == id && slots_[m].role != Slot::Role::kDormant) return m;
  }
  return kNoMachine;
}

// ---- chaos: the nemesis, the operator and the final liveness check ----

void RaftScenario::RunChaos() {
  nemesis_ = std::make_unique<Nemesis>(
      world_, machines_,
      NemesisOptions{.faults = *options_.faults,
                     .quiet_min = Milliseconds(100),
                     .quiet_max = Seconds(2),
                     .fault_min = Milliseconds(200),
                     .fault_max = Seconds(4),
                     .max_down = machines_.size() / 2});
  for (SimMachine* machine : machines_) machine->Start();
  nemesis_->Start();
  operating_ = true;
  if (options_.faults->has(Fault::kIsolate) || options_.faults->has(Fault::kPartition)) {
    cluster_.on_elected = [this](RaftMember& leader) { MaybeIsolateNewLeader(leader); };
  }
  world_.After(Seconds(1), [this] { OperatorTick(); });
  world_.RunFor(options_.duration);
  if (verdict_.ok()) CheckLiveness();
  if (verdict_.ok()) cluster_.checker.CheckAllLogs();
  if (verdict_.ok() && cluster_.checker.committed_index() <= initial_entries_) {
    Fail("nothing was committed beyond the bootstrap entries");
  }
}

void RaftScenario::OperatorTick() {
  if (!operating_ || !verdict_.ok()) return;
  if (RaftMember* leader = Leader(); leader != nullptr) {
    TrackMembership(leader->raft());
    const uint64_t roll = random_.Uniform(100);
    const bool network_faults = options_.faults->has(Fault::kIsolate) ||
                                options_.faults->has(Fault::kPartition);
    if (roll < 15) {
      TransferLeadership(*leader);
    } else if (roll < 25 && network_faults) {
      IsolateLeader(*leader);
    } else if (roll < 65) {
      ChangeMembership(*leader);
    }
  }
  world_.After(Between(Milliseconds(300), Milliseconds(1500)), [this] { OperatorTick(); });
}

void RaftScenario::TrackMembership(const raft::Raft& leader) {
  const raft::TrackerConfig& config = leader.tracker().config;
  for (size_t m = 0; m < slots_.size(); m++) {
    Slot& slot = slots_[m];
    if (slot.role == Slot::Role::kJoining && InConfig(config, slot.flags.id)) {
      slot.role = Slot::Role::kMember;
    } else if (slot.role == Slot::Role::kMember && slot.removing &&
               !InConfig(config, slot.flags.id)) {
      // The removal is committed and applied: stop the member, as it would
      // stop itself once it learns.
      slot.removing = false;
      slot.role = Slot::Role::kDormant;
      machines_[m]->Kill();
      world_.log().Note("operator", StrCat(machines_[m]->name(), " (id ", slot.flags.id,
                                           ") is out of the cluster; stopped"));
    }
  }
}

void RaftScenario::ChangeMembership(RaftMember& leader) {
  const raft::Raft& raft = leader.raft();
  // One change at a time, and none while the leader has not applied one:
  // raft's own applied index counts what it handed to the applier, the
  // raft node's what the state machine holds.
  if (raft.pending_conf_index() > leader.node()->applied_index()) return;
  const raft::TrackerConfig& config = raft.tracker().config;
  if (config.joint()) return;
  const TimePoint now = world_.now();
  std::vector<size_t> dormant, learners, voters;
  for (size_t m = 0; m < slots_.size(); m++) {
    Slot& slot = slots_[m];
    const bool stale = now - slot.requested > kRequestRetry;
    if (slot.role == Slot::Role::kJoining) {
      if (stale) ProposeAddLearner(leader, m);  // the last request went nowhere
      return;
    }
    if (slot.removing) {
      if (stale && !RemoveMember(leader, m)) slot.removing = false;
      return;
    }
    if (slot.role == Slot::Role::kDormant) dormant.push_back(m);
    if (slot.role != Slot::Role::kMember) continue;
    if (config.learners.contains(slot.flags.id)) learners.push_back(m);
    if (config.voters.incoming.contains(slot.flags.id)) voters.push_back(m);
  }
  auto pick = [this](const std::vector<size_t>& from) {
    return from[random_.Uniform(from.size())];
  };
  // Mostly a cycle: remove a voter, add its machine back as a learner,
  // promote it; now and then a learner is removed before its promotion.
  const uint64_t roll = random_.Uniform(100);
  if (roll < 30) {
    if (!dormant.empty()) AddLearner(leader, pick(dormant));
  } else if (roll < 70) {
    if (!learners.empty()) PromoteLearner(leader, pick(learners));
  } else if (roll < 90) {
    if (!voters.empty()) RemoveMember(leader, pick(voters));
  } else if (!learners.empty()) {
    RemoveMember(leader, pick(learners));
  }
}

void RaftScenario::AddLearner(RaftMember& leader, size_t m) {
  SimMachine& machine = *machines_[m];
  Slot& slot = slots_[m];
  KEEL_ASSERT(slot.role == Slot::Role::kDormant);
  machine.Kill();  // the idle process
  machine.Wipe();
  cluster_.checker.OnWiped(slot.flags.id);
  // A new member with a new id (etcd never reuses one), joining an
  // existing cluster: it waits for the leader to replay the log to it.
  slot.flags = RaftMemberFlags{.id = next_id_++,
                               .address = StrCat(machine.host(), ":", kRaftPort),
                               .initial = false};
  slot.role = Slot::Role::kJoining;
  slot.removing = false;
  cluster_.checker.Name(slot.flags.id, machine.name());
  adds_++;
  ProposeAddLearner(leader, m);
  machine.Start();
}

void RaftScenario::ProposeAddLearner(RaftMember& leader, size_t m) {
  Slot& slot = slots_[m];
  raft::ConfChange change;
  change.set_type(raftpb::ConfChangeAddLearnerNode);
  change.set_node_id(slot.flags.id);
  change.set_context(slot.flags.address);
  const absl::Status proposed = leader.ProposeConfChange(change);
  slot.requested = world_.now();
  world_.log().Note("operator", StrCat("add learner ", machines_[m]->name(), " (id ",
                                       slot.flags.id, ") via ", leader.name(), ": ",
                                       proposed.ToString()));
}

bool RaftScenario::RemoveMember(RaftMember& leader, size_t m) {
  Slot& slot = slots_[m];
  const uint64_t id = slot.flags.id;
  const raft::TrackerConfig& config = leader.raft().tracker().config;
  if (!config.learners.contains(id)) {
    if (!config.voters.incoming.contains(id)) return false;
    const size_t voters = config.voters.incoming.size();
    // The voters that remain must be a majority of the current
    // configuration...
    if (voters - 1 < voters / 2 + 1) return false;
    // ...and a quorum of them must be up (etcd's strict reconfig check).
    size_t up = 0;
    for (uint64_t voter : config.voters.incoming) {
      const size_t at = MachineOf(voter);
      if (voter != id && at != kNoMachine && Up(at)) up++;
    }
    if (up < (voters - 1) / 2 + 1) return false;
    if (id == leader.id()) {
      // Never remove the leader in one step: hand leadership over first
      // and remove it from its successor later.
      TransferLeadership(leader);
      slot.removing = true;
      slot.requested = world_.now();
      return true;
    }
  }
  raft::ConfChange change;
  change.set_type(raftpb::ConfChangeRemoveNode);
  change.set_node_id(id);
  const absl::Status proposed = leader.ProposeConfChange(change);
  slot.removing = true;
  slot.requested = world_.now();
  removals_++;
  world_.log().Note("operator", StrCat("remove ", machines_[m]->name(), " (id ", id,
                                       ") via ", leader.name(), ": ", proposed.ToString()));
  return true;
}

void RaftScenario::PromoteLearner(RaftMember& leader, size_t m) {
  const uint64_t id = slots_[m].flags.id;
  const raft::Raft& raft = leader.raft();
  auto progress = raft.tracker().progress.find(id);
  if (progress == raft.tracker().progress.end()) return;
  // etcd promotes a learner only once it holds 90% of the leader's log.
  if (progress->second.match * 10 < raft.log().LastIndex() * 9) return;
  const auto& voters = raft.tracker().config.voters.incoming;
  size_t up = Up(m) ? 1 : 0;
  for (uint64_t voter : voters) {
    const size_t at = MachineOf(voter);
    if (at != kNoMachine && Up(at)) up++;
  }
  if (up < (voters.size() + 1) / 2 + 1) return;
  raft::ConfChange change;
  change.set_type(raftpb::ConfChangeAddNode);
  change.set_node_id(id);
  const absl::Status proposed = leader.ProposeConfChange(change);
  promotions_++;
  world_.log().Note("operator", StrCat("promote ", machines_[m]->name(), " (id ", id,
                                       ") via ", leader.name(), ": ", proposed.ToString()));
}

void RaftScenario::TransferLeadership(RaftMember& leader) {
  std::vector<uint64_t> targets;
  for (uint64_t voter : leader.raft().tracker().config.voters.incoming) {
    const size_t at = MachineOf(voter);
    if (voter != leader.id() && at != kNoMachine && Up(at)) targets.push_back(voter);
  }
  if (targets.empty()) return;
  const uint64_t target = targets[random_.Uniform(targets.size())];
  world_.log().Note("operator", StrCat("transfer leadership from ", leader.name(),
                                       " to id ", target));
  leader.TransferLeader(target);
  transfers_++;
}

void RaftScenario::IsolateLeader(RaftMember& leader) {
  if (!isolation_cuts_.empty()) return;
  SimNetwork& net = world_.net();
  const int x = net.HostIndex(machines_[MachineOf(leader.id())]->host());
  KEEL_ASSERT(x >= 0);
  for (int y = 0; y < static_cast<int>(net.hosts().size()); y++) {
    if (y == x) continue;
    for (const auto& [a, b] : {std::pair{x, y}, std::pair{y, x}}) {
      // Cuts the nemesis made are its own to heal.
      if (net.IsCut(a, b)) continue;
      net.Cut(net.hosts()[a], net.hosts()[b]);
      isolation_cuts_.emplace_back(a, b);
    }
  }
  isolations_++;
  const Duration d = Between(Milliseconds(500), Seconds(4));
  world_.log().Note("operator", StrCat("isolate the leader ", leader.name(), " for ",
                                       FormatDuration(d)));
  world_.After(d, [this] { HealIsolation(); });
}

void RaftScenario::MaybeIsolateNewLeader(RaftMember& leader) {
  // A new leader cut off within milliseconds may have replicated old
  // entries but not its own first one: the schedule of the Raft paper's
  // figure 8, where committing an old entry by counting loses it.
  if (!operating_ || !isolation_cuts_.empty() || !random_.OneIn(8)) return;
  const uint64_t id = leader.id();
  world_.After(Between(Duration::zero(), Milliseconds(30)), [this, id] {
    const size_t m = MachineOf(id);
    if (!operating_ || m == kNoMachine || slots_[m].live == nullptr) return;
    IsolateLeader(*slots_[m].live);
  });
}

void RaftScenario::HealIsolation() {
  SimNetwork& net = world_.net();
  for (const auto& [a, b] : isolation_cuts_) net.Heal(net.hosts()[a], net.hosts()[b]);
  isolation_cuts_.clear();
}

void RaftScenario::CheckLiveness() {
  operating_ = false;
  nemesis_->StopAndHeal();
  HealIsolation();
  cluster_.clients_enabled = false;
  const TimePoint healed = world_.now();
  const bool converged = world_.RunUntil(
      [this] { return !verdict_.ok() || Converged(); }, kLivenessLimit);
  if (!verdict_.ok()) return;
  if (!converged) {
    Fail(StrCat("liveness: ", FormatDuration(kLivenessLimit),
                " after the faults stopped, the members have not converged on one "
                "leader and one commit and applied index:\n",
                DescribeCluster()));
    return;
  }
  converged_after_ = world_.now() - healed;
}

bool RaftScenario::Converged() const {
  const RaftMember* leader = Leader();
  if (leader == nullptr) return false;
  const raft::Raft& raft = leader->raft();
  const uint64_t commit = raft.log().committed();
  if (commit != raft.log().LastIndex() || leader->applied() != commit) return false;
  absl::StatusOr<uint64_t> term = raft.log().Term(commit);
  if (!term.ok() || *term != raft.term()) return false;  // its own entry committed
  const raft::TrackerConfig& config = raft.tracker().config;
  std::vector<uint64_t> ids = raft.tracker().VoterNodes();
  ids.insert(ids.end(), config.learners.begin(), config.learners.end());
  for (uint64_t id : ids) {
    const size_t m = MachineOf(id);
    const RaftMember* member = m == kNoMachine ? nullptr : LiveMember(m);
    if (member == nullptr) return false;
    const raft::Raft& follower = member->raft();
    if (follower.term() != raft.term() || follower.lead() != leader->id() ||
        follower.log().committed() != commit || follower.log().LastIndex() != commit ||
        member->applied() != commit) {
      return false;
    }
  }
  return true;
}

std::string RaftScenario::DescribeCluster() const {
  std::string out;
  for (size_t m = 0; m < machines_.size(); m++) {
    const Slot& slot = slots_[m];
    StrAppend(&out, "  ", machines_[m]->name(), " (id ", slot.flags.id, "): ");
    if (slot.role == Slot::Role::kDormant) {
      out += "not a member\n";
      continue;
    }
    if (slot.role == Slot::Role::kJoining) out += "joining, ";
    const RaftMember* member = LiveMember(m);
    if (member == nullptr) {
      out += machines_[m]->running() ? "paused or starting\n" : "down\n";
      continue;
    }
    const raft::Raft& raft = member->raft();
    StrAppend(&out, raft::StateTypeName(raft.state()), " term ", raft.term(), " lead ",
              raft.lead(), " last ", raft.log().LastIndex(), " commit ",
              raft.log().committed(), " applied ", member->applied(), " config ",
              raft.tracker().config.String(), "\n");
  }
  return out;
}

// ---- measurements ----

void RaftScenario::RunFailover() {
  for (SimMachine* machine : machines_) machine->Start();
  world_.RunFor(Seconds(3));
  while (verdict_.ok() && world_.elapsed() < options_.duration) {
    world_.RunUntil([this] { return Leader() != nullptr; }, Seconds(30));
    RaftMember* leader = Leader();
    if (leader == nullptr) {
      Fail(StrCat("no leader within 30s:\n", DescribeCluster()));
      break;
    }
    const uint64_t term = leader->raft().term();
    const size_t m = MachineOf(leader->id());
    machines_[m]->Kill();
    const TimePoint killed = world_.now();
    const bool elected = world_.RunUntil(
        [this, term] {
          const RaftMember* next = Leader();
          return next != nullptr && next->raft().term() > term;
        },
        Seconds(30));
    if (!verdict_.ok()) break;
    if (!elected) {
      Fail(StrCat("no new leader within 30s of killing ", machines_[m]->name(), ":\n",
                  DescribeCluster()));
      break;
    }
    elections_.push_back(world_.now() - killed);
    machines_[m]->Start();
    // Let it catch up, and kill the next leader at a random phase of the
    // ticks.
    world_.RunFor(Seconds(2) + Between(Duration::zero(), Seconds(1)));
  }
}

void RaftScenario::RunThroughput() {
  for (SimMachine* machine : machines_) machine->Start();
  world_.RunFor(options_.duration);
}

std::string RaftScenario::Summary() const {
  const RaftTuning& tuning = cluster_.tuning;
  const RaftClusterStats& stats = cluster_.stats;
  std::string out = absl::StrFormat(
      "committed=%d leaders=%d proposed=%d acked=%d recoveries=%d torn_tails=%d "
      "disk_stops=%d",
      cluster_.checker.committed_index(), cluster_.checker.leaders_seen(),
      stats.proposed, stats.acknowledged, stats.recoveries, stats.torn_tails,
      stats.disk_stops);
  if (mode_ == RaftMode::kChaos) {
    StrAppend(&out, " conf_applied=", stats.conf_changes_applied, " adds=", adds_,
              " removals=", removals_, " promotions=", promotions_,
              " transfers=", transfers_, " isolations=", isolations_, " faults=",
              nemesis_ == nullptr ? 0 : nemesis_->faults_injected(),
              " pre_vote=", tuning.pre_vote ? 1 : 0,
              " max_msg_bytes=", tuning.max_size_per_msg,
              " max_inflight=", tuning.max_inflight_msgs,
              " max_inflight_bytes=", tuning.max_inflight_bytes,
              " byte_pauses=", stats.byte_pauses, " reads=", stats.reads,
              " reads_answered=", cluster_.checker.reads_answered(),
              " snapshot_every=", tuning.snapshot_every,
              " snapshots_taken=", stats.snapshots_taken,
              " snapshots_sent=", stats.snapshots_sent,
              " snapshots_installed=", stats.snapshots_installed,
              " segments_released=", stats.segments_released,
              " refusals=", stats.refusals,
              " snapshot_chunk_bytes=", tuning.snapshot_chunk_bytes);
    if (converged_after_.has_value()) {
      StrAppend(&out, " converged_after=", FormatDuration(*converged_after_));
    }
  }
  if (mode_ == RaftMode::kThroughput) {
    // Entries committed per simulated second (keel-sim adds the rate per
    // wall second, which the run itself cannot know).
    const double simulated = static_cast<double>(options_.duration.count()) / 1e9;
    const double committed = static_cast<double>(cluster_.checker.committed_index());
    StrAppend(&out, " committed_per_sim_s=",
              absl::StrFormat("%.0f", simulated > 0 ? committed / simulated : 0.0));
  }
  if (mode_ == RaftMode::kFailover && !elections_.empty()) {
    std::vector<Duration> sorted = elections_;
    std::sort(sorted.begin(), sorted.end());
    std::string list;
    for (Duration d : elections_) {
      StrAppend(&list, list.empty() ? "" : ",", d.count() / 1'000'000);
    }
    StrAppend(&out, " elections=", elections_.size(), " median_ms=",
              sorted[sorted.size() / 2].count() / 1'000'000, " elections_ms=", list);
  }
  return out;
}

ScenarioResult RaftScenario::Run() {
  switch (mode_) {
    case RaftMode::kChaos:
      RunChaos();
      break;
    case RaftMode::kFailover:
      RunFailover();
      break;
    case RaftMode::kThroughput:
      RunThroughput();
      break;
  }
  ScenarioResult result = Finish(world_, verdict_);
  result.summary = Summary();
  return result;
}

}  // namespace

std::vector<raftpb::Entry> BootstrapEntries(const std::vector<raft::Peer>& peers) {
  std::vector<raftpb::Entry> entries;
  for (const raft::Peer& peer : peers) {
    raft::ConfChange change;
    change.set_type(raftpb::ConfChangeAddNode);
    change.set_node_id(peer.id);
    change.set_context(peer.context);
    raftpb::Entry& entry = entries.emplace_back();
    entry.set_type(raftpb::EntryConfChange);
    entry.set_term(1);
    entry.set_index(entries.size());
    entry.set_data(change.SerializeAsString());
  }
  return entries;
}

ScenarioResult RunRaftScenario(const ScenarioOptions& options, RaftMode mode) {
  ScenarioOptions run = options;
  // A measurement: Buggify's 8 KiB entries on some seeds would make the
  // figure depend on the seed (seed 2 wrote ten times the bytes and ran
  // seven times slower than seeds 1 and 3).
  if (mode == RaftMode::kThroughput) run.buggify = false;
  RaftScenario scenario(run, mode);
  return scenario.Run();
}

KEEL_SIM_SCENARIO(raft, {
    .name = "raft",
    .description = "raft members under faults, membership changes, leader "
                   "transfers, log compaction and snapshots; safety checked "
                   "throughout, liveness at the end",
    .default_nodes = 3,
    .default_duration = Seconds(30),
    .supported_faults = FaultSet::All().Without(Fault::kCorrupt),
    .run = [](const ScenarioOptions& options) {
      return RunRaftScenario(options, RaftMode::kChaos);
    },
    .bugs = {"double-vote", "commit-old-term", "stale-read-index", "stale-snapshot"},
});

KEEL_SIM_SCENARIO(raft_failover, {
    .name = "raft-failover",
    .description = "the raft leader is killed again and again; how long "
                   "each election takes",
    .default_nodes = 3,
    .default_duration = Seconds(60),
    .supported_faults = FaultSet::None(),
    .run = [](const ScenarioOptions& options) {
      return RunRaftScenario(options, RaftMode::kFailover);
    },
});

KEEL_SIM_SCENARIO(raft_throughput, {
    .name = "raft-throughput",
    .description = "raft members with clients proposing flat out, no faults",
    .default_nodes = 3,
    .default_duration = Seconds(10),
    .supported_faults = FaultSet::None(),
    .run = [](const ScenarioOptions& options) {
      return RunRaftScenario(options, RaftMode::kThroughput);
    },
});

}  // namespace keel::sim
