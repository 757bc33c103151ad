// The keel server's command line: etcd's flag names and defaults, from the
// command line or ETCD_* environment variables. Every flag of etcd 3.5 is
// known (tools/server_flag_table.h, doc/flags.md); one keel does not act on
// accepts only etcd's default.
#ifndef KEEL_TOOLS_SERVER_FLAGS_H_
#define KEEL_TOOLS_SERVER_FLAGS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/server_config.h"

namespace keel::tools {

struct ServerCommandLine {
  node::ServerConfig config;
  bool show_help = false;
  bool show_version = false;
  std::string usage;
};

// Reads a file's text (for --config-file).
using ReadFileFunction = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// Parses `args` (without the program name), then, unless --help or
// --version was given, the ETCD_* variables `getenv` returns, or instead of
// both, the YAML file --config-file (or ETCD_CONFIG_FILE) names, read with
// `read_file` (tools/server_config_file.h). etcd ignores the other flags
// and variables when a config file is given; keel refuses them, naming the
// first, so that no setting is accepted and dropped. InvalidArgument
// for an unknown flag or a bad value (Go's wording), for a flag given both
// on the command line and in the environment (etcd's wording), and for a
// flag keel does not support given another value than etcd's default
// ("--force-new-cluster is not supported yet (...)"). The config is not
// validated here.
absl::StatusOr<ServerCommandLine> ParseServerCommandLine(
    const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const std::string&)>& getenv,
    const ReadFileFunction& read_file = nullptr);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FLAGS_H_
