// fork/exec/wait for tools; see subprocess.h.
#include "runtime/subprocess.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/strings.h"

extern char** environ;

namespace keel {

absl::StatusOr<int> RunSubprocess(const SubprocessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no command");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; e++) {
    const std::string entry(*e);
    bool replaced = false;
    for (const auto& [name, value] : options.environment) {
      if (entry.starts_with(name + "=")) replaced = true;
    }
    if (!replaced) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : options.environment) env_strings.push_back(name + "=" + value);
  std::vector<char*> env_pointers;
  for (auto& entry : env_strings) env_pointers.push_back(entry.data());
  env_pointers.push_back(nullptr);
  std::vector<std::string> argv = options.argv;
  std::vector<char*> argv_pointers;
  for (auto& arg : argv) argv_pointers.push_back(arg.data());
  argv_pointers.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, argv[0].c_str(), nullptr, nullptr,
                                     argv_pointers.data(), env_pointers.data());
  if (spawned != 0) {
    return absl::NotFoundError(AsAbsl(
        StrCat("exec: \"", argv[0], "\": executable file not found in $PATH")));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError("waitpid failed");
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace keel
