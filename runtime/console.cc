// Blocking writes and reads on the standard descriptors.
#include "runtime/console.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/assert.h"
#include "runtime/posix_errors.h"

namespace keel {
namespace {

int FdOf(ConsoleStream stream) {
  switch (stream) {
    case ConsoleStream::kStdin:
      return STDIN_FILENO;
    case ConsoleStream::kStdout:
      return STDOUT_FILENO;
    case ConsoleStream::kStderr:
      return STDERR_FILENO;
  }
  KEEL_UNREACHABLE();
}

// Waits for `fd` to be ready when someone made it nonblocking (a shell or a
// parent sharing the descriptor can do that to us).
void WaitReady(int fd, short events) {
  pollfd entry{.fd = fd, .events = events, .revents = 0};
  while (::poll(&entry, 1, -1) < 0 && errno == EINTR) {
  }
}

absl::Status WriteAllTo(int fd, std::string_view text, std::string_view name) {
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n >= 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN) {
      WaitReady(fd, POLLOUT);
      continue;
    }
    return ErrnoToStatus(error, name);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteStdout(std::string_view text) {
  return WriteAllTo(STDOUT_FILENO, text, "write stdout");
}

absl::Status WriteStderr(std::string_view text) {
  return WriteAllTo(STDERR_FILENO, text, "write stderr");
}

absl::StatusOr<std::string> ReadStdin() {
  std::string out;
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
    if (n == 0) return out;
    if (n > 0) {
      out.append(buffer, static_cast<size_t>(n));
      continue;
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN) {
      WaitReady(STDIN_FILENO, POLLIN);
      continue;
    }
    return absl::InternalError(ErrnoToStatus(error, "read stdin").message());
  }
}

absl::StatusOr<std::string> ReadFileBeforeEnv(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, path);
  std::string out;
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      out.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int error = errno;
    ::close(fd);
    if (n == 0) return out;
    return ErrnoToStatus(error, path);
  }
}

absl::StatusOr<std::optional<std::string>> ReadStdinLine() {
  std::string line;
  bool any = false;
  while (true) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) {
      any = true;
      if (c == '\n') return std::optional<std::string>(std::move(line));
      line.push_back(c);
      continue;
    }
    if (n == 0) {
      if (!any) return std::optional<std::string>();
      return std::optional<std::string>(std::move(line));
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN) {
      WaitReady(STDIN_FILENO, POLLIN);
      continue;
    }
    return absl::InternalError(ErrnoToStatus(error, "read stdin").message());
  }
}

absl::StatusOr<std::string> ReadPassword(std::string_view prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  const bool own = fd >= 0;
  if (!own) fd = STDIN_FILENO;
  termios saved{};
  const bool terminal = ::tcgetattr(fd, &saved) == 0;
  (void)WriteAllTo(own ? fd : STDERR_FILENO, prompt, "write prompt");
  if (terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  bool ok = false;
  while (true) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n == 1 && c != '\n') {
      line.push_back(c);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    ok = n == 1 || !line.empty();
    break;
  }
  if (terminal) {
    ::tcsetattr(fd, TCSAFLUSH, &saved);
    (void)WriteAllTo(own ? fd : STDERR_FILENO, "\n", "write prompt");
  }
  if (own) ::close(fd);
  if (!ok) return absl::FailedPreconditionError("no password could be read");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::optional<std::string> GetEnvVar(std::string_view name) {
  const std::string key(name);
  const char* value = ::getenv(key.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

bool IsTerminal(ConsoleStream stream) { return ::isatty(FdOf(stream)) == 1; }

}  // namespace keel
