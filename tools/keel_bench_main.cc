// keel-bench: a load generator for etcd's v3 gRPC API, with etcd's
// benchmark tool's flags and report (tools/bench_config.h lists them). It
// speaks through keel's client, so it drives a keel cluster and an etcd
// cluster alike; ci/bench-compare runs it against both.
#include <string>
#include <vector>

#include "runtime/console.h"
#include "runtime/posix_env.h"
#include "runtime/strings.h"
#include "tools/bench_config.h"
#include "tools/bench_workloads.h"

namespace keel {
namespace {

Task<int> BenchMain(PosixEnv& env, tools::BenchConfig config) {
  const bool show_progress = !config.json && IsTerminal(ConsoleStream::kStderr);
  tools::Progress progress(env, show_progress);
  auto stats = co_await tools::RunBench(env, config, progress);
  if (!stats.ok()) {
    (void)WriteStderr(StrCat("keel-bench: ", stats.status().ToString(), "\n"));
    co_return 1;
  }
  const std::string out = config.json ? tools::FormatBenchJson(config.command, *stats)
                                      : tools::FormatBenchText(*stats, config.precise);
  (void)WriteStdout(out);
  co_return 0;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto line = tools::ParseBenchCommandLine(args);
  if (!line.ok()) {
    (void)WriteStderr(StrCat("keel-bench: ", line.status().message(), "\n"));
    return 2;
  }
  if (line->show_help) {
    (void)WriteStdout(line->usage);
    return 0;
  }
  PosixEnvOptions options;
  options.process_name = "keel-bench";
  options.log_level = LogLevel::kWarn;
  // Ctrl-C ends the tool at once, as it ends etcd's.
  options.handle_signals = false;
  PosixEnv env(options);
  return env.RunMain(BenchMain(env, std::move(line->config)));
}

}  // namespace
}  // namespace keel

int main(int argc, char** argv) { return keel::Main(argc, argv); }
