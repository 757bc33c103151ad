// SimpleTokens: random prefixes, registration at apply, TTL refreshed on
// use.
#include "node/auth_tokens.h"

#include "runtime/strings.h"

namespace keel::node {

std::string SimpleToken(std::string_view prefix, uint64_t index) {
  return StrCat(prefix, ".", index);
}

std::string SimpleTokens::NewSimplePrefix() {
  static constexpr std::string_view kLetters =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string prefix;
  for (int i = 0; i < kSimpleTokenPrefixLength; i++) {
    prefix.push_back(kLetters[random_.Uniform(kLetters.size())]);
  }
  return prefix;
}

void SimpleTokens::Register(std::string_view prefix, uint64_t index, std::string_view user) {
  if (prefix.empty()) return;
  Expire();
  tokens_[SimpleToken(prefix, index)] = Entry{std::string(user), clock_.Now() + ttl_};
}

absl::StatusOr<std::string> SimpleTokens::Assign(std::string_view prefix, uint64_t index,
                                                 std::string_view, uint64_t) {
  if (prefix.empty()) return absl::InternalError("auth: a simple token needs its prefix");
  return SimpleToken(prefix, index);
}

std::optional<AuthInfo> SimpleTokens::Info(std::string_view token, uint64_t current_revision) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  const TimePoint now = clock_.Now();
  if (it->second.expires <= now) {
    tokens_.erase(it);
    return std::nullopt;
  }
  it->second.expires = now + ttl_;
  return AuthInfo{.user = it->second.user, .revision = current_revision};
}

void SimpleTokens::InvalidateUser(std::string_view user) {
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    it = it->second.user == user ? tokens_.erase(it) : std::next(it);
  }
}

void SimpleTokens::Expire() {
  const TimePoint now = clock_.Now();
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    it = it->second.expires <= now ? tokens_.erase(it) : std::next(it);
  }
}

}  // namespace keel::node
