// Fixed-width little-endian integers, the byte order of keel's own on-disk
// formats (the WAL, doc/wal_format.md, and the snapshot file,
// store/snapshot_file.h).
#ifndef KEEL_STORE_WAL_CODING_H_
#define KEEL_STORE_WAL_CODING_H_

#include <cstdint>
#include <string>

namespace keel::store {

inline void PutFixed32(std::string* out, uint32_t value) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>(value >> (8 * i)));
}

inline void PutFixed64(std::string* out, uint64_t value) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>(value >> (8 * i)));
}

inline uint32_t DecodeFixed32(const char* p) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; i--) {
    value = (value << 8) | static_cast<unsigned char>(p[i]);
  }
  return value;
}

inline uint64_t DecodeFixed64(const char* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; i--) {
    value = (value << 8) | static_cast<unsigned char>(p[i]);
  }
  return value;
}

}  // namespace keel::store

#endif  // KEEL_STORE_WAL_CODING_H_
