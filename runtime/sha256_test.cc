// SHA-256 against the FIPS 180 test vectors, and the incremental form
// against the one-shot one at every split point.
#include "runtime/sha256.h"

#include <string>

#include "gtest/gtest.h"

namespace keel {
namespace {

std::string Hex(const Sha256::Digest& digest) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

TEST(Sha256Test, MatchesStandardVectors) {
  EXPECT_EQ(Hex(Sha256::Of("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256::Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256::Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Hex(Sha256::Of(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, IncrementalUpdatesGiveTheOneShotDigest) {
  std::string message;
  for (int i = 0; i < 300; i++) message.push_back(static_cast<char>(i * 7 + 3));
  const Sha256::Digest whole = Sha256::Of(message);
  for (size_t split = 0; split <= message.size(); split++) {
    Sha256 hash;
    hash.Update(std::string_view(message).substr(0, split));
    hash.Update(std::string_view(message).substr(split));
    EXPECT_EQ(hash.Finish(), whole) << "split at " << split;
  }
}

}  // namespace
}  // namespace keel
