// WalProgram: a fuzz input that describes WAL segments record by record.
//
// Random bytes almost never pass a WAL record's CRC32C, so fuzz_wal's
// "program" mode lets the fuzzer write record types and payloads and the
// harness frames them (store/wal_record.h), making the payload decoding and
// the replay rules reachable. Ops, one byte each (value % 8), then operands:
//   0 kSegment  seq delta (byte), first index (byte), flags (byte: bit 0
//               writes another member's identity, bit 1 a wrong version):
//               starts the next segment file with its header record
//   1..5        a record of that WalRecordType, payload String()
//   6 kGarbage  String() appended unframed (damage or a torn tail)
//   7 kOddType  type byte, payload String(): a record of any type byte
// The first segment (seq 0, first index 1) is started implicitly.
#ifndef KEEL_FUZZ_WAL_PROGRAM_H_
#define KEEL_FUZZ_WAL_PROGRAM_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "store/wal.h"

namespace keel::fuzz {

inline constexpr store::WalIdentity kFuzzWalIdentity{.member_id = 0x1111,
                                                     .cluster_id = 0x2222};

enum WalOp : uint8_t { kSegment = 0, kGarbage = 6, kOddType = 7 };

struct WalSegmentFile {
  std::string name;
  std::string bytes;
};

// Decodes a program (after the mode byte) into segment files.
std::vector<WalSegmentFile> BuildWalProgram(FuzzInput& input);

// The segment header record's payload (doc/wal_format.md, "Segments").
std::string WalSegmentHeaderPayload(store::WalIdentity identity, uint64_t seq,
                                    uint64_t first_index, uint32_t version);

}  // namespace keel::fuzz

#endif  // KEEL_FUZZ_WAL_PROGRAM_H_
