// CRC32C (Castagnoli), the checksum of every keel on-disk and wire record.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise;
// both give identical results.
#ifndef KEEL_RUNTIME_CRC32C_H_
#define KEEL_RUNTIME_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keel::crc32c {

// Extends `crc` (the CRC of some earlier bytes) with `data`.
uint32_t Extend(uint32_t crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view data) {
  return Extend(0, data.data(), data.size());
}

// A stored CRC of data that itself holds CRCs is masked, so that computing
// the CRC of a string containing its own CRC is not trivially weak (as
// LevelDB does).
inline uint32_t Mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace keel::crc32c

#endif  // KEEL_RUNTIME_CRC32C_H_
