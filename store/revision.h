// A revision in etcd's MVCC model, and its byte encodings in LevelDB keys.
//
// Every write request (a put, a delete, a whole txn) gets one main revision;
// each key it changes gets its own sub revision within it, in the order the
// changes happen. Revisions order by (main, sub). Keys in LevelDB carry them
// big-endian, so byte order is revision order; the inverted form (every bit
// flipped) sorts newest first, which is what "latest version at or below R"
// seeks want. See store/key_codec.h for where each form is used.
#ifndef KEEL_STORE_REVISION_H_
#define KEEL_STORE_REVISION_H_

#include <compare>
#include <cstdint>
#include <limits>
#include <string>

#include "runtime/assert.h"

namespace keel::store {

struct Revision {
  int64_t main = 0;
  int64_t sub = 0;

  friend auto operator<=>(const Revision&, const Revision&) = default;
};

// The newest possible revision within main revision `main`: seeking an
// inverted key to it lands on the newest change at or below `main`.
inline Revision LastOfMain(int64_t main) {
  return Revision{main, std::numeric_limits<int64_t>::max()};
}

inline constexpr size_t kRevisionBytes = 16;

inline void AppendBigEndian64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 8);
}

inline uint64_t DecodeBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Appends main then sub, big-endian: byte order equals revision order.
inline void AppendRevision(std::string* out, Revision rev) {
  KEEL_ASSERT(rev.main >= 0);
  KEEL_ASSERT(rev.sub >= 0);
  AppendBigEndian64(out, static_cast<uint64_t>(rev.main));
  AppendBigEndian64(out, static_cast<uint64_t>(rev.sub));
}

// Appends the bitwise complement: byte order is newest first.
inline void AppendInvertedRevision(std::string* out, Revision rev) {
  KEEL_ASSERT(rev.main >= 0);
  KEEL_ASSERT(rev.sub >= 0);
  AppendBigEndian64(out, ~static_cast<uint64_t>(rev.main));
  AppendBigEndian64(out, ~static_cast<uint64_t>(rev.sub));
}

// Reads kRevisionBytes written by AppendRevision.
inline Revision DecodeRevision(const char* p) {
  return Revision{static_cast<int64_t>(DecodeBigEndian64(p)),
                  static_cast<int64_t>(DecodeBigEndian64(p + 8))};
}

// Reads kRevisionBytes written by AppendInvertedRevision.
inline Revision DecodeInvertedRevision(const char* p) {
  return Revision{static_cast<int64_t>(~DecodeBigEndian64(p)),
                  static_cast<int64_t>(~DecodeBigEndian64(p + 8))};
}

}  // namespace keel::store

#endif  // KEEL_STORE_REVISION_H_
