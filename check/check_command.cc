// The `check` command; see check_command.h.
#include "check/check_command.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "runtime/strings.h"
#include "check/checker.h"
#include "check/history_json.h"

namespace keel::check {
namespace {

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInconclusive = 3;

void Usage(const char* name) {
  std::fprintf(stderr,
               "usage: %s FILE [--max-search-steps=N] [--lease-tolerance-ms=N]\n"
               "          [--serializable-monotonic] [--only=lin,watch,lease,durability]\n"
               "          [--max-violations=N]\n"
               "Checks a JSONL history (see check/FORMAT.md). Exit: 0 pass, 1 fail,\n"
               "2 usage or input error, 3 inconclusive.\n",
               name);
}

bool ParseFlag(std::string_view arg, std::string_view name, std::string_view* value) {
  if (arg.substr(0, name.size()) != name) return false;
  if (arg.size() == name.size()) {
    *value = "";
    return true;
  }
  if (arg[name.size()] != '=') return false;
  *value = arg.substr(name.size() + 1);
  return true;
}

// Applies one flag. False if it is unknown or malformed.
bool ApplyFlag(std::string_view arg, CheckOptions* options) {
  std::string_view v;
  int64_t n = 0;
  if (ParseFlag(arg, "--max-search-steps", &v)) {
    if (!ParseInt(v, &n) || n <= 0) return false;
    options->linearizability.max_search_steps = n;
    return true;
  }
  if (ParseFlag(arg, "--lease-tolerance-ms", &v)) {
    if (!ParseInt(v, &n) || n < 0) return false;
    options->lease.clock_tolerance_ns = n * 1'000'000;
    return true;
  }
  if (ParseFlag(arg, "--max-violations", &v)) {
    if (!ParseInt(v, &n) || n <= 0) return false;
    options->max_violations = static_cast<size_t>(n);
    return true;
  }
  if (arg == "--serializable-monotonic") {
    options->linearizability.serializable_monotonic = true;
    return true;
  }
  if (ParseFlag(arg, "--only", &v)) {
    options->run_linearizability = options->run_watch = false;
    options->run_lease = options->run_durability = false;
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      v = comma == std::string_view::npos ? "" : v.substr(comma + 1);
      if (item == "lin") {
        options->run_linearizability = true;
      } else if (item == "watch") {
        options->run_watch = true;
      } else if (item == "lease") {
        options->run_lease = true;
      } else if (item == "durability") {
        options->run_durability = true;
      } else {
        return false;
      }
    }
    return true;
  }
  return false;
}

}  // namespace

int RunCheckCommand(int argc, char** argv) {
  const char* name = argc > 0 ? argv[0] : "check";
  CheckOptions options;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage(name);
      return kExitUsage;
    }
    if (arg.substr(0, 2) == "--") {
      if (!ApplyFlag(arg, &options)) {
        std::fprintf(stderr, "%s: bad flag %s\n", name, argv[i]);
        Usage(name);
        return kExitUsage;
      }
      continue;
    }
    if (!file.empty()) {
      Usage(name);
      return kExitUsage;
    }
    file = std::string(arg);
  }
  if (file.empty()) {
    Usage(name);
    return kExitUsage;
  }
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<History> history = ReadHistoryFile(file);
  if (!history.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, std::string(history.status().message()).c_str());
    return kExitUsage;
  }
  auto read = std::chrono::steady_clock::now();
  absl::StatusOr<CheckReport> report = CheckHistory(*history, options);
  if (!report.ok()) {
    std::fprintf(stderr, "%s: %s: %s\n", name, file.c_str(),
                 std::string(report.status().message()).c_str());
    return kExitUsage;
  }
  auto done = std::chrono::steady_clock::now();
  auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::string text = StrCat("history: ", file, " (read in ", ms(read - start),
                            " ms, checked in ", ms(done - read), " ms)\n",
                            FormatReport(*report));
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (report->ok()) return kExitPass;
  return report->violations.empty() ? kExitInconclusive : kExitFail;
}

}  // namespace keel::check
