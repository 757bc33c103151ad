// LatencyReport's arithmetic and its two output formats.
#include "tools/bench_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "runtime/assert.h"
#include "runtime/log.h"
#include "runtime/strings.h"

namespace keel::tools {

void LatencyReport::Add(Duration latency, const absl::Status& status) {
  if (status.ok()) {
    AddLatency(latency);
  } else {
    AddError(AsStd(status.message()));
  }
}

void LatencyReport::AddLatency(Duration latency) {
  const int64_t ns = latency.count();
  if (!samples_.empty() && ns < samples_.back()) sorted_ = false;
  samples_.push_back(ns);
}

void LatencyReport::AddError(std::string_view message) {
  failures_++;
  errors_[std::string(message)]++;
}

void ComputePercentiles(const std::vector<double>& sorted,
                        double out[kPercentileCount]) {
  for (int j = 0; j < kPercentileCount; j++) out[j] = 0;
  const size_t n = sorted.size();
  int j = 0;
  for (size_t i = 0; i < n && j < kPercentileCount; i++) {
    const double rank = static_cast<double>(i) * 100.0 / static_cast<double>(n);
    // At most one percentile per sample, as etcd does: with few samples
    // the high percentiles stay 0 (and are not printed).
    if (rank >= kReportPercentiles[j]) {
      out[j] = sorted[i];
      j++;
    }
  }
}

std::vector<HistogramBucket> ComputeHistogram(const std::vector<double>& sorted) {
  std::vector<HistogramBucket> buckets;
  if (sorted.empty()) return buckets;
  const double fastest = sorted.front();
  const double slowest = sorted.back();
  const double step = (slowest - fastest) / (kHistogramBuckets - 1);
  buckets.resize(kHistogramBuckets);
  for (int i = 0; i < kHistogramBuckets - 1; i++) {
    buckets[i].upper_seconds = fastest + step * i;
  }
  buckets[kHistogramBuckets - 1].upper_seconds = slowest;
  size_t b = 0;
  for (double sample : sorted) {
    while (sample > buckets[b].upper_seconds && b + 1 < buckets.size()) b++;
    buckets[b].count++;
  }
  return buckets;
}

Stats LatencyReport::Summarize() {
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  Stats stats;
  stats.name = name_;
  stats.total_seconds = std::chrono::duration<double>(total_).count();
  stats.successes = successes();
  stats.failures = failures_;
  stats.errors = errors_;
  if (stats.total_seconds > 0) {
    stats.requests_per_second = static_cast<double>(stats.successes) / stats.total_seconds;
  }
  if (samples_.empty()) return stats;
  std::vector<double> seconds;
  seconds.reserve(samples_.size());
  double sum = 0;
  for (int64_t ns : samples_) {
    seconds.push_back(static_cast<double>(ns) * 1e-9);
    sum += seconds.back();
  }
  const double n = static_cast<double>(seconds.size());
  stats.average_seconds = sum / n;
  double squares = 0;
  for (double s : seconds) squares += (s - stats.average_seconds) * (s - stats.average_seconds);
  stats.stddev_seconds = std::sqrt(squares / n);
  stats.fastest_seconds = seconds.front();
  stats.slowest_seconds = seconds.back();
  ComputePercentiles(seconds, stats.percentile_seconds);
  stats.histogram = ComputeHistogram(seconds);
  KEEL_ASSERT(stats.fastest_seconds <= stats.slowest_seconds);
  return stats;
}

namespace {

std::string Number(double value, bool precise) {
  return precise ? absl::StrFormat("%g", value) : absl::StrFormat("%4.4f", value);
}

std::string Secs(double value, bool precise) { return Number(value, precise) + " secs"; }

std::string PercentileLabel(double p) { return absl::StrFormat("%g", p); }

}  // namespace

std::string FormatText(const Stats& stats, bool precise) {
  std::string out;
  if (stats.successes > 0) {
    StrAppend(&out, "\nSummary:\n");
    StrAppend(&out, "  Total:\t", Secs(stats.total_seconds, precise), ".\n");
    StrAppend(&out, "  Slowest:\t", Secs(stats.slowest_seconds, precise), ".\n");
    StrAppend(&out, "  Fastest:\t", Secs(stats.fastest_seconds, precise), ".\n");
    StrAppend(&out, "  Average:\t", Secs(stats.average_seconds, precise), ".\n");
    StrAppend(&out, "  Stddev:\t", Secs(stats.stddev_seconds, precise), ".\n");
    StrAppend(&out, "  Requests/sec:\t", Number(stats.requests_per_second, precise), "\n");
    StrAppend(&out, "\nResponse time histogram:\n");
    int64_t most = 0;
    for (const HistogramBucket& b : stats.histogram) most = std::max(most, b.count);
    for (const HistogramBucket& b : stats.histogram) {
      const int64_t bar = most > 0 ? b.count * 40 / most : 0;
      std::string bars;
      for (int64_t i = 0; i < bar; i++) bars += "\xe2\x88\x8e";  // U+220E, etcd's bar.
      StrAppend(&out, "  ", Number(b.upper_seconds, precise), " [", b.count, "]\t|", bars,
                "\n");
    }
    StrAppend(&out, "\nLatency distribution:\n");
    for (int i = 0; i < kPercentileCount; i++) {
      if (stats.percentile_seconds[i] <= 0) continue;
      StrAppend(&out, "  ", PercentileLabel(kReportPercentiles[i]), "% in ",
                Secs(stats.percentile_seconds[i], precise), ".\n");
    }
  }
  if (!stats.errors.empty()) {
    StrAppend(&out, "\nError distribution:\n");
    for (const auto& [message, count] : stats.errors) {
      StrAppend(&out, "  [", count, "]\t", message, "\n");
    }
  }
  return out;
}

std::string FormatJson(const Stats& stats) {
  auto num = [](double v) { return absl::StrFormat("%.9g", v); };
  std::string out = "{\"name\":\"";
  AppendJsonEscaped(&out, stats.name);
  StrAppend(&out, "\",\"total_seconds\":", num(stats.total_seconds),
            ",\"successes\":", stats.successes, ",\"failures\":", stats.failures,
            ",\"requests_per_second\":", num(stats.requests_per_second),
            ",\"fastest_seconds\":", num(stats.fastest_seconds),
            ",\"slowest_seconds\":", num(stats.slowest_seconds),
            ",\"average_seconds\":", num(stats.average_seconds),
            ",\"stddev_seconds\":", num(stats.stddev_seconds), ",\"percentiles\":{");
  for (int i = 0; i < kPercentileCount; i++) {
    StrAppend(&out, i > 0 ? "," : "", "\"", PercentileLabel(kReportPercentiles[i]),
              "\":", num(stats.percentile_seconds[i]));
  }
  StrAppend(&out, "},\"histogram\":[");
  for (size_t i = 0; i < stats.histogram.size(); i++) {
    StrAppend(&out, i > 0 ? "," : "", "{\"le\":", num(stats.histogram[i].upper_seconds),
              ",\"count\":", stats.histogram[i].count, "}");
  }
  StrAppend(&out, "],\"errors\":{");
  bool first = true;
  for (const auto& [message, count] : stats.errors) {
    StrAppend(&out, first ? "\"" : ",\"");
    AppendJsonEscaped(&out, message);
    StrAppend(&out, "\":", count);
    first = false;
  }
  StrAppend(&out, "}}");
  return out;
}

}  // namespace keel::tools
