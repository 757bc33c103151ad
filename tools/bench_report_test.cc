// Tests of keel-bench's report: etcd's percentile rule, its histogram, the
// summary figures, and the text and JSON layouts.
#include "tools/bench_report.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace keel::tools {
namespace {

TEST(BenchReportTest, PercentilesFollowEtcdsRankRule) {
  std::vector<double> sorted;
  for (int i = 1; i <= 1000; i++) sorted.push_back(i);
  double p[kPercentileCount];
  ComputePercentiles(sorted, p);
  // Sample i (0-based) is the first with i*100/n >= pct: i = pct*n/100.
  EXPECT_EQ(p[0], 101);  // 10%
  EXPECT_EQ(p[2], 501);  // 50%
  EXPECT_EQ(p[4], 901);  // 90%
  EXPECT_EQ(p[6], 991);  // 99%
  EXPECT_EQ(p[7], 1000); // 99.9%
}

TEST(BenchReportTest, FewSamplesLeaveHighPercentilesEmptyAsEtcdDoes) {
  double p[kPercentileCount];
  ComputePercentiles({1, 2, 3, 4}, p);
  // One percentile per sample: 10% at rank 25, 25% at 50, 50% at 75.
  EXPECT_EQ(p[0], 2);
  EXPECT_EQ(p[1], 3);
  EXPECT_EQ(p[2], 4);
  for (int i = 3; i < kPercentileCount; i++) EXPECT_EQ(p[i], 0) << i;
  ComputePercentiles({}, p);
  for (int i = 0; i < kPercentileCount; i++) EXPECT_EQ(p[i], 0);
}

TEST(BenchReportTest, HistogramSplitsFastestToSlowestInTenSteps) {
  std::vector<double> sorted = {0, 0.05, 0.1, 0.1, 0.55, 1.0};
  auto buckets = ComputeHistogram(sorted);
  ASSERT_EQ(buckets.size(), static_cast<size_t>(kHistogramBuckets));
  EXPECT_DOUBLE_EQ(buckets[0].upper_seconds, 0);
  EXPECT_DOUBLE_EQ(buckets[1].upper_seconds, 0.1);
  EXPECT_DOUBLE_EQ(buckets[10].upper_seconds, 1.0);
  EXPECT_EQ(buckets[0].count, 1);   // 0
  EXPECT_EQ(buckets[1].count, 3);   // 0.05, 0.1, 0.1
  EXPECT_EQ(buckets[6].count, 1);   // 0.55 (0.5 < x <= 0.6)
  EXPECT_EQ(buckets[10].count, 1);  // 1.0
  int64_t total = 0;
  for (const auto& b : buckets) total += b.count;
  EXPECT_EQ(total, 6);
  EXPECT_TRUE(ComputeHistogram({}).empty());
}

TEST(BenchReportTest, SummaryCountsSuccessesOverTheTotalTime) {
  LatencyReport report("put");
  report.Add(Milliseconds(30), absl::OkStatus());
  report.Add(Milliseconds(10), absl::OkStatus());
  report.Add(Milliseconds(20), absl::OkStatus());
  report.Add(Milliseconds(5), absl::UnavailableError("connection lost"));
  report.Add(Milliseconds(5), absl::UnavailableError("connection lost"));
  report.Add(Milliseconds(5), absl::DeadlineExceededError("context deadline exceeded"));
  report.SetTotal(Milliseconds(500));
  Stats stats = report.Summarize();
  EXPECT_EQ(stats.name, "put");
  EXPECT_EQ(stats.successes, 3);
  EXPECT_EQ(stats.failures, 3);
  EXPECT_DOUBLE_EQ(stats.requests_per_second, 6.0);  // 3 successes / 0.5 s.
  EXPECT_DOUBLE_EQ(stats.fastest_seconds, 0.010);
  EXPECT_DOUBLE_EQ(stats.slowest_seconds, 0.030);
  EXPECT_NEAR(stats.average_seconds, 0.020, 1e-12);
  EXPECT_NEAR(stats.stddev_seconds, 0.0081649658, 1e-9);  // Population stddev.
  EXPECT_EQ(stats.errors.at("connection lost"), 2);
  EXPECT_EQ(stats.errors.at("context deadline exceeded"), 1);
}

TEST(BenchReportTest, TextLooksLikeEtcds) {
  LatencyReport report("range");
  for (int i = 1; i <= 100; i++) report.AddLatency(Milliseconds(i));
  report.AddError("etcdserver: request timed out");
  report.SetTotal(Seconds(2));
  const std::string text = FormatText(report.Summarize(), /*precise=*/false);
  EXPECT_NE(text.find("\nSummary:\n  Total:\t2.0000 secs.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Slowest:\t0.1000 secs.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Requests/sec:\t50.0000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nResponse time histogram:\n  0.0010 [1]\t|"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  99% in 0.1000 secs.\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("99.9%"), std::string::npos) << "fewer than 1000 samples";
  EXPECT_NE(text.find("\nError distribution:\n  [1]\tetcdserver: request timed out\n"),
            std::string::npos)
      << text;
}

TEST(BenchReportTest, JsonHoldsTheSameFigures) {
  LatencyReport report("txn-put");
  report.AddLatency(Milliseconds(4));
  report.AddError("quote \" here");
  report.SetTotal(Seconds(1));
  const std::string json = FormatJson(report.Summarize());
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_NE(json.find("\"name\":\"txn-put\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"successes\":1,\"failures\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"requests_per_second\":1,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"99.9\":0"), std::string::npos) << json;
  EXPECT_NE(json.find("\"errors\":{\"quote \\\" here\":1}"), std::string::npos) << json;
}

}  // namespace
}  // namespace keel::tools
