// bcrypt through libxcrypt's reentrant calls.
#include "node/password.h"

#include <crypt.h>

#include <memory>

#include "runtime/strings.h"

namespace keel::node {

absl::StatusOr<std::string> HashPassword(std::string_view password, int cost,
                                         std::string_view salt_bytes) {
  if (cost < kMinBcryptCost || cost > kMaxBcryptCost) {
    return absl::InvalidArgumentError(StrCat("bcrypt cost ", cost, " is outside [",
                                             kMinBcryptCost, ", ", kMaxBcryptCost, "]"));
  }
  if (salt_bytes.size() != kBcryptSaltBytes) {
    return absl::InvalidArgumentError("bcrypt needs 16 bytes of salt");
  }
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), salt_bytes.data(),
                       static_cast<int>(salt_bytes.size()), setting, sizeof setting) == nullptr) {
    return absl::InternalError("crypt_gensalt_rn failed for bcrypt");
  }
  // crypt_data is large (~32 KiB): not on a coroutine's stack.
  auto data = std::make_unique<crypt_data>();
  const std::string plain(password);
  const char* hashed = crypt_rn(plain.c_str(), setting, data.get(), sizeof *data);
  if (hashed == nullptr || hashed[0] == '*') return absl::InternalError("crypt_rn failed for bcrypt");
  return std::string(hashed);
}

bool PasswordMatches(std::string_view password, const std::string& hash) {
  if (hash.empty()) return false;
  auto data = std::make_unique<crypt_data>();
  const std::string plain(password);
  const char* computed = crypt_rn(plain.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (computed == nullptr || computed[0] == '*') return false;
  const std::string_view got(computed);
  if (got.size() != hash.size()) return false;
  // Constant time over the hash's length.
  unsigned char diff = 0;
  for (size_t i = 0; i < got.size(); i++) diff |= static_cast<unsigned char>(got[i] ^ hash[i]);
  return diff == 0;
}

}  // namespace keel::node
