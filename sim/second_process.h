// Running keel-sim again in a second process, for the determinism check.
//
// Two runs of a seed in one process share its address layout and its hash
// seeds, so a run that depends on either (iterating an absl hash table,
// ordering by pointer value) agrees with itself there. keel-sim
// --check-determinism also compares against a fresh execution of
// /proc/self/exe, which the kernel lays out anew (ASLR), with its own hash
// seeds.
#ifndef KEEL_SIM_SECOND_PROCESS_H_
#define KEEL_SIM_SECOND_PROCESS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/scenario.h"

namespace keel::sim {

// What the determinism check compares between runs of one seed.
struct SeedOutcome {
  uint64_t hash = 0;
  uint64_t events = 0;
  bool ok = false;
  bool operator==(const SeedOutcome&) const = default;
};

SeedOutcome OutcomeOf(const ScenarioResult& result);
// "seed=S hash=H events=E ok=B": one line of keel-sim --hashes-only.
std::string FormatSeedOutcome(uint64_t seed, const SeedOutcome& outcome);
// "trace hash H, E events, ok": for failure messages.
std::string DescribeSeedOutcome(const SeedOutcome& outcome);

// What a second process (keel-sim --hashes-only) printed: a "layout=L"
// line (its AddressLayoutProbe()), then one FormatSeedOutcome line per
// seed.
struct SecondRun {
  uint64_t layout = 0;
  std::map<uint64_t, SeedOutcome> outcomes;
};
// Internal on any other line, or without the layout line.
absl::StatusOr<SecondRun> ParseSecondRun(const std::string& out);

// The arguments (without argv[0]) that make the second process run the
// same seeds the same way: `args` less the flags that write files or only
// change what is printed (--check-determinism, --trace, --timeline,
// --save-plan, --verbose, --buggify-report), plus --hashes-only.
std::vector<std::string> SecondProcessArgs(const std::vector<std::string>& args);

// A started child: /proc/self/exe run with `args` (without argv[0]), its
// standard output read through a pipe, its standard error this process's.
// The child runs with address-space randomization on even if this process
// has it off (personality ADDR_NO_RANDOMIZE), so its layout differs
// wherever the kernel randomizes at all.
class SecondProcess {
 public:
  // Internal if the process cannot be started.
  static absl::StatusOr<SecondProcess> Start(const std::vector<std::string>& args);
  SecondProcess(SecondProcess&& other) noexcept;
  SecondProcess& operator=(SecondProcess&&) = delete;
  // Kills and reaps a child that was not waited for.
  ~SecondProcess();

  int pid() const { return pid_; }

  // Reads the child's standard output to its end and waits for it to exit.
  // Internal if it exited other than with status 0 (the output so far is
  // in the message).
  absl::StatusOr<std::string> Finish();

 private:
  SecondProcess(int pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}

  int pid_ = -1;
  int out_fd_ = -1;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SECOND_PROCESS_H_
