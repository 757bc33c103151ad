// Constants of the write-ahead log's on-disk format. The format itself, and
// why it is so, is described in doc/wal_format.md; change both together.
#ifndef KEEL_STORE_WAL_FORMAT_H_
#define KEEL_STORE_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace keel::store {

// What a record holds (the byte at offset 12 of its header).
enum class WalRecordType : uint8_t {
  // First record of every segment: format version, member and cluster id,
  // the segment's sequence number and the index of its first entry.
  kSegmentHeader = 1,
  // One raftpb::Entry.
  kEntry = 2,
  // One raftpb::HardState; the latest one wins.
  kHardState = 3,
  // A raftpb::SnapshotMetadata of a snapshot raft installed (Ready::snapshot):
  // it replaces the whole log.
  kSnapshot = 4,
  // A raftpb::SnapshotMetadata of a snapshot the state machine took: entries
  // up to its index are compacted, later entries stay.
  kCompaction = 5,
};
inline constexpr uint8_t kMaxWalRecordType = 5;

// Record framing (doc/wal_format.md, "Records").
inline constexpr size_t kWalHeaderBytes = 24;
inline constexpr size_t kWalAlignmentBytes = 8;
inline constexpr uint32_t kMaxWalPayloadBytes = 64u << 20;
// The granularity at which a crash may tear a write: a sector of an
// unfinished write that reads as all zeros marks the write as torn.
inline constexpr uint64_t kWalSectorBytes = 512;

// The segment header's payload (doc/wal_format.md, "Segments").
inline constexpr uint64_t kWalMagic = 0x314c41574c45454bULL;  // "KEELWAL1"
inline constexpr uint32_t kWalFormatVersion = 1;
inline constexpr size_t kSegmentHeaderPayloadBytes = 48;

// Segment files are named "<seq>-<first index>.wal", both as 16 lower-case
// hex digits; a segment being created is "<name>.tmp" until renamed.
inline constexpr char kWalSegmentSuffix[] = ".wal";
inline constexpr char kWalTempSuffix[] = ".tmp";
inline constexpr size_t kWalSegmentNameBytes = 16 + 1 + 16 + 4;

// Defaults of WalOptions (etcd's SegmentSizeBytes and --max-wals).
inline constexpr uint64_t kDefaultWalSegmentBytes = 64ull << 20;
inline constexpr int kDefaultWalMaxSegments = 5;

static_assert(kWalHeaderBytes % kWalAlignmentBytes == 0);
static_assert(kWalSectorBytes % kWalAlignmentBytes == 0);

}  // namespace keel::store

#endif  // KEEL_STORE_WAL_FORMAT_H_
