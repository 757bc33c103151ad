// Tests of RecordLog, the disk scenario's engine, on a simulated disk:
// records come back in order after a restart, a torn tail is cut off, and
// every kind of damage (a rotted bit, a misdirected write) stops the scan at
// the bad record instead of returning it, while a bit flipped only on read is
// retried away. A failed fsync breaks the log and drops what it may have
// lost; a failed write is cut off and the log carries on.
#include "sim/scenarios/record_log.h"

#include "gtest/gtest.h"
#include "sim/sim_testing.h"

namespace keel::sim {
namespace {

Record MakeRecord(uint64_t seq) {
  const RecordId id{.origin = 1, .incarnation = 1, .seq = seq};
  return Record{.id = id, .payload = PayloadFor(id)};
}

class RecordLogTest : public ::testing::Test {
 protected:
  // Opens the log in the harness's current incarnation.
  std::unique_ptr<RecordLog> Open(ScanReport* report) {
    auto log = h_.Run(RecordLog::Open(h_.env(), "data", report));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Writes records [first, last] and syncs them.
  void Append(RecordLog& log, uint64_t first, uint64_t last) {
    for (uint64_t seq = first; seq <= last; seq++) {
      ASSERT_TRUE(log.Write(MakeRecord(seq)).ok());
    }
    ASSERT_TRUE(h_.Run(log.Sync()).ok());
  }

  static std::vector<uint64_t> Seqs(const ScanReport& report) {
    std::vector<uint64_t> seqs;
    for (const Record& record : report.records) {
      EXPECT_TRUE(PayloadMatches(record.id, record.payload));
      seqs.push_back(record.id.seq);
    }
    return seqs;
  }

  static std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
    std::vector<uint64_t> seqs;
    for (uint64_t s = first; s <= last; s++) seqs.push_back(s);
    return seqs;
  }

  SimHarness h_{1};
};

TEST_F(RecordLogTest, SyncedRecordsComeBackInOrderAfterACrash) {
  ScanReport report;
  auto log = Open(&report);
  EXPECT_TRUE(report.records.empty());
  Append(*log, 1, 50);
  log.reset();
  h_.CrashAndRestart();
  log = Open(&report);
  EXPECT_EQ(Seqs(report), Range(1, 50));
  EXPECT_FALSE(report.invalid_tail());
}

TEST_F(RecordLogTest, ATornTailIsCutOffAndTheSyncedPrefixKept) {
  int torn = 0;
  for (uint64_t seed = 1; seed <= 30; seed++) {
    SimHarness h(seed);
    ScanReport report;
    auto log = *h.Run(RecordLog::Open(h.env(), "data", &report));
    for (uint64_t seq = 1; seq <= 20; seq++) ASSERT_TRUE(log->Write(MakeRecord(seq)).ok());
    ASSERT_TRUE(h.Run(log->Sync()).ok());
    for (uint64_t seq = 21; seq <= 40; seq++) ASSERT_TRUE(log->Write(MakeRecord(seq)).ok());
    log.reset();
    h.CrashAndRestart();
    log = *h.Run(RecordLog::Open(h.env(), "data", &report));
    const std::vector<uint64_t> seqs = Seqs(report);
    ASSERT_GE(seqs.size(), 20u) << "seed " << seed;
    EXPECT_EQ(seqs, Range(1, seqs.size())) << "seed " << seed;
    if (report.invalid_tail()) torn++;
    // The cut tail is gone for good: the next open finds a clean log.
    ScanReport again;
    log.reset();
    log = *h.Run(RecordLog::Open(h.env(), "data", &again));
    EXPECT_FALSE(again.invalid_tail());
    EXPECT_EQ(Seqs(again), seqs);
  }
  EXPECT_GT(torn, 0);
}

TEST_F(RecordLogTest, ARottedRecordStopsTheScanAndIsNotReturned) {
  ScanReport report;
  auto log = Open(&report);
  Append(*log, 1, 10);
  const uint64_t middle = log->end() / 2;
  ASSERT_TRUE(h_.disk().CorruptBit("data/records.log", middle, 3).ok());
  auto scan = log->Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_TRUE(scan->invalid_tail());
  EXPECT_LT(scan->records.size(), 10u);
  EXPECT_EQ(Seqs(*scan), Range(1, scan->records.size()));
  EXPECT_LE(scan->valid_bytes, middle);
}

TEST_F(RecordLogTest, ARecordAMisdirectedWriteMovedFailsItsCheck) {
  ScanReport report;
  auto log = Open(&report);
  Append(*log, 1, 10);
  h_.disk().MisdirectNextWrites(1);
  ASSERT_TRUE(log->Write(MakeRecord(11)).ok());  // the disk says OK
  Append(*log, 12, 12);
  auto scan = log->Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_TRUE(scan->invalid_tail());
  const std::vector<uint64_t> seqs = Seqs(*scan);
  EXPECT_TRUE(std::find(seqs.begin(), seqs.end(), 11u) == seqs.end());
  EXPECT_TRUE(std::find(seqs.begin(), seqs.end(), 12u) == seqs.end());
}

TEST_F(RecordLogTest, BitsFlippedOnlyOnReadAreRetriedAway) {
  ScanReport report;
  auto log = Open(&report);
  Append(*log, 1, 10);
  h_.disk().FlipBitOnNextReads(kReadAttempts - 1);
  auto scan = log->Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_FALSE(scan->invalid_tail());
  EXPECT_EQ(Seqs(*scan), Range(1, 10));
}

TEST_F(RecordLogTest, AFailedSyncBreaksTheLogAndDropsWhatItMayHaveLost) {
  ScanReport report;
  auto log = Open(&report);
  Append(*log, 1, 5);
  const uint64_t synced = log->end();
  ASSERT_TRUE(log->Write(MakeRecord(6)).ok());
  h_.disk().FailNextSyncs(1);
  EXPECT_TRUE(absl::IsInternal(h_.Run(log->Sync())));
  EXPECT_TRUE(log->broken());
  EXPECT_TRUE(absl::IsFailedPrecondition(log->Write(MakeRecord(7))));
  auto scan = log->Scan();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->file_bytes, synced) << "the unsynced record was cut off";
  log.reset();
  h_.KillAndRestart();
  log = Open(&report);
  EXPECT_EQ(Seqs(report), Range(1, 5));
}

TEST_F(RecordLogTest, AFailedWriteIsCutOffAndTheLogCarriesOn) {
  ScanReport report;
  auto log = Open(&report);
  Append(*log, 1, 3);
  const uint64_t before = log->end();
  h_.disk().FailNextWrites(absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::IsResourceExhausted(log->Write(MakeRecord(4))));
  EXPECT_EQ(log->end(), before);
  Append(*log, 5, 6);
  log.reset();
  h_.CrashAndRestart();
  log = Open(&report);
  EXPECT_EQ(Seqs(report), (std::vector<uint64_t>{1, 2, 3, 5, 6}));
  EXPECT_FALSE(report.invalid_tail());
}

}  // namespace
}  // namespace keel::sim
