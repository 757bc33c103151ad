// The server's flag table: every flag of etcd 3.5's `etcd --help`, and
// keel's own, with what keel does with it. It is the one place a flag's
// status lives: the parser (tools/server_flags.cc) refuses a non-default
// value of every flag not marked implemented, --help prints the notes, and
// tools_flags_test renders the table of doc/flags.md from it and checks that
// each implemented flag reaches the config. Implementing a flag is binding
// it in server_flags.cc (if it is not bound yet) and flipping its status
// here.
#ifndef KEEL_TOOLS_SERVER_FLAG_TABLE_H_
#define KEEL_TOOLS_SERVER_FLAG_TABLE_H_

#include <span>
#include <string>
#include <string_view>

namespace keel::tools {

enum class FlagStatus {
  kImplemented,    // Parsed into node::ServerConfig and acted on.
  kNotYet,         // Refused: keel may implement it.
  kNotApplicable,  // Refused: it names something keel does not have.
};

struct ServerFlag {
  // The heading etcd's --help lists it under ("Member", "Clustering", ...).
  std::string_view section;
  std::string_view name;  // Without the leading dashes.
  // As etcd 3.5's --help prints it, without the quotes; empty for ''.
  std::string_view etcd_default;
  FlagStatus status;
  // One line: what the flag does in keel, or why keel refuses it.
  std::string_view note;
  // A value other than the default, which tools_flags_test passes.
  std::string_view example;
  // For a refused flag, one more value that keel accepts because it is what
  // keel does anyway (--log-outputs=stderr). Empty: none.
  std::string_view also_accepted = "";
};

// In the order of etcd 3.5's --help; each name once.
std::span<const ServerFlag> ServerFlagTable();

// The row for `name`, or nullptr.
const ServerFlag* FindServerFlag(std::string_view name);

// "ETCD_" + the name in upper case with '_' for '-' (etcd's mapping).
std::string EnvironmentVariableFor(std::string_view name);

// "implemented", "refused: not yet" or "refused: not applicable".
std::string_view FlagStatusText(FlagStatus status);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FLAG_TABLE_H_
