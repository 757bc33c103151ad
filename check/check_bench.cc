// keel-check-bench: times the checkers on a generated history.
//
//   keel-check-bench [--ops=100000] [--keys=1000] [--clients=8]
//                    [--unknown-percent=2] [--watches=0] [--seed=1]
//                    [--range-keys=20] [--write=FILE]
//
// Generates a linearizable history (history_gen.h), optionally writes it as
// JSONL, then times the linearizability checker alone and all checkers
// together. Exits non-zero if the history is not accepted.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "runtime/strings.h"
#include "check/checker.h"
#include "check/history_gen.h"
#include "check/history_json.h"

namespace keel::check {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

bool IntFlag(std::string_view arg, std::string_view name, int64_t* out) {
  std::string prefix = StrCat("--", name, "=");
  if (arg.substr(0, prefix.size()) != prefix) return false;
  return ParseInt(arg.substr(prefix.size()), out);
}

int Main(int argc, char** argv) {
  int64_t ops = 100000, keys = 1000, clients = 8, unknown = 2, watches = 0, seed = 1;
  int64_t range_keys = 20;
  std::string write;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (IntFlag(a, "ops", &ops) || IntFlag(a, "keys", &keys) ||
        IntFlag(a, "clients", &clients) || IntFlag(a, "unknown-percent", &unknown) ||
        IntFlag(a, "watches", &watches) || IntFlag(a, "seed", &seed) ||
        IntFlag(a, "range-keys", &range_keys)) {
      continue;
    }
    if (a.substr(0, 8) == "--write=") {
      write = std::string(a.substr(8));
      continue;
    }
    std::fprintf(stderr, "unknown argument %s\n", argv[i]);
    return 2;
  }
  GenOptions o;
  o.seed = static_cast<uint64_t>(seed);
  o.ops = static_cast<int>(ops);
  o.keys = static_cast<int>(keys);
  o.clients = static_cast<int>(clients);
  o.unknown_percent = static_cast<int>(unknown);
  o.watches = static_cast<int>(watches);
  o.max_range_keys = static_cast<int>(range_keys);
  auto t0 = std::chrono::steady_clock::now();
  GeneratedHistory g = GenerateHistory(o);
  std::printf("generated %zu ops, %lld revisions in %.2f s\n", g.history.ops.size(),
              static_cast<long long>(g.last_revision), Seconds(t0));
  if (!write.empty()) {
    absl::Status s = WriteHistoryFile(write, g.history);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 2;
    }
    std::printf("wrote %s\n", write.c_str());
  }
  auto t1 = std::chrono::steady_clock::now();
  LinResult lin = CheckLinearizability(g.history);
  double lin_s = Seconds(t1);
  std::printf("linearizability: %s in %.2f s (%lld unacknowledged revisions, %lld "
              "unknown-outcome writes, %lld search steps)\n",
              lin.verdict == Verdict::kOk ? "ok" : "NOT OK", lin_s,
              static_cast<long long>(lin.gaps), static_cast<long long>(lin.unknown_writes),
              static_cast<long long>(lin.search_steps));
  auto t2 = std::chrono::steady_clock::now();
  absl::StatusOr<CheckReport> report = CheckHistory(g.history);
  double all_s = Seconds(t2);
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", std::string(report.status().message()).c_str());
    return 2;
  }
  std::printf("all checkers: %s in %.2f s\n", report->ok() ? "PASS" : "FAIL", all_s);
  if (!report->ok()) std::printf("%s", FormatReport(*report).c_str());
  return report->ok() && lin.verdict == Verdict::kOk ? 0 : 1;
}

}  // namespace
}  // namespace keel::check

int main(int argc, char** argv) { return keel::check::Main(argc, argv); }
