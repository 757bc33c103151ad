// SecondProcess: fork, exec /proc/self/exe with ASLR on, read its output.
#include "sim/second_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "runtime/strings.h"

namespace keel::sim {
namespace {

absl::Status Errno(std::string_view what) {
  return absl::InternalError(StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<SecondProcess> SecondProcess::Start(const std::vector<std::string>& args) {
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<char*> argv;
  static char kSelf[] = "/proc/self/exe";
  argv.push_back(kSelf);
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe");
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Errno("fork");
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    const int persona = personality(0xffffffff);
    if (persona != -1 && (persona & ADDR_NO_RANDOMIZE) != 0) {
      personality(static_cast<unsigned long>(persona & ~ADDR_NO_RANDOMIZE));
    }
    execv(kSelf, argv.data());
    _exit(127);
  }
  close(fds[1]);
  return SecondProcess(pid, fds[0]);
}

SecondProcess::SecondProcess(SecondProcess&& other) noexcept
    : pid_(other.pid_), out_fd_(other.out_fd_) {
  other.pid_ = -1;
  other.out_fd_ = -1;
}

SecondProcess::~SecondProcess() {
  if (out_fd_ >= 0) close(out_fd_);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

absl::StatusOr<std::string> SecondProcess::Finish() {
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(out_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read from the second process");
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  close(out_fd_);
  out_fd_ = -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return Errno("waitpid");
  }
  const int pid = pid_;
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(StrCat("second process ", pid, " ended with status ",
                                      WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                                      WIFSIGNALED(status) ? " (killed by a signal)" : "",
                                      "; its output: ", out));
  }
  return out;
}

SeedOutcome OutcomeOf(const ScenarioResult& result) {
  return {.hash = result.trace_hash, .events = result.events, .ok = result.ok};
}

std::string FormatSeedOutcome(uint64_t seed, const SeedOutcome& outcome) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "seed=%" PRIu64 " hash=%016" PRIx64 " events=%" PRIu64 " ok=%d",
                seed, outcome.hash, outcome.events, outcome.ok ? 1 : 0);
  return buf;
}

std::string DescribeSeedOutcome(const SeedOutcome& outcome) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "trace hash %016" PRIx64 ", %" PRIu64 " events, %s",
                outcome.hash, outcome.events, outcome.ok ? "ok" : "failing");
  return buf;
}

absl::StatusOr<SecondRun> ParseSecondRun(const std::string& out) {
  SecondRun run;
  bool layout = false;
  size_t at = 0;
  while (at < out.size()) {
    size_t end = out.find('\n', at);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(at, end - at);
    at = end + 1;
    unsigned long long seed = 0, hash = 0, events = 0, value = 0;
    int ok = 0;
    if (std::sscanf(line.c_str(), "layout=%llx", &value) == 1) {
      run.layout = value;
      layout = true;
    } else if (std::sscanf(line.c_str(), "seed=%llu hash=%llx events=%llu ok=%d", &seed, &hash,
                           &events, &ok) == 4) {
      run.outcomes[seed] = {.hash = hash, .events = events, .ok = ok != 0};
    } else {
      return absl::InternalError(StrCat("unexpected output line: ", line));
    }
  }
  if (!layout) return absl::InternalError("no layout line in its output");
  return run;
}

std::vector<std::string> SecondProcessArgs(const std::vector<std::string>& args) {
  const std::vector<std::string_view> with_value = {"--trace", "--timeline", "--save-plan"};
  const std::vector<std::string_view> alone = {"--check-determinism", "--verbose", "-v",
                                               "--buggify-report"};
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string_view name = std::string_view(args[i]).substr(0, args[i].find('='));
    const bool inline_value = name.size() < args[i].size();
    if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
      if (!inline_value) i++;
      continue;
    }
    if (std::find(alone.begin(), alone.end(), name) != alone.end()) continue;
    out.push_back(args[i]);
  }
  out.push_back("--hashes-only");
  return out;
}

}  // namespace keel::sim
