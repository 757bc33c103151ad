// AuthService: etcd's Auth service on gRPC (/etcdserverpb.Auth/*), a thin
// adapter over AuthFrontend that resolves the caller's token.
#ifndef KEEL_NODE_AUTH_SERVICE_H_
#define KEEL_NODE_AUTH_SERVICE_H_

#include "net/grpc_server.h"
#include "node/auth_frontend.h"

namespace keel::node {

// Registers every Auth method with `grpc`; `auth` must outlive every call.
void RegisterAuthService(net::GrpcServer& grpc, AuthFrontend& auth);

// The methods only root may call while auth is enabled (etcd's
// authMaintenanceServer and checkMembershipOperationPermission), refused at
// the front by an interceptor. As etcd, the maintenance methods answer the
// auth store's error unconverted (Unknown "auth: permission denied"), the
// member methods etcd's ("etcdserver: permission denied").
bool IsAdminMethod(std::string_view method);

// Adds that interceptor to `grpc`.
void InstallAdminInterceptor(net::GrpcServer& grpc, AuthFrontend& auth);

}  // namespace keel::node

#endif  // KEEL_NODE_AUTH_SERVICE_H_
