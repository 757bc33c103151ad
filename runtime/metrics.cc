// Metrics: histogram buckets and the text exposition format.
#include "runtime/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "runtime/assert.h"

namespace keel::metrics {
namespace {

// client_golang's ExponentialBuckets: start, start*factor, ... (count of
// them), by repeated multiplication as Go computes them.
template <size_t N>
std::array<double, N> Exponential(double start, double factor) {
  std::array<double, N> out{};
  double bound = start;
  for (size_t i = 0; i < N; i++) {
    out[i] = bound;
    bound *= factor;
  }
  return out;
}

// Label values escape backslash, double quote and newline; HELP text
// backslash and newline.
void AppendEscaped(std::string* out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (quote && c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

Buckets DiskDurationBuckets() {
  static const auto kBuckets = Exponential<14>(0.001, 2);
  return kBuckets;
}

Buckets PeerRoundTripBuckets() {
  static const auto kBuckets = Exponential<16>(0.0001, 2);
  return kBuckets;
}

Buckets DefaultBuckets() {
  static constexpr double kBuckets[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
  return kBuckets;
}

Buckets BatchSizeBuckets() {
  static const auto kBuckets = Exponential<13>(1, 2);
  return kBuckets;
}

Histogram::Histogram(Buckets bounds) : bounds_(bounds) {
  KEEL_ASSERT(bounds.size() <= kMaxBuckets);
}

void Histogram::Observe(double value) {
  // A linear scan: at most kMaxBuckets comparisons, most observations
  // land in the first few buckets.
  for (size_t i = 0; i < bounds_.size(); i++) {
    if (value <= bounds_[i]) {
      in_bucket_[i]++;
      break;
    }
  }
  count_++;
  sum_ += value;
}

double Histogram::ToSeconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t j = 0; j <= i; j++) total += in_bucket_[j];
  return total;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  // The shortest digits that read back as `value`, in scientific form;
  // Go's 'g' keeps that form when the exponent is < -4 or >= 6 (its
  // choice for the shortest precision), and writes the digits out plainly
  // otherwise.
  char sci[64];
  auto [end, ec] = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific);
  KEEL_ASSERT(ec == std::errc());
  std::string_view text(sci, static_cast<size_t>(end - sci));
  const size_t e = text.find('e');
  const int exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
  if (exponent < -4 || exponent >= 6) return std::string(text);
  char fixed[64];
  auto [fend, fec] = std::to_chars(fixed, fixed + sizeof fixed, value, std::chars_format::fixed);
  KEEL_ASSERT(fec == std::errc());
  return std::string(fixed, static_cast<size_t>(fend - fixed));
}

void TextWriter::Family(std::string_view name, std::string_view help, MetricType type) {
  out_.append("# HELP ").append(name).push_back(' ');
  AppendEscaped(&out_, help, /*quote=*/false);
  out_.append("\n# TYPE ").append(name).push_back(' ');
  switch (type) {
    case MetricType::kCounter: out_.append("counter\n"); break;
    case MetricType::kGauge: out_.append("gauge\n"); break;
    case MetricType::kHistogram: out_.append("histogram\n"); break;
  }
}

void TextWriter::Line(std::string_view name, Labels labels, std::string_view extra_name,
                      std::string_view extra_value, double value) {
  out_.append(name);
  if (labels.size() > 0 || !extra_name.empty()) {
    out_.push_back('{');
    bool first = true;
    auto label = [&](std::string_view key, std::string_view text) {
      if (!first) out_.push_back(',');
      first = false;
      out_.append(key).append("=\"");
      AppendEscaped(&out_, text, /*quote=*/true);
      out_.push_back('"');
    };
    for (const auto& [key, text] : labels) label(key, text);
    if (!extra_name.empty()) label(extra_name, extra_value);
    out_.push_back('}');
  }
  out_.push_back(' ');
  out_.append(FormatValue(value));
  out_.push_back('\n');
}

void TextWriter::Sample(std::string_view name, Labels labels, double value) {
  Line(name, labels, "", "", value);
}

void TextWriter::HistogramSamples(std::string_view name, Labels labels, const metrics::Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < h.bounds().size(); i++) {
    Line(bucket, labels, "le", FormatValue(h.bounds()[i]),
         static_cast<double>(h.CumulativeCount(i)));
  }
  Line(bucket, labels, "le", "+Inf", static_cast<double>(h.count()));
  Line(std::string(name) + "_sum", labels, "", "", h.sum());
  Line(std::string(name) + "_count", labels, "", "", static_cast<double>(h.count()));
}

void TextWriter::Counter(std::string_view name, std::string_view help, double value) {
  Family(name, help, MetricType::kCounter);
  Sample(name, value);
}

void TextWriter::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, help, MetricType::kGauge);
  Sample(name, value);
}

void TextWriter::Histogram(std::string_view name, std::string_view help,
                           const metrics::Histogram& h) {
  Family(name, help, MetricType::kHistogram);
  HistogramSamples(name, {}, h);
}

}  // namespace keel::metrics
