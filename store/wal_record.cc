// Record framing and the torn-or-corrupt decision; see wal_record.h and
// doc/wal_format.md.
#include "store/wal_record.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/crc32c.h"
#include "runtime/strings.h"
#include "store/wal_coding.h"

namespace keel::store {
namespace {

// Header layout: [0,4) header CRC over [4,24); [4,8) payload CRC; [8,12)
// payload length; [12] type; [13,16) zero; [16,24) synced offset.
constexpr size_t kHeaderCrcCovered = kWalHeaderBytes - 4;

uint32_t HeaderCrc(const char* header) {
  return crc32c::Mask(crc32c::Value(header + 4, kHeaderCrcCovered));
}

// Whether some sector-aligned piece of [begin, end) of `data` is all zeros:
// the mark of a sector the crash did not write.
bool HasZeroSector(std::string_view data, uint64_t begin, uint64_t end) {
  KEEL_ASSERT(begin <= end);
  KEEL_ASSERT(end <= data.size());
  uint64_t piece = begin;
  while (piece < end) {
    const uint64_t sector_end =
        std::min(end, (piece / kWalSectorBytes + 1) * kWalSectorBytes);
    const bool zeros = std::all_of(data.data() + piece, data.data() + sector_end,
                                   [](char c) { return c == 0; });
    if (zeros) return true;
    piece = sector_end;
  }
  return false;
}

enum class Parse { kRecord, kTorn, kCorrupt };

struct ParseResult {
  Parse kind;
  WalRecordView record;  // when kRecord
  std::string problem;   // otherwise
};

ParseResult ParseAt(std::string_view data, uint64_t offset) {
  KEEL_ASSERT(offset < data.size());
  KEEL_ASSERT(offset % kWalAlignmentBytes == 0);
  const uint64_t left = data.size() - offset;
  if (left < kWalHeaderBytes) {
    return {Parse::kTorn, {}, "partial record header at the end of the file"};
  }
  const char* header = data.data() + offset;
  if (DecodeFixed32(header) != HeaderCrc(header)) {
    if (HasZeroSector(data, offset, offset + kWalHeaderBytes)) {
      return {Parse::kTorn, {}, "record header never written"};
    }
    return {Parse::kCorrupt, {}, "record header fails its checksum"};
  }
  const uint32_t length = DecodeFixed32(header + 8);
  const uint8_t type = static_cast<uint8_t>(header[12]);
  if (length > kMaxWalPayloadBytes) {
    return {Parse::kCorrupt, {}, StrCat("record length ", length, " is too large")};
  }
  if (type == 0 || type > kMaxWalRecordType) {
    return {Parse::kCorrupt, {}, StrCat("unknown record type ", type)};
  }
  const uint64_t framed = WalFramedBytes(length);
  if (framed > left) {
    return {Parse::kTorn, {}, "record cut off by the end of the file"};
  }
  std::string_view payload = data.substr(offset + kWalHeaderBytes, length);
  if (DecodeFixed32(header + 4) != crc32c::Mask(crc32c::Value(payload))) {
    // The padding is zeros by construction; including it keeps every piece
    // examined a multiple of 8 bytes.
    if (HasZeroSector(data, offset + kWalHeaderBytes, offset + framed)) {
      return {Parse::kTorn, {}, "record payload never written"};
    }
    return {Parse::kCorrupt, {}, "record payload fails its checksum"};
  }
  return {Parse::kRecord,
          {.type = static_cast<WalRecordType>(type),
           .offset = offset,
           .synced_offset = DecodeFixed64(header + 16),
           .payload = payload},
          ""};
}

}  // namespace

uint64_t WalFramedBytes(uint64_t payload_bytes) {
  const uint64_t raw = kWalHeaderBytes + payload_bytes;
  return (raw + kWalAlignmentBytes - 1) / kWalAlignmentBytes * kWalAlignmentBytes;
}

void AppendWalRecord(std::string* out, WalRecordType type,
                     std::string_view payload, uint64_t synced_offset) {
  KEEL_ASSERT(payload.size() <= kMaxWalPayloadBytes);
  KEEL_ASSERT(static_cast<uint8_t>(type) != 0 &&
              static_cast<uint8_t>(type) <= kMaxWalRecordType);
  const size_t start = out->size();
  PutFixed32(out, 0);  // header CRC, filled in below
  PutFixed32(out, crc32c::Mask(crc32c::Value(payload)));
  PutFixed32(out, static_cast<uint32_t>(payload.size()));
  out->push_back(static_cast<char>(type));
  out->append(3, '\0');
  PutFixed64(out, synced_offset);
  const uint32_t header_crc = HeaderCrc(out->data() + start);
  for (int i = 0; i < 4; i++) (*out)[start + i] = static_cast<char>(header_crc >> (8 * i));
  out->append(payload.data(), payload.size());
  out->append(WalFramedBytes(payload.size()) - kWalHeaderBytes - payload.size(), '\0');
}

WalSegmentScan ScanWalSegment(std::string_view data) {
  WalSegmentScan scan;
  scan.file_bytes = data.size();
  uint64_t offset = 0;
  while (offset < data.size()) {
    ParseResult parsed = ParseAt(data, offset);
    if (parsed.kind == Parse::kRecord) {
      scan.records.push_back(parsed.record);
      offset += WalFramedBytes(parsed.record.payload.size());
      continue;
    }
    scan.valid_bytes = offset;
    scan.bad_offset = offset;
    scan.problem = std::move(parsed.problem);
    scan.end = parsed.kind == Parse::kTorn ? WalSegmentScan::End::kTorn
                                           : WalSegmentScan::End::kCorrupt;
    break;
  }
  if (scan.end == WalSegmentScan::End::kClean) {
    scan.valid_bytes = data.size();
    return scan;
  }
  if (scan.end == WalSegmentScan::End::kCorrupt) return scan;
  // A torn write can only be in the unsynced tail. A later good record
  // that says the segment was durable past the bad one proves the bad one
  // had been synced, so it is damage, not a torn write. (A torn tail may
  // hold good records: the crash can keep any subset of unsynced sectors.)
  for (uint64_t probe = offset + kWalAlignmentBytes; probe < data.size();
       probe += kWalAlignmentBytes) {
    // Two masked CRCs that are both zero: not a header (and fast to skip
    // through the zeros a torn tail is made of).
    if (data.size() - probe >= 8 && DecodeFixed64(data.data() + probe) == 0) {
      continue;
    }
    ParseResult later = ParseAt(data, probe);
    if (later.kind != Parse::kRecord) continue;
    if (later.record.synced_offset > offset) {
      scan.end = WalSegmentScan::End::kCorrupt;
      scan.problem = StrCat(scan.problem, ", but the record at offset ", probe,
                            " says the segment was durable through offset ",
                            later.record.synced_offset);
      return scan;
    }
  }
  return scan;
}

}  // namespace keel::store
