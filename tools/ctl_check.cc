// keelctl check perf and check datascale: etcdctl's load checks, run with
// keel-bench's engine (bench_runner.h): rate-limited 1 KiB puts under a
// prefix for 60 seconds (perf), or a number of 512+512-byte puts and the
// server's resident memory before and after (datascale, read from
// /metrics). The progress bar shows on a terminal only; the verdict lines
// are etcdctl's.
#include "absl/strings/str_format.h"
#include "runtime/console.h"
#include "runtime/strings.h"
#include "tools/bench_runner.h"
#include "tools/ctl_command.h"
#include "tools/ctl_endpoints.h"
#include "tools/ctl_format.h"
#include "tools/ctl_kv.h"

namespace keel::tools {
namespace {

struct Load {
  int64_t limit;    // perf: writes per second; datascale: keys
  int64_t clients;
};

absl::StatusOr<Load> LoadOf(const std::string& name, bool datascale) {
  std::string model;
  if (name == "s" || name == "small") model = "s";
  if (name == "m" || name == "medium") model = "m";
  if (name == "l" || name == "large") model = "l";
  if (name == "xl" || name == "xLarge") model = "xl";
  if (model.empty()) return ExitError(kExitBadFeature, StrCat("unknown load option ", name));
  if (datascale) {
    if (model == "s") return Load{10000, 50};
    if (model == "m") return Load{100000, 200};
    if (model == "l") return Load{1000000, 500};
    return Load{3000000, 1000};
  }
  if (model == "s") return Load{150, 50};
  if (model == "m") return Load{1000, 200};
  if (model == "l") return Load{8000, 500};
  return Load{15000, 1000};
}

// Random keys (binary.PutVarint of a random int63 in key_size bytes) under
// the prefix, each with a value of zero bytes.
class PutSource : public RequestSource {
 public:
  PutSource(Random& random, std::string prefix, size_t key_size, size_t value_size)
      : random_(random), prefix_(std::move(prefix)), key_size_(key_size), value_(value_size, '\0') {}
  Task<absl::Status> Issue(int64_t worker, client::EtcdClient& conn, int64_t n) override {
    (void)worker;
    (void)n;
    const int64_t key = static_cast<int64_t>(random_.Uniform(uint64_t{1} << 62));
    etcdserverpb::PutRequest put;
    put.set_key(prefix_ + BenchKey(key, static_cast<int64_t>(key_size_)));
    put.set_value(value_);
    absl::StatusOr<etcdserverpb::PutResponse> done = co_await conn.Put(std::move(put));
    co_return done.status();
  }

 private:
  Random& random_;
  std::string prefix_;
  size_t key_size_;
  std::string value_;
};

// The flags and steps both checks share.
class CheckCommand : public Command {
 public:
  explicit CheckCommand(std::string prefix) : prefix_(std::move(prefix)) {}
  void DefineFlags(FlagSet& flags) override {
    flags.String("load", &load_, "The check's workload model. Accepted workloads: s(small), "
                                 "m(medium), l(large), xl(xLarge)");
    flags.String("prefix", &prefix_, "The prefix for writing the check's keys.");
    flags.Bool("auto-compact", &auto_compact_,
               "Compact storage with last revision after test is finished.");
    flags.Bool("auto-defrag", &auto_defrag_, "Defragment storage after test is finished.");
  }

 protected:
  // ExitInvalidInput if the prefix already holds keys.
  Task<int> CheckEmpty(Ctl& ctl) {
    etcdserverpb::RangeRequest get;
    get.set_key(prefix_);
    get.set_range_end(PrefixRangeEnd(prefix_));
    get.set_limit(1);
    absl::StatusOr<etcdserverpb::RangeResponse> found = co_await ctl.client().Range(get, ctl.Timeout());
    if (!found.ok()) co_return ctl.FailCall(found.status());
    if (found->kvs_size() > 0) {
      co_return ctl.Fail(kExitInvalidInput, StrCat("prefix ", GoQuote(prefix_),
                                                   " has keys. Delete with etcdctl del --prefix ",
                                                   prefix_, " first"));
    }
    co_return kExitSuccess;
  }

