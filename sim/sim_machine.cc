// Machine lifecycle: incarnations, kill, crash, pause, exit and restart.
#include "sim/sim_machine.h"

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::sim {

SimEnv::SimEnv(SimWorld& world, Process& process, std::unique_ptr<Network> net,
               std::unique_ptr<FileSystem> fs, std::unique_ptr<LogSink> sink,
               uint64_t seed)
    : world_(world),
      process_(process),
      random_(seed),
      net_(std::move(net)),
      fs_(std::move(fs)),
      sink_(std::move(sink)),
      logger_(sink_.get(), world.options().log_level) {}

Task<void> SimEnv::RunBlocking(absl::AnyInvocable<void() &&> work) {
  std::move(work)();
  co_return;
}

struct SimMachine::Incarnation {
  Incarnation(Executor& executor, std::string name, uint64_t number,
              uint64_t owner)
      : number(number), owner(owner), process(executor, std::move(name)) {}

  const uint64_t number;
  const uint64_t owner;  // the network and disk views' owner id
  Process process;
  bool exiting = false;  // the boot function returned
  WaitQueue never;       // what Main waits on once it has
  // Declared after the process: destroyed before it, but only once
  // Stop() has killed it, so no frame can still be using the Env.
  std::unique_ptr<SimEnv> env;
};

SimMachine::SimMachine(SimWorld& world, size_t index, SimMachineOptions options)
    : world_(world), index_(index), options_(std::move(options)) {
  KEEL_ASSERT(!options_.name.empty());
  KEEL_ASSERT_MSG(options_.boot != nullptr, "a machine needs a boot function");
  if (options_.host.empty()) options_.host = StrCat("10.0.0.", index_ + 1);
  const absl::Status added = world_.net().AddHost(options_.host);
  KEEL_ASSERT_MSG(added.ok(), "two machines with one host address");
  disk_ = std::make_unique<SimDisk>(world_, index_ + 1, options_.name,
                                    world_.options().disk,
                                    world_.DeriveSeed(index_ + 1, 0xd15c));
}

SimMachine::~SimMachine() {
  if (restart_callback_.has_value()) world_.Cancel(*restart_callback_);
  if (running()) Stop("shutdown");
}

bool SimMachine::paused() const {
  return current_ != nullptr && current_->process.paused() && !current_->exiting;
}

SimEnv* SimMachine::env() {
  return current_ == nullptr ? nullptr : current_->env.get();
}

void SimMachine::Start() {
  KEEL_ASSERT_MSG(!running(), "Start of a running machine");
  if (restart_callback_.has_value()) {
    world_.Cancel(*restart_callback_);
    restart_callback_.reset();
  }
  incarnation_++;
  const uint64_t owner = (static_cast<uint64_t>(index_ + 1) << 32) | incarnation_;
  std::string process_name = StrCat(options_.name, "#", incarnation_);
  current_ = std::make_unique<Incarnation>(world_.executor(), process_name,
                                           incarnation_, owner);
  current_->env = std::make_unique<SimEnv>(
      world_, current_->process, world_.net().NewView(options_.host, owner),
      disk_->NewView(owner), world_.log().NewSink(process_name),
      world_.DeriveSeed(index_ + 1, incarnation_));
  world_.trace().Record(TraceKind::kProcess, index_, incarnation_, 0);
  world_.log().Note(process_name, "process started");
  current_->process.Spawn(Main(current_.get()));
}

Task<void> SimMachine::Main(Incarnation* incarnation) {
  // The boot task is held, not destroyed when it returns: tasks it spawned
  // may use its frame until the process is killed, newest root first.
  Task<void> boot = options_.boot(*incarnation->env);
  co_await boot;
  // main() returned: the process exits. Nothing of it runs from here on,
  // and the kill happens from outside its own coroutines.
  incarnation->exiting = true;
  incarnation->process.Pause();
  const uint64_t number = incarnation->number;
  world_.After(Duration::zero(), [this, number] { OnExit(number); });
  co_await incarnation->never.Wait();
}

void SimMachine::OnExit(uint64_t number) {
  if (current_ == nullptr || current_->number != number) return;
  exits_++;
  Stop("exited");
  if (!options_.restart_after_exit.has_value()) return;
  restart_callback_ = world_.After(*options_.restart_after_exit, [this] {
    restart_callback_.reset();
    if (!running()) Start();
  });
}

void SimMachine::Stop(std::string_view why) {
  KEEL_ASSERT(current_ != nullptr);
  world_.trace().Record(TraceKind::kProcess, index_, current_->number, 1);
  world_.log().Note(current_->process.name(), StrCat("process ", why));
  // Reset the sockets first, so the peers see a reset rather than the end
  // of stream the dying frames' Close() calls would send.
  world_.net().ResetOwner(current_->owner);
  current_->process.Kill();
  disk_->ReleaseOwner(current_->owner);
  current_.reset();
}

void SimMachine::Kill() {
  if (running()) Stop("killed");
}

void SimMachine::Crash() {
  if (running()) Stop("crashed");
  disk_->Crash();
}

void SimMachine::Pause() {
  if (!running() || current_->process.paused() || current_->exiting) return;
  world_.trace().Record(TraceKind::kProcess, index_, current_->number, 2);
  world_.log().Note(current_->process.name(), "process paused");
  current_->process.Pause();
}

void SimMachine::Resume() {
  if (!running() || !current_->process.paused() || current_->exiting) return;
  world_.trace().Record(TraceKind::kProcess, index_, current_->number, 3);
  world_.log().Note(current_->process.name(), "process resumed");
  current_->process.Resume();
}

void SimMachine::Restart() {
  Kill();
  Start();
}

void SimMachine::Wipe() {
  KEEL_ASSERT_MSG(!running(), "Wipe of a running machine's disk");
  world_.log().Note(options_.name, "disk wiped");
  disk_->Wipe();
}

}  // namespace keel::sim
