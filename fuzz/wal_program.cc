// Decoding of fuzz_wal's program mode (fuzz/wal_program.h).
#include "fuzz/wal_program.h"

#include "store/wal_coding.h"
#include "store/wal_format.h"
#include "runtime/crc32c.h"
#include "store/wal_record.h"

namespace keel::fuzz {

std::string WalSegmentHeaderPayload(store::WalIdentity identity, uint64_t seq,
                                    uint64_t first_index, uint32_t version) {
  std::string header;
  store::PutFixed64(&header, store::kWalMagic);
  store::PutFixed32(&header, version);
  store::PutFixed32(&header, 0);
  store::PutFixed64(&header, identity.member_id);
  store::PutFixed64(&header, identity.cluster_id);
  store::PutFixed64(&header, seq);
  store::PutFixed64(&header, first_index);
  return header;
}

namespace {

// Frames a record as AppendWalRecord does, but with any type byte (which
// AppendWalRecord refuses): a valid frame, then the type patched and the
// header CRC (over header bytes 4..24) recomputed.
void AppendOddRecord(std::string* out, uint8_t type, std::string_view payload) {
  const size_t start = out->size();
  store::AppendWalRecord(out, store::WalRecordType::kEntry, payload, start);
  (*out)[start + 12] = static_cast<char>(type);
  std::string crc;
  store::PutFixed32(&crc, crc32c::Mask(crc32c::Value(out->data() + start + 4,
                                                     store::kWalHeaderBytes - 4)));
  out->replace(start, 4, crc);
}

void StartSegment(std::vector<WalSegmentFile>* segments, uint64_t seq,
                  uint64_t first_index, uint8_t flags) {
  store::WalIdentity identity = kFuzzWalIdentity;
  if (flags & 1) identity.member_id += 1;
  const uint32_t version = (flags & 2) ? store::kWalFormatVersion + 1
                                       : store::kWalFormatVersion;
  WalSegmentFile segment{.name = store::WalSegmentName(seq, first_index)};
  store::AppendWalRecord(&segment.bytes, store::WalRecordType::kSegmentHeader,
                         WalSegmentHeaderPayload(identity, seq, first_index, version),
                         0);
  segments->push_back(std::move(segment));
}

}  // namespace

std::vector<WalSegmentFile> BuildWalProgram(FuzzInput& input) {
  std::vector<WalSegmentFile> segments;
  uint64_t seq = 0;
  StartSegment(&segments, seq, 1, 0);
  // Bound the work per input: a few segments, a few hundred records.
  for (int ops = 0; !input.empty() && ops < 512; ops++) {
    const uint8_t op = input.Byte() % 8;
    std::string& bytes = segments.back().bytes;
    if (op == kSegment) {
      if (segments.size() >= 8) break;
      seq += input.Byte() % 3;  // 0: a duplicate sequence number
      const uint64_t first_index = input.Byte();
      StartSegment(&segments, seq, first_index, input.Byte());
    } else if (op == kGarbage) {
      bytes.append(input.String());
    } else if (op == kOddType) {
      const uint8_t type = input.Byte();
      AppendOddRecord(&bytes, type, input.String());
    } else {
      store::AppendWalRecord(&bytes, static_cast<store::WalRecordType>(op),
                             input.String(), bytes.size());
    }
  }
  return segments;
}

}  // namespace keel::fuzz
