// Connections, workers, pacing, values and the progress bar of keel-bench.
#include "tools/bench_runner.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/console.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::tools {

// ---- BenchConnections ----

namespace {

// The TLS context the flags ask for; null for plaintext. InvalidArgument
// naming the flag for a file that does not load.
absl::StatusOr<std::shared_ptr<net::TlsContext>> TlsFor(Env& env, const BenchConfig& config) {
  if (config.cacert.empty() && config.cert.empty() && config.key.empty() &&
      !config.insecure_skip_tls_verify) {
    return nullptr;
  }
  if (config.cacert.empty() && !config.insecure_skip_tls_verify) {
    return absl::InvalidArgumentError("TLS needs --cacert (or --insecure-skip-tls-verify)");
  }
  net::TlsConfig tls;
  tls.trusted_ca_file = config.cacert;
  tls.cert_file = config.cert;
  tls.key_file = config.key;
  tls.skip_verify = config.insecure_skip_tls_verify;
  tls.alpn = {"h2"};
  tls.flags.cert = "--cert";
  tls.flags.key = "--key";
  tls.flags.trusted_ca = "--cacert";
  return net::TlsContext::Create(env.fs(), net::TlsRole::kClient, std::move(tls));
}

client::ClientOptions ConnectionOptions(const BenchConfig& config,
                                        std::vector<std::string> endpoints,
                                        std::shared_ptr<net::TlsContext> tls) {
  client::ClientOptions options;
  options.tls = std::move(tls);
  options.endpoints = std::move(endpoints);
  options.dial_timeout = config.dial_timeout;
  // etcd's tool sets none; a bound keeps a dead cluster from hanging a run.
  options.default_timeout = Seconds(60);
  return options;
}

// The endpoint whose member says it is the leader, if any.
Task<std::optional<std::string>> FindLeader(Env& env, BenchConfig config,
                                            std::shared_ptr<net::TlsContext> tls) {
  client::EtcdClient probe(env, ConnectionOptions(config, config.endpoints, std::move(tls)));
  for (const std::string& endpoint : config.endpoints) {
    auto status = co_await probe.Status(endpoint, client::RequestOptions::WithTimeout(
                                                      config.dial_timeout + Seconds(1)));
    if (status.ok() && status->leader() != 0 &&
        status->leader() == status->header().member_id()) {
      co_return endpoint;
    }
  }
  co_return std::nullopt;
}

}  // namespace

Task<absl::StatusOr<std::unique_ptr<BenchConnections>>> BenchConnections::Open(
    Env& env, BenchConfig config) {
  KEEL_ASSERT(!config.endpoints.empty());
  KEEL_ASSERT(config.conns >= 1);
  std::vector<std::string> endpoints = config.endpoints;
  absl::StatusOr<std::shared_ptr<net::TlsContext>> tls = TlsFor(env, config);
  if (!tls.ok()) co_return tls.status();
  if (config.target_leader) {
    std::optional<std::string> leader = co_await FindLeader(env, config, *tls);
    if (!leader.has_value()) {
      co_return absl::UnavailableError("no endpoint reports itself as the leader");
    }
    endpoints = {*leader};
  }
  auto conns = std::unique_ptr<BenchConnections>(new BenchConnections());
  for (int64_t i = 0; i < config.conns; i++) {
    // Rotate so that connection i tries endpoint i mod n first.
    std::vector<std::string> order = endpoints;
    std::rotate(order.begin(), order.begin() + static_cast<int64_t>(i % order.size()),
                order.end());
    conns->conns_.push_back(
        std::make_unique<client::EtcdClient>(env, ConnectionOptions(config, std::move(order), *tls)));
  }
  co_return conns;
}

// ---- ValuePool and Pacer ----

ValuePool::ValuePool(Random& random, size_t value_size)
    : value_size_(value_size), bytes_(random.Bytes(value_size + kSlack)) {}

std::string ValuePool::Next(Random& random) const {
  const size_t offset = random.Uniform(kSlack + 1);
  return bytes_.substr(offset, value_size_);
}

