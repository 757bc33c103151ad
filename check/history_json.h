// Reading and writing histories as JSON Lines (format: check/FORMAT.md).
//
// The reader treats its input as untrusted: any malformed line, unknown
// field, bad base64 or inconsistent operation is an InvalidArgument naming
// the line, never a crash. Everything it accepts also passes
// ValidateHistory, so the checkers may assume well-formed input.
#ifndef KEEL_CHECK_HISTORY_JSON_H_
#define KEEL_CHECK_HISTORY_JSON_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "check/history.h"

namespace keel::check {

// Parses a whole JSONL document. InvalidArgument "line N: ..." on error.
absl::StatusOr<History> ParseHistory(std::string_view jsonl);

// Reads and parses a file. NotFound / Internal if it cannot be read.
absl::StatusOr<History> ReadHistoryFile(const std::string& path);

// One operation as a single JSON line (no trailing newline).
std::string FormatOperation(const Operation& op);

// The whole history: the initial line if the store was not fresh, then one
// line per operation, each ending in '\n'. ParseHistory(FormatHistory(h))
// reproduces h.
std::string FormatHistory(const History& history);

// Writes FormatHistory(history) to `path`. Internal on I/O failure.
absl::Status WriteHistoryFile(const std::string& path, const History& history);

// Structural checks every checker relies on: unique ids, complete >= invoke
// for completed ops, ok responses of the request's type with a positive
// header revision, txn responses matching the taken branch, a sane initial
// store. InvalidArgument naming the op otherwise. (Whether the history is
// *correct* is the checkers' business, not this function's.)
absl::Status ValidateHistory(const History& history);

}  // namespace keel::check

#endif  // KEEL_CHECK_HISTORY_JSON_H_
