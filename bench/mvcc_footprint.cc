// One-off measurement of the Mvcc's footprint and throughput at scale: puts
// `--keys` new keys (8-32 random bytes, 256-byte random values) into a
// fresh store on disk, then reports put/s, bytes per key on disk and in
// memory (RSS growth), single-key and 100-key range/s, and the time to
// count the whole key space (what a limited range over everything costs,
// since etcd's count ignores the limit).
//
// By default LevelDB runs on keel's own Env adapter over real files with a
// background compaction thread, as a production member does (the adapter
// syncs a log file when LevelDB closes it, see store/leveldb_env.h);
// --env=default measures LevelDB's own POSIX Env instead.
//
//   build/bench/mvcc_footprint [--keys=1000000] [--snappy=0|1]
//                              [--write_buffer_mb=16] [--table_file_mb=2]
//                              [--env=keel|default] [--dir=/tmp/x]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "runtime/posix_env.h"
#include "store/leveldb_env.h"
#include "store/mvcc.h"

namespace {

using keel::store::EntryId;
using keel::store::Mvcc;
using keel::store::MvccOptions;
using keel::store::PutRequest;
using keel::store::RangeRequest;
using Clock = std::chrono::steady_clock;

// A field of /proc/self/status in bytes: VmRSS (all resident memory,
// including LevelDB's mmapped table files, which are page cache) or RssAnon
// (the heap: memtables, block cache, index and filter blocks, our own).
long StatusBytes(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(status, line)) {
    if (line.compare(0, n, field) == 0 && line[n] == ':') {
      return std::stol(line.substr(n + 1)) * 1024;
    }
  }
  return 0;
}

// CPU seconds of every thread so far (LevelDB compacts on its own thread),
// or of the calling thread only.
double CpuSeconds(int who = RUSAGE_SELF) {
  rusage usage;
  getrusage(who, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Times `n` runs of `op`; prints ops per wall second and CPU per op. The
// machine may be shared, so CPU time is the steadier figure.
template <typename Op>
void Measure(const char* name, long n, Op op) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu = CpuSeconds(RUSAGE_THREAD);
  for (long i = 0; i < n; ++i) op();
  const double wall = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start).count();
  std::printf("%-28s %9.0f/s wall, %6.2f us CPU each\n", name, n / wall,
              (CpuSeconds(RUSAGE_THREAD) - cpu) * 1e6 / n);
}

uint64_t DiskBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

long Flag(int argc, char** argv, const char* name, long fallback) {
  std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      return std::stol(argv[i] + prefix.size());
    }
  }
  return fallback;
}

