// Membership: the members of a cluster and the IDs etcd derives for them.
//
// IDs follow etcd exactly (first 8 bytes of SHA-1 over the sorted peer URLs
// and the cluster token; the cluster ID over the sorted member IDs), so a
// cluster started with etcd's flags reports etcd's IDs.
#ifndef KEEL_NODE_MEMBERSHIP_H_
#define KEEL_NODE_MEMBERSHIP_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/server_config.h"

namespace keel::node {

struct Member {
  uint64_t id = 0;
  std::string name;  // empty until the member has started and published it
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;

  bool operator==(const Member&) const = default;
};

// etcd's member ID. `now_unix_seconds` is set for members added at runtime
// (etcd mixes the time in so a re-added member gets a new ID).
uint64_t ComputeMemberId(std::vector<std::string> peer_urls,
                         const std::string& cluster_token,
                         std::optional<int64_t> now_unix_seconds = std::nullopt);

// etcd's cluster ID over the member IDs.
uint64_t ComputeClusterId(std::vector<uint64_t> member_ids);

// The members of a new cluster from --initial-cluster and the token, sorted
// by ID. The caller's own member has its name set; others get theirs set too
// (etcd publishes names later; static bootstrap knows them).
absl::StatusOr<std::vector<Member>> BootstrapMembers(const ServerConfig& config);

// The IDs a new cluster's members give: `name`'s member ID (0 if no member
// has that name) and the cluster ID over all of them.
struct BootstrapIds {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
};
BootstrapIds IdsOf(const std::vector<Member>& members, std::string_view name);

// A member ID as etcd prints it: lowercase hex without leading zeros.
std::string FormatId(uint64_t id);
// Parses FormatId's output. False on anything else.
bool ParseId(std::string_view text, uint64_t* id);

}  // namespace keel::node

#endif  // KEEL_NODE_MEMBERSHIP_H_
