// etcd's YAML configuration file (--config-file), read as flag values.
//
// etcd unmarshals the file into embed.Config, whose keys are the flag names
// (data-dir, listen-client-urls, ...), with three shapes beyond a scalar:
// client-transport-security and peer-transport-security are maps of the
// TLS flags (cert-file under peer-transport-security is --peer-cert-file),
// log-outputs and cipher-suites are lists, and the durations are integers of
// nanoseconds (time.Duration through JSON). This file turns all of them into
// (flag, value) pairs that the flag parser takes as it takes the command
// line, so a key means exactly what its flag means, is refused when its
// flag is refused, and a value is checked by the same code. Unlike etcd,
// which skips keys it does not know, an unknown key is an error: a setting
// written and silently dropped is what the flag table exists to prevent.
#ifndef KEEL_TOOLS_SERVER_CONFIG_FILE_H_
#define KEEL_TOOLS_SERVER_CONFIG_FILE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace keel::tools {

struct ConfigFileValue {
  std::string flag;   // Without the dashes.
  std::string value;  // As it would follow "--flag=".
};

// Parses the YAML text of a configuration file. A key set to null (or left
// empty) keeps the flag's default, as in etcd. InvalidArgument naming the
// key for a key that is not a flag of the table, a value of the wrong shape
// (a map where a scalar belongs), or YAML that does not parse (with its
// line and column).
absl::StatusOr<std::vector<ConfigFileValue>> ParseServerConfigFile(std::string_view yaml);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_SERVER_CONFIG_FILE_H_
