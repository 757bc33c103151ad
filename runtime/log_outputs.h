// Where a production process's log lines go: etcd's --log-outputs values.
//
// "default" and "stderr" are standard error, "stdout" standard output, any
// other value a file path, opened for appending and created if missing (as
// zap opens it). etcd refuses "default" among several outputs, and keel has
// no systemd journal writer, so "journal" is refused by name rather than
// quietly sent elsewhere.
#ifndef KEEL_RUNTIME_LOG_OUTPUTS_H_
#define KEEL_RUNTIME_LOG_OUTPUTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace keel {

// Opens each output (at least one) and returns its descriptor, in order,
// without duplicates (stderr named twice is written once). InvalidArgument
// for a refused combination or value, naming it; the open(2) error, naming
// the path, for a file that cannot be opened (nothing stays open then).
// The descriptors stay open for the life of the process.
absl::StatusOr<std::vector<int>> OpenLogOutputs(const std::vector<std::string>& outputs);

}  // namespace keel

#endif  // KEEL_RUNTIME_LOG_OUTPUTS_H_
