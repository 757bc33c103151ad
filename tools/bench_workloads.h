// keel-bench's commands: what each one sends and what it reports.
//
//  put             Put of key-size/val-size bytes, keys sequential or
//                  uniform in the key space (etcd's varint keys), values
//                  random bytes. One summary.
//  range           Range KEY [END], linearizable or serializable. One summary.
//  txn-put         Txn whose success branch holds txn-ops such puts. One.
//  lease-keepalive Each client grants a lease (TTL 100) before the clock
//                  starts, then keeps it alive once per request (a
//                  LeaseKeepAlive stream per request, as clientv3's
//                  KeepAliveOnce). One summary.
//  watch           Fan-out: streams x watch-per-stream watchers on
//                  key-space-size keys; then put-total puts to those keys
//                  (clients workers, put-rate). Three summaries: watch
//                  creation (create -> created), puts, and events received,
//                  whose rate is events delivered per second (from the first
//                  put to the last event) and whose latencies run from a
//                  put's start to each watcher's receipt of its event.
//  watch-latency --clients streams with one watcher each on one key; one
//                  worker puts total times at put-rate; one summary of
//                  put-start -> event latencies over all watchers.
// Watch values start with the put's sequence number (8 bytes, little
// endian) so a receiver knows which put an event belongs to.
#ifndef KEEL_TOOLS_BENCH_WORKLOADS_H_
#define KEEL_TOOLS_BENCH_WORKLOADS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tools/bench_config.h"
#include "tools/bench_report.h"
#include "tools/bench_runner.h"

namespace keel::tools {

// Runs config.command against config.endpoints and returns its summaries in
// the order they are printed. Errors of single requests are counted in the
// summaries; the run itself fails (Unavailable, Internal, ...) only if it
// cannot go on: no endpoint reachable for setup, a watch stream ended, or
// events still missing 10 s after the last arrived. Suspends.
Task<absl::StatusOr<std::vector<Stats>>> RunBench(Env& env, BenchConfig config,
                                                  Progress& progress);

// Splits `stats` into etcd's text layout with a title per summary when
// there are several; or one JSON object {"command": ..., "summaries": [..]}.
std::string FormatBenchText(const std::vector<Stats>& stats, bool precise);
std::string FormatBenchJson(BenchCommand command, const std::vector<Stats>& stats);

// The watch commands (tools/bench_watch.cc).
Task<absl::StatusOr<std::vector<Stats>>> RunWatchBench(Env& env, BenchConfig config,
                                                       BenchConnections& conns,
                                                       Progress& progress);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_BENCH_WORKLOADS_H_
