// KvService: etcd's KV service on gRPC (/etcdserverpb.KV/{Range, Put,
// DeleteRange, Txn, Compact}), a thin adapter over KvFrontend that resolves
// the caller's token (AuthFrontend::Caller). The per-call rules (hasleader,
// deadlines) are interceptors (node/interceptors.h).
#ifndef KEEL_NODE_KV_SERVICE_H_
#define KEEL_NODE_KV_SERVICE_H_

#include "net/grpc_server.h"
#include "node/auth_frontend.h"
#include "node/kv_frontend.h"

namespace keel::node {

class KvService {
 public:
  // `kv` and `auth` must outlive the service, and the service every call
  // it serves.
  KvService(KvFrontend& kv, AuthFrontend& auth) : kv_(kv), auth_(auth) {}

  // Registers the five methods with `grpc`.
  void Register(net::GrpcServer& grpc);

 private:
  KvFrontend& kv_;
  AuthFrontend& auth_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_KV_SERVICE_H_
