// keel-bench's command line: etcd's benchmark tool's flags and subcommands.
//
//   keel-bench [global flags] COMMAND [command flags] [args]
//
// Global flags (allowed before or after the command, as cobra's persistent
// flags are): --endpoints, --conns, --clients, --dial-timeout, --precise,
// --target-leader, --output/-o json. Commands and their flags, with etcd's
// defaults:
//   put             --key-size 8 --val-size 8 --total 10000 --rate 0
//                   --key-space-size 1 --sequential-keys
//   range KEY [END] --total 10000 --rate 0 --consistency l|s --limit 0
//                   --count-only
//   txn-put         --key-size 8 --val-size 8 --total 10000 --rate 0
//                   --key-space-size 1 --txn-ops 1
//   watch           --streams 10 --watch-per-stream 100 --put-total 1000
//                   --put-rate 0 --key-size 32 --val-size 32
//                   --key-space-size 1 --sequential-keys --prevkv
//   watch-latency   --total 10000 --put-rate 100 --key-size 32 --val-size 32
//   lease-keepalive --total 10000
// A rate of 0 means as fast as the clients go. Pure parsing: no Env.
#ifndef KEEL_TOOLS_BENCH_CONFIG_H_
#define KEEL_TOOLS_BENCH_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/time.h"

namespace keel::tools {

enum class BenchCommand { kPut, kRange, kTxnPut, kWatch, kWatchLatency, kLeaseKeepAlive };

std::string_view BenchCommandName(BenchCommand command);

// Not an aggregate on purpose (GCC 12: aggregate temporaries holding
// strings across co_await).
struct BenchConfig {
  BenchConfig() {}

  // ---- global ----
  std::vector<std::string> endpoints = {"127.0.0.1:2379"};
  int64_t conns = 1;
  int64_t clients = 1;
  Duration dial_timeout = Seconds(2);
  bool precise = false;
  bool target_leader = false;
  bool json = false;  // --output json / -o json
  // TLS as etcd's benchmark tool: any of these makes every connection TLS.
  std::string cacert;
  std::string cert;
  std::string key;
  bool insecure_skip_tls_verify = false;
  // keel only (--samples FILE): one line per request, "<start, unix µs>
  // <latency µs> <1 ok | 0 failed>", for scripts that need the requests of
  // a time window (ci/defrag-bench).
  std::string samples_path;

  BenchCommand command = BenchCommand::kPut;
  int64_t total = 10000;
  int64_t rate = 0;  // Requests per second over all clients; 0: unlimited.

  // ---- put, txn-put, watch, watch-latency ----
  int64_t key_size = 8;
  int64_t val_size = 8;
  int64_t key_space_size = 1;
  bool sequential_keys = false;
  int64_t txn_ops = 1;

  // ---- range ----
  std::string range_key;
  std::string range_end;
  bool serializable = false;  // --consistency s
  int64_t limit = 0;
  bool count_only = false;

  // ---- watch, watch-latency ----
  int64_t streams = 10;
  int64_t watch_per_stream = 100;
  int64_t put_total = 1000;
  int64_t put_rate = 0;
  bool prev_kv = false;
};

// What the command line asked for: a run, or help text to print.
struct BenchCommandLine {
  BenchCommandLine() {}
  BenchConfig config;
  bool show_help = false;
  std::string usage;
};

// Parses argv[1..]. InvalidArgument, with a message for the user, on an
// unknown command or flag, a bad value, a missing KEY for range, or values
// out of range (conns, clients, total, sizes < 1; key-size too small for
// the key space; val-size < 8 for the watch commands, whose values carry a
// sequence number).
absl::StatusOr<BenchCommandLine> ParseBenchCommandLine(const std::vector<std::string>& args);

// Key number `index` as etcd's benchmark writes it: Go's binary.PutVarint
// (zig-zag varint) at the start of `key_size` zero bytes. KEEL_ASSERTs that
// it fits (ParseBenchCommandLine checks key sizes against key spaces).
std::string BenchKey(int64_t index, int64_t key_size);
// Bytes binary.PutVarint needs for `index`.
int VarintLength(int64_t index);

// A Go duration ("2s", "500ms", "1m30s", "0"). InvalidArgument otherwise.
absl::StatusOr<Duration> ParseGoDuration(std::string_view text);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_BENCH_CONFIG_H_
