// The standard gRPC health service (grpc.health.v1.Health), which etcd
// serves on its client port and grpc-go clients may probe.
//
// Check answers the status of a service name ("" is the server as a whole,
// SERVING from the start); an unknown name is NotFound "unknown service", as
// grpc-go's health server answers. Watch streams the current status (or
// SERVICE_UNKNOWN) and then every change until the client cancels.
#ifndef KEEL_NET_HEALTH_SERVICE_H_
#define KEEL_NET_HEALTH_SERVICE_H_

#include <map>
#include <string>

#include "net/grpc_server.h"
#include "proto/health.pb.h"
#include "runtime/executor.h"

namespace keel::net {

class HealthService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // Sets the status of `service` and tells its watchers. Must run on the
  // executor's thread (it wakes coroutines).
  void SetStatus(const std::string& service, ServingStatus status);

  // Registers /grpc.health.v1.Health/Check and /Watch. The service must
  // outlive every connection of `server`.
  void Register(GrpcServer& server);

 private:
  ServingStatus StatusOf(const std::string& service) const;

  std::map<std::string, ServingStatus> statuses_;
  uint64_t version_ = 0;  // Bumped on every change.
  WaitQueue changed_;
};

}  // namespace keel::net

#endif  // KEEL_NET_HEALTH_SERVICE_H_
