// The etcd version keel reports (Status.version, /version): the API it
// speaks, so clients that gate features on the server version treat keel
// as the etcd 3.4 it is compatible with.
#ifndef KEEL_NODE_VERSION_H_
#define KEEL_NODE_VERSION_H_

#include <string_view>

namespace keel::node {

inline constexpr std::string_view kEtcdServerVersion = "3.4.23";
inline constexpr std::string_view kEtcdClusterVersion = "3.4.0";

}  // namespace keel::node

#endif  // KEEL_NODE_VERSION_H_
