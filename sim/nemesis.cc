// The nemesis schedule: choosing, applying and undoing faults.
#include "sim/nemesis.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "sim/sim_machine.h"
#include "sim/sim_world.h"

namespace keel::sim {

namespace {
constexpr Fault kAllFaults[kFaultKinds] = {
    Fault::kPartition, Fault::kIsolate, Fault::kOneWay,
    Fault::kClog,      Fault::kKill,    Fault::kCrash,
    Fault::kPause,     Fault::kDisk,    Fault::kCorrupt,
};

std::string FormatSeconds(Duration d) {
  return absl::StrFormat("%.3fs", static_cast<double>(d.count()) / 1e9);
}
}  // namespace

std::string_view FaultName(Fault fault) {
  switch (fault) {
    case Fault::kPartition:
      return "partition";
    case Fault::kIsolate:
      return "isolate";
    case Fault::kOneWay:
      return "oneway";
    case Fault::kClog:
      return "clog";
    case Fault::kKill:
      return "kill";
    case Fault::kCrash:
      return "crash";
    case Fault::kPause:
      return "pause";
    case Fault::kDisk:
      return "disk";
    case Fault::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

FaultSet FaultSet::All() {
  FaultSet set;
  for (Fault fault : kAllFaults) set = set.With(fault);
  return set;
}

FaultSet FaultSet::Of(std::initializer_list<Fault> faults) {
  FaultSet set;
  for (Fault fault : faults) set = set.With(fault);
  return set;
}

FaultSet FaultSet::With(Fault fault) const {
  FaultSet set = *this;
  set.bits_ |= 1u << static_cast<int>(fault);
  return set;
}

FaultSet FaultSet::Without(Fault fault) const {
  FaultSet set = *this;
  set.bits_ &= ~(1u << static_cast<int>(fault));
  return set;
}

std::vector<Fault> FaultSet::list() const {
  std::vector<Fault> faults;
  for (Fault fault : kAllFaults) {
    if (has(fault)) faults.push_back(fault);
  }
  return faults;
}

std::string FaultSet::ToString() const {
  if (empty()) return "none";
  std::string out;
  for (Fault fault : list()) {
    if (!out.empty()) out.push_back(',');
    out.append(FaultName(fault));
  }
  return out;
}

absl::StatusOr<FaultSet> FaultSet::Parse(std::string_view text,
                                         FaultSet supported) {
  if (text == "all") return supported;
  if (text == "none" || text.empty()) return FaultSet();
  FaultSet set;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view name = text.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    bool known = false;
    for (Fault fault : kAllFaults) {
      if (FaultName(fault) != name) continue;
      known = true;
      if (!supported.has(fault)) {
        return absl::InvalidArgumentError(
            StrCat("fault '", name, "' is not supported here (supported: ",
                   supported.ToString(), ")"));
      }
      set = set.With(fault);
    }
    if (!known) {
      return absl::InvalidArgumentError(
          StrCat("unknown fault '", name, "' (known: ", All().ToString(), ")"));
    }
  }
  return set;
}

Nemesis::Nemesis(SimWorld& world, std::vector<SimMachine*> machines,
                 NemesisOptions options)
    : world_(world),
      machines_(std::move(machines)),
      options_(std::move(options)),
      random_(world.DeriveSeed(0x6e656d65, 0)) {
  KEEL_ASSERT(options_.quiet_min <= options_.quiet_max);
  KEEL_ASSERT(options_.fault_min <= options_.fault_max);
}

Nemesis::~Nemesis() {
  for (uint64_t id : pending_) world_.Cancel(id);
}

Duration Nemesis::Between(Duration min, Duration max) {
  return Duration(random_.UniformRange(min.count(), max.count()));
}

void Nemesis::Start() {
  if (options_.faults.empty() || machines_.empty() || running_) return;
  running_ = true;
  auto id = std::make_shared<uint64_t>(0);
  *id = world_.After(Between(options_.quiet_min, options_.quiet_max), [this, id] {
    pending_.erase(*id);
    Step();
  });
  pending_.insert(*id);
}

void Nemesis::Step() {
  if (!running_) return;
  if (random_.Bernoulli(options_.heal_all_probability)) {
    HealEverything();
  } else {
    const std::vector<Fault> faults = options_.faults.list();
    Inject(faults[random_.Uniform(faults.size())]);
  }
  auto id = std::make_shared<uint64_t>(0);
  *id = world_.After(Between(options_.quiet_min, options_.quiet_max), [this, id] {
    pending_.erase(*id);
    Step();
  });
  pending_.insert(*id);
}

void Nemesis::Later(absl::AnyInvocable<void()> undo) {
  auto id = std::make_shared<uint64_t>(0);
  *id = world_.After(Between(options_.fault_min, options_.fault_max),
                     [this, id, undo = std::move(undo)]() mutable {
                       pending_.erase(*id);
                       undo();
                     });
  pending_.insert(*id);
}

void Nemesis::Inject(Fault fault) {
  switch (fault) {
    case Fault::kPartition:
    case Fault::kIsolate:
    case Fault::kOneWay:
    case Fault::kClog:
      InjectNetwork(fault);
      return;
    case Fault::kKill:
    case Fault::kCrash:
    case Fault::kPause:
      InjectProcess(fault);
      return;
    case Fault::kDisk:
    case Fault::kCorrupt:
      InjectDisk(fault);
      return;
  }
}

void Nemesis::Emit(bool begin, Fault fault, std::vector<size_t> machines,
                   std::string description, std::optional<Duration> one_shot) {
  if (begin) {
    faults_injected_++;
    counts_[fault]++;
  }
  world_.trace().Record(TraceKind::kNemesis, static_cast<uint64_t>(fault),
                        begin ? 1 : 0, machines.empty() ? 0 : machines[0]);
  world_.log().Note("nemesis", StrCat(begin ? "begin " : "end ", description));
  if (options_.on_event) {
    options_.on_event(NemesisEvent{.at = world_.now(),
                                   .begin = begin,
                                   .heal_all = false,
                                   .fault = fault,
                                   .machines = std::move(machines),
                                   .description = std::move(description),
                                   .one_shot = one_shot.has_value(),
                                   .lasts = one_shot.value_or(Duration::zero())});
  }
}

void Nemesis::EmitHealAll() {
  world_.trace().Record(TraceKind::kNemesis, 99, 0);
  world_.log().Note("nemesis", "heal all");
  if (options_.on_event) {
    options_.on_event(NemesisEvent{.at = world_.now(),
                                   .begin = false,
                                   .heal_all = true,
                                   .fault = Fault::kPartition,
                                   .machines = {},
                                   .description = "heal all"});
  }
}

int Nemesis::PickUp() {
  std::vector<size_t> up;
  for (size_t i = 0; i < machines_.size(); i++) {
    if (machines_[i]->running() && !machines_[i]->paused() && !down_.count(i)) {
      up.push_back(i);
    }
  }
  if (up.empty()) return -1;
  return static_cast<int>(up[random_.Uniform(up.size())]);
}

void Nemesis::AddCut(int source, int target) {
  if (cut_refs_[{source, target}]++ == 0) {
    const auto& hosts = world_.net().hosts();
    world_.net().Cut(hosts[source], hosts[target]);
  }
}

void Nemesis::RemoveCut(int source, int target) {
  auto it = cut_refs_.find({source, target});
  if (it == cut_refs_.end()) return;  // healed by a heal-all meanwhile
  if (--it->second > 0) return;
  cut_refs_.erase(it);
  const auto& hosts = world_.net().hosts();
  world_.net().Heal(hosts[source], hosts[target]);
}

// The on-the-fly schedule draws a step's targets and duration here (in the
// order it always has, so seeds keep their runs) and applies it as a
// planned step is applied.
void Nemesis::InjectNetwork(Fault fault) {
  const size_t n = machines_.size();
  FaultStep step;
  step.fault = fault;
  if (fault == Fault::kClog) {
    step.targets = {static_cast<size_t>(random_.Uniform(n))};
    step.lasts = Between(options_.fault_min, options_.fault_max);
    ExecuteNetwork(step);
    return;
  }
  if (n < 2) return;
  if (fault == Fault::kPartition) {
    std::vector<bool> side(n);
    do {
      for (size_t i = 0; i < n; i++) side[i] = random_.OneIn(2);
    } while (std::all_of(side.begin(), side.end(), [](bool b) { return b; }) ||
             std::none_of(side.begin(), side.end(), [](bool b) { return b; }));
    for (size_t i = 0; i < n; i++) {
      if (side[i]) step.targets.push_back(i);
    }
  } else if (fault == Fault::kIsolate) {
    step.targets = {static_cast<size_t>(random_.Uniform(n))};
  } else {
    const size_t a = random_.Uniform(n);
    size_t b = random_.Uniform(n - 1);
    if (b >= a) b++;
    step.targets = {a, b};
  }
  step.lasts = Between(options_.fault_min, options_.fault_max);
  ExecuteNetwork(step);
}

void Nemesis::InjectProcess(Fault fault) {
  if (down_.size() >= options_.max_down) return;
  const int picked = PickUp();
  if (picked < 0) return;
  FaultStep step;
  step.fault = fault;
  step.targets = {static_cast<size_t>(picked)};
  step.lasts = Between(options_.fault_min, options_.fault_max);
  ExecuteProcess(step);  // PickUp chose a running machine: nothing is skipped
}

void Nemesis::InjectDisk(Fault fault) {
  const size_t m = random_.Uniform(machines_.size());
  ApplyDisk(fault, m, random_, std::nullopt);
}

// ---- planned runs: the schedule drawn up front, then executed ----

std::vector<FaultStep> Nemesis::Schedule(const NemesisOptions& options, size_t machines,
                                         uint64_t seed, Duration until) {
  std::vector<FaultStep> steps;
  const std::vector<Fault> faults = options.faults.list();
  if (faults.empty() || machines == 0) return steps;
  Random random(seed);
  auto between = [&random](Duration min, Duration max) {
    return Duration(random.UniformRange(min.count(), max.count()));
  };
  Duration at{};
  while (true) {
    at += between(options.quiet_min, options.quiet_max);
    if (at >= until) break;
    FaultStep step;
    step.at = at;
    if (random.Bernoulli(options.heal_all_probability)) {
      step.heal_all = true;
      steps.push_back(std::move(step));
      continue;
    }
    step.fault = faults[random.Uniform(faults.size())];
    const size_t n = machines;
    switch (step.fault) {
      case Fault::kPartition: {
        if (n < 2) continue;
        std::vector<bool> side(n);
        do {
          for (size_t i = 0; i < n; i++) side[i] = random.OneIn(2);
        } while (std::all_of(side.begin(), side.end(), [](bool b) { return b; }) ||
                 std::none_of(side.begin(), side.end(), [](bool b) { return b; }));
        for (size_t i = 0; i < n; i++) {
          if (side[i]) step.targets.push_back(i);
        }
        break;
      }
      case Fault::kOneWay: {
        if (n < 2) continue;
        const size_t a = random.Uniform(n);
        size_t b = random.Uniform(n - 1);
        if (b >= a) b++;
        step.targets = {a, b};
        break;
      }
      case Fault::kIsolate:
        if (n < 2) continue;
        step.targets = {random.Uniform(n)};
        break;
      default:
        step.targets = {random.Uniform(n)};
        break;
    }
    step.lasts = between(options.fault_min, options.fault_max);
    step.seed = random.Next();
    steps.push_back(std::move(step));
  }
  return steps;
}

void Nemesis::StartPlanned(std::vector<FaultStep> steps) {
  if (machines_.empty() || running_) return;
  running_ = true;
  const TimePoint start = world_.now();
  for (FaultStep& step : steps) {
    auto id = std::make_shared<uint64_t>(0);
    *id = world_.After(start + step.at - world_.now(),
                       [this, id, step = std::move(step)] {
                         pending_.erase(*id);
                         Execute(step);
                       });
    pending_.insert(*id);
  }
}

void Nemesis::LaterFor(Duration lasts, absl::AnyInvocable<void()> undo) {
  auto id = std::make_shared<uint64_t>(0);
  *id = world_.After(lasts, [this, id, undo = std::move(undo)]() mutable {
    pending_.erase(*id);
    undo();
  });
  pending_.insert(*id);
}

void Nemesis::Skip(const FaultStep& step, std::string_view why) {
  world_.trace().Record(TraceKind::kNemesis, static_cast<uint64_t>(step.fault), 2,
                        step.targets.empty() ? 0 : step.targets[0]);
  world_.log().Note("nemesis", StrCat("skip ", FaultName(step.fault), ": ", why));
}

void Nemesis::Execute(const FaultStep& step) {
  if (!running_) return;
  if (step.heal_all) {
    HealEverything();
    return;
  }
  const size_t n = machines_.size();
  const size_t wanted = step.fault == Fault::kOneWay ? 2 : 1;
  if (step.targets.size() < wanted) return Skip(step, "no target");
  for (size_t m : step.targets) {
    if (m >= n) return Skip(step, StrCat("no machine ", m));
  }
  switch (step.fault) {
    case Fault::kPartition:
    case Fault::kIsolate:
    case Fault::kOneWay:
    case Fault::kClog:
      ExecuteNetwork(step);
      return;
    case Fault::kKill:
    case Fault::kCrash:
    case Fault::kPause:
      ExecuteProcess(step);
      return;
    case Fault::kDisk:
    case Fault::kCorrupt:
      ExecuteDisk(step);
      return;
  }
}

void Nemesis::ExecuteNetwork(const FaultStep& step) {
  SimNetwork& net = world_.net();
  const Fault fault = step.fault;
  const size_t n = machines_.size();
  std::vector<std::pair<int, int>> cuts;
  std::vector<size_t> involved;
  std::string description;
  if (fault == Fault::kClog) {
    const size_t m = step.targets[0];
    net.Clog(machines_[m]->host(), step.lasts);
    Emit(true, fault, {m},
         StrCat("clog ", machines_[m]->name(), " for ", FormatSeconds(step.lasts)),
         /*one_shot=*/step.lasts);
    return;
  }
  if (fault == Fault::kPartition) {
    std::vector<bool> side(n);
    for (size_t m : step.targets) side[m] = true;
    if (std::all_of(side.begin(), side.end(), [](bool b) { return b; })) {
      return Skip(step, "a partition with one side");
    }
    std::string a, b;
    for (size_t i = 0; i < n; i++) {
      (side[i] ? a : b) += StrCat(" ", machines_[i]->name());
      if (side[i]) involved.push_back(i);
      for (size_t j = 0; j < n; j++) {
        if (side[i] && !side[j]) {
          const int x = net.HostIndex(machines_[i]->host());
          const int y = net.HostIndex(machines_[j]->host());
          cuts.emplace_back(x, y);
          cuts.emplace_back(y, x);
        }
      }
    }
    description = StrCat("partition [", a, " ] | [", b, " ]");
  } else if (fault == Fault::kIsolate) {
    const size_t m = step.targets[0];
    involved.push_back(m);
    const int x = net.HostIndex(machines_[m]->host());
    for (int y = 0; y < static_cast<int>(net.hosts().size()); y++) {
      if (y == x) continue;
      cuts.emplace_back(x, y);
      cuts.emplace_back(y, x);
    }
    description = StrCat("isolate ", machines_[m]->name());
  } else {
    const size_t a = step.targets[0];
    const size_t b = step.targets[1];
    if (a == b) return Skip(step, "a one-way cut to itself");
    involved = {a, b};
    cuts.emplace_back(net.HostIndex(machines_[a]->host()),
                      net.HostIndex(machines_[b]->host()));
    description = StrCat("oneway ", machines_[a]->name(), " -> ", machines_[b]->name());
  }
  for (const auto& [x, y] : cuts) AddCut(x, y);
  Emit(true, fault, involved, description);
  LaterFor(step.lasts, [this, fault, cuts, involved, description, epoch = heal_epoch_] {
    if (epoch == heal_epoch_) {
      for (const auto& [x, y] : cuts) RemoveCut(x, y);
    }
    Emit(false, fault, involved, description);
  });
}

void Nemesis::ExecuteProcess(const FaultStep& step) {
  const Fault fault = step.fault;
  const size_t m = step.targets[0];
  SimMachine& machine = *machines_[m];
  if (down_.size() >= options_.max_down) return Skip(step, "enough machines are down");
  if (down_.count(m) || !machine.running() || machine.paused()) {
    return Skip(step, StrCat(machine.name(), " is down"));
  }
  down_.insert(m);
  const std::string description = StrCat(FaultName(fault), " ", machine.name());
  if (fault == Fault::kKill) machine.Kill();
  if (fault == Fault::kCrash) machine.Crash();
  if (fault == Fault::kPause) machine.Pause();
  Emit(true, fault, {m}, description);
  LaterFor(step.lasts, [this, fault, m, description, epoch = heal_epoch_] {
    if (epoch != heal_epoch_) return;  // a heal-all brought it back already
    SimMachine& machine = *machines_[m];
    if (fault == Fault::kPause) {
      machine.Resume();
    } else if (!machine.running()) {
      machine.Start();
    }
    down_.erase(m);
    Emit(false, fault, {m}, description);
  });
}

// Draws the fault's rates from `random` and applies them to machine `m`
// until `lasts` has passed (or, without it, a duration the schedule draws).
void Nemesis::ApplyDisk(Fault fault, size_t m, Random& random,
                        std::optional<Duration> lasts) {
  SimDisk& disk = machines_[m]->disk();
  DiskFaultRates rates{.path_prefix = options_.disk_path_prefix,
                       .destructive_path_contains = options_.destructive_path_contains};
  std::string description = StrCat(FaultName(fault), " ", machines_[m]->name(), ":");
  auto rate = [&random](double low, double high) {
    return low + (high - low) * random.NextDouble();
  };
  if (fault == Fault::kDisk) {
    if (random.OneIn(2)) rates.sync_error = rate(0.02, 0.3);
    if (random.OneIn(2)) rates.write_io_error = rate(0.01, 0.1);
    if (random.OneIn(3)) rates.write_no_space = rate(0.01, 0.1);
    if (random.OneIn(2)) rates.read_bit_flip = rate(0.001, 0.05);
    if (random.OneIn(3)) {
      const Duration d = Duration(random.UniformRange(options_.fault_min.count(),
                                                      options_.fault_max.count()));
      disk.SlowSyncsUntil(world_.now() + d, Milliseconds(50), Seconds(1));
      description += StrCat(" slow syncs for ", FormatSeconds(d));
    }
  } else if (random.OneIn(2)) {
    rates.misdirected_write = rate(0.005, 0.05);
  } else {
    absl::StatusOr<std::string> rotted = disk.RotRandomBit(options_.destructive_path_contains);
    Emit(true, fault, {m}, StrCat(description, " rot ", rotted.ok() ? *rotted : "nothing"),
         /*one_shot=*/Duration::zero());
    return;
  }
  description += absl::StrFormat(
      " sync_error=%.3f eio=%.3f enospc=%.3f read_flip=%.3f misdirect=%.3f",
      rates.sync_error, rates.write_io_error, rates.write_no_space,
      rates.read_bit_flip, rates.misdirected_write);
  const uint64_t token = next_disk_token_++;
  disk_tokens_[m] = token;
  disk.set_fault_rates(rates);
  Emit(true, fault, {m}, description);
  auto undo = [this, fault, m, token, description] {
    if (disk_tokens_[m] == token) machines_[m]->disk().set_fault_rates({});
    Emit(false, fault, {m}, description);
  };
  if (lasts.has_value()) {
    LaterFor(*lasts, std::move(undo));
  } else {
    Later(std::move(undo));
  }
}

void Nemesis::ExecuteDisk(const FaultStep& step) {
  Random random(step.seed);
  ApplyDisk(step.fault, step.targets[0], random, step.lasts);
}

void Nemesis::HealNetwork() {
  cut_refs_.clear();
  world_.net().HealAll();
}

void Nemesis::HealEverything() {
  heal_epoch_++;
  HealNetwork();
  for (size_t m : down_) {
    SimMachine& machine = *machines_[m];
    if (machine.paused()) machine.Resume();
    if (!machine.running()) machine.Start();
  }
  down_.clear();
  for (SimMachine* machine : machines_) {
    machine->disk().set_fault_rates({});
    machine->disk().SlowSyncsUntil(world_.now(), Duration::zero(),
                                   Duration::zero());
  }
  disk_tokens_.clear();
  EmitHealAll();
}

void Nemesis::StopAndHeal() {
  running_ = false;
  for (uint64_t id : pending_) world_.Cancel(id);
  pending_.clear();
  HealEverything();
}

}  // namespace keel::sim
