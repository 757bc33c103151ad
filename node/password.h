// Passwords as bcrypt hashes (Debian's libxcrypt, "$2b$"), as etcd stores
// them; hashes etcd wrote ("$2a$") verify too.
//
// Hashing and checking cost tens of milliseconds at etcd's default cost of
// 10, so node/auth_frontend.cc runs them off the event loop
// (Env::RunBlocking); these functions are pure and thread-safe.
#ifndef KEEL_NODE_PASSWORD_H_
#define KEEL_NODE_PASSWORD_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keel::node {

inline constexpr int kMinBcryptCost = 4;
inline constexpr int kMaxBcryptCost = 31;
inline constexpr int kDefaultBcryptCost = 10;
// bcrypt's salt is 16 random bytes.
inline constexpr size_t kBcryptSaltBytes = 16;

// The bcrypt hash of `password` at `cost` with the salt made from
// `salt_bytes` (kBcryptSaltBytes random bytes). InvalidArgument for a cost
// outside [kMinBcryptCost, kMaxBcryptCost] or a salt of another size;
// Internal if libxcrypt fails.
absl::StatusOr<std::string> HashPassword(std::string_view password, int cost,
                                         std::string_view salt_bytes);

// Whether `password` matches `hash` (false for a malformed hash).
bool PasswordMatches(std::string_view password, const std::string& hash);

}  // namespace keel::node

#endif  // KEEL_NODE_PASSWORD_H_
