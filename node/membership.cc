// etcd's ID derivations and the static bootstrap member list.
#include "node/membership.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "runtime/sha1.h"
#include "runtime/strings.h"

namespace keel::node {

uint64_t ComputeMemberId(std::vector<std::string> peer_urls,
                         const std::string& cluster_token,
                         std::optional<int64_t> now_unix_seconds) {
  std::sort(peer_urls.begin(), peer_urls.end());
  std::string input;
  for (const auto& url : peer_urls) input += url;
  input += cluster_token;
  if (now_unix_seconds.has_value()) StrAppend(&input, *now_unix_seconds);
  return Sha1Prefix64(input);
}

uint64_t ComputeClusterId(std::vector<uint64_t> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::string input;
  for (uint64_t id : member_ids) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      input.push_back(static_cast<char>((id >> shift) & 0xff));
    }
  }
  return Sha1Prefix64(input);
}

BootstrapIds IdsOf(const std::vector<Member>& members, std::string_view name) {
  BootstrapIds result;
  std::vector<uint64_t> ids;
  ids.reserve(members.size());
  for (const Member& m : members) {
    ids.push_back(m.id);
    if (m.name == name) result.member_id = m.id;
  }
  result.cluster_id = ComputeClusterId(std::move(ids));
  return result;
}

absl::StatusOr<std::vector<Member>> BootstrapMembers(const ServerConfig& config) {
  auto cluster = ParseInitialCluster(config.initial_cluster);
  if (!cluster.ok()) return cluster.status();
  std::vector<Member> members;
  for (const auto& [name, urls] : *cluster) {
    Member member;
    member.name = name;
    member.peer_urls = urls;
    std::sort(member.peer_urls.begin(), member.peer_urls.end());
    member.id = ComputeMemberId(urls, config.initial_cluster_token);
    if (name == config.name) member.client_urls = config.advertise_client_urls;
    members.push_back(std::move(member));
  }
  std::sort(members.begin(), members.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  for (size_t i = 1; i < members.size(); i++) {
    if (members[i].id == members[i - 1].id) {
      return absl::InvalidArgumentError(
          StrCat("--initial-cluster members ", members[i - 1].name, " and ",
                 members[i].name, " have the same peer URLs"));
    }
  }
  return members;
}

std::string FormatId(uint64_t id) { return absl::StrFormat("%x", id); }

bool ParseId(std::string_view text, uint64_t* id) {
  if (text.empty() || text.size() > 16) return false;
  uint64_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  *id = value;
  return true;
}

}  // namespace keel::node
