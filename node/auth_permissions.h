// Whether a role's key permissions cover a request's keys (etcd's
// unifiedRangePermissions over adt interval trees).
//
// A permission on one key (range_end empty) covers that key alone; one on
// [key, range_end) covers the range, and range_end "\0" means every key
// from `key` on. A request on one key is covered when some permission
// of the kind holds the key; a request on a range when the union of the
// permissions of the kind holds the whole range (so two adjacent grants
// together cover a range neither covers alone). READWRITE counts as both
// kinds.
#ifndef KEEL_NODE_AUTH_PERMISSIONS_H_
#define KEEL_NODE_AUTH_PERMISSIONS_H_

#include <string_view>
#include <vector>

#include "proto/auth.pb.h"

namespace keel::node {

bool PermissionsCover(const std::vector<const authpb::Permission*>& perms, bool write,
                      std::string_view key, std::string_view range_end);

}  // namespace keel::node

#endif  // KEEL_NODE_AUTH_PERMISSIONS_H_
