#include "runtime/metrics.h"

#include <gtest/gtest.h>

#include "runtime/process_metrics.h"

namespace keel::metrics {
namespace {

TEST(FormatValue, PrintsAsGoStrconvG) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(5), "5");
  EXPECT_EQ(FormatValue(20480), "20480");
  EXPECT_EQ(FormatValue(999999), "999999");
  EXPECT_EQ(FormatValue(1e6), "1e+06");
  EXPECT_EQ(FormatValue(2147483648.0), "2.147483648e+09");
  EXPECT_EQ(FormatValue(0.001), "0.001");
  EXPECT_EQ(FormatValue(0.0001), "0.0001");
  EXPECT_EQ(FormatValue(0.00001), "1e-05");
  EXPECT_EQ(FormatValue(0.013417985), "0.013417985");
  EXPECT_EQ(FormatValue(-1), "-1");
}

TEST(Buckets, MatchEtcds) {
  Buckets disk = DiskDurationBuckets();
  ASSERT_EQ(disk.size(), 14u);
  EXPECT_EQ(FormatValue(disk.front()), "0.001");
  EXPECT_EQ(FormatValue(disk.back()), "8.192");
  Buckets rtt = PeerRoundTripBuckets();
  ASSERT_EQ(rtt.size(), 16u);
  EXPECT_EQ(FormatValue(rtt.front()), "0.0001");
  EXPECT_EQ(FormatValue(rtt.back()), "3.2768");
  EXPECT_EQ(DefaultBuckets().size(), 11u);
}

TEST(Histogram, CountsCumulativelyWithInf) {
  Histogram h(DiskDurationBuckets());
  h.Observe(0.0005);
  h.Observe(0.003);
  h.ObserveDuration(Milliseconds(3));
  h.Observe(100);  // Above every bound: only +Inf.
  TextWriter out;
  out.Histogram("x_seconds", "Help.", h);
  const std::string& text = out.text();
  EXPECT_NE(text.find("# TYPE x_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.002\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.004\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"8.192\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_count 4\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_sum 100.0065\n"), std::string::npos);
}

TEST(TextWriter, EscapesLabelsAndHelp) {
  TextWriter out;
  out.Family("a_total", "Back\\slash\nnewline.", MetricType::kCounter);
  out.Sample("a_total", {{"k", "q\"\\\n"}, {"j", "v"}}, 3);
  EXPECT_EQ(out.text(),
            "# HELP a_total Back\\\\slash\\nnewline.\n# TYPE a_total counter\n"
            "a_total{k=\"q\\\"\\\\\\n\",j=\"v\"} 3\n");
}

TEST(ProcessMetrics, ReadsProc) {
  TextWriter out;
  WriteProcessMetrics(out);
  for (const char* name : {"process_cpu_seconds_total ", "process_open_fds ",
                           "process_max_fds ", "process_resident_memory_bytes ",
                           "process_start_time_seconds ", "process_virtual_memory_bytes "}) {
    EXPECT_NE(out.text().find(std::string("\n") + name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace keel::metrics
