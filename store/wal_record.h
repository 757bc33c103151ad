// WAL record framing and segment scanning, below the meaning of records.
//
// A record is a 24-byte header (two CRC32Cs, length, type, and the segment
// offset known durable when it was written) followed by its payload, padded
// to 8 bytes (doc/wal_format.md). AppendWalRecord frames one; ScanWalSegment
// walks a segment's bytes and tells good records, a torn tail (a write the
// crash interrupted: safe to cut) and damage (anything else: never cut,
// never served) apart.
#ifndef KEEL_STORE_WAL_RECORD_H_
#define KEEL_STORE_WAL_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/wal_format.h"

namespace keel::store {

// The bytes one record with `payload_bytes` of payload takes on disk.
uint64_t WalFramedBytes(uint64_t payload_bytes);

// Appends the framed record to *out. `synced_offset` is how much of the
// segment was durable when the record was written. Requires the payload to
// be at most kMaxWalPayloadBytes.
void AppendWalRecord(std::string* out, WalRecordType type,
                     std::string_view payload, uint64_t synced_offset);

struct WalRecordView {
  WalRecordType type;
  uint64_t offset;         // of the header within the segment
  uint64_t synced_offset;  // as written
  std::string_view payload;  // points into the scanned bytes
};

struct WalSegmentScan {
  enum class End {
    kClean,    // every byte belongs to a good record
    kTorn,     // a write the crash interrupted starts at valid_bytes
    kCorrupt,  // damage at bad_offset (problem says what)
  };
  std::vector<WalRecordView> records;
  uint64_t valid_bytes = 0;  // end of the last good record
  uint64_t file_bytes = 0;
  End end = End::kClean;
  uint64_t bad_offset = 0;
  std::string problem;
};

// Scans `data`, a whole segment. A bad record is a torn tail when it lies
// in the region no sync covered: some 512-byte sector piece of it reads as
// all zeros (a write that never reached the disk), or it is cut off by the
// end of the file, and no later good record says the segment was durable
// past it. Anything else is kCorrupt. The views point into `data`.
WalSegmentScan ScanWalSegment(std::string_view data);

}  // namespace keel::store

#endif  // KEEL_STORE_WAL_RECORD_H_
