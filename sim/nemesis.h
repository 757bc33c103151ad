// Nemesis: a seeded schedule of faults against a set of machines.
//
// After a quiet spell drawn from the seed, the nemesis picks one enabled
// fault, applies it for a while, and undoes it; now and then it heals
// everything at once instead. Faults may overlap. The kinds, selectable by
// name (keel-sim --faults partition,kill | all | none):
//
//   partition  a random split of the hosts into two sides, both directions
//   isolate    one host cut off from all others
//   oneway     traffic from one host to another stops, the reverse flows
//   clog       everything to and from one host is held for a while
//   kill       kill -9 one machine, restart it later on the same disk
//   crash      power loss: kill plus a disk crash, restart later
//   pause      SIGSTOP one machine, resume it later
//   disk       recoverable disk faults on one machine for a while: failing
//              fsyncs, EIO and ENOSPC writes, bit flips on read, slow syncs
//   corrupt    destructive disk faults: misdirected writes, and a bit of
//              durable data rotted (SimDisk::damage_count() counts them)
//
// Scenarios declare which kinds they support; "all" means those. Every
// action is logged (source "nemesis") and hashed into the trace.
// StopAndHeal() ends the schedule and undoes everything in force, so a
// scenario can check that the system recovers once the faults stop.
#ifndef KEEL_SIM_NEMESIS_H_
#define KEEL_SIM_NEMESIS_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "runtime/random.h"
#include "runtime/time.h"

namespace keel::sim {

class SimMachine;
class SimWorld;

enum class Fault : uint8_t {
  kPartition,
  kIsolate,
  kOneWay,
  kClog,
  kKill,
  kCrash,
  kPause,
  kDisk,
  kCorrupt,
};
inline constexpr int kFaultKinds = 9;

std::string_view FaultName(Fault fault);

// A set of fault kinds.
class FaultSet {
 public:
  FaultSet() = default;
  static FaultSet All();
  static FaultSet None() { return FaultSet(); }
  static FaultSet Of(std::initializer_list<Fault> faults);

  // Parses "all", "none" or a comma-separated list of names. "all" means
  // `supported`. InvalidArgument for an unknown name or one outside
  // `supported`.
  static absl::StatusOr<FaultSet> Parse(std::string_view text,
                                        FaultSet supported);

  bool has(Fault fault) const { return (bits_ >> static_cast<int>(fault)) & 1; }
  bool empty() const { return bits_ == 0; }
  FaultSet With(Fault fault) const;
  FaultSet Without(Fault fault) const;
  std::vector<Fault> list() const;
  // "none", or the names in declaration order joined by commas: the form
  // Parse accepts and replay command lines print.
  std::string ToString() const;

  bool operator==(const FaultSet& other) const = default;

 private:
  uint32_t bits_ = 0;
};

struct NemesisEvent {
  TimePoint at;
  bool begin;     // false: the fault was undone
  bool heal_all;  // everything was healed (`fault` is meaningless)
  Fault fault;
  std::vector<size_t> machines;  // indices into the nemesis's machines
  std::string description;
  // A fault no end event follows (begin only): a clog lifts by itself after
  // `lasts`; a bit rot is done at once (`lasts` zero).
  bool one_shot = false;
  Duration lasts{};
};

// One step of a nemesis schedule drawn up front (Nemesis::Schedule), for
// runs that are plans (sim/plan.h): at `at` after Start, heal everything, or
// begin `fault` on `targets` (indices into the machines; for a partition,
// one side) for `lasts`, its other parameters (disk fault rates, ...) drawn
// from `seed`. A step whose target is down, or out of range, or a process
// fault beyond max_down, is skipped when its time comes (and logged).
struct FaultStep {
  Duration at{};
  bool heal_all = false;
  Fault fault = Fault::kPartition;
  std::vector<size_t> targets;
  Duration lasts{};
  uint64_t seed = 0;