  Task<absl::StatusOr<Stats>> Put(Ctl& ctl, const Load& load, int64_t total, int64_t rate,
                                  size_t key_size, size_t value_size, std::string label) {
    BenchConfig config;
    config.endpoints = ctl.config().endpoints;
    config.conns = load.clients;
    config.clients = load.clients;
    config.dial_timeout = ctl.config().dial_timeout;
    absl::StatusOr<std::unique_ptr<BenchConnections>> conns =
        co_await BenchConnections::Open(ctl.env(), config);
    if (!conns.ok()) co_return conns.status();
    PutSource source(ctl.env().random(), prefix_, key_size, value_size);
    RunOptions options;
    options.name = std::move(label);
    options.total = total;
    options.workers = load.clients;
    options.rate = rate;
    Progress progress(ctl.env(), IsTerminal(ConsoleStream::kStderr));
    co_return co_await RunRequests(ctl.env(), **conns, source, options, progress);
  }

  // Deletes the prefix; then compacts and defragments if asked.
  Task<int> CleanUp(Ctl& ctl) {
    etcdserverpb::DeleteRangeRequest del;
    del.set_key(prefix_);
    del.set_range_end(PrefixRangeEnd(prefix_));
    absl::StatusOr<etcdserverpb::DeleteRangeResponse> deleted =
        co_await ctl.client().DeleteRange(del, ctl.Timeout());
    if (!deleted.ok()) co_return ctl.FailCall(deleted.status());
    if (auto_compact_) {
      etcdserverpb::CompactionRequest compact;
      compact.set_revision(deleted->header().revision());
      compact.set_physical(true);
      absl::StatusOr<etcdserverpb::CompactionResponse> compacted =
          co_await ctl.client().Compact(compact, ctl.Timeout());
      if (!compacted.ok()) co_return ctl.FailCall(compacted.status());
      ctl.Out(StrCat("Compacted with revision ", deleted->header().revision(), "\n"));
    }
    if (auto_defrag_) {
      for (const std::string& endpoint : ctl.config().endpoints) {
        absl::StatusOr<etcdserverpb::DefragmentResponse> defragged =
            co_await ctl.client().Defragment(endpoint, ctl.Timeout());
        if (!defragged.ok()) co_return ctl.FailCall(defragged.status());
        ctl.Out(StrCat("Defragmented ", GoQuote(endpoint), "\n"));
      }
    }
    co_return kExitSuccess;
  }

  // FAIL lines for the errors of a run; false if there were any.
  bool ReportErrors(Ctl& ctl, const Stats& stats) {
    if (stats.errors.empty()) return true;
    ctl.Out("FAIL: too many errors\n");
    for (const auto& [error, count] : stats.errors) {
      ctl.Out(StrCat("FAIL: ERROR(", error, ") -> ", count, "\n"));
    }
    return false;
  }

