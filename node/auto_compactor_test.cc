// Tests of automatic compaction: etcd's reading of the two flags, and the
// periodic and revision schedules on the simulated clock, leader only.
#include "node/auto_compactor.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "node/auto_compaction.h"
#include "node/server.h"
#include "node/testing/sim_members.h"

namespace keel::node {
namespace {

TEST(AutoCompactionTest, ReadsTheRetentionAsEtcdDoes) {
  auto hours = ParseAutoCompaction("periodic", "1");
  ASSERT_TRUE(hours.ok());
  EXPECT_EQ(hours->period, Seconds(3600));
  auto minutes = ParseAutoCompaction("periodic", "30m");
  ASSERT_TRUE(minutes.ok());
  EXPECT_EQ(minutes->period, Seconds(1800));
  auto revisions = ParseAutoCompaction("revision", "1000");
  ASSERT_TRUE(revisions.ok());
  EXPECT_EQ(revisions->mode, AutoCompaction::Mode::kRevision);
  EXPECT_EQ(revisions->revisions, 1000);
  auto off = ParseAutoCompaction("periodic", "0");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->enabled());
  EXPECT_EQ(ParseAutoCompaction("hourly", "1").status().message(),
            "unknown auto-compaction-mode \"hourly\"");
  EXPECT_EQ(ParseAutoCompaction("periodic", "soon").status().message(),
            "error parsing CompactionRetention: time: invalid duration \"soon\"");
}

class AutoCompactorTest : public ::testing::Test {
 protected:
  void Start(int size, const std::string& mode, const std::string& retention) {
    c_ = std::make_unique<testing::SimMembers>(testing::SimMembersOptions{.size = size});
    for (int i = 0; i < size; i++) {
      c_->config(i).auto_compaction_mode = mode;
      c_->config(i).auto_compaction_retention = retention;
    }
    ASSERT_TRUE(c_->StartAll().ok());
    leader_ = c_->WaitLeader(Seconds(20));
    ASSERT_GE(leader_, 0);
  }
  void TearDown() override {
    if (c_ != nullptr) {
      EXPECT_TRUE(c_->StopAll().ok());
    }
  }

  void Put() {
    etcdserverpb::PutRequest request;
    request.set_key("k");
    request.set_value("v");
    ASSERT_TRUE(c_->RunOn(leader_, c_->server(leader_).kv().Put(request)).ok());
  }
  int64_t Revision(int i) { return c_->server(i).key_space().mvcc().current_revision(); }
  int64_t Compacted(int i) { return c_->server(i).key_space().mvcc().compact_revision(); }

  std::unique_ptr<testing::SimMembers> c_;
  int leader_ = -1;
};

// Retention 1h: revisions recorded every 6 minutes from the start; the
// first compaction an hour after the start, at the revision recorded then;
// the next an hour later, at the oldest of the last eleven records (54
// minutes after the start), as etcd's Periodic does.
TEST_F(AutoCompactorTest, PeriodicCompactsAtTheRevisionOneRetentionOld) {
  Start(1, "periodic", "1h");
  const TimePoint start = c_->world().now();
  // One put a minute, half a minute off the compactor's ticks.
  std::map<int, int64_t> revision_at_minute;  // just before minute m's tick
  int64_t first = -1;
  for (int minute = 0; minute < 125; minute++) {
    c_->world().RunUntilTime(start + Seconds(60 * minute + 30));
    revision_at_minute[minute] = Revision(leader_);
    Put();
    if (minute == 59) {
      EXPECT_EQ(Compacted(leader_), -1) << "compacted before an hour";
    }
    if (minute == 61) first = Compacted(leader_);
  }
  // The records: at the start (before any put), 6, 12, ... so the first
  // compaction is at the start's revision.
  EXPECT_EQ(first, revision_at_minute[0]);
  EXPECT_EQ(Compacted(leader_), revision_at_minute[54]);
  EXPECT_GT(Compacted(leader_), 0);
}

TEST_F(AutoCompactorTest, RevisionModeKeepsTheLastRevisionsEveryFiveMinutesOnTheLeaderOnly) {
  Start(3, "revision", "10");
  for (int i = 0; i < 30; i++) Put();
  const int64_t revision = Revision(leader_);
  c_->world().RunFor(kRevisionCompactInterval + Seconds(1));
  for (int i = 0; i < 3; i++) EXPECT_EQ(Compacted(i), revision - 10) << "member " << i;
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(c_->LogHas(i, "completed auto revision compaction"), i == leader_)
        << "member " << i;
  }
  // Nothing new: no second compaction at the same revision.
  c_->world().RunFor(kRevisionCompactInterval);
  EXPECT_EQ(Compacted(leader_), revision - 10);
  Put();
  c_->world().RunFor(kRevisionCompactInterval);
  EXPECT_EQ(Compacted(leader_), revision - 9);
}

}  // namespace
}  // namespace keel::node