std::string StringFlag(int argc, char** argv, const char* name,
                       std::string fallback) {
  std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      return argv[i] + prefix.size();
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long keys = Flag(argc, argv, "keys", 1000000);
  const bool snappy = Flag(argc, argv, "snappy", 0) != 0;
  const long buffer_mb = Flag(argc, argv, "write_buffer_mb", 16);
  const long table_mb = Flag(argc, argv, "table_file_mb", 2);
  const std::filesystem::path dir = StringFlag(
      argc, argv, "dir",
      (std::filesystem::temp_directory_path() / "keel_mvcc_footprint").string());
  const std::string env_name = StringFlag(argc, argv, "env", "keel");
  if (env_name != "keel" && env_name != "default") {
    std::fprintf(stderr, "--env must be keel or default\n");
    return 2;
  }
  std::filesystem::remove_all(dir);

  // Declared before the Mvcc so they outlive it.
  keel::PosixEnv posix_env({.log_level = keel::LogLevel::kWarn, .handle_signals = false});
  std::unique_ptr<keel::store::LevelDbEnv> leveldb_env;
  MvccOptions options;
  if (env_name == "keel") {
    leveldb_env = std::make_unique<keel::store::LevelDbEnv>(
        posix_env.fs(), posix_env.clock(), posix_env.log(),
        keel::store::LevelDbBackground::kThread);
    options.env = leveldb_env.get();
  }
  options.path = dir.string();
  options.compression = snappy;
  options.write_buffer_bytes = static_cast<size_t>(buffer_mb) << 20;
  options.table_file_bytes = static_cast<size_t>(table_mb) << 20;
  auto opened = Mvcc::Open(options);
  if (!opened.ok()) return 1;
  std::unique_ptr<Mvcc> mvcc = std::move(*opened);
  const long rss_before = StatusBytes("VmRSS");
  const long anon_before = StatusBytes("RssAnon");
  const double cpu_before = CpuSeconds();

  std::mt19937_64 rng(7);
  std::vector<std::string> sample;  // keys to read back later
  std::string value(256, '\0');
  uint64_t index = 0;
  auto start = Clock::now();
  for (long i = 0; i < keys; ++i) {
    std::string key(8 + rng() % 25, '\0');
    for (char& c : key) c = static_cast<char>('a' + rng() % 26);
    for (char& c : value) c = static_cast<char>(rng());
    if (i % 10 == 0) sample.push_back(key);
    auto r = mvcc->Put(EntryId{++index, 1},
                       PutRequest{.key = std::move(key), .value = value});
    if (!r.ok()) return 1;
  }
  const double put_seconds = Seconds(start);
  const double put_cpu_seconds = CpuSeconds() - cpu_before;
  if (!mvcc->SyncBarrier().ok()) return 1;
  const long rss_after_puts = StatusBytes("VmRSS");
  const long anon_after_puts = StatusBytes("RssAnon");
  const uint64_t disk_after_puts = DiskBytes(dir);

  std::printf("keys %ld, env %s, snappy %d, write buffer %ld MiB, table files %ld MiB\n",
              keys, env_name.c_str(), snappy, buffer_mb, table_mb);
  std::printf("%-28s %9.0f/s wall, %6.2f us CPU each (all threads)\n", "put",
              keys / put_seconds, put_cpu_seconds * 1e6 / keys);
  const long reads = 100000;
  Measure("range one key", reads, [&] {
    auto r = mvcc->Range(RangeRequest{.key = sample[rng() % sample.size()]});
    if (!r.ok() || r->kvs.size() != 1) std::abort();
  });
  // The lookups a key+revision layout would need instead of the 'l'
  // table's point Get: an iterator Seek, which cannot use the bloom filter,
  // for present and for absent keys (every put of a new key asks).
  keel::store::MvccDb* db = mvcc->db();
  Measure("latest by Get, present", reads, [&] {
    auto v = db->Get("l" + sample[rng() % sample.size()]);
    if (!v.ok() || !v->has_value()) std::abort();
  });
  Measure("latest by Seek, present", reads, [&] {
    auto it = db->NewIterator();
    it->Seek("l" + sample[rng() % sample.size()]);
    if (!it->Valid()) std::abort();
  });
  Measure("latest by Get, absent", reads, [&] {
    auto v = db->Get("l" + sample[rng() % sample.size()] + "~");
    if (!v.ok() || v->has_value()) std::abort();
  });
  Measure("latest by Seek, absent", reads, [&] {
    auto it = db->NewIterator();
    it->Seek("l" + sample[rng() % sample.size()] + "~");
    if (!it->Valid()) std::abort();
  });
  // 100-key ranges: the sample holds every tenth key, so ten sample keys
  // apart enclose about a hundred.
  std::sort(sample.begin(), sample.end());
  long returned = 0;
  const long range_reads = 10000;
  Measure("range ~100 keys", range_reads, [&] {
    size_t from = rng() % (sample.size() - 10);
    auto r = mvcc->Range(RangeRequest{.key = sample[from],
                                      .range_end = sample[from + 10]});
    if (!r.ok()) std::abort();
    returned += static_cast<long>(r->kvs.size());
  });
  std::printf("  (%.1f keys per range on average)\n",
              static_cast<double>(returned) / range_reads);
  const long rss_after_reads = StatusBytes("VmRSS");
  const long anon_after_reads = StatusBytes("RssAnon");

  start = Clock::now();
  auto all = mvcc->Range(RangeRequest{.key = std::string(1, '\0'),
                                      .range_end = std::string(1, '\0'),
                                      .limit = 1});
  const double count_seconds = Seconds(start);
  if (!all.ok() || all->count != keys) return 1;

  mvcc.reset();
  const uint64_t disk_closed = DiskBytes(dir);
  std::printf("count of all keys: %.3f s\n", count_seconds);
  std::printf("disk: %.1f B/key after puts, %.1f B/key after close\n",
              static_cast<double>(disk_after_puts) / keys,
              static_cast<double>(disk_closed) / keys);
  std::printf("memory growth, heap (RssAnon): %.1f B/key after puts, %.1f "
              "B/key after reads\n",
              static_cast<double>(anon_after_puts - anon_before) / keys,
              static_cast<double>(anon_after_reads - anon_before) / keys);
  std::printf("memory growth, RSS incl. mmapped tables: %.1f B/key after "
              "puts, %.1f B/key after reads\n",
              static_cast<double>(rss_after_puts - rss_before) / keys,
              static_cast<double>(rss_after_reads - rss_before) / keys);
  std::filesystem::remove_all(dir);
  return 0;
}
