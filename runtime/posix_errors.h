// Turning errno values into absl::Status, once, for every POSIX part of the
// runtime (loop, network, files, console).
//
// The codes follow the Env contracts: a missing path is NotFound, an existing
// one AlreadyExists, a full disk ResourceExhausted, a failing device Internal,
// and a peer that refuses, resets or vanishes Unavailable. Callers branch on
// the code; the message carries the context and strerror text for people.
#ifndef KEEL_RUNTIME_POSIX_ERRORS_H_
#define KEEL_RUNTIME_POSIX_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"

namespace keel {

// The status for `error` (an errno value) raised while doing `context`
// ("open /data/wal/0.wal"). Requires error != 0.
absl::Status ErrnoToStatus(int error, std::string_view context);

// The status code alone, for callers that word their own message.
absl::StatusCode ErrnoToCode(int error);

}  // namespace keel

#endif  // KEEL_RUNTIME_POSIX_ERRORS_H_
