// The keel server's command line: etcd's flag names and defaults, from the
// command line or ETCD_* environment variables (the command line wins).
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

// Parses `args` (without the program name). InvalidArgument for an unknown
// flag or a bad value, with Go's wording; the config is not validated here.
absl::StatusOr<ServerCommandLine> ParseServerCommandLine(
    const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const std::string&)>& getenv);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_FLAGS_H_
