// MemberServices: every client-facing service of a member, built over its
// Server's parts: KV, Auth, Watch, Lease, Lock, Election, Maintenance, Cluster and gRPC health on
// a gRPC registry behind the member's interceptors (node/interceptors.h),
// and /health and /version on an HTTP router. Node serves them on its
// client URLs; tests and fuzz targets call them without a listener; the
// JSON gateway will call the same objects.
#ifndef KEEL_NODE_MEMBER_SERVICES_H_
#define KEEL_NODE_MEMBER_SERVICES_H_

#include <memory>

#include "net/grpc_server.h"
#include "net/health_service.h"
#include "net/http_message.h"
#include "node/cluster_service.h"
#include "node/contention.h"
#include "node/election_service.h"
#include "node/kv_service.h"
#include "node/lease_service.h"
#include "node/lock_service.h"
#include "node/maintenance_service.h"
#include "node/member_admin.h"
#include "node/server.h"
#include "node/watch_service.h"

namespace keel::node {

class MemberServices {
 public:
  // Builds the services; `server` must outlive them, and they every call
  // they serve. Construct and destroy in the member's process (the lease
  // service's forwarding channel runs there).
  MemberServices(Env& env, Server& server, WatchServiceOptions watch = WatchServiceOptions());
  MemberServices(const MemberServices&) = delete;
  MemberServices& operator=(const MemberServices&) = delete;

  // Installs the interceptors and registers every method and endpoint.
  // Once per registry, before it serves a connection.
  void Register(net::GrpcServer& grpc, net::HttpRouter& http);

  KvService& kv() { return kv_; }
  MaintenanceService& maintenance() { return maintenance_; }
  ClusterService& cluster() { return cluster_; }
  MemberAdmin& admin() { return admin_; }
  WatchService& watch() { return watch_; }
  LeaseService& lease() { return lease_; }
  LockService& lock() { return lock_; }
  ElectionService& election() { return election_; }

 private:
  Env& env_;
  Server& server_;
  KvService kv_;
  MaintenanceService maintenance_;
  MemberAdmin admin_;
  ClusterService cluster_;
  WatchService watch_;
  LeaseService lease_;
  Contention contention_;
  LockService lock_;
  ElectionService election_;
  net::HealthService health_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_MEMBER_SERVICES_H_
