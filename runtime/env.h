// Env: everything nondeterministic a process may touch, in one place.
//
// Server code (raft excepted, which touches nothing) receives an Env and
// gets time, randomness, network, files, logging and concurrency from it
// alone. Production builds a PosixEnv (runtime/posix_env.h); the simulator
// builds one SimEnv per simulated process (sim/sim_env.h). An Env belongs to
// one Process: tasks spawned through it die with that process.
#ifndef KEEL_RUNTIME_ENV_H_
#define KEEL_RUNTIME_ENV_H_

#include "absl/functional/any_invocable.h"
#include "runtime/clock.h"
#include "runtime/filesystem.h"
#include "runtime/log.h"
#include "runtime/network.h"
#include "runtime/process.h"
#include "runtime/random.h"
#include "runtime/task.h"

namespace keel {

class Env {
 public:
  virtual ~Env() = default;

  virtual Clock& clock() = 0;
  virtual Random& random() = 0;
  virtual Network& net() = 0;
  virtual FileSystem& fs() = 0;
  virtual Logger& log() = 0;
  virtual Process& process() = 0;

  // Starts `task` as a new root of this Env's process.
  void Spawn(Task<void> task) { process().Spawn(std::move(task)); }

  // Runs `work` away from the loop where one can (production's I/O pool) and
  // resumes when it has returned; in the simulator it runs inline. `work`
  // must own everything it touches: if the awaiting frame is destroyed, the
  // work still runs to its end.
  virtual Task<void> RunBlocking(absl::AnyInvocable<void() &&> work) = 0;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_ENV_H_