  std::string load_ = "s";
  std::string prefix_;
  bool auto_compact_ = false;
  bool auto_defrag_ = false;
};

class CheckPerfCommand : public CheckCommand {
 public:
  CheckPerfCommand() : CheckCommand("/etcdctl-check-perf/") {}
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    absl::StatusOr<Load> load = LoadOf(load_, false);
    if (!load.ok()) co_return FailWith(ctl, load.status());
    const int empty = co_await CheckEmpty(ctl);
    if (empty != kExitSuccess) co_return empty;
    constexpr int64_t kSeconds = 60;
    absl::StatusOr<Stats> stats = co_await Put(ctl, *load, load->limit * kSeconds, load->limit,
                                               256, 1024, "check perf");
    if (!stats.ok()) co_return ctl.FailCall(stats.status());
    const int cleaned = co_await CleanUp(ctl);
    if (cleaned != kExitSuccess) co_return cleaned;
    bool ok = ReportErrors(ctl, *stats);
    const double rps = stats->requests_per_second;
    if (rps / static_cast<double>(load->limit) <= 0.9) {
      ctl.Out(StrCat("FAIL: Throughput too low: ", static_cast<int64_t>(rps) + 1, " writes/s\n"));
      ok = false;
    } else {
      ctl.Out(StrCat("PASS: Throughput is ", static_cast<int64_t>(rps) + 1, " writes/s\n"));
    }
    if (stats->slowest_seconds > 0.5) {
      ctl.Out(absl::StrFormat("Slowest request took too long: %fs\n", stats->slowest_seconds));
      ok = false;
    } else {
      ctl.Out(absl::StrFormat("PASS: Slowest request took %fs\n", stats->slowest_seconds));
    }
    if (stats->stddev_seconds > 0.1) {
      ctl.Out(absl::StrFormat("Stddev too high: %fs\n", stats->stddev_seconds));
      ok = false;
    } else {
      ctl.Out(absl::StrFormat("PASS: Stddev is %fs\n", stats->stddev_seconds));
    }
    ctl.Out(ok ? "PASS\n" : "FAIL\n");
    co_return ok ? kExitSuccess : kExitError;
  }
};

// process_resident_memory_bytes from the endpoint's /metrics; 0 if it
// cannot be read (etcdctl's endpointMemoryMetrics).
Task<double> ResidentMemory(Ctl& ctl, const std::string& endpoint) {
  const std::string address = DialAddress(endpoint);
  std::optional<absl::StatusOr<std::unique_ptr<Connection>>> connected =
      co_await ctl.env().clock().WithTimeout(ctl.config().dial_timeout,
                                             ctl.env().net().Connect(address));
  if (!connected.has_value() || !connected->ok()) co_return 0;
  Connection& connection = ***connected;
  const std::string request =
      StrCat("GET /metrics HTTP/1.1\r\nHost: ", address, "\r\nConnection: close\r\n\r\n");
  const absl::Status sent = co_await connection.Write(request);
  if (!sent.ok()) co_return 0;
  std::string response;
  char buffer[16384];
  while (true) {
    absl::StatusOr<size_t> n = co_await connection.Read(std::span<char>(buffer, sizeof(buffer)));
    if (!n.ok() || *n == 0) break;
    response.append(buffer, *n);
  }
  constexpr std::string_view kKey = "process_resident_memory_bytes";
  size_t at = 0;
  while ((at = response.find(kKey, at)) != std::string::npos) {
    const bool line_start = at == 0 || response[at - 1] == '\n';
    const size_t end = response.find('\n', at);
    const std::string line = response.substr(at, end == std::string::npos ? end : end - at);
    at += kKey.size();
    if (!line_start || line.size() <= kKey.size() || line[kKey.size()] != ' ') continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(kKey.size() + 1), &value)) co_return value;
  }
  ctl.Out(StrCat("could not find: ", kKey, "\n"));
  co_return 0;
}

class CheckDatascaleCommand : public CheckCommand {
 public:
  CheckDatascaleCommand() : CheckCommand("/etcdctl-check-datascale/") {}
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    absl::StatusOr<Load> load = LoadOf(load_, true);
    if (!load.ok()) co_return FailWith(ctl, load.status());
    const int empty = co_await CheckEmpty(ctl);
    if (empty != kExitSuccess) co_return empty;
    const std::string endpoint = ctl.config().endpoints.front();
    const double before = co_await ResidentMemory(ctl, endpoint);
    if (before == 0) {
      ctl.Out("FAIL: Could not read process_resident_memory_bytes before the put operations.\n");
      co_return kExitError;
    }
    ctl.Out(absl::StrFormat("Start data scale check for work load [%d key-value pairs, 1024 bytes "
                            "per key-value, %d concurrent clients].\n",
                            load->limit, load->clients));
    absl::StatusOr<Stats> stats = co_await Put(ctl, *load, load->limit, 0, 512, 512, "check datascale");
    if (!stats.ok()) co_return ctl.FailCall(stats.status());
    const double after = co_await ResidentMemory(ctl, endpoint);
    if (after == 0) {
      ctl.Out("FAIL: Could not read process_resident_memory_bytes after the put operations.\n");
      co_return kExitError;
    }
    const int cleaned = co_await CleanUp(ctl);
    if (cleaned != kExitSuccess) co_return cleaned;
    if (!ReportErrors(ctl, *stats)) {
      ctl.Out("FAIL\n");
      co_return kExitError;
    }
    ctl.Out(absl::StrFormat("PASS: Approximate system memory used : %.2f MB.\n",
                            (after - before) / (1024.0 * 1024.0)));
    co_return kExitSuccess;
  }
};

}  // namespace

void RegisterCheckCommands(CommandTable& table) {
  table.Add<CheckPerfCommand>("check perf", "check perf [options]",
                              "Check the performance of the etcd cluster");
  table.Add<CheckDatascaleCommand>(
      "check datascale", "check datascale [options]",
      "Check the memory usage of holding data for different workloads on a given server endpoint.");
}

}  // namespace keel::tools
