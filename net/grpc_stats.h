// What go-grpc-prometheus counts for each gRPC method a server registers
// (etcd's grpc_server_* families): calls started and handled by code,
// messages each way, and the handling time; plus the bytes behind etcd's
// etcd_network_client_grpc_{received,sent}_bytes_total. The HTTP/2 session
// updates a method's stats in place as its calls run (one thread: no
// locks); GrpcServer::WriteMetrics renders them.
#ifndef KEEL_NET_GRPC_STATS_H_
#define KEEL_NET_GRPC_STATS_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "runtime/metrics.h"

namespace keel::net {

// go-grpc-prometheus's grpc_type label values.
enum class GrpcType { kUnary, kClientStream, kServerStream, kBidiStream };
std::string_view GrpcTypeName(GrpcType type);

// gRPC's status codes, 0 (OK) to 16 (Unauthenticated): absl's numbering.
inline constexpr int kGrpcCodeCount = 17;
// grpc-go's names for them ("OK", "Canceled", ...), as the grpc_code label.
std::string_view GrpcCodeName(int code);

struct GrpcMethodStats {
  GrpcType type = GrpcType::kUnary;
  metrics::Counter started;
  metrics::Counter msg_received;
  metrics::Counter msg_sent;
  std::array<metrics::Counter, kGrpcCodeCount> handled;
  // Message payload bytes (gRPC's 5-byte frame header not counted, as
  // etcd's stats handler counts them).
  metrics::Counter received_bytes;
  metrics::Counter sent_bytes;
  // From the call's headers to its status.
  metrics::Histogram handling_seconds{metrics::DefaultBuckets()};
};

}  // namespace keel::net

#endif  // KEEL_NET_GRPC_STATS_H_
