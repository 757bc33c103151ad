// Running a child program to completion, for tools: `keelctl watch KEY --
// CMD` and `keelctl lock NAME CMD` run a command per event or while a lock
// is held, as etcdctl does, with the child's stdout and stderr shared with
// the tool's.
#ifndef KEEL_RUNTIME_SUBPROCESS_H_
#define KEEL_RUNTIME_SUBPROCESS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace keel {

struct SubprocessOptions {
  SubprocessOptions() {}
  // argv[0] is looked up on PATH.
  std::vector<std::string> argv;
  // Set in the child's environment on top of the tool's own.
  std::vector<std::pair<std::string, std::string>> environment;
};

// Runs the command and blocks until it exits. Returns its exit code (128 +
// the signal number if a signal ended it). NotFound if the program cannot
// be started ("exec: \"x\": executable file not found in $PATH"). Blocks
// the calling thread: call it from Env::RunBlocking.
absl::StatusOr<int> RunSubprocess(const SubprocessOptions& options);

}  // namespace keel

#endif  // KEEL_RUNTIME_SUBPROCESS_H_
