// keel-bench's watch commands: watchers x events fan-out (watch) and the
// latency from a put to its watchers (watch-latency). See
// tools/bench_workloads.h for what each reports.
#include <memory>
#include <optional>

#include "client/streams.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "runtime/sync.h"
#include "runtime/when.h"
#include "tools/bench_workloads.h"

namespace keel::tools {
namespace {

// How long the events phase waits for missing events after the last one.
constexpr Duration kEventIdleLimit = Seconds(10);

std::string EncodeSequence(int64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; i++) out[i] = static_cast<char>(static_cast<uint64_t>(n) >> (8 * i));
  return out;
}

std::optional<int64_t> DecodeSequence(const std::string& value) {
  if (value.size() < 8) return std::nullopt;
  uint64_t n = 0;
  for (int i = 0; i < 8; i++) n |= static_cast<uint64_t>(static_cast<uint8_t>(value[i])) << (8 * i);
  return static_cast<int64_t>(n);
}

Task<void> WaitOn(WaitQueue* queue) { co_await queue->Wait(); }

Task<void> FirstOf(std::vector<Task<void>> tasks) { co_await WhenAny(std::move(tasks)); }

class WatchRun;

// Puts whose values carry their sequence number; records when each started.
class SequencedPutSource final : public RequestSource {
 public:
  explicit SequencedPutSource(WatchRun& run) : run_(run) {}
  Task<absl::Status> Issue(int64_t worker, client::EtcdClient& conn, int64_t n) override;

 private:
  WatchRun& run_;
};

class WatchRun {
 public:
  WatchRun(Env& env, const BenchConfig& config, BenchConnections& conns, Progress& progress)
      : env_(env),
        config_(config),
        conns_(conns),
        progress_(progress),
        latency_only_(config.command == BenchCommand::kWatchLatency),
        streams_(latency_only_ ? config.clients : config.streams),
        per_stream_(latency_only_ ? 1 : config.watch_per_stream),
        key_space_(latency_only_ ? 1 : config.key_space_size),
        values_(env.random(), static_cast<size_t>(config.val_size - 8)),
        watchers_per_key_(static_cast<size_t>(key_space_), 0),
        put_start_(static_cast<size_t>(config.put_total)),
        create_("watch-create"),
        events_(latency_only_ ? "watch-latency" : "watch-events") {
    KEEL_ASSERT(config.val_size >= 8);
    KEEL_ASSERT(streams_ >= 1 && per_stream_ >= 1);
  }

  Task<absl::StatusOr<std::vector<Stats>>> Run();

 private:
  friend class SequencedPutSource;

  int64_t KeyIndex(int64_t n) {
    if (config_.sequential_keys) return n % key_space_;
    return static_cast<int64_t>(env_.random().Uniform(static_cast<uint64_t>(key_space_)));
  }
  Task<absl::Status> OpenAndCreate(int64_t stream);
  Task<void> CreateAll(std::vector<absl::Status>* results);
  Task<void> Receive(client::WatchStream* stream);
  Task<absl::Status> DrivePuts(std::optional<Stats>* put_stats);
  Task<void> Drive(absl::Status* outcome, std::optional<Stats>* put_stats);

