// keel-chaos-client: the chaos test's client workload against a real keel
// (or etcd) cluster, recording a history for keel-check.
//
// It runs the simulator's cluster workload (sim/scenarios/cluster_workload.h:
// puts, linearizable and serializable gets, range scans, reads at past
// revisions, deletes, compare-and-swap txns, compactions, leases, watches
// with progress notifications) on the POSIX Env, so the requests, the
// timeout rule (a write whose outcome is unknown is recorded as unknown) and
// the history are exactly the simulator's; only the world is real.
//
//   keel-chaos-client --endpoints 10.1.2.10:2379,... --seed 7
//                     --duration-ms 60000 --out history.jsonl
//
// Lifecycle: the clients run for --duration-ms, then drain (no new
// requests; requests in flight end by their own timeouts), then one
// linearizable scan of the key space is recorded as the final read-out
// (retried until a member answers). The history is written in every case
// that reaches the end; a drain or final read that does not finish within
// --finish-limit-ms is a liveness failure (exit 3, the history still
// written, pending requests unknown).
//
// The last line on stdout is one JSON object with the figures for the
// driver's summary. --inject-bug stale-read|watch-skip switches on the
// workload's deliberate defects (its WorkloadBugs) to show that the checker
// fails a run that is wrong.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "check/history_json.h"
#include "runtime/console.h"
#include "runtime/posix_env.h"
#include "runtime/random.h"
#include "runtime/strings.h"
#include "sim/plan.h"
#include "sim/scenarios/cluster_workload.h"
#include "tools/flags.h"

namespace keel {
namespace {

using sim::PlanClient;
using sim::cluster::ClusterWorkload;

struct Config {
  std::string endpoints;
  uint64_t seed = 1;
  int64_t duration_ms = 60'000;
  int64_t finish_limit_ms = 60'000;
  int64_t clients = 6;
  int64_t watchers = 2;
  int64_t keys = 8;
  std::string out;
  std::string inject_bug;
};

// Enough slots that no client runs out before the duration ends (a client
// issues at most one request per slot, and each takes at least a round trip).
constexpr uint64_t kSlotsPerSecond = 200;

Task<bool> WaitFor(Env& env, std::function<bool()> done, Duration limit) {
  const TimePoint deadline = env.clock().Now() + limit;
  while (!done()) {
    if (env.clock().Now() >= deadline) co_return false;
    co_await env.clock().Sleep(Milliseconds(100));
  }
  co_return true;
}

Task<int> ClientMain(PosixEnv& env, Config config) {
  std::vector<std::string> endpoints = absl::StrSplit(config.endpoints, ',', absl::SkipEmpty());
  Random seeds(config.seed);
  std::vector<PlanClient> plan;
  const uint64_t slots =
      static_cast<uint64_t>(config.duration_ms / 1000 + 1) * kSlotsPerSecond;
  for (int c = 0; c < config.clients; c++) {
    PlanClient client{.id = c, .seed = seeds.Next()};
    for (uint64_t i = 0; i < slots; i++) client.slots.push_back(i);
    plan.push_back(std::move(client));
  }
  sim::cluster::WorkloadBugs bugs;
  bugs.stale_read = config.inject_bug == "stale-read";
  bugs.watch_skip = config.inject_bug == "watch-skip";
  ClusterWorkload workload(std::move(endpoints), std::move(plan),
                           static_cast<int>(config.watchers), static_cast<int>(config.keys), bugs);
  env.Spawn(workload.Run(env));
  co_await env.clock().Sleep(Milliseconds(config.duration_ms));
  workload.Drain();
  const Duration limit = Milliseconds(config.finish_limit_ms);
  bool finished = co_await WaitFor(env, [&] { return workload.drained(); }, limit);
  if (finished) {
    workload.RequestFinalRead();
    finished = co_await WaitFor(env, [&] { return workload.final_read_done(); }, limit);
  }
  const ClusterWorkload::Stats stats = workload.stats();
  check::History history = workload.TakeHistory();
  if (absl::Status written = check::WriteHistoryFile(config.out, history); !written.ok()) {
    (void)WriteStderr(StrCat("keel-chaos-client: ", written.ToString(), "\n"));
    co_return 2;
  }
  (void)WriteStdout(StrCat("{\"ops\":", history.ops.size(), ",\"ok\":", stats.ok,
                           ",\"failed\":", stats.failed, ",\"unknown\":", stats.unknown,
                           ",\"watches\":", stats.watches, ",\"watch_events\":",
                           stats.watch_events, ",\"watch_progress\":", stats.watch_progress,
                           ",\"leases_granted\":", stats.leases_granted,
                           ",\"leases_seen_ended\":", stats.leases_seen_ended,
                           ",\"finished\":", finished ? "true" : "false", "}\n"));
  co_return finished ? 0 : 3;
}

int Main(int argc, char** argv) {
  Config config;
  tools::FlagSet flags("keel-chaos-client");
  flags.String("endpoints", &config.endpoints, "comma-separated host:port of every member");
  flags.Uint("seed", &config.seed, "seed of the clients' request plans");
  flags.Int("duration-ms", &config.duration_ms, "how long the clients issue requests");
  flags.Int("finish-limit-ms", &config.finish_limit_ms,
            "bound on the drain and on the final read, each");
  flags.Int("clients", &config.clients, "KV clients");
  flags.Int("watchers", &config.watchers, "watching clients");
  flags.Int("keys", &config.keys, "keys the clients contend on");
  flags.String("out", &config.out, "where to write the history (JSON Lines)");
  flags.String("inject-bug", &config.inject_bug,
               "stale-read or watch-skip: a deliberate client defect the checker must catch");
  if (absl::Status parsed = flags.Parse(argc, argv); !parsed.ok()) {
    (void)WriteStderr(StrCat("keel-chaos-client: ", parsed.message(), "\n"));
    return 2;
  }
  if (config.endpoints.empty() || config.out.empty() || config.keys < 2 ||
      (!config.inject_bug.empty() && config.inject_bug != "stale-read" &&
       config.inject_bug != "watch-skip")) {
    (void)WriteStderr("keel-chaos-client: --endpoints and --out are required; --keys >= 2; "
                      "--inject-bug is stale-read or watch-skip\n");
    return 2;
  }
  PosixEnvOptions options;
  options.process_name = "keel-chaos-client";
  options.log_level = LogLevel::kWarn;
  options.handle_signals = false;
  PosixEnv env(options);
  return env.RunMain(ClientMain(env, std::move(config)));
}

}  // namespace
}  // namespace keel

int main(int argc, char** argv) { return keel::Main(argc, argv); }
