// PermissionsCover: the permissions of the asked kind as half-open
// intervals of keys, sorted and swept.
#include "node/auth_permissions.h"

#include <algorithm>
#include <optional>
#include <string>

namespace keel::node {
namespace {

// [begin, end); end nullopt: unbounded.
struct Interval {
  std::string begin;
  std::optional<std::string> end;
};

// Whether `end` lies at or past `bound` (nullopt is past everything).
bool EndReaches(const std::optional<std::string>& end, const std::optional<std::string>& bound) {
  if (!end.has_value()) return true;
  if (!bound.has_value()) return false;
  return *end >= *bound;
}

Interval FromPermission(const authpb::Permission& perm) {
  if (perm.range_end().empty()) return Interval{perm.key(), perm.key() + std::string(1, '\0')};
  if (perm.range_end() == std::string_view("\0", 1)) return Interval{perm.key(), std::nullopt};
  return Interval{perm.key(), perm.range_end()};
}

bool Matches(const authpb::Permission& perm, bool write) {
  if (perm.permtype() == authpb::Permission::READWRITE) return true;
  return write ? perm.permtype() == authpb::Permission::WRITE
               : perm.permtype() == authpb::Permission::READ;
}

}  // namespace

bool PermissionsCover(const std::vector<const authpb::Permission*>& perms, bool write,
                      std::string_view key, std::string_view range_end) {
  std::vector<Interval> intervals;
  for (const authpb::Permission* perm : perms) {
    if (Matches(*perm, write)) intervals.push_back(FromPermission(*perm));
  }
  if (range_end.empty()) {
    for (const Interval& ivl : intervals) {
      if (ivl.begin <= key && !EndReaches(std::optional<std::string>(std::string(key)), ivl.end)) {
        return true;
      }
    }
    return false;
  }
  const std::optional<std::string> want_end =
      range_end == std::string_view("\0", 1) ? std::nullopt
                                             : std::optional<std::string>(std::string(range_end));
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  // Sweep from `key`: `reached` is how far the union covers contiguously.
  std::string reached(key);
  for (const Interval& ivl : intervals) {
    if (ivl.begin > reached) break;  // a gap before this interval
    if (!ivl.end.has_value()) return true;
    if (*ivl.end > reached) reached = *ivl.end;
    if (EndReaches(reached, want_end)) return true;
  }
  return false;
}

}  // namespace keel::node
