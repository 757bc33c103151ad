// Endpoint resolution for per-member commands; see ctl_endpoints.h.
#include "tools/ctl_endpoints.h"

#include "runtime/strings.h"

namespace keel::tools {

std::string DialAddress(std::string_view endpoint) {
  std::string address(endpoint);
  if (address.starts_with("http://")) address = address.substr(7);
  while (!address.empty() && address.back() == '/') address.pop_back();
  return address;
}

Task<absl::StatusOr<EndpointSet>> ResolveEndpoints(Ctl& ctl, bool cluster) {
  EndpointSet set;
  if (!cluster) {
    for (const std::string& endpoint : ctl.config().endpoints) {
      set.targets.push_back(EndpointTarget{endpoint, DialAddress(endpoint)});
    }
  } else {
    absl::StatusOr<etcdserverpb::MemberListResponse> members =
        co_await ctl.client().MemberList(ctl.Timeout());
    if (!members.ok()) {
      ctl.NoteUnreachable(members.status());
      co_return ExitError(kExitError,
                          StrCat("failed to fetch endpoints from etcd cluster member list: ",
                                 Ctl::ErrorText(members.status())));
    }
    for (const auto& member : members->members()) {
      for (const std::string& url : member.clienturls()) {
        set.targets.push_back(EndpointTarget{url, DialAddress(url)});
      }
    }
  }
  std::vector<std::string> dialed;
  for (const auto& target : set.targets) {
    if (std::find(dialed.begin(), dialed.end(), target.dialed) == dialed.end()) {
      dialed.push_back(target.dialed);
    }
  }
  set.client = ctl.NewClient(std::move(dialed));
  co_return set;
}

}  // namespace keel::tools
