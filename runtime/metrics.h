// Metrics a member keeps for Prometheus, and their text exposition.
//
// Each member owns its metrics as plain members of the objects that update
// them: a member runs on one thread (its Env's loop), so a counter is a
// uint64_t incremented in place, a histogram an array of bucket counts, and
// updating either takes no lock, no atomic and no allocation. Several members
// in one process (keel-sim, tests) keep apart because nothing is global.
// Reading them (a scrape) happens on the same thread, between updates.
//
// TextWriter renders Prometheus' text exposition format 0.0.4, numbers as
// Go's strconv.FormatFloat(v, 'g', -1, 64) prints them (what etcd's
// client_golang writes: "2.147483648e+09", le="0.001"), so a scrape of keel
// reads like a scrape of etcd.
#ifndef KEEL_RUNTIME_METRICS_H_
#define KEEL_RUNTIME_METRICS_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/time.h"

namespace keel::metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_ += n; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

// Bucket upper bounds, ascending, without +Inf. At most
// Histogram::kMaxBuckets.
using Buckets = std::span<const double>;

// etcd's disk histograms (WAL fsync, backend commit): 1 ms doubling to 8.192 s.
Buckets DiskDurationBuckets();
// etcd_network_peer_round_trip_time_seconds: 0.1 ms doubling to 3.2768 s.
Buckets PeerRoundTripBuckets();
// client_golang's DefBuckets (grpc_server_handling_seconds).
Buckets DefaultBuckets();
// keel_apply_batch_entries: 1 doubling to 4096 entries.
Buckets BatchSizeBuckets();

class Histogram {
 public:
  static constexpr size_t kMaxBuckets = 24;
  explicit Histogram(Buckets bounds);

  void Observe(double value);
  void ObserveDuration(Duration d) { Observe(ToSeconds(d)); }

  Buckets bounds() const { return bounds_; }
  // Observations at most bounds()[i] (cumulative, as exposed).
  uint64_t CumulativeCount(size_t i) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  static double ToSeconds(Duration d);
  Buckets bounds_;
  // Observations in (bounds_[i-1], bounds_[i]]; above the last bound they
  // count only in count_.
  std::array<uint64_t, kMaxBuckets> in_bucket_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

enum class MetricType { kCounter, kGauge, kHistogram };

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Appends the text format to a string. Each family is Family() followed by
// its samples; a family is written once per scrape.
class TextWriter {
 public:
  void Family(std::string_view name, std::string_view help, MetricType type);
  void Sample(std::string_view name, Labels labels, double value);
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  // name_bucket (with le), name_sum and name_count for one label set.
  void HistogramSamples(std::string_view name, Labels labels, const Histogram& h);

  // Shorthands for a family with one unlabelled sample.
  void Counter(std::string_view name, std::string_view help, double value);
  void Gauge(std::string_view name, std::string_view help, double value);
  void Histogram(std::string_view name, std::string_view help, const metrics::Histogram& h);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Line(std::string_view name, Labels labels, std::string_view extra_name,
            std::string_view extra_value, double value);
  std::string out_;
};

// Go's strconv.FormatFloat(v, 'g', -1, 64): "0.001", "20480",
// "2.147483648e+09", "+Inf", "NaN".
std::string FormatValue(double value);

// The exposition's Content-Type.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace keel::metrics

#endif  // KEEL_RUNTIME_METRICS_H_
