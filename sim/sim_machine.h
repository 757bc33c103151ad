// SimMachine: a simulated computer (host address, disk, boot function) whose
// process can be started, killed, crashed, paused and restarted.
//
// Each start creates a new incarnation: a fresh Process, and a SimEnv whose
// clock is the world's, whose Random is derived from the seed, the machine
// and the incarnation number, whose network view is the machine's host and
// whose file system is the machine's disk. The boot function is the
// process's main(): it runs as the process's first task, and when it returns
// the process exits (its other tasks are destroyed, its connections reset).
//
//   Kill()    kill -9: the process dies, its connections are reset and its
//             ports freed; the disk keeps even its unsynced writes (the
//             kernel's page cache survives a process).
//   Crash()   power loss: Kill() plus SimDisk::Crash().
//   Restart() Kill() if running, then Start() on the same disk.
//   Pause()   SIGSTOP: nothing of the process runs; its timers expire and
//             its sockets keep receiving, to be handled on Resume().
//   Wipe()    erase the disk (a new machine with the old address).
#ifndef KEEL_SIM_SIM_MACHINE_H_
#define KEEL_SIM_SIM_MACHINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "sim/sim_fs.h"
#include "sim/sim_world.h"

namespace keel::sim {

// The process's main(). It must own, or capture by value, everything it
// uses beyond its Env; the function object itself lives as long as the
// machine, so a lambda's captures outlive every incarnation.
using BootFunction = std::function<Task<void>(Env&)>;

struct SimMachineOptions {
  std::string name;
  // Empty: 10.0.0.N, N the machine's index plus one.
  std::string host;
  BootFunction boot;
  // If set, a process whose boot function returned is started again after
  // this delay (a supervisor restarting a member that stopped itself).
  std::optional<Duration> restart_after_exit;
};

class SimEnv : public Env {
 public:
  SimEnv(SimWorld& world, Process& process, std::unique_ptr<Network> net,
         std::unique_ptr<FileSystem> fs, std::unique_ptr<LogSink> sink,
         uint64_t seed);

  Clock& clock() override { return world_.clock(); }
  Random& random() override { return random_; }
  Network& net() override { return *net_; }
  FileSystem& fs() override { return *fs_; }
  Logger& log() override { return logger_; }
  Process& process() override { return process_; }
  // Runs `work` inline: the simulator has no I/O pool.
  Task<void> RunBlocking(absl::AnyInvocable<void() &&> work) override;

 private:
  SimWorld& world_;
  Process& process_;
  Random random_;
  std::unique_ptr<Network> net_;
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<LogSink> sink_;
  Logger logger_;
};

class SimMachine {
 public:
  // Use SimWorld::AddMachine.
  SimMachine(SimWorld& world, size_t index, SimMachineOptions options);
  SimMachine(const SimMachine&) = delete;
  SimMachine& operator=(const SimMachine&) = delete;
  ~SimMachine();

  const std::string& name() const { return options_.name; }
  const std::string& host() const { return options_.host; }
  size_t index() const { return index_; }
  SimDisk& disk() { return *disk_; }

  // Whether an incarnation is alive (running or paused).
  bool running() const { return current_ != nullptr; }
  bool paused() const;
  // Starts so far; the live incarnation's number while running.
  uint64_t incarnation() const { return incarnation_; }
  // How many incarnations ended by their boot function returning.
  uint64_t exits() const { return exits_; }
  // The live incarnation's Env, or null.
  SimEnv* env();

  // Starts a new incarnation. The machine must not be running.
  void Start();
  // Kill, Pause and Resume are no-ops on a machine that is not running.
  void Kill();
  // Kills the process if running, then crashes the disk either way (a
  // stopped machine's page cache is lost in a power cut too).
  void Crash();
  void Pause();
  void Resume();
  // Kill() if running, then Start().
  void Restart();
  // Erases the disk. The machine must not be running.
  void Wipe();

 private:
  struct Incarnation;

  Task<void> Main(Incarnation* incarnation);
  void OnExit(uint64_t incarnation);
  void Stop(std::string_view why);

  SimWorld& world_;
  const size_t index_;
  SimMachineOptions options_;
  std::unique_ptr<SimDisk> disk_;
  std::unique_ptr<Incarnation> current_;
  uint64_t incarnation_ = 0;
  uint64_t exits_ = 0;
  std::optional<uint64_t> restart_callback_;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_MACHINE_H_
