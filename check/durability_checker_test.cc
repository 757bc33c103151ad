// Hand-written histories the durability checker must accept or reject.
#include "check/durability_checker.h"

#include "gtest/gtest.h"
#include "check/history_test_util.h"

namespace keel::check {
namespace {

using testing::HistoryBuilder;
using testing::Kv;

const std::string kAll(1, '\0');

std::string Describe(const DurabilityResult& r) {
  std::string out;
  for (const auto& v : r.violations) out += FormatViolation(v) + "\n";
  return out;
}

TEST(DurabilityCheckerTest, AcceptsFinalReadOutShowingEveryLastWrite) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.Put(0, "a", "2", 30, 40, 3);
  b.Put(1, "b", "1", 30, 40, 4);
  b.Delete(1, "b", 50, 60, 5, 1);
  b.Range(2, "a", kAll, 100, 110, 5, {Kv("a", "2", 2, 3, 2)}, /*final_read=*/true);
  DurabilityResult r = CheckDurability(b.Build());
  EXPECT_TRUE(r.violations.empty()) << Describe(r);
  EXPECT_TRUE(r.notes.empty());
}

TEST(DurabilityCheckerTest, AcceptsAbsenceAnUnknownDeleteExplains) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  b.DeleteUnknown(1, "a", 30);
  b.Range(2, "a", kAll, 100, 110, 3, {}, true);
  DurabilityResult r = CheckDurability(b.Build());
  EXPECT_TRUE(r.violations.empty()) << Describe(r);
}

TEST(DurabilityCheckerTest, RejectsWriteMissingFromFinalReadOut) {
  HistoryBuilder b;
  OpId lost = b.Put(0, "a", "1", 10, 20, 2);
  b.Put(1, "b", "1", 10, 20, 3);
  OpId final_read = b.Range(2, "a", kAll, 100, 110, 3, {Kv("b", "1", 3, 3, 1)}, true);
  DurabilityResult r = CheckDurability(b.Build());
  ASSERT_EQ(r.violations.size(), 1u) << Describe(r);
  EXPECT_EQ(r.violations[0].property, "final-state");
  EXPECT_EQ(r.violations[0].ops, (std::vector<OpId>{lost, final_read}));
}

TEST(DurabilityCheckerTest, RejectsFinalReadOutThatLostRevisions) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  OpId lost = b.Put(0, "a", "2", 30, 40, 3);
  b.Range(2, "a", kAll, 100, 110, 2, {Kv("a", "1", 2, 2, 1)}, true);
  DurabilityResult r = CheckDurability(b.Build());
  ASSERT_FALSE(r.violations.empty());
  EXPECT_EQ(r.violations.back().property, "final-state") << Describe(r);
  EXPECT_EQ(r.violations.back().ops[0], lost);
}

TEST(DurabilityCheckerTest, RejectsAcknowledgedWriteInvisibleToLaterRead) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  OpId lost = b.Put(0, "a", "2", 30, 40, 3);
  b.Put(0, "c", "1", 50, 60, 4);
  OpId read = b.Get(1, "a", 70, 80, 4, Kv("a", "1", 2, 2, 1));
  DurabilityResult r = CheckDurability(b.Build());
  ASSERT_EQ(r.violations.size(), 1u) << Describe(r);
  EXPECT_EQ(r.violations[0].property, "lost-write");
  EXPECT_EQ(r.violations[0].ops, (std::vector<OpId>{lost, read}));
  EXPECT_FALSE(r.notes.empty());  // no final read-out
}

TEST(DurabilityCheckerTest, RejectsDeletedKeyComingBack) {
  HistoryBuilder b;
  b.Put(0, "a", "1", 10, 20, 2);
  OpId del = b.Delete(0, "a", 30, 40, 3, 1);
  b.Get(1, "a", 50, 60, 3, Kv("a", "1", 2, 2, 1));
  DurabilityResult r = CheckDurability(b.Build());
  ASSERT_EQ(r.violations.size(), 1u) << Describe(r);
  EXPECT_EQ(r.violations[0].ops[0], del);
}

}  // namespace
}  // namespace keel::check
