// TokenProvider: the tokens a member hands out at login and resolves on
// later calls (etcd's TokenProvider), carried in the `token` gRPC metadata.
//
// --auth-token simple (SimpleTokens, here): a random prefix chosen by the
// member that checked the password, and the raft index of the login entry
// ("<16 letters>.<index>"). Applying the login registers it on every
// member, so any member accepts it; each keeps it in memory for
// --auth-token-ttl after its last use (a restart forgets every token, as
// etcd's does). It resolves to its user at the store's current revision, so
// a change to the store refuses only requests already in flight.
// --auth-token jwt (node/auth_jwt.h): a signed token that names the user
// and the revision it was issued at; nothing is registered.
//
// Tokens are local state: registering and forgetting them change no
// replicated state, so the applier may do it on every member alike without
// touching determinism of the key space. The clock is the Env's.
#ifndef KEEL_NODE_AUTH_TOKENS_H_
#define KEEL_NODE_AUTH_TOKENS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "node/auth_store.h"
#include "runtime/clock.h"
#include "runtime/random.h"
#include "runtime/time.h"

namespace keel::node {

class TokenProvider {
 public:
  virtual ~TokenProvider() = default;

  // The prefix a login proposes (empty: the provider registers nothing).
  virtual std::string NewSimplePrefix() = 0;
  // Applying a login: registers "<prefix>.<index>" for `user` if `prefix`
  // is not empty.
  virtual void Register(std::string_view prefix, uint64_t index, std::string_view user) = 0;
  // The token for a login of `user` checked at `revision`, applied at
  // `index` with `prefix`. Internal if signing failed.
  virtual absl::StatusOr<std::string> Assign(std::string_view prefix, uint64_t index,
                                             std::string_view user, uint64_t revision) = 0;
  // Who `token` names, given the store's current revision; nullopt if it is
  // unknown, expired, malformed or badly signed.
  virtual std::optional<AuthInfo> Info(std::string_view token, uint64_t current_revision) = 0;
  // The user was deleted or its password changed: its tokens stop working.
  virtual void InvalidateUser(std::string_view user) = 0;
  // Auth was disabled: every token stops working.
  virtual void Clear() = 0;
};

inline constexpr Duration kDefaultTokenTtl = Seconds(300);
// etcd's defaultSimpleTokenLength.
inline constexpr int kSimpleTokenPrefixLength = 16;

class SimpleTokens final : public TokenProvider {
 public:
  // `clock` and `random` must outlive this.
  SimpleTokens(Clock& clock, Random& random, Duration ttl)
      : clock_(clock), random_(random), ttl_(ttl) {}

  std::string NewSimplePrefix() override;
  void Register(std::string_view prefix, uint64_t index, std::string_view user) override;
  absl::StatusOr<std::string> Assign(std::string_view prefix, uint64_t index,
                                     std::string_view user, uint64_t revision) override;
  std::optional<AuthInfo> Info(std::string_view token, uint64_t current_revision) override;
  void InvalidateUser(std::string_view user) override;
  void Clear() override { tokens_.clear(); }

  size_t size() const { return tokens_.size(); }

 private:
  struct Entry {
    std::string user;
    TimePoint expires;
  };
  // Drops expired tokens (bounded by the number of logins within a TTL).
  void Expire();

  Clock& clock_;
  Random& random_;
  const Duration ttl_;
  std::map<std::string, Entry, std::less<>> tokens_;
};

// "<prefix>.<index>".
std::string SimpleToken(std::string_view prefix, uint64_t index);

}  // namespace keel::node

#endif  // KEEL_NODE_AUTH_TOKENS_H_
