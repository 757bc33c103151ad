// LockService: etcd's v3lock service on gRPC (/v3lockpb.Lock/{Lock,
// Unlock}), as etcd's v3lock server runs clientv3's Mutex over an
// in-process client: here over the member's Contention (node/contention.h).
// The methods are public so that every route to them (gRPC, the JSON
// gateway) calls the same code; the per-call rules (auth token, learner
// refusal, hasleader) are the member's interceptors.
//
// Lock waits until the caller holds the lock `name` with `lease` and
// answers the lock's key (name/<lease hex>), to pass to Unlock; the lock is
// released by Unlock or when the lease ends. Lease 0 gets a new 60-second
// lease, as etcd's NewSession grants one (and, as there, nobody keeps it
// alive).
#ifndef KEEL_NODE_LOCK_SERVICE_H_
#define KEEL_NODE_LOCK_SERVICE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "net/grpc_server.h"
#include "node/auth_frontend.h"
#include "node/contention.h"
#include "node/lease_service.h"
#include "proto/v3lock.pb.h"

namespace keel::node {

// concurrency.NewSession's TTL when a request names no lease.
inline constexpr int64_t kSessionTtlSeconds = 60;

// The lease a Lock or Campaign request runs on: `lease` itself, or for 0 a
// new lease of kSessionTtlSeconds granted as the caller.
Task<absl::StatusOr<int64_t>> SessionLease(LeaseService& leases, net::CallContext& context,
                                           int64_t lease);

class LockService {
 public:
  // The parts must outlive the service, and it every call it serves.
  LockService(Contention& contention, AuthFrontend& auth, LeaseService& leases)
      : contention_(contention), auth_(auth), leases_(leases) {}

  Task<absl::StatusOr<v3lockpb::LockResponse>> Lock(net::CallContext& context,
                                                    v3lockpb::LockRequest request);
  Task<absl::StatusOr<v3lockpb::UnlockResponse>> Unlock(net::CallContext& context,
                                                        v3lockpb::UnlockRequest request);

  // Registers the two methods with `grpc`.
  void Register(net::GrpcServer& grpc);

 private:
  Contention& contention_;
  AuthFrontend& auth_;
  LeaseService& leases_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_LOCK_SERVICE_H_
