// WAL figures on the real disk (a directory under /tmp): appending a batch
// of 256-byte entries and syncing it once (the group commit a raft Ready
// gets), at batch sizes 1, 10, 100 and 1000; and the time Wal::Open takes
// to recover a WAL of 64 MiB and of 1 GiB (read, check, replay into
// memory, rewrite and sync the last segment).
//
//   build/bench/wal_bench
//   build/bench/wal_bench --benchmark_filter=Append
#include <cstdlib>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "benchmark/benchmark.h"
#include "runtime/assert.h"
#include "runtime/posix_env.h"
#include "runtime/task.h"
#include "store/wal.h"

namespace keel::store {
namespace {

constexpr size_t kEntryBytes = 256;

std::string TempDir() {
  char dir_template[] = "/tmp/keel-wal-bench-XXXXXX";
  KEEL_ASSERT(mkdtemp(dir_template) != nullptr);
  return dir_template;
}

void RemoveDir(const std::string& dir) {
  KEEL_ASSERT(std::system(("rm -rf " + dir).c_str()) == 0);
}

std::vector<raftpb::Entry> Batch(uint64_t first, size_t n) {
  std::vector<raftpb::Entry> entries(n);
  for (size_t i = 0; i < n; i++) {
    entries[i].set_index(first + i);
    entries[i].set_term(1);
    entries[i].set_data(std::string(kEntryBytes, static_cast<char>('a' + i % 26)));
  }
  return entries;
}

Task<int> AppendAndSync(PosixEnv* env, std::string dir, benchmark::State* state,
                        size_t batch) {
  // Named, not temporaries: GCC 12 may destroy a temporary in a co_await
  // operand twice.
  const WalOptions options{.dir = dir + "/wal"};
  const raftpb::ConfState initial;
  const WalIdentity identity{.member_id = 1};
  auto wal = co_await Wal::Create(*env, options, identity, initial);
  KEEL_ASSERT(wal.ok());
  uint64_t next = 1;
  for (auto _ : *state) {
    KEEL_ASSERT((*wal)->AppendEntries(Batch(next, batch)).ok());
    next += batch;
    KEEL_ASSERT((co_await (*wal)->Sync()).ok());
  }
  co_return 0;
}

void BM_WalAppendAndSync(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const std::string dir = TempDir();
  {
    PosixEnv env({.log_level = LogLevel::kWarn, .handle_signals = false});
    env.RunMain(AppendAndSync(&env, dir, &state, batch));
  }
  RemoveDir(dir);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch * kEntryBytes));
  state.counters["syncs/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WalAppendAndSync)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->UseRealTime();

Task<int> Fill(PosixEnv* env, std::string dir, uint64_t bytes) {
  // Named, not temporaries: GCC 12 may destroy a temporary in a co_await
  // operand twice.
  const WalOptions options{.dir = dir + "/wal"};
  const raftpb::ConfState initial;
  const WalIdentity identity{.member_id = 1};
  auto wal = co_await Wal::Create(*env, options, identity, initial);
  KEEL_ASSERT(wal.ok());
  uint64_t next = 1;
  while ((next - 1) * (kEntryBytes + 40) < bytes) {
    KEEL_ASSERT((*wal)->AppendEntries(Batch(next, 4096)).ok());
    next += 4096;
    KEEL_ASSERT((co_await (*wal)->Sync()).ok());
  }
  co_return 0;
}

Task<int> Recover(PosixEnv* env, std::string dir, benchmark::State* state) {
  WalState recovered;
  const WalOptions options{.dir = dir + "/wal"};
  auto wal = co_await Wal::Open(*env, options, {}, &recovered);
  KEEL_ASSERT(wal.ok());
  state->counters["entries"] = static_cast<double>(recovered.entries.size());
  co_return 0;
}

void BM_WalRecovery(benchmark::State& state) {
  const uint64_t bytes = static_cast<uint64_t>(state.range(0)) << 20;
  const std::string dir = TempDir();
  PosixEnv env({.log_level = LogLevel::kWarn, .handle_signals = false});
  env.RunMain(Fill(&env, dir, bytes));
  // The segments are in the page cache (as after a process restart, not
  // after a reboot): the figure is CPU and fsync, not cold reads.
  for (auto _ : state) env.RunMain(Recover(&env, dir, &state));
  RemoveDir(dir);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_WalRecovery)
    ->Arg(64)
    ->Arg(1024)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace keel::store

BENCHMARK_MAIN();