  bool operator==(const FaultStep& other) const = default;
};

struct NemesisOptions {
  FaultSet faults = FaultSet::All();
  // Quiet time before each fault, and how long a fault lasts.
  Duration quiet_min = Milliseconds(100);
  Duration quiet_max = Seconds(2);
  Duration fault_min = Milliseconds(200);
  Duration fault_max = Seconds(4);
  // Chance that a step heals everything instead of adding a fault.
  double heal_all_probability = 0.1;
  // Machines the nemesis keeps killed, crashed or paused at once.
  size_t max_down = std::numeric_limits<size_t>::max();
  // Disk faults only on paths under this prefix ("" for all).
  std::string disk_path_prefix;
  // Destructive faults (corrupt: misdirected writes, rot) only on paths
  // that also contain this ("" for all).
  std::string destructive_path_contains;
  // Told about every begin and end.
  std::function<void(const NemesisEvent&)> on_event;
};

class Nemesis {
 public:
  // `machines` must outlive the nemesis; all on `world`.
  Nemesis(SimWorld& world, std::vector<SimMachine*> machines,
          NemesisOptions options);
  Nemesis(const Nemesis&) = delete;
  Nemesis& operator=(const Nemesis&) = delete;
  ~Nemesis();

  // Begins the schedule. No-op if the fault set is empty.
  void Start();
  // Draws, from `seed`, the schedule of a planned run lasting `until`:
  // quiet spells and fault lengths from `options`, each step's targets
  // among `machines` machines.
  static std::vector<FaultStep> Schedule(const NemesisOptions& options, size_t machines,
                                         uint64_t seed, Duration until);
  // Begins executing `steps` (times from now) instead of drawing faults on
  // the fly. StopAndHeal ends it the same way.
  void StartPlanned(std::vector<FaultStep> steps);
  // Ends the schedule and undoes every fault in force: heals the network,
  // resumes paused machines, restarts machines it took down, clears disk
  // fault rates.
  void StopAndHeal();

  uint64_t faults_injected() const { return faults_injected_; }
  const std::map<Fault, uint64_t>& counts() const { return counts_; }

 private:
  void Step();
  void Inject(Fault fault);
  // Runs `undo` after a seeded fault duration (unless StopAndHeal runs
  // first, which undoes everything its own way).
  void Later(absl::AnyInvocable<void()> undo);
  void LaterFor(Duration lasts, absl::AnyInvocable<void()> undo);
  void Execute(const FaultStep& step);
  void ExecuteNetwork(const FaultStep& step);
  void ApplyDisk(Fault fault, size_t m, Random& random, std::optional<Duration> lasts);
  void ExecuteProcess(const FaultStep& step);
  void ExecuteDisk(const FaultStep& step);
  void Skip(const FaultStep& step, std::string_view why);
  // `one_shot`: the fault ends by itself after that long (no end event).
  void Emit(bool begin, Fault fault, std::vector<size_t> machines,
            std::string description,
            std::optional<Duration> one_shot = std::nullopt);
  void EmitHealAll();
  void HealEverything();
  // Reference-counted cuts, so overlapping faults heal only their own.
  void AddCut(int source, int target);
  void RemoveCut(int source, int target);
  // A running, not-down machine chosen at random, or -1.
  int PickUp();
  Duration Between(Duration min, Duration max);
  void InjectNetwork(Fault fault);
  void InjectProcess(Fault fault);
  void InjectDisk(Fault fault);
  void HealNetwork();

  SimWorld& world_;
  std::vector<SimMachine*> machines_;
  NemesisOptions options_;
  Random random_;
  bool running_ = false;
  std::set<uint64_t> pending_;  // callback ids of undos and the next step
  std::set<size_t> down_;       // machines the nemesis holds down
  std::map<std::pair<int, int>, int> cut_refs_;
  std::map<size_t, uint64_t> disk_tokens_;  // the latest disk fault per machine
  uint64_t next_disk_token_ = 1;
  uint64_t heal_epoch_ = 0;  // bumped by each heal-all
  uint64_t faults_injected_ = 0;
  std::map<Fault, uint64_t> counts_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_NEMESIS_H_
