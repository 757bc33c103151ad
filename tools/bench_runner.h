// The machinery keel-bench's commands share: the --conns connections, the
// --clients workers that issue requests over them at a --rate, random
// values, and the progress bar.
//
// Everything runs as coroutines of one Env's process, so the same workloads
// drive a real cluster over PosixEnv and a simulated one in tests. Like
// etcd's benchmark tool, --conns connections are opened (connection i pins
// endpoint i mod n first, so they spread over the members, and fails over to
// the others) and --clients workers share them (worker i uses connection
// i mod conns); each worker sends one request at a time.
#ifndef KEEL_TOOLS_BENCH_RUNNER_H_
#define KEEL_TOOLS_BENCH_RUNNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/etcd_client.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tools/bench_config.h"
#include "tools/bench_report.h"

namespace keel::tools {

// The --conns connections.
class BenchConnections {
 public:
  // Connects nothing yet (the first request dials). With --target-leader,
  // asks each endpoint for its status first and keeps only the leader's;
  // Unavailable if no endpoint names itself leader. Suspends.
  static Task<absl::StatusOr<std::unique_ptr<BenchConnections>>> Open(Env& env,
                                                                       BenchConfig config);

  size_t size() const { return conns_.size(); }
  // Connection `i` mod size().
  client::EtcdClient& Get(int64_t i) {
    return *conns_[static_cast<size_t>(i) % conns_.size()];
  }

 private:
  std::vector<std::unique_ptr<client::EtcdClient>> conns_;
};

// Random value bytes without the cost of drawing each one: a pool of random
// bytes, of which each value is a window at a random offset.
class ValuePool {
 public:
  ValuePool(Random& random, size_t value_size);
  // A value of value_size bytes.
  std::string Next(Random& random) const;

 private:
  static constexpr size_t kSlack = 4096;
  size_t value_size_;
  std::string bytes_;
};

// Spaces request starts `rate` per second from `start` (request n starts no
// earlier than start + n/rate); rate 0 never waits.
class Pacer {
 public:
  Pacer(Clock& clock, int64_t rate, TimePoint start)
      : clock_(clock), rate_(rate), start_(start) {}
  // Suspends until request `n` may start.
  Task<void> Wait(int64_t n);

 private:
  Clock& clock_;
  int64_t rate_;
  TimePoint start_;
};

// A progress bar on standard error ("put  12345 / 100000 [=====>    ]  12%"),
// redrawn every 200 ms while Run() runs; a no-op when disabled (not a
// terminal, or -o json).
class Progress {
 public:
  Progress(Env& env, bool enabled) : env_(env), enabled_(enabled) {}
  // Starts a new bar.
  void Start(std::string label, int64_t total);
  void Add(int64_t n = 1) { done_ += n; }
  // Runs `work`, redrawing the bar until it ends; then draws it once more
  // and ends the line.
  Task<void> Around(Task<void> work);

 private:
  void Draw(bool final);
  Task<void> Redraw();

  Env& env_;
  bool enabled_;
  std::string label_;
  int64_t total_ = 0;
  int64_t done_ = 0;
};

// One kind of request, issued by the workers of RunRequests.
class RequestSource {
 public:
  virtual ~RequestSource() = default;
  // Called once per worker before the clock starts (a lease to keep alive,
  // say). An error ends the run.
  virtual Task<absl::Status> Prepare(int64_t worker, client::EtcdClient& conn);
  // Issues request number `n` (0-based) and returns its outcome.
  virtual Task<absl::Status> Issue(int64_t worker, client::EtcdClient& conn, int64_t n) = 0;
};

struct RequestSample {
  int64_t start_unix_micros = 0;
  int64_t latency_micros = 0;
  bool ok = false;
};

struct RunOptions {
  RunOptions() {}
  std::string name;
  int64_t total = 0;
  int64_t workers = 1;
  int64_t rate = 0;
  // If set, every request's start (wall clock, unix µs), latency and
  // outcome, in the order they finish.
  std::vector<RequestSample>* samples = nullptr;
};

// Runs options.total requests of `source` from options.workers workers over
// `conns` and reports their latencies; the report's total time runs from the
// first start to the last end. Fails only if Prepare fails. Suspends.
Task<absl::StatusOr<Stats>> RunRequests(Env& env, BenchConnections& conns,
                                        RequestSource& source, RunOptions options,
                                        Progress& progress);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_BENCH_RUNNER_H_
