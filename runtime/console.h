// Console: the terminal, standard streams and environment, for tools.
//
// Code outside runtime/ and sim/ may not touch stdio or the process
// environment directly (ci/lint-determinism); tools such as keelctl call
// these instead. They block the caller, which is fine for a command-line
// tool's input and output but not for a server's loop: servers log through
// env.log().
#ifndef KEEL_RUNTIME_CONSOLE_H_
#define KEEL_RUNTIME_CONSOLE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel {

enum class ConsoleStream { kStdin, kStdout, kStderr };

// Writes all of `text`, blocking until it is written. A reader that went
// away (`keelctl get | head`) raises SIGPIPE, which ends the tool as it ends
// etcdctl; with SIGPIPE ignored it is Unavailable. EIO is Internal.
absl::Status WriteStdout(std::string_view text);
absl::Status WriteStderr(std::string_view text);

// Reads standard input to its end. Internal on a read error.
absl::StatusOr<std::string> ReadStdin();

// Reads one line of standard input (without its newline), blocking until
// it is complete; nullopt at the end of input (a last line without a
// newline is returned first). Reads byte by byte, so what follows the line
// stays unread for the next caller or a child process. Internal on a read
// error.
absl::StatusOr<std::optional<std::string>> ReadStdinLine();

// Prints `prompt` on the terminal and reads a line without echoing it
// (speakeasy's Ask, as etcdctl prompts for a password). Reads from the
// controlling terminal (/dev/tty) when there is one, else standard input.
// FailedPrecondition if neither can be read.
absl::StatusOr<std::string> ReadPassword(std::string_view prompt);

// Reads a whole file a tool was given before it has an Env (keel's
// --config-file). The open or read error, naming the path, if it cannot.
absl::StatusOr<std::string> ReadFileBeforeEnv(const std::string& path);

// The value of environment variable `name`, or nullopt if it is not set.
std::optional<std::string> GetEnvVar(std::string_view name);

// True if `stream` is a terminal (to choose colours or a table layout).
bool IsTerminal(ConsoleStream stream);

}  // namespace keel

#endif  // KEEL_RUNTIME_CONSOLE_H_
