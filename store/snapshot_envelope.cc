// The `snapshot save` envelope: see snapshot_envelope.h.
#include "store/snapshot_envelope.h"

#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::store {
namespace {

constexpr uint64_t kLengthBytes = 8;
constexpr uint64_t kTailBytes = kLengthBytes + Sha256::kDigestBytes;
constexpr uint64_t kReadBytes = 1 << 20;

std::string Fixed64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; i++) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

uint64_t DecodeFixed64(const std::string& s) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

}  // namespace

std::string EnvelopeTail(uint64_t file_bytes, Sha256 hash) {
  const uint64_t used = (file_bytes + kLengthBytes) % kEnvelopeAlignBytes;
  const uint64_t zeros = used == 0 ? 0 : kEnvelopeAlignBytes - used;
  std::string tail(zeros, '\0');
  tail += Fixed64(file_bytes);
  hash.Update(tail);
  const Sha256::Digest digest = hash.Finish();
  tail.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return tail;
}

absl::StatusOr<uint64_t> UnwrapEnvelope(File& file, uint64_t size, bool verify_hash,
                                        const std::string& path) {
  if (size < kTailBytes || size % kEnvelopeAlignBytes != Sha256::kDigestBytes) {
    return size;
  }
  const uint64_t length_at = size - kTailBytes;
  KEEL_ASSIGN_OR_RETURN(std::string length_field, file.ReadAt(length_at, kLengthBytes));
  if (length_field.size() != kLengthBytes) return size;
  const uint64_t inner = DecodeFixed64(length_field);
  // A bare keel file ends with its trailer, which never reads as a length
  // that lands right before an aligned run of zeros.
  if (inner > length_at || length_at - inner >= kEnvelopeAlignBytes ||
      (inner + kLengthBytes + (length_at - inner)) % kEnvelopeAlignBytes != 0) {
    return size;
  }
  KEEL_ASSIGN_OR_RETURN(std::string zeros, file.ReadAt(inner, length_at - inner));
  if (zeros.find_first_not_of('\0') != std::string::npos) return size;
  if (!verify_hash) return inner;
  Sha256 hash;
  for (uint64_t offset = 0; offset < size - Sha256::kDigestBytes;) {
    const uint64_t n = std::min(kReadBytes, size - Sha256::kDigestBytes - offset);
    KEEL_ASSIGN_OR_RETURN(std::string block, file.ReadAt(offset, n));
    if (block.size() != n) {
      return absl::DataLossError(StrCat(path, ": short read at offset ", offset));
    }
    hash.Update(block);
    offset += n;
  }
  KEEL_ASSIGN_OR_RETURN(std::string stored, file.ReadAt(size - Sha256::kDigestBytes,
                                                        Sha256::kDigestBytes));
  const Sha256::Digest digest = hash.Finish();
  if (stored != std::string(reinterpret_cast<const char*>(digest.data()), digest.size())) {
    return absl::DataLossError(
        StrCat(path, ": snapshot file's SHA-256 does not match its contents "
                     "(use --skip-hash-check to restore it anyway)"));
  }
  return inner;
}

}  // namespace keel::store
