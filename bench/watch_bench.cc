// Benchmarks of the watch hub's fan-out: one event per revision delivered
// to N watchers, each on its own stream, with every stream's queue drained
// after each revision (as each stream's writer would). Items are events
// delivered to watchers, so items_per_second is watcher-events per second.
//
//  - FanOutOneKey: N watchers of one key; the hub is fed directly through
//    its listener interface, so this is the hub alone.
//  - FanOutOneKeyThroughMvcc: the same with each revision a real Put on
//    the Mvcc (LevelDB's in-memory Env), the hub as its listener.
//  - FanOutDistinctRanges: N watchers on N different ranges that all
//    contain the key (no sharing of batches between watchers).
//  - StabOneOfManyRanges: N disjoint range watchers on one stream, the
//    event matches one (the cost of finding it).
//
//   build/bench/watch_bench [--benchmark_filter=FanOut]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "leveldb/env.h"
#include "leveldb/helpers/memenv.h"
#include "node/watch_hub.h"
#include "runtime/executor.h"
#include "store/mvcc.h"

namespace keel::node {
namespace {

class Fixture {
 public:
  Fixture() : memenv_(leveldb::NewMemEnv(leveldb::Env::Default())) {
    store::MvccOptions options;
    options.path = "/bench";
    options.env = memenv_.get();
    absl::StatusOr<std::unique_ptr<store::Mvcc>> mvcc =
        store::Mvcc::Open(options);
    if (!mvcc.ok()) {
      std::fprintf(stderr, "open: %s\n", mvcc.status().ToString().c_str());
      std::abort();
    }
    mvcc_ = std::move(*mvcc);
    hub_ = std::make_unique<WatchHub>(mvcc_.get());
    mvcc_->SetListener(hub_.get());
  }
  ~Fixture() {
    streams_.clear();
    mvcc_->SetListener(nullptr);
  }

  // A watcher on a new stream, or on the last one with `shared_stream`.
  void Watch(std::string key, std::string range_end,
             bool shared_stream = false) {
    if (!shared_stream || streams_.empty()) {
      streams_.push_back(hub_->NewStream());
    }
    WatchOptions options;
    options.key = std::move(key);
    options.range_end = std::move(range_end);
    if (!streams_.back()->Watch(options).ok()) std::abort();
  }
  // Drains every stream; returns the events taken.
  int64_t Drain() {
    int64_t events = 0;
    for (auto& stream : streams_) {
      while (std::optional<WatchResponse> r = stream->TryNext()) {
        events += static_cast<int64_t>(r->events->size());
      }
    }
    return events;
  }
  // One revision with one put of `key`, straight to the hub.
  void Apply(const std::string& key) {
    store::Event event;
    event.kv.key = key;
    event.kv.value = "value-of-some-sixty-four-bytes-like-a-small-kubernetes-object..";
    event.kv.mod_revision = ++revision_;
    event.kv.create_revision = 2;
    event.kv.version = revision_;
    hub_->OnApply(revision_, {&event, 1});
  }
  void Put(const std::string& key) {
    store::PutRequest request;
    request.key = key;
    request.value = "value-of-some-sixty-four-bytes-like-a-small-kubernetes-object..";
    if (!mvcc_->Put(store::EntryId{++index_, 1}, request).ok()) std::abort();
  }

 private:
  Executor executor_;
  Executor::Scope scope_{executor_};
  std::unique_ptr<leveldb::Env> memenv_;
  std::unique_ptr<store::Mvcc> mvcc_;
  std::unique_ptr<WatchHub> hub_;
  std::vector<std::unique_ptr<WatchStream>> streams_;
  int64_t revision_ = 1;
  uint64_t index_ = 0;
};

void Report(benchmark::State& state, int64_t delivered) {
  state.SetItemsProcessed(delivered);
  if (delivered != state.iterations() * state.range(0)) {
    state.SkipWithError("an event was lost or duplicated");
  }
}

void FanOutOneKey(benchmark::State& state) {
  Fixture f;
  for (int64_t i = 0; i < state.range(0); i++) f.Watch("hot", "");
  int64_t delivered = 0;
  for (auto _ : state) {
    f.Apply("hot");
    delivered += f.Drain();
  }
  Report(state, delivered);
}
BENCHMARK(FanOutOneKey)->Arg(1)->Arg(100)->Arg(1000)->Arg(10000);

void FanOutOneKeyThroughMvcc(benchmark::State& state) {
  Fixture f;
  for (int64_t i = 0; i < state.range(0); i++) f.Watch("hot", "");
  int64_t delivered = 0;
  for (auto _ : state) {
    f.Put("hot");
    delivered += f.Drain();
  }
  Report(state, delivered);
}
BENCHMARK(FanOutOneKeyThroughMvcc)->Arg(1)->Arg(1000);

void FanOutDistinctRanges(benchmark::State& state) {
  Fixture f;
  // [hot, hot\x01\x00...i) : all contain "hot", all different.
  for (int64_t i = 0; i < state.range(0); i++) {
    f.Watch("hot", "hot\x01" + std::to_string(i));
  }
  int64_t delivered = 0;
  for (auto _ : state) {
    f.Apply("hot");
    delivered += f.Drain();
  }
  Report(state, delivered);
}
BENCHMARK(FanOutDistinctRanges)->Arg(1000);

void StabOneOfManyRanges(benchmark::State& state) {
  Fixture f;
  char buffer[32];
  for (int64_t i = 0; i < state.range(0); i++) {
    std::snprintf(buffer, sizeof(buffer), "r%06lld/", static_cast<long long>(i));
    std::string start(buffer);
    std::string end = start;
    end.back() = '0';  // prefix range of "r%06d/"
    f.Watch(start, end, /*shared_stream=*/true);
  }
  int64_t delivered = 0;
  for (auto _ : state) {
    f.Apply("r000500/key");
    delivered += f.Drain();
  }
  state.SetItemsProcessed(delivered);
  if (delivered != state.iterations()) state.SkipWithError("wrong match count");
}
BENCHMARK(StabOneOfManyRanges)->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace keel::node

BENCHMARK_MAIN();
