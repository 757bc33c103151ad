// LevelDB's log format (its doc/log_format.md): 32 KiB blocks of fragments,
// each a 7-byte header (masked CRC32C of the type byte and the payload,
// 2-byte length, type) and its payload; a block's last < 7 bytes are zero
// padding. A logical record is one FULL fragment, or FIRST, MIDDLE..., LAST.
#include "store/leveldb_env_log_scan.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/crc32c.h"
#include "runtime/strings.h"

namespace keel::store {
namespace {

constexpr uint64_t kBlockBytes = 32768;
constexpr uint64_t kFragmentHeaderBytes = 7;
constexpr uint64_t kSectorBytes = 512;
enum FragmentType : uint8_t { kZero = 0, kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

uint32_t Fixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool HasZeroSector(std::string_view data, uint64_t begin, uint64_t end) {
  for (uint64_t piece = begin; piece < end;) {
    const uint64_t piece_end = std::min(end, (piece / kSectorBytes + 1) * kSectorBytes);
    if (std::all_of(data.data() + piece, data.data() + piece_end,
                    [](char c) { return c == 0; })) {
      return true;
    }
    piece = piece_end;
  }
  return false;
}

// Whether a whole fragment that passes its checksum starts at `offset`.
bool GoodFragmentAt(std::string_view data, uint64_t offset) {
  const uint64_t left_in_block = kBlockBytes - offset % kBlockBytes;
  if (left_in_block < kFragmentHeaderBytes || data.size() - offset < kFragmentHeaderBytes) {
    return false;
  }
  const char* header = data.data() + offset;
  const uint8_t type = static_cast<uint8_t>(header[6]);
  if (type == kZero || type > kLast) return false;
  const uint32_t length = static_cast<unsigned char>(header[4]) |
                          (static_cast<unsigned char>(header[5]) << 8);
  if (kFragmentHeaderBytes + length > left_in_block ||
      offset + kFragmentHeaderBytes + length > data.size()) {
    return false;
  }
  const char type_byte = static_cast<char>(type);
  const uint32_t crc = crc32c::Extend(crc32c::Value(&type_byte, 1),
                                      header + kFragmentHeaderBytes, length);
  return crc32c::Unmask(Fixed32(header)) == crc;
}

}  // namespace

bool IsLevelDbLogFormatFile(std::string_view name) {
  const size_t slash = name.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const bool log = base.size() > 4 && base.substr(base.size() - 4) == ".log";
  return log || base.substr(0, 9) == "MANIFEST-";
}

LevelDbLogScan ScanLevelDbLog(std::string_view data) {
  LevelDbLogScan scan;
  const uint64_t size = data.size();
  uint64_t offset = 0;
  bool in_record = false;  // inside a FIRST..LAST sequence
  auto stop = [&](bool torn, std::string problem) {
    scan.torn = torn;
    scan.corrupt = !torn;
    scan.bad_offset = offset;
    scan.problem = std::move(problem);
    return scan;
  };
  while (offset < size) {
    const uint64_t left_in_block = kBlockBytes - offset % kBlockBytes;
    if (left_in_block < kFragmentHeaderBytes) {
      offset += left_in_block;  // the block's zero trailer
      continue;
    }
    if (size - offset < kFragmentHeaderBytes) {
      return stop(true, "partial fragment header at the end of the file");
    }
    const char* header = data.data() + offset;
    const uint32_t length = static_cast<unsigned char>(header[4]) |
                            (static_cast<unsigned char>(header[5]) << 8);
    const uint8_t type = static_cast<uint8_t>(header[6]);
    const uint64_t end = offset + kFragmentHeaderBytes + length;
    if (type == kZero && length == 0 && Fixed32(header) == 0) {
      return stop(true, "fragment never written");
    }
    if (end > size) {
      // Torn only if it is the last thing written: LevelDB's CRC does not
      // cover the length, so a flipped length bit also makes a fragment
      // run past the end. A good fragment after its header proves that.
      // (The probe stays inside the claimed fragment, at most 64 KiB.)
      for (uint64_t probe = offset + kFragmentHeaderBytes; probe + kFragmentHeaderBytes <= size;
           probe++) {
        if (GoodFragmentAt(data, probe)) {
          return stop(false, StrCat("fragment claims ", length,
                                    " bytes, past the end of the file, but a good "
                                    "fragment follows at offset ", probe));
        }
      }
      // A write cut short has lost part of its payload; a fragment whose
      // CRC holds over the bytes up to the end of the file is complete,
      // and only its length is damaged.
      const char type_byte = static_cast<char>(type);
      const uint32_t rest_crc =
          crc32c::Extend(crc32c::Value(&type_byte, 1), header + kFragmentHeaderBytes,
                         size - offset - kFragmentHeaderBytes);
      if (crc32c::Unmask(Fixed32(header)) == rest_crc) {
        return stop(false, StrCat("fragment claims ", length,
                                  " bytes, past the end of the file, but its checksum "
                                  "holds for the ", size - offset - kFragmentHeaderBytes,
                                  " there are"));
      }
      return stop(true, "fragment cut off by the end of the file");
    }
    const bool fits = kFragmentHeaderBytes + length <= left_in_block;
    const char type_byte = static_cast<char>(type);
    const uint32_t crc = crc32c::Extend(crc32c::Value(&type_byte, 1),
                                        header + kFragmentHeaderBytes, length);
    if (!fits || crc32c::Unmask(Fixed32(header)) != crc || type > kLast || type == kZero) {
      if (HasZeroSector(data, offset, std::min(end, size))) {
        return stop(true, "fragment partly never written");
      }
      return stop(false, fits ? "fragment fails its checksum" : "fragment overruns its block");
    }
    const bool starts = type == kFull || type == kFirst;
    if (starts == in_record) {
      return stop(false, StrCat("fragment of type ", type, " out of sequence"));
    }
    in_record = type == kFirst || type == kMiddle;
    offset = end;
    if (type == kFull || type == kLast) scan.valid_bytes = offset;
  }
  if (in_record) {
    scan.torn = true;
    scan.bad_offset = scan.valid_bytes;
    scan.problem = "record cut off by the end of the file";
  }
  return scan;
}

}  // namespace keel::store
