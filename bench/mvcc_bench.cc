// Benchmarks of the Mvcc on the real disk (LevelDB's default Env): put of
// new keys and of overwrites, range of one key and of 100 keys, and a
// compare-and-put txn, with etcd's benchmark shapes (8-32 byte keys, 256
// byte random values). Each run uses a fresh directory under $TMPDIR.
// Throughput is per wall-clock second; the CPU column is the calling
// thread alone (LevelDB compacts on its own thread).
//
//   build/bench/mvcc_bench [--benchmark_filter=Put]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/mvcc.h"

namespace keel::store {
namespace {

constexpr size_t kValueBytes = 256;

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A key of 8 to 32 printable bytes, as etcd's benchmark tool makes them.
std::string RandomKey(std::mt19937_64& rng) {
  size_t n = 8 + rng() % 25;
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

class Store {
 public:
  explicit Store(bool compression = false) {
    dir_ = std::filesystem::temp_directory_path() /
           ("keel_mvcc_bench_" + std::to_string(counter_++) + "_" +
            std::to_string(std::random_device{}()));
    std::filesystem::remove_all(dir_);
    MvccOptions options;
    options.path = dir_.string();
    options.compression = compression;
    auto opened = Mvcc::Open(options);
    if (!opened.ok()) {
      std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
      std::abort();
    }
    mvcc_ = std::move(*opened);
  }
  ~Store() {
    mvcc_.reset();
    std::filesystem::remove_all(dir_);
  }
  Mvcc& mvcc() { return *mvcc_; }
  EntryId Next() { return EntryId{++index_, 1}; }
  void Put(std::string key, std::string value) {
    auto r = mvcc_->Put(Next(), PutRequest{.key = std::move(key),
                                           .value = std::move(value)});
    if (!r.ok()) std::abort();
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<Mvcc> mvcc_;
  uint64_t index_ = 0;
};

void BM_PutNewKeys(benchmark::State& state) {
  Store store(state.range(0) != 0);
  std::mt19937_64 rng(1);
  std::string value = RandomBytes(rng, kValueBytes);
  for (auto _ : state) {
    value[rng() % kValueBytes] = static_cast<char>(rng());
    store.Put(RandomKey(rng), value);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PutNewKeys)->Arg(0)->Arg(1)->ArgName("snappy")->UseRealTime();

// Overwrites within a key space of state.range(0) keys.
void BM_PutOverwrite(benchmark::State& state) {
  Store store;
  std::mt19937_64 rng(2);
  std::vector<std::string> keys;
  for (int i = 0; i < state.range(0); ++i) keys.push_back(RandomKey(rng));
  std::string value = RandomBytes(rng, kValueBytes);
  for (auto _ : state) {
    value[rng() % kValueBytes] = static_cast<char>(rng());
    store.Put(keys[rng() % keys.size()], value);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PutOverwrite)->Arg(1)->Arg(10000)->UseRealTime();

// A store of `n` keys "key00000000".. with random values.
std::unique_ptr<Store> Preloaded(int n) {
  auto store = std::make_unique<Store>();
  std::mt19937_64 rng(3);
  char key[32];
  for (int i = 0; i < n; ++i) {
    std::snprintf(key, sizeof(key), "key%08d", i);
    store->Put(key, RandomBytes(rng, kValueBytes));
  }
  return store;
}

void BM_RangeOneKey(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto store = Preloaded(n);
  std::mt19937_64 rng(4);
  char key[32];
  for (auto _ : state) {
    std::snprintf(key, sizeof(key), "key%08d", static_cast<int>(rng() % n));
    auto r = store->mvcc().Range(RangeRequest{.key = key});
    if (!r.ok() || r->kvs.size() != 1) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RangeOneKey)->Arg(100000)->UseRealTime();

void BM_Range100Keys(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto store = Preloaded(n);
  std::mt19937_64 rng(5);
  char key[32], end[32];
  for (auto _ : state) {
    int start = static_cast<int>(rng() % (n - 100));
    std::snprintf(key, sizeof(key), "key%08d", start);
    std::snprintf(end, sizeof(end), "key%08d", start + 100);
    auto r = store->mvcc().Range(RangeRequest{.key = key, .range_end = end});
    if (!r.ok() || r->kvs.size() != 100) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Range100Keys)->Arg(100000)->UseRealTime();

// etcd's usual txn: put only if the key is unchanged since it was read.
void BM_TxnCompareAndPut(benchmark::State& state) {
  const int n = 10000;
  auto store = Preloaded(n);
  std::mt19937_64 rng(6);
  std::string value = RandomBytes(rng, kValueBytes);
  char key[32];
  for (auto _ : state) {
    std::snprintf(key, sizeof(key), "key%08d", static_cast<int>(rng() % n));
    auto read = store->mvcc().Range(RangeRequest{.key = key});
    TxnRequest txn;
    txn.compare.push_back(Compare{.result = CompareResult::kEqual,
                                  .target = CompareTarget::kMod,
                                  .key = key,
                                  .number = read->kvs.at(0).mod_revision});
    txn.success.push_back(RequestOp{PutRequest{.key = key, .value = value}});
    auto r = store->mvcc().Txn(store->Next(), txn);
    if (!r.ok() || !r->succeeded) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TxnCompareAndPut)->UseRealTime();

}  // namespace
}  // namespace keel::store

BENCHMARK_MAIN();
