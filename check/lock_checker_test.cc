// CheckFencedWrites on hand-made histories: holders in token order pass;
// an earlier holder's write after a later one's is caught, as are two
// acknowledgements at one revision.
#include "check/lock_checker.h"

#include "gtest/gtest.h"

namespace keel::check {
namespace {

TEST(LockCheckerTest, HoldersInTokenOrderPass) {
  std::vector<FencedWrite> writes = {
      {.client = 1, .lock = "l", .token = 5, .revision = 6},
      {.client = 1, .lock = "l", .token = 5, .revision = 7},
      {.client = 2, .lock = "l", .token = 8, .revision = 10},
      // Another lock's tokens are its own.
      {.client = 3, .lock = "m", .token = 2, .revision = 11},
      {.client = 1, .lock = "l", .token = 9, .revision = 12},
  };
  EXPECT_TRUE(CheckFencedWrites(writes).empty());
}

TEST(LockCheckerTest, AnEarlierHoldersWriteAfterALaterOnesIsCaught) {
  std::vector<FencedWrite> writes = {
      {.client = 1, .lock = "l", .token = 5, .revision = 8},
      {.client = 2, .lock = "l", .token = 7, .revision = 9},
      {.client = 1, .lock = "l", .token = 5, .revision = 10},
  };
  std::vector<Violation> found = CheckFencedWrites(writes);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].checker, "lock");
  EXPECT_EQ(found[0].property, "fencing");
  EXPECT_NE(found[0].explanation.find("revision 10 with token 5"), std::string::npos)
      << found[0].explanation;
}

TEST(LockCheckerTest, TwoAcknowledgementsAtOneRevisionAreCaught) {
  std::vector<FencedWrite> writes = {
      {.client = 1, .lock = "l", .token = 5, .revision = 8},
      {.client = 2, .lock = "l", .token = 5, .revision = 8},
  };
  std::vector<Violation> found = CheckFencedWrites(writes);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].property, "revision");
}

}  // namespace
}  // namespace keel::check
