// SHA-1, for the identifiers etcd derives from it (member and cluster IDs),
// so that a keel cluster started with etcd's flags has etcd's IDs. Not for
// security.
#ifndef KEEL_RUNTIME_SHA1_H_
#define KEEL_RUNTIME_SHA1_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace keel {

std::array<uint8_t, 20> Sha1(std::string_view data);

// The first 8 bytes of SHA-1(data), big-endian: etcd's ID derivation.
uint64_t Sha1Prefix64(std::string_view data);

}  // namespace keel

#endif  // KEEL_RUNTIME_SHA1_H_
