// A small data-driven test runner in the style of cockroachdb/datadriven,
// which etcd's raft uses for its interaction tests.
//
// A test file is a sequence of blocks:
//
//   # comments and blank lines between blocks are kept
//   command arg key=value key=(v1 v2)
//   optional input lines
//   ----
//   expected output (no blank lines; ends at a blank line or EOF)
//
// RunFile() hands each block to a handler and compares its output with the
// expected text. With rewrite set, it writes the file back with the actual
// outputs instead, so expectations are regenerated and reviewed as a diff.
#ifndef KEEL_RAFT_RAFTTEST_DATADRIVEN_H_
#define KEEL_RAFT_RAFTTEST_DATADRIVEN_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::raft::rafttest {

struct CommandArg {
  std::string key;
  // Empty for a bare word; one value for key=v; several for key=(a b).
  std::vector<std::string> values;
};

struct TestData {
  // "file:line" of the command, for failure messages.
  std::string position;
  std::string command;
  std::vector<CommandArg> args;
  std::string input;     // lines between the command and "----"
  std::string expected;  // lines after "----"

  // The bare words (arguments without a value), in order.
  std::vector<std::string> Words() const;
  // The values of key, or nullopt if absent.
  std::optional<std::vector<std::string>> Values(std::string_view key) const;
  // The single value of key, or fallback.
  std::string Value(std::string_view key, std::string_view fallback) const;
};

// Parses `text` (the contents of `name`) into blocks. InvalidArgument on a
// block without "----".
absl::StatusOr<std::vector<TestData>> ParseTestFile(std::string_view name,
                                                    std::string_view text);

// Runs every block of the file at `path` through handler. Returns the
// mismatches as one error (empty status if all match). With rewrite, writes
// the actual outputs into the file and returns OK.
absl::Status RunFile(const std::string& path, bool rewrite,
                     const std::function<std::string(const TestData&)>& handler);

}  // namespace keel::raft::rafttest

#endif  // KEEL_RAFT_RAFTTEST_DATADRIVEN_H_
