// LatencyReport: what keel-bench measured, summarised as etcd's benchmark
// tool summarises it (pkg/report), so numbers from the two tools read alike.
//
// A report collects one result per request (its latency, or its error) and
// the wall time the run took. Summarize() turns them into Stats: requests
// per second (successes over the total time, as etcd counts), fastest,
// slowest, average, population standard deviation, the percentiles etcd
// prints (10, 25, 50, 75, 90, 95, 99, 99.9, chosen by etcd's rule: the first
// sorted sample whose rank i satisfies i*100/n >= p), an eleven-bucket
// linear histogram between fastest and slowest, and the error distribution.
// FormatText() prints etcd's layout; FormatJson() the same figures for
// scripts. Every sample is kept (8 bytes each), so percentiles are exact.
// Pure logic: no Env, no I/O.
#ifndef KEEL_TOOLS_BENCH_REPORT_H_
#define KEEL_TOOLS_BENCH_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/time.h"

namespace keel::tools {

// The percentiles etcd's report prints, in order.
inline constexpr double kReportPercentiles[] = {10, 25, 50, 75, 90, 95, 99, 99.9};
inline constexpr int kPercentileCount = 8;
// etcd's histogram: ten equal steps from fastest to slowest, plus slowest.
inline constexpr int kHistogramBuckets = 11;

struct HistogramBucket {
  double upper_seconds = 0;  // Samples <= this (and above the previous bucket).
  int64_t count = 0;
};

struct Stats {
  std::string name;
  double total_seconds = 0;
  int64_t successes = 0;
  int64_t failures = 0;
  double requests_per_second = 0;
  double fastest_seconds = 0;
  double slowest_seconds = 0;
  double average_seconds = 0;
  double stddev_seconds = 0;
  // Parallel to kReportPercentiles; 0 where there are no samples.
  double percentile_seconds[kPercentileCount] = {};
  std::vector<HistogramBucket> histogram;  // Empty without samples.
  std::map<std::string, int64_t> errors;   // Message -> count, sorted.
};

class LatencyReport {
 public:
  explicit LatencyReport(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  // Reserves room for `n` samples (avoids regrowth during a run).
  void Reserve(size_t n) { samples_.reserve(n); }

  // One request: its latency if `status` is OK, else its error (counted by
  // message, as etcd's report counts err.Error()).
  void Add(Duration latency, const absl::Status& status);
  void AddLatency(Duration latency);
  void AddError(std::string_view message);
  // The wall time of the whole run, from the first request's start to the
  // last one's end (QPS divides by it).
  void SetTotal(Duration total) { total_ = total; }

  int64_t successes() const { return static_cast<int64_t>(samples_.size()); }
  int64_t failures() const { return failures_; }

  // Sorts the samples (once) and computes the figures.
  Stats Summarize();

 private:
  std::string name_;
  std::vector<int64_t> samples_;  // Nanoseconds.
  bool sorted_ = true;
  int64_t failures_ = 0;
  std::map<std::string, int64_t> errors_;
  Duration total_{0};
};

// etcd's percentile rule over ascending `sorted` seconds; zeros if empty.
void ComputePercentiles(const std::vector<double>& sorted,
                        double out[kPercentileCount]);
// etcd's histogram over ascending `sorted` seconds; empty if no samples.
std::vector<HistogramBucket> ComputeHistogram(const std::vector<double>& sorted);

// etcd's text summary ("Summary:", "Response time histogram:", "Latency
// distribution:", "Error distribution:"). `precise` prints every digit (%g)
// instead of four decimals, as --precise does.
std::string FormatText(const Stats& stats, bool precise);
// One JSON object with the same figures (seconds, counts).
std::string FormatJson(const Stats& stats);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_BENCH_REPORT_H_