  Env& env_;
  const BenchConfig& config_;
  BenchConnections& conns_;
  Progress& progress_;
  const bool latency_only_;
  const int64_t streams_;
  const int64_t per_stream_;
  const int64_t key_space_;
  ValuePool values_;
  std::vector<int64_t> watchers_per_key_;
  std::vector<std::unique_ptr<client::WatchStream>> watch_streams_;
  std::vector<TimePoint> put_start_;
  LatencyReport create_;
  LatencyReport events_;
  int64_t expected_ = 0;
  int64_t received_ = 0;
  std::optional<TimePoint> first_put_;
  TimePoint last_event_{};
  std::optional<absl::Status> stream_error_;
  WaitQueue changed_;
};

Task<absl::Status> SequencedPutSource::Issue(int64_t, client::EtcdClient& conn, int64_t n) {
  const int64_t key = run_.KeyIndex(n);
  etcdserverpb::PutRequest request;
  request.set_key(BenchKey(key, run_.config_.key_size));
  request.set_value(StrCat(EncodeSequence(n), run_.values_.Next(run_.env_.random())));
  run_.expected_ += run_.watchers_per_key_[static_cast<size_t>(key)];
  const TimePoint now = run_.env_.clock().Now();
  run_.put_start_[static_cast<size_t>(n)] = now;
  if (!run_.first_put_.has_value()) run_.first_put_ = now;
  auto response = co_await conn.Put(std::move(request));
  co_return response.status();
}

Task<absl::Status> WatchRun::OpenAndCreate(int64_t stream) {
  auto opened = co_await conns_.Get(stream).Watch();
  if (!opened.ok()) co_return opened.status();
  client::WatchStream& watch = **opened;
  watch_streams_[static_cast<size_t>(stream)] = std::move(*opened);
  Clock& clock = env_.clock();
  for (int64_t w = 0; w < per_stream_; w++) {
    const int64_t key = KeyIndex(stream * per_stream_ + w);
    etcdserverpb::WatchCreateRequest create;
    create.set_key(BenchKey(key, config_.key_size));
    create.set_prev_kv(config_.prev_kv);
    const TimePoint start = clock.Now();
    absl::Status sent = co_await watch.Create(std::move(create));
    if (!sent.ok()) co_return sent;
    std::optional<etcdserverpb::WatchResponse> response = co_await watch.Receive();
    if (!response.has_value()) {
      co_return watch.status().value_or(absl::UnavailableError("watch stream ended"));
    }
    if (!response->created() || response->canceled()) {
      co_return absl::InternalError(
          AsAbsl(StrCat("watch not created: ", response->cancel_reason())));
    }
    create_.AddLatency(clock.Now() - start);
    watchers_per_key_[static_cast<size_t>(key)]++;
    progress_.Add();
  }
  co_return absl::OkStatus();
}

Task<void> WatchRun::CreateAll(std::vector<absl::Status>* results) {
  std::vector<Task<absl::Status>> streams;
  for (int64_t s = 0; s < streams_; s++) streams.push_back(OpenAndCreate(s));
  *results = co_await WhenAll(std::move(streams));
}

Task<void> WatchRun::Receive(client::WatchStream* stream) {
  Clock& clock = env_.clock();
  while (true) {
    std::optional<etcdserverpb::WatchResponse> response = co_await stream->Receive();
    if (!response.has_value()) {
      stream_error_ = stream->status().value_or(absl::UnavailableError("watch stream ended"));
      changed_.WakeAll();
      co_return;
    }
    const TimePoint now = clock.Now();
    for (const mvccpb::Event& event : response->events()) {
      const std::optional<int64_t> n = DecodeSequence(event.kv().value());
      if (!n.has_value() || *n < 0 || *n >= config_.put_total) continue;  // Not ours.
      events_.AddLatency(now - put_start_[static_cast<size_t>(*n)]);
      received_++;
      last_event_ = now;
    }
    progress_.Add(response->events_size());
    changed_.WakeAll();
  }
}

Task<absl::Status> WatchRun::DrivePuts(std::optional<Stats>* put_stats) {
  SequencedPutSource source(*this);
  RunOptions options;
  options.name = "watch-put";
  options.total = config_.put_total;
  options.workers = latency_only_ ? 1 : config_.clients;
  options.rate = config_.put_rate;
  Progress quiet(env_, /*enabled=*/false);
  auto stats = co_await RunRequests(env_, conns_, source, std::move(options), quiet);
  if (!stats.ok()) co_return stats.status();
  if (stats->failures > 0) {
    co_return absl::InternalError(
        AsAbsl(StrCat(stats->failures, " puts failed; first error: ",
                      stats->errors.begin()->first)));
  }
  *put_stats = std::move(*stats);
  Clock& clock = env_.clock();
  while (received_ < expected_) {
    if (stream_error_.has_value()) co_return *stream_error_;
    const int64_t before = received_;
    const bool woke = co_await clock.WithTimeout(kEventIdleLimit, WaitOn(&changed_));
    if (!woke && received_ == before) {
      co_return absl::DeadlineExceededError(
          AsAbsl(StrCat(expected_ - received_, " of ", expected_,
                        " events still missing 10 s after the last one arrived")));
    }
  }
  co_return absl::OkStatus();
}

Task<void> WatchRun::Drive(absl::Status* outcome, std::optional<Stats>* put_stats) {
  *outcome = co_await DrivePuts(put_stats);
}

Task<absl::StatusOr<std::vector<Stats>>> WatchRun::Run() {
  // Phase 1: every watcher, stream by stream in parallel.
  watch_streams_.resize(static_cast<size_t>(streams_));
  const int64_t watchers = streams_ * per_stream_;
  create_.Reserve(static_cast<size_t>(watchers));
  std::vector<absl::Status> created;
  Clock& clock = env_.clock();
  const TimePoint create_start = clock.Now();
  progress_.Start("watch-create", watchers);
  co_await progress_.Around(CreateAll(&created));
  create_.SetTotal(clock.Now() - create_start);
  for (const absl::Status& status : created) {
    if (!status.ok()) co_return status;
  }

  // Phase 2: puts, and every event each watcher receives.
  events_.Reserve(static_cast<size_t>(config_.put_total * watchers / key_space_));
  absl::Status outcome = absl::InternalError("watch streams ended before the puts did");
  std::optional<Stats> put_stats;
  std::vector<Task<void>> receivers;
  for (auto& stream : watch_streams_) receivers.push_back(Receive(stream.get()));
  std::vector<Task<void>> phase;
  phase.push_back(Drive(&outcome, &put_stats));
  phase.push_back(WhenAll(std::move(receivers)));
  progress_.Start("watch-events", config_.put_total * watchers / key_space_);
  co_await progress_.Around(FirstOf(std::move(phase)));
  if (stream_error_.has_value() && outcome.ok() && received_ < expected_) {
    outcome = *stream_error_;
  }
  watch_streams_.clear();
  if (!outcome.ok()) co_return outcome;
  KEEL_ASSERT(first_put_.has_value() && put_stats.has_value());
  events_.SetTotal(received_ > 0 ? last_event_ - *first_put_ : Duration::zero());
  std::vector<Stats> out;
  if (!latency_only_) {
    out.push_back(create_.Summarize());
    out.push_back(std::move(*put_stats));
  }
  out.push_back(events_.Summarize());
  co_return out;
}

}  // namespace

Task<absl::StatusOr<std::vector<Stats>>> RunWatchBench(Env& env, BenchConfig config,
                                                       BenchConnections& conns,
                                                       Progress& progress) {
  WatchRun run(env, config, conns, progress);
  co_return co_await run.Run();
}

}  // namespace keel::tools
