// Tests of record framing and of the torn-or-corrupt decision that
// ScanWalSegment makes for a segment's bytes. Each test builds a segment in
// memory, damages it the way a crash or a bad disk would, and checks the
// verdict.
#include "store/wal_record.h"

#include <string>

#include "gtest/gtest.h"

namespace keel::store {
namespace {

std::string Payload(int i, size_t n) {
  std::string out(n, '\0');
  for (size_t j = 0; j < n; j++) out[j] = static_cast<char>('a' + (i + j) % 26);
  return out;
}

// A segment of `count` records of `bytes` bytes each; offsets[i] is where
// record i starts. Each record claims `synced` bytes durable.
std::string Segment(int count, size_t bytes, std::vector<uint64_t>* offsets,
                    uint64_t synced = 0) {
  std::string out;
  for (int i = 0; i < count; i++) {
    if (offsets != nullptr) offsets->push_back(out.size());
    AppendWalRecord(&out, WalRecordType::kEntry, Payload(i, bytes), synced);
  }
  return out;
}

TEST(WalRecordTest, RecordsRoundTrip) {
  std::string data;
  AppendWalRecord(&data, WalRecordType::kHardState, "hs", 7);
  AppendWalRecord(&data, WalRecordType::kEntry, "", 7);
  AppendWalRecord(&data, WalRecordType::kEntry, Payload(3, 1000), 9);
  EXPECT_EQ(data.size() % kWalAlignmentBytes, 0u);
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kClean);
  ASSERT_EQ(scan.records.size(), 3u);
  EXPECT_EQ(scan.records[0].type, WalRecordType::kHardState);
  EXPECT_EQ(scan.records[0].payload, "hs");
  EXPECT_EQ(scan.records[0].synced_offset, 7u);
  EXPECT_EQ(scan.records[1].payload, "");
  EXPECT_EQ(scan.records[2].payload, Payload(3, 1000));
  EXPECT_EQ(scan.records[2].synced_offset, 9u);
  EXPECT_EQ(scan.valid_bytes, data.size());
}

TEST(WalRecordTest, RecordCutOffByTheEndIsTorn) {
  std::vector<uint64_t> offsets;
  std::string data = Segment(5, 300, &offsets);
  data.resize(offsets[4] + 100);
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kTorn);
  EXPECT_EQ(scan.valid_bytes, offsets[4]);
  EXPECT_EQ(scan.records.size(), 4u);
}

TEST(WalRecordTest, PartialHeaderAtTheEndIsTorn) {
  std::vector<uint64_t> offsets;
  std::string data = Segment(3, 40, &offsets);
  data.resize(offsets[2] + 10);
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kTorn);
  EXPECT_EQ(scan.valid_bytes, offsets[2]);
}

TEST(WalRecordTest, UnwrittenSectorInsideARecordIsTorn) {
  std::vector<uint64_t> offsets;
  std::string data = Segment(4, 2000, &offsets);
  // The crash kept the sectors after one it never wrote.
  const uint64_t sector = (offsets[2] / kWalSectorBytes + 2) * kWalSectorBytes;
  std::fill(data.begin() + sector, data.begin() + sector + kWalSectorBytes, '\0');
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kTorn);
  EXPECT_EQ(scan.valid_bytes, offsets[2]);
}

TEST(WalRecordTest, TornTailMayHoldGoodRecordsAfterTheTear) {
  std::vector<uint64_t> offsets;
  std::string data = Segment(6, 700, &offsets, /*synced=*/0);
  // Record 2's header is in a sector the crash did not write; record 4
  // survived whole. Nothing claims record 2 was ever synced.
  const uint64_t sector = offsets[2] / kWalSectorBytes * kWalSectorBytes;
  std::fill(data.begin() + sector, data.begin() + sector + kWalSectorBytes, '\0');
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kTorn) << scan.problem;
  EXPECT_LE(scan.valid_bytes, offsets[2]);
}

TEST(WalRecordTest, BitFlipInThePayloadIsCorrupt) {
  std::vector<uint64_t> offsets;
  std::string data = Segment(5, 300, &offsets);
  data[offsets[3] + kWalHeaderBytes + 17] ^= 0x10;
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kCorrupt);
  EXPECT_EQ(scan.bad_offset, offsets[3]);
  EXPECT_EQ(scan.records.size(), 3u);
}

TEST(WalRecordTest, BitFlipInTheLengthIsCorruptNotTorn) {
  std::vector<uint64_t> offsets;
  std::string data = Segment(5, 300, &offsets);
  // A length far past the end would look like a cut-off record if the
  // header had no checksum of its own.
  data[offsets[1] + 10] ^= 0x40;
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kCorrupt);
  EXPECT_EQ(scan.bad_offset, offsets[1]);
}

TEST(WalRecordTest, ZeroedSectorThatALaterRecordSaysWasSyncedIsCorrupt) {
  std::vector<uint64_t> offsets;
  std::string data = Segment(3, 900, &offsets);
  // Two more records written after a sync that covered everything so far.
  const uint64_t synced = data.size();
  AppendWalRecord(&data, WalRecordType::kEntry, Payload(7, 900), synced);
  AppendWalRecord(&data, WalRecordType::kEntry, Payload(8, 900), synced);
  const uint64_t sector = (offsets[1] / kWalSectorBytes + 1) * kWalSectorBytes;
  std::fill(data.begin() + sector, data.begin() + sector + kWalSectorBytes, '\0');
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kCorrupt);
  EXPECT_NE(scan.problem.find("durable"), std::string::npos) << scan.problem;
}

TEST(WalRecordTest, UnknownTypeIsCorrupt) {
  std::string data = Segment(2, 10, nullptr);
  std::string bad;
  AppendWalRecord(&bad, WalRecordType::kEntry, "x", 0);
  bad[12] = 99;  // breaks the header CRC too; a clean scan must still refuse
  data += bad;
  WalSegmentScan scan = ScanWalSegment(data);
  EXPECT_EQ(scan.end, WalSegmentScan::End::kCorrupt);
}

TEST(WalRecordTest, EmptySegmentIsClean) {
  WalSegmentScan scan = ScanWalSegment("");
  EXPECT_EQ(scan.end, WalSegmentScan::End::kClean);
  EXPECT_EQ(scan.valid_bytes, 0u);
}

}  // namespace
}  // namespace keel::store
