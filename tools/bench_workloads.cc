// keel-bench's request commands (put, range, txn-put, lease-keepalive) and
// the output of every command.
#include "tools/bench_workloads.h"

#include <memory>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::tools {
namespace {

// Key of request `n`: n mod the key space if sequential, else uniform in it.
std::string KeyFor(const BenchConfig& config, Random& random, int64_t n) {
  const int64_t index = config.sequential_keys
                            ? n % config.key_space_size
                            : static_cast<int64_t>(random.Uniform(
                                  static_cast<uint64_t>(config.key_space_size)));
  return BenchKey(index, config.key_size);
}

class PutSource final : public RequestSource {
 public:
  PutSource(Env& env, const BenchConfig& config)
      : env_(env), config_(config), values_(env.random(), config.val_size) {}

  Task<absl::Status> Issue(int64_t, client::EtcdClient& conn, int64_t n) override {
    etcdserverpb::PutRequest request;
    request.set_key(KeyFor(config_, env_.random(), n));
    request.set_value(values_.Next(env_.random()));
    auto response = co_await conn.Put(std::move(request));
    co_return response.status();
  }

 private:
  Env& env_;
  const BenchConfig& config_;
  ValuePool values_;
};

class RangeSource final : public RequestSource {
 public:
  explicit RangeSource(const BenchConfig& config) {
    request_.set_key(config.range_key);
    request_.set_range_end(config.range_end);
    request_.set_serializable(config.serializable);
    request_.set_limit(config.limit);
    request_.set_count_only(config.count_only);
  }

  Task<absl::Status> Issue(int64_t, client::EtcdClient& conn, int64_t) override {
    auto response = co_await conn.Range(request_);
    co_return response.status();
  }

 private:
  etcdserverpb::RangeRequest request_;
};

class TxnPutSource final : public RequestSource {
 public:
  TxnPutSource(Env& env, const BenchConfig& config)
      : env_(env), config_(config), values_(env.random(), config.val_size) {}

  Task<absl::Status> Issue(int64_t, client::EtcdClient& conn, int64_t n) override {
    etcdserverpb::TxnRequest request;
    for (int64_t op = 0; op < config_.txn_ops; op++) {
      // Like etcd's tool, every op draws its own key (uniform in the space).
      etcdserverpb::PutRequest* put = request.add_success()->mutable_request_put();
      put->set_key(KeyFor(config_, env_.random(), n * config_.txn_ops + op));
      put->set_value(values_.Next(env_.random()));
    }
    auto response = co_await conn.Txn(std::move(request));
    co_return response.status();
  }

 private:
  Env& env_;
  const BenchConfig& config_;
  ValuePool values_;
};

class LeaseKeepAliveSource final : public RequestSource {
 public:
  explicit LeaseKeepAliveSource(int64_t workers) : leases_(static_cast<size_t>(workers), 0) {}

  Task<absl::Status> Prepare(int64_t worker, client::EtcdClient& conn) override {
    etcdserverpb::LeaseGrantRequest grant;
    grant.set_ttl(100);
    auto granted = co_await conn.LeaseGrant(std::move(grant));
    if (!granted.ok()) co_return granted.status();
    leases_[static_cast<size_t>(worker)] = granted->id();
    co_return absl::OkStatus();
  }

  Task<absl::Status> Issue(int64_t worker, client::EtcdClient& conn, int64_t) override {
    const int64_t lease = leases_[static_cast<size_t>(worker)];
    KEEL_ASSERT(lease != 0);
    auto response = co_await conn.LeaseKeepAliveOnce(lease);
    if (!response.ok()) co_return response.status();
    if (response->ttl() <= 0) co_return absl::NotFoundError("etcdserver: requested lease not found");
    co_return absl::OkStatus();
  }

 private:
  std::vector<int64_t> leases_;
};

std::string_view SummaryTitle(std::string_view name) {
  if (name == "watch-create") return "Watch creation summary:";
  if (name == "watch-put") return "Put summary:";
  if (name == "watch-events") return "Watch events received summary:";
  return "";
}

}  // namespace

Task<absl::StatusOr<std::vector<Stats>>> RunBench(Env& env, BenchConfig config,
                                                  Progress& progress) {
  auto conns = co_await BenchConnections::Open(env, config);
  if (!conns.ok()) co_return conns.status();
  if (config.command == BenchCommand::kWatch || config.command == BenchCommand::kWatchLatency) {
    co_return co_await RunWatchBench(env, config, **conns, progress);
  }
  std::unique_ptr<RequestSource> source;
  switch (config.command) {
    case BenchCommand::kPut:
      source = std::make_unique<PutSource>(env, config);
      break;
    case BenchCommand::kRange:
      source = std::make_unique<RangeSource>(config);
      break;
    case BenchCommand::kTxnPut:
      source = std::make_unique<TxnPutSource>(env, config);
      break;
    case BenchCommand::kLeaseKeepAlive:
      source = std::make_unique<LeaseKeepAliveSource>(config.clients);
      break;
    case BenchCommand::kWatch:
    case BenchCommand::kWatchLatency:
      KEEL_ASSERT_MSG(false, "handled above");
  }
  RunOptions options;
  options.name = std::string(BenchCommandName(config.command));
  options.total = config.total;
  options.workers = config.clients;
  options.rate = config.rate;
  std::vector<RequestSample> samples;
  if (!config.samples_path.empty()) options.samples = &samples;
  auto stats = co_await RunRequests(env, **conns, *source, std::move(options), progress);
  if (!stats.ok()) co_return stats.status();
  if (!config.samples_path.empty()) {
    std::string text;
    for (const RequestSample& s : samples) {
      StrAppend(&text, s.start_unix_micros, " ", s.latency_micros, " ", s.ok ? 1 : 0, "\n");
    }
    auto file = env.fs().Open(config.samples_path, {.create = true, .truncate = true});
    if (!file.ok()) co_return file.status();
    const absl::Status written = (*file)->Append(text);
    if (!written.ok()) co_return written;
  }
  std::vector<Stats> out;
  out.push_back(std::move(*stats));
  co_return out;
}

std::string FormatBenchText(const std::vector<Stats>& stats, bool precise) {
  std::string out;
  for (const Stats& s : stats) {
    const std::string_view title = SummaryTitle(s.name);
    if (!title.empty()) StrAppend(&out, out.empty() ? "" : "\n", title, "\n");
    StrAppend(&out, FormatText(s, precise));
  }
  return out;
}

std::string FormatBenchJson(BenchCommand command, const std::vector<Stats>& stats) {
  std::string out = StrCat("{\"command\":\"", BenchCommandName(command), "\",\"summaries\":[");
  for (size_t i = 0; i < stats.size(); i++) {
    StrAppend(&out, i > 0 ? "," : "", FormatJson(stats[i]));
  }
  StrAppend(&out, "]}\n");
  return out;
}

}  // namespace keel::tools
