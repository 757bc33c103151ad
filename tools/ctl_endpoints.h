// The endpoints a maintenance command acts on, one by one: --endpoints, or
// with --cluster every client URL of the member list (etcdctl's
// endpointsFromCluster). Each has the text etcdctl prints for it (the URL
// as the member list gives it) and the host:port keelctl dials.
#ifndef KEEL_TOOLS_CTL_ENDPOINTS_H_
#define KEEL_TOOLS_CTL_ENDPOINTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/etcd_client.h"
#include "runtime/task.h"
#include "tools/ctl_command.h"

namespace keel::tools {

struct EndpointTarget {
  std::string shown;   // as etcdctl prints it
  std::string dialed;  // host:port
};

class EndpointSet {
 public:
  EndpointSet() {}
  std::vector<EndpointTarget> targets;
  // A client over every target's dialed address (for per-endpoint calls).
  std::unique_ptr<client::EtcdClient> client;
};

// Resolves the targets. With `cluster`, a failed member list is
// "failed to fetch endpoints from etcd cluster member list: ..." (exit 1,
// carried by the error).
Task<absl::StatusOr<EndpointSet>> ResolveEndpoints(Ctl& ctl, bool cluster);

// host:port of an endpoint or URL ("http://h:p" -> "h:p").
std::string DialAddress(std::string_view endpoint);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_CTL_ENDPOINTS_H_
