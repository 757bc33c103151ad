// Reading a WAL without touching it: for offline tools (`keelutl check`,
// `keelutl dump-wal`) on a stopped member's data directory.
//
// InspectWal applies the checks Wal::Open's recovery applies (segments in
// sequence, every record's CRCs, one header per segment naming that
// segment and one member, records that decode and replay into a log raft
// would accept), plus one recovery has no need for (the zero padding after
// each record, which no CRC covers), and returns what recovery would, but
// writes nothing: a torn tail in the last segment is reported, not cut.
#ifndef KEEL_STORE_WAL_INSPECT_H_
#define KEEL_STORE_WAL_INSPECT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "store/wal.h"
#include "store/wal_replay.h"

namespace keel::store {

// The payload of a segment's first record (doc/wal_format.md, "Segments").
struct WalSegmentHeader {
  WalIdentity identity;
  uint64_t seq = 0;
  uint64_t first_index = 0;
};
// DataLoss if `payload` is not a segment header; FailedPrecondition for a
// format version this build does not read.
absl::StatusOr<WalSegmentHeader> DecodeWalSegmentHeader(std::string_view payload);

struct WalInspection {
  WalIdentity identity;
  WalState state;                     // what recovery would hand to raft
  std::vector<std::string> segments;  // file names, oldest first
  std::vector<std::string> ignored;   // other files (unfinished "*.tmp" segments)
  uint64_t records = 0;               // segment headers excluded
  // A torn write at the end of the last segment (recovery cuts it).
  uint64_t torn_bytes = 0;
  uint64_t torn_offset = 0;
  std::string torn_problem;
};

// Reads every segment of the WAL in `dir`. NotFound if there is none;
// DataLoss for damage, naming the file and offset. Does not suspend.
absl::StatusOr<WalInspection> InspectWal(FileSystem& fs, const std::string& dir);

}  // namespace keel::store

#endif  // KEEL_STORE_WAL_INSPECT_H_
