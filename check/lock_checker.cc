// CheckFencedWrites: per lock, the acknowledged fenced writes in revision
// order must not go back to a lower token.
#include "check/lock_checker.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_format.h"

namespace keel::check {

std::vector<Violation> CheckFencedWrites(std::vector<FencedWrite> writes,
                                         size_t max_violations) {
  std::vector<Violation> violations;
  auto report = [&](std::string property, std::string explanation) {
    if (violations.size() >= max_violations) return;
    Violation v;
    v.checker = "lock";
    v.property = std::move(property);
    v.explanation = std::move(explanation);
    violations.push_back(std::move(v));
  };
  std::sort(writes.begin(), writes.end(), [](const FencedWrite& a, const FencedWrite& b) {
    return std::tie(a.lock, a.revision, a.client) < std::tie(b.lock, b.revision, b.client);
  });
  for (size_t i = 1; i < writes.size(); i++) {
    if (writes[i].lock == writes[i - 1].lock && writes[i].revision == writes[i - 1].revision) {
      report("revision",
             absl::StrFormat("lock %s: clients %d and %d were both acknowledged at revision %d",
                             writes[i].lock, writes[i - 1].client, writes[i].client,
                             writes[i].revision));
    }
  }
  // Per lock, the highest token written so far and the write that did it.
  std::map<std::string, const FencedWrite*> highest;
  for (const FencedWrite& w : writes) {
    const FencedWrite*& top = highest[w.lock];
    if (top != nullptr && w.token < top->token) {
      report("fencing",
             absl::StrFormat("lock %s: client %d wrote at revision %d with token %d after "
                             "client %d had written at revision %d with the later token %d: "
                             "two holders' fenced writes interleave",
                             w.lock, w.client, w.revision, w.token, top->client, top->revision,
                             top->token));
      continue;
    }
    if (top == nullptr || w.token > top->token) top = &w;
  }
  return violations;
}

}  // namespace keel::check
