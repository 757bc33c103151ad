// SHA-1 against the FIPS 180 test vectors, and etcd's member ID derivation
// against IDs etcd 3.4 printed for the same flags.
#include "runtime/sha1.h"

#include <string>

#include "gtest/gtest.h"

namespace keel {
namespace {

std::string Hex(const std::array<uint8_t, 20>& digest) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

TEST(Sha1Test, MatchesStandardVectors) {
  EXPECT_EQ(Hex(Sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Hex(Sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Hex(Sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(Hex(Sha1(std::string(1000000, 'a'))),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1Test, DefaultMemberIdIsEtcds) {
  // `etcd` with no flags: member 8e9e05c52164694d in cluster cdf818194e3a8c32.
  const uint64_t member = Sha1Prefix64("http://localhost:2380etcd-cluster");
  EXPECT_EQ(member, 0x8e9e05c52164694dULL);
  std::string ids(8, '\0');
  for (int i = 0; i < 8; i++) ids[i] = static_cast<char>(member >> (56 - 8 * i));
  EXPECT_EQ(Sha1Prefix64(ids), 0xcdf818194e3a8c32ULL);
}

}  // namespace
}  // namespace keel
