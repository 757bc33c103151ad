// Read-only WAL inspection; see wal_inspect.h.
#include "store/wal_inspect.h"

#include <algorithm>

#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/wal_coding.h"
#include "store/wal_record.h"

namespace keel::store {

absl::StatusOr<WalSegmentHeader> DecodeWalSegmentHeader(std::string_view payload) {
  if (payload.size() != kSegmentHeaderPayloadBytes ||
      DecodeFixed64(payload.data()) != kWalMagic) {
    return absl::DataLossError("not a keel WAL segment header");
  }
  const uint32_t version = DecodeFixed32(payload.data() + 8);
  if (version != kWalFormatVersion) {
    return absl::FailedPreconditionError(
        StrCat("WAL format version ", version, " is not supported"));
  }
  return WalSegmentHeader{
      .identity = {.member_id = DecodeFixed64(payload.data() + 16),
                   .cluster_id = DecodeFixed64(payload.data() + 24)},
      .seq = DecodeFixed64(payload.data() + 32),
      .first_index = DecodeFixed64(payload.data() + 40)};
}

namespace {

struct SegmentName {
  uint64_t seq = 0;
  uint64_t first_index = 0;
  std::string name;
};

absl::StatusOr<std::string> ReadWhole(const File& file) {
  KEEL_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  KEEL_ASSIGN_OR_RETURN(std::string data, file.ReadAt(0, size));
  if (data.size() != size) return absl::DataLossError("short read");
  return data;
}

}  // namespace

absl::StatusOr<WalInspection> InspectWal(FileSystem& fs, const std::string& dir) {
  auto names = fs.List(dir);
  if (!names.ok()) {
    if (absl::IsNotFound(names.status())) return absl::NotFoundError(StrCat("no WAL in ", dir));
    return names.status();
  }
  WalInspection out;
  std::vector<SegmentName> segments;
  for (const std::string& name : *names) {
    SegmentName segment{.seq = 0, .first_index = 0, .name = name};
    if (ParseWalSegmentName(name, &segment.seq, &segment.first_index)) {
      segments.push_back(std::move(segment));
    } else {
      out.ignored.push_back(name);
    }
  }
  std::sort(segments.begin(), segments.end(),
            [](const SegmentName& a, const SegmentName& b) { return a.seq < b.seq; });
  if (segments.empty()) return absl::NotFoundError(StrCat(dir, " holds no WAL segment"));
  WalReplay replay;
  for (size_t i = 0; i < segments.size(); i++) {
    const SegmentName& segment = segments[i];
    const std::string path = JoinPath(dir, segment.name);
    if (i > 0 && (segment.seq != segments[i - 1].seq + 1 ||
                  segment.first_index < segments[i - 1].first_index)) {
      return absl::DataLossError(StrCat(path, ": segments out of sequence after ",
                                        segments[i - 1].name));
    }
    const bool last = i + 1 == segments.size();
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, {.read_only = true}));
    KEEL_ASSIGN_OR_RETURN(std::string data, ReadWhole(*file));
    const WalSegmentScan scan = ScanWalSegment(data);
    if (scan.end == WalSegmentScan::End::kCorrupt ||
        (scan.end == WalSegmentScan::End::kTorn && !last)) {
      return absl::DataLossError(
          StrCat(path, ": damaged record at offset ", scan.bad_offset, ": ", scan.problem,
                 last ? "" : " (in a segment synced before the next began)"));
    }
    if (scan.records.empty() || scan.records[0].type != WalRecordType::kSegmentHeader) {
      return absl::DataLossError(StrCat(path, ": the segment does not start with its header"));
    }
    absl::StatusOr<WalSegmentHeader> header = DecodeWalSegmentHeader(scan.records[0].payload);
    if (!header.ok()) {
      return absl::Status(header.status().code(), StrCat(path, ": ", header.status().message()));
    }
    if (header->seq != segment.seq || header->first_index != segment.first_index) {
      return absl::DataLossError(StrCat(path, ": the header names another segment"));
    }
    if (i == 0) {
      out.identity = header->identity;
    } else if (!(header->identity == out.identity)) {
      return absl::DataLossError(StrCat(path, ": segment of another member or cluster"));
    }
    for (size_t r = 0; r < scan.records.size(); r++) {
      // Records are padded with zeros to 8 bytes; the CRCs do not cover
      // the padding, so it is checked here (recovery has no use for it).
      const WalRecordView& record = scan.records[r];
      const uint64_t payload_end = record.offset + kWalHeaderBytes + record.payload.size();
      const std::string_view padding =
          std::string_view(data).substr(payload_end, WalFramedBytes(record.payload.size()) -
                                                         kWalHeaderBytes - record.payload.size());
      if (padding.find_first_not_of('\0') != std::string_view::npos) {
        return absl::DataLossError(StrCat(path, ": nonzero padding after the record at offset ",
                                          record.offset));
      }
      if (r == 0) continue;
      absl::Status applied = record.type == WalRecordType::kSegmentHeader
                                 ? absl::DataLossError("a second segment header")
                                 : replay.Apply(record.type, record.payload);
      if (!applied.ok()) {
        return absl::DataLossError(
            StrCat(path, ": record at offset ", record.offset, ": ", applied.message()));
      }
    }
    out.segments.push_back(segment.name);
    if (last && scan.end == WalSegmentScan::End::kTorn) {
      out.torn_bytes = scan.file_bytes - scan.valid_bytes;
      out.torn_offset = scan.valid_bytes;
      out.torn_problem = scan.problem;
    }
  }
  absl::Status finished = replay.Finish(&out.state);
  if (!finished.ok()) return absl::DataLossError(StrCat(dir, ": ", finished.message()));
  out.records = replay.records();
  return out;
}

}  // namespace keel::store
