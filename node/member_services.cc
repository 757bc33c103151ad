// MemberServices: building the services over the parts, and registering
// them.
#include "node/member_services.h"

#include "node/auth_service.h"
#include "node/gateway_routes.h"
#include "node/http_endpoints.h"
#include "node/interceptors.h"

namespace keel::node {

MemberServices::MemberServices(Env& env, Server& server, WatchServiceOptions watch)
    : env_(env),
      server_(server),
      kv_(server.kv(), server.auth()),
      maintenance_(MaintenanceParts{env, server.key_space(), server.raft(), server.proposer(),
                                    server.applied(), server.headers(), server.life(),
                                    server.reads(), server.request_timeout(), SnapDir(server.config())}),
      admin_(env, server.raft(), server.proposer(), server.key_space().members(),
             MemberAdminOptions{.strict_reconfig_check = server.config().strict_reconfig_check}),
      cluster_(ClusterServiceParts{env, server.key_space().members(), server.headers(), admin_,
                                   server.raft(), server.request_timeout()}),
      watch_(server.key_space().watch_hub(), env.clock(), env.random(),
             [&server] { return server.headers().Make(); },
             [&server] { return server.raft().leader() != 0; }, watch),
      lease_(LeaseServiceParts{env, server.leases(), server.raft(),
                               server.key_space().members(), server.headers(),
                               server.request_timeout()}),
      contention_(ContentionParts{server.kv(), server.key_space().watch_hub(), server.headers(),
                                  env.clock().executor()}),
      lock_(contention_, server.auth(), lease_),
      election_(contention_, server.auth(), lease_) {
#if KEEL_FAILPOINTS
  contention_.set_skip_wait(server.config().failpoints.lock_skips_wait);
#endif
}

void MemberServices::Register(net::GrpcServer& grpc, net::HttpRouter& http) {
  InstallInterceptors(grpc, env_.clock(), server_.raft(), server_.proposer(),
                     server_.key_space().members());
  InstallAdminInterceptor(grpc, server_.auth());
  kv_.Register(grpc);
  RegisterAuthService(grpc, server_.auth());
  maintenance_.Register(grpc);
  cluster_.Register(grpc);
  health_.Register(grpc);
  AuthFrontend& auth = server_.auth();
  watch_.set_permission([&auth](const net::CallContext& context, std::string_view key,
                                std::string_view range_end) {
    absl::StatusOr<AuthInfo> caller = auth.Caller(context);
    return caller.ok() && auth.store().CheckRead(*caller, key, range_end).ok();
  });
  RegisterWatchService(grpc, watch_);
  lease_.set_callers(
      [&auth](const net::CallContext& context) { return auth.Caller(context); });
  RegisterLeaseService(grpc, lease_);
  lock_.Register(grpc);
  election_.Register(grpc);
  RegisterHttpEndpoints(http, env_.clock(), server_.raft(), server_.reads());
  // Last: the gateway calls the handlers registered above.
  if (server_.config().enable_grpc_gateway) {
    RegisterEtcdGateway(http, grpc, server_.config().cors);
  }
}

}  // namespace keel::node
