// Hand-written lease histories the lease checker must accept or reject.
#include "check/lease_checker.h"

#include "gtest/gtest.h"
#include "check/checker.h"
#include "check/history_test_util.h"

namespace keel::check {
namespace {

using testing::HistoryBuilder;
using testing::Kv;

constexpr int64_t kS = 1'000'000'000;  // one second in ns
constexpr int64_t kLease = 42;

std::string Describe(const std::vector<Violation>& vs) {
  std::string out;
  for (const auto& v : vs) out += FormatViolation(v) + "\n";
  return out;
}

std::vector<Violation> AllViolations(History h) {
  absl::StatusOr<CheckReport> report = CheckHistory(h);
  EXPECT_TRUE(report.ok()) << report.status();
  return report->violations;
}

bool Has(const std::vector<Violation>& vs, const std::string& checker,
         const std::string& property) {
  for (const auto& v : vs) {
    if (v.checker == checker && v.property == property) return true;
  }
  return false;
}

TEST(LeaseCheckerTest, AcceptsLeaseKeptAliveThenRevoked) {
  HistoryBuilder b;
  b.Grant(0, kLease, 5, 0, kS / 10, 1);
  b.Put(0, "a", "1", kS, kS + 10, 2, kLease);
  b.Put(0, "b", "1", kS, kS + 10, 3, kLease);
  for (int64_t t = 2; t < 20; t += 2) b.KeepAlive(0, kLease, 5, t * kS, t * kS + 10, 3);
  b.TimeToLive(1, kLease, 4, 5, 19 * kS, 19 * kS + 10, 3);
  b.Get(1, "a", 19 * kS, 19 * kS + 10, 3, Kv("a", "1", 2, 2, 1, kLease));
  b.Revoke(0, kLease, 20 * kS, 20 * kS + 10, 4);
  b.Get(1, "a", 21 * kS, 21 * kS + 10, 4, std::nullopt);
  b.Get(1, "b", 21 * kS, 21 * kS + 10, 4, std::nullopt);
  b.KeepAlive(0, kLease, 0, 22 * kS, 22 * kS + 10, 4);
  std::vector<Violation> vs = AllViolations(b.Build());
  EXPECT_TRUE(vs.empty()) << Describe(vs);
}

TEST(LeaseCheckerTest, AcceptsExpiryAfterKeepalivesStop) {
  HistoryBuilder b;
  b.Grant(0, kLease, 2, 0, 10, 1);
  b.Put(0, "a", "1", 20, 30, 2, kLease);
  b.KeepAlive(0, kLease, 2, 1 * kS, 1 * kS + 10, 2);
  // Alive until 3 s at least; gone at 4 s is fine.
  b.Get(1, "a", 2 * kS, 2 * kS + 10, 2, Kv("a", "1", 2, 2, 1, kLease));
  b.Get(1, "a", 4 * kS, 4 * kS + 10, 3, std::nullopt);
  b.KeepAlive(0, kLease, 0, 5 * kS, 5 * kS + 10, 3);
  b.TimeToLive(1, kLease, -1, 2, 5 * kS, 5 * kS + 10, 3);
  std::vector<Violation> vs = AllViolations(b.Build());
  EXPECT_TRUE(vs.empty()) << Describe(vs);
}

TEST(LeaseCheckerTest, RejectsLeaseExpiredWhileKeptAlive) {
  HistoryBuilder b;
  b.Grant(0, kLease, 5, 0, 10, 1);
  b.Put(0, "a", "1", 20, 30, 2, kLease);
  OpId keepalive = b.KeepAlive(0, kLease, 5, 3 * kS, 3 * kS + 10, 2);
  OpId read = b.Get(1, "a", 4 * kS, 4 * kS + 10, 3, std::nullopt);  // gone at 4 s < 8 s
  std::vector<Violation> vs = AllViolations(b.Build());
  ASSERT_TRUE(Has(vs, "lease", "early-expiry")) << Describe(vs);
  for (const auto& v : vs) {
    if (v.property != "early-expiry") continue;
    EXPECT_EQ(v.ops, (std::vector<OpId>{keepalive, read})) << FormatViolation(v);
  }
}

TEST(LeaseCheckerTest, RejectsKeepaliveAnsweredNotFoundBeforeTtl) {
  HistoryBuilder b;
  b.Grant(0, kLease, 5, 0, 10, 1);
  b.KeepAlive(0, kLease, 0, 2 * kS, 2 * kS + 10, 1);
  std::vector<Violation> vs = AllViolations(b.Build());
  EXPECT_TRUE(Has(vs, "lease", "early-expiry")) << Describe(vs);
}

TEST(LeaseCheckerTest, ClockToleranceAbsorbsSmallSkew) {
  HistoryBuilder b;
  b.Grant(0, kLease, 5, 0, 10, 1);
  b.KeepAlive(0, kLease, 0, 5 * kS - 1000, 5 * kS - 900, 1);
  History h = b.Build();
  EXPECT_FALSE(CheckLeases(h, nullptr).empty());
  LeaseOptions tolerant;
  tolerant.clock_tolerance_ns = 1'000'000;
  EXPECT_TRUE(CheckLeases(h, nullptr, tolerant).empty());
}

TEST(LeaseCheckerTest, RejectsRenewalAfterExpiry) {
  HistoryBuilder b;
  b.Grant(0, kLease, 1, 0, 10, 1);
  b.KeepAlive(0, kLease, 0, 3 * kS, 3 * kS + 10, 1);
  b.KeepAlive(0, kLease, 1, 4 * kS, 4 * kS + 10, 1);
  std::vector<Violation> vs = AllViolations(b.Build());
  EXPECT_TRUE(Has(vs, "lease", "early-expiry")) << Describe(vs);
}

TEST(LeaseCheckerTest, RejectsKeysOfRevokedLeaseDeletedInTwoRevisions) {
  HistoryBuilder b;
  b.Grant(0, kLease, 60, 0, 10, 1);
  b.Put(0, "a", "1", 20, 30, 2, kLease);
  b.Put(0, "b", "1", 20, 30, 3, kLease);
  b.Get(1, "a", 40, 50, 3, Kv("a", "1", 2, 2, 1, kLease));
  OpId gone = b.Get(1, "a", 60, 70, 4, std::nullopt);
  OpId still = b.Get(1, "b", 60, 70, 4, Kv("b", "1", 3, 3, 1, kLease));
  b.Get(1, "b", 80, 90, 5, std::nullopt);
  History h = b.Build();
  std::vector<Violation> vs = CheckLeases(h, nullptr);
  ASSERT_TRUE(Has(vs, "lease", "single-revision")) << Describe(vs);
  EXPECT_EQ(vs[0].ops, (std::vector<OpId>{gone, still}));
  // The linearizability checker rejects it too: no single revocation fits.
  EXPECT_TRUE(Has(AllViolations(std::move(h)), "linearizability", "unexplained-revision"));
}

TEST(LeaseCheckerTest, RejectsTimeToLiveAboveGrantedTtl) {
  HistoryBuilder b;
  b.Grant(0, kLease, 5, 0, 10, 1);
  b.TimeToLive(1, kLease, 9, 5, 20, 30, 1);
  b.TimeToLive(1, kLease, 3, 7, 40, 50, 1);
  std::vector<Violation> vs = AllViolations(b.Build());
  EXPECT_TRUE(Has(vs, "lease", "ttl")) << Describe(vs);
  EXPECT_EQ(vs.size(), 2u) << Describe(vs);
}

}  // namespace
}  // namespace keel::check
