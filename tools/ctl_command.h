// keelctl's commands and what every command runs with.
//
// A command is a class with its own flags (DefineFlags) and a Run that
// returns the process's exit code, etcdctl's codes (kExit*). Commands are
// registered by path ("lease grant") in a CommandTable, one Register*
// function per group file (ctl_kv.cc, ctl_lease.cc, ...). Ctl is the
// context they run in: the Env, the resolved global flags, the printer for
// -w, the client for --endpoints, and etcdctl's ways of failing
// ("Error: ..." on stderr and an exit code).
#ifndef KEEL_TOOLS_CTL_COMMAND_H_
#define KEEL_TOOLS_CTL_COMMAND_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "client/etcd_client.h"
#include "runtime/posix_env.h"
#include "runtime/task.h"
#include "tools/ctl_globals.h"
#include "tools/ctl_printer.h"
#include "tools/flags.h"

namespace keel::tools {

// etcdctl's exit codes (pkg/cobrautl).
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitBadConnection = 2;
inline constexpr int kExitInvalidInput = 3;
inline constexpr int kExitBadFeature = 4;
inline constexpr int kExitInterrupted = 5;
inline constexpr int kExitIO = 6;
inline constexpr int kExitBadArgs = 128;

class Ctl {
 public:
  Ctl(PosixEnv& env, GlobalConfig config);
  ~Ctl();

  PosixEnv& env() { return env_; }
  const GlobalConfig& config() const { return config_; }
  Printer& printer() { return printer_; }

  // The client for --endpoints, made on first use.
  client::EtcdClient& client();
  // A client for other endpoints (--cluster, make-mirror's destination).
  std::unique_ptr<client::EtcdClient> NewClient(std::vector<std::string> endpoints);
  // --command-timeout, for one call.
  client::RequestOptions Timeout() const {
    return client::RequestOptions::WithTimeout(config_.command_timeout);
  }

  void Out(std::string_view text);
  void Err(std::string_view text);

  // Prints "Error: <message>" on stderr; returns `code`.
  int Fail(int code, absl::string_view message);
  // A failed call, as etcdctl reports it: etcd's own errors by their
  // message, a timeout as "context deadline exceeded" (preceded by a line
  // naming the endpoints that could not be reached, and the timeout), other
  // gRPC errors as "rpc error: code = ... desc = ...". Returns kExitError.
  int FailCall(const absl::Status& status);
  // For a timeout or an unreachable cluster, prints the line naming the
  // endpoints that could not be dialled and the timeouts.
  void NoteUnreachable(const absl::Status& status);
  // The text etcdctl prints for `status` after "Error: ".
  static std::string ErrorText(const absl::Status& status);
  // The line naming unreachable endpoints for a timed-out call through
  // `client`, or "" if none failed to dial.
  std::string UnreachableNote(const client::EtcdClient& client) const;
  // A printer call that may refuse the format: exit 4 with its message.
  int Print(const absl::Status& printed);

  // Resolves once SIGINT or SIGTERM arrives (lock, elect, watch).
  Event& interrupted() { return env_.loop().shutdown_requested(); }

 private:
  PosixEnv& env_;
  GlobalConfig config_;
  Printer printer_;
  std::unique_ptr<client::EtcdClient> client_;
};

// What a command was given on the command line.
struct Invocation {
  Invocation() {}
  std::vector<std::string> args;  // positional arguments
  // How many of args came before a `--` (watch's exec mode); nullopt if
  // there was none.
  std::optional<size_t> args_before_dash;
  const FlagSet* flags = nullptr;
};

class Command {
 public:
  virtual ~Command() = default;
  virtual void DefineFlags(FlagSet& flags) { (void)flags; }
  // True for commands that wait for Ctrl-C to end cleanly (lock, elect):
  // SIGINT and SIGTERM then set Ctl::interrupted() instead of ending the
  // process at once.
  virtual bool HandlesSignals() const { return false; }

  virtual Task<int> Run(Ctl& ctl, Invocation invocation) = 0;
};

struct CommandSpec {
  std::string path;     // "lease grant"
  std::string usage;    // "lease grant <ttl>"
  std::string summary;  // one line for help
  std::function<std::unique_ptr<Command>()> make;
};

class CommandTable {
 public:
  template <typename C>
  void Add(std::string path, std::string usage, std::string summary) {
    specs_[path] = CommandSpec{path, std::move(usage), std::move(summary),
                               [] { return std::make_unique<C>(); }};
  }
  const CommandSpec* Find(const std::string& path) const;
  // True if some command's path starts with `group` + " ".
  bool IsGroup(const std::string& group) const;
  const std::map<std::string, CommandSpec>& specs() const { return specs_; }

 private:
  std::map<std::string, CommandSpec> specs_;
};

// The groups of commands (one file each).
void RegisterKvCommands(CommandTable& table);
void RegisterTxnCommand(CommandTable& table);
void RegisterWatchCommand(CommandTable& table);
void RegisterLeaseCommands(CommandTable& table);
void RegisterClusterCommands(CommandTable& table);
void RegisterMaintenanceCommands(CommandTable& table);
void RegisterAuthCommands(CommandTable& table);
void RegisterConcurrencyCommands(CommandTable& table);
void RegisterMirrorCommand(CommandTable& table);
void RegisterCheckCommands(CommandTable& table);

// etcdctl's positional-argument errors exit with kExitBadArgs.
inline int BadArgs(Ctl& ctl, absl::string_view message) { return ctl.Fail(kExitBadArgs, message); }

// An error that carries the exit code etcdctl gives it, for code that
// builds requests from arguments (shared by commands and txn's parser).
absl::Status ExitError(int code, std::string_view message);
// The exit code an error carries (kExitError if none).
int ExitCodeOf(const absl::Status& status);
// Prints "Error: <message>" and returns the code the error carries.
int FailWith(Ctl& ctl, const absl::Status& status);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_CTL_COMMAND_H_
