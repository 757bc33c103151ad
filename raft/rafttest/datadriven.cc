// Parsing, running and rewriting data-driven test files.
#include "raft/rafttest/datadriven.h"

#include <fstream>  // lint-determinism: allow (test harness reads golden files)
#include <sstream>

#include "absl/strings/str_split.h"
#include "runtime/strings.h"

namespace keel::raft::rafttest {
namespace {

// Splits a command line into words, keeping "key=(a b c)" together.
std::vector<std::string> Tokenize(std::string_view line) {
  std::vector<std::string> tokens;
  std::string current;
  int depth = 0;
  for (char c : line) {
    if (c == '(') depth++;
    if (c == ')') depth--;
    if (c == ' ' && depth == 0) {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
      continue;
    }
    current += c;
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

CommandArg ParseArg(const std::string& token) {
  CommandArg arg;
  size_t eq = token.find('=');
  if (eq == std::string::npos) {
    arg.key = token;
    return arg;
  }
  arg.key = token.substr(0, eq);
  std::string value = token.substr(eq + 1);
  if (value.size() >= 2 && value.front() == '(' && value.back() == ')') {
    for (absl::string_view v : absl::StrSplit(
             AsAbsl(std::string_view(value).substr(1, value.size() - 2)), ' ',
             absl::SkipEmpty())) {
      arg.values.emplace_back(v);
    }
    if (arg.values.empty()) arg.values.emplace_back();
  } else {
    arg.values.push_back(value);
  }
  return arg;
}

bool IsSkippable(std::string_view line) {
  return line.empty() || line[0] == '#';
}

}  // namespace

std::vector<std::string> TestData::Words() const {
  std::vector<std::string> out;
  for (const CommandArg& arg : args) {
    if (arg.values.empty()) out.push_back(arg.key);
  }
  return out;
}

std::optional<std::vector<std::string>> TestData::Values(
    std::string_view key) const {
  for (const CommandArg& arg : args) {
    if (arg.key == key && !arg.values.empty()) return arg.values;
  }
  return std::nullopt;
}

std::string TestData::Value(std::string_view key,
                            std::string_view fallback) const {
  std::optional<std::vector<std::string>> values = Values(key);
  if (!values.has_value() || values->empty()) return std::string(fallback);
  return (*values)[0];
}

absl::StatusOr<std::vector<TestData>> ParseTestFile(std::string_view name,
                                                    std::string_view text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(AsAbsl(text), '\n')) {
    lines.emplace_back(line);
  }
  std::vector<TestData> blocks;
  size_t i = 0;
  while (i < lines.size()) {
    if (IsSkippable(lines[i])) {
      i++;
      continue;
    }
    TestData data;
    data.position = StrCat(name, ":", i + 1);
    std::vector<std::string> tokens = Tokenize(lines[i]);
    data.command = tokens[0];
    for (size_t t = 1; t < tokens.size(); t++) data.args.push_back(ParseArg(tokens[t]));
    i++;
    while (i < lines.size() && lines[i] != "----") {
      data.input += lines[i] + "\n";
      i++;
    }
    if (i == lines.size()) {
      return absl::InvalidArgumentError(
          AsAbsl(StrCat(data.position, ": missing ---- after the command")));
    }
    i++;  // "----"
    while (i < lines.size() && !lines[i].empty()) {
      data.expected += lines[i] + "\n";
      i++;
    }
    blocks.push_back(std::move(data));
  }
  return blocks;
}

absl::Status RunFile(const std::string& path, bool rewrite,
                     const std::function<std::string(const TestData&)>& handler) {
  std::ifstream in(path);  // lint-determinism: allow (test harness reads golden files)
  if (!in) return absl::NotFoundError(AsAbsl(StrCat("cannot open ", path)));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  absl::StatusOr<std::vector<TestData>> blocks = ParseTestFile(path, text);
  if (!blocks.ok()) return blocks.status();

  std::string failures;
  std::vector<std::string> outputs;
  for (const TestData& data : *blocks) {
    std::string output = handler(data);
    // Outputs never contain blank lines (they end a block) and always end
    // in a newline.
    std::string cleaned;
    for (absl::string_view line : absl::StrSplit(AsAbsl(output), '\n')) {
      if (!line.empty()) StrAppend(&cleaned, AsStd(line), "\n");
    }
    if (cleaned.empty()) cleaned = "ok\n";
    if (!rewrite && cleaned != data.expected) {
      StrAppend(&failures, data.position, ": ", data.command,
                "\n--- expected\n", data.expected, "--- actual\n", cleaned);
    }
    outputs.push_back(std::move(cleaned));
  }
  if (rewrite) {
    // Keep everything outside the expected outputs as it was.
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(AsAbsl(text), '\n')) {
      lines.emplace_back(line);
    }
    std::string out;
    size_t block = 0;
    size_t i = 0;
    while (i < lines.size()) {
      if (IsSkippable(lines[i])) {
        out += lines[i];
        if (i + 1 < lines.size()) out += "\n";
        i++;
        continue;
      }
      while (i < lines.size() && lines[i] != "----") {
        StrAppend(&out, lines[i], "\n");
        i++;
      }
      out += "----\n";
      i++;
      while (i < lines.size() && !lines[i].empty()) i++;
      out += outputs[block++];
      if (i == lines.size()) break;
    }
    std::ofstream file(path);  // lint-determinism: allow (test harness rewrites golden files)
    file << out;
    return absl::OkStatus();
  }
  if (!failures.empty()) return absl::InternalError(AsAbsl(failures));
  return absl::OkStatus();
}

}  // namespace keel::raft::rafttest