Task<void> Pacer::Wait(int64_t n) {
  if (rate_ <= 0) co_return;
  const TimePoint slot =
      start_ + Duration(static_cast<int64_t>(static_cast<double>(n) * 1e9 / rate_));
  if (slot > clock_.Now()) co_await clock_.SleepUntil(slot);
}

// ---- Progress ----

void Progress::Start(std::string label, int64_t total) {
  label_ = std::move(label);
  total_ = total;
  done_ = 0;
}

void Progress::Draw(bool final) {
  if (!enabled_) return;
  constexpr int kWidth = 40;
  const int64_t shown = std::min(done_, total_);
  const int64_t filled = total_ > 0 ? shown * kWidth / total_ : kWidth;
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  const int64_t percent = total_ > 0 ? shown * 100 / total_ : 100;
  std::string line = StrCat("\r", label_, " ", shown, " / ", total_, " [", bar, "] ",
                            percent, "%");
  if (final) line += "\n";
  (void)WriteStderr(line);
}

Task<void> Progress::Redraw() {
  while (true) {
    Draw(false);
    co_await env_.clock().Sleep(Milliseconds(200));
  }
}

Task<void> Progress::Around(Task<void> work) {
  if (!enabled_) {
    co_await std::move(work);
    co_return;
  }
  std::vector<Task<void>> tasks;
  tasks.push_back(std::move(work));
  tasks.push_back(Redraw());
  co_await WhenAny(std::move(tasks));
  Draw(true);
}

// ---- RunRequests ----

Task<absl::Status> RequestSource::Prepare(int64_t, client::EtcdClient&) {
  co_return absl::OkStatus();
}

namespace {

struct RunState {
  RunState(Env& env, BenchConnections& conns, RequestSource& source, RunOptions options,
           Progress& progress, TimePoint start)
      : env(env),
        conns(conns),
        source(source),
        options(std::move(options)),
        progress(progress),
        pacer(env.clock(), this->options.rate, start),
        report(this->options.name) {}
  Env& env;
  BenchConnections& conns;
  RequestSource& source;
  const RunOptions options;
  Progress& progress;
  Pacer pacer;
  LatencyReport report;
  int64_t next = 0;
};

Task<void> Work(RunState* state, int64_t worker) {
  Clock& clock = state->env.clock();
  client::EtcdClient& conn = state->conns.Get(worker);
  while (true) {
    const int64_t n = state->next++;
    if (n >= state->options.total) break;
    co_await state->pacer.Wait(n);
    const TimePoint start = clock.Now();
    const int64_t start_wall = clock.WallUnixMicros();
    const absl::Status status = co_await state->source.Issue(worker, conn, n);
    const Duration latency = clock.Now() - start;
    state->report.Add(latency, status);
    if (state->options.samples != nullptr) {
      state->options.samples->push_back(RequestSample{
          start_wall, latency.count() / 1000, status.ok()});
    }
    state->progress.Add();
  }
}

Task<void> WorkAll(RunState* state) {
  std::vector<Task<void>> workers;
  for (int64_t w = 0; w < state->options.workers; w++) workers.push_back(Work(state, w));
  co_await WhenAll(std::move(workers));
}

}  // namespace

Task<absl::StatusOr<Stats>> RunRequests(Env& env, BenchConnections& conns,
                                        RequestSource& source, RunOptions options,
                                        Progress& progress) {
  KEEL_ASSERT(options.workers >= 1);
  KEEL_ASSERT(options.total >= 0);
  for (int64_t w = 0; w < options.workers; w++) {
    const absl::Status prepared = co_await source.Prepare(w, conns.Get(w));
    if (!prepared.ok()) co_return prepared;
  }
  Clock& clock = env.clock();
  const TimePoint start = clock.Now();
  RunState state(env, conns, source, options, progress, start);
  state.report.Reserve(static_cast<size_t>(options.total));
  progress.Start(options.name, options.total);
  co_await progress.Around(WorkAll(&state));
  state.report.SetTotal(clock.Now() - start);
  co_return state.report.Summarize();
}

}  // namespace keel::tools
