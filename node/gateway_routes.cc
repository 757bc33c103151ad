// etcd's gateway routes (the google.api.http annotations of rpc.proto,
// v3lock.proto and v3election.proto in etcd 3.4, plus /v3/auth/status from
// 3.5, which keel's Auth service answers).
#include "node/gateway_routes.h"

namespace keel::node {
namespace {

constexpr net::GatewayRoute kRoutes[] = {
    {"kv/range", "/etcdserverpb.KV/Range"},
    {"kv/put", "/etcdserverpb.KV/Put"},
    {"kv/deleterange", "/etcdserverpb.KV/DeleteRange"},
    {"kv/txn", "/etcdserverpb.KV/Txn"},
    {"kv/compaction", "/etcdserverpb.KV/Compact"},
    {"watch", "/etcdserverpb.Watch/Watch"},
    {"lease/grant", "/etcdserverpb.Lease/LeaseGrant"},
    {"lease/revoke", "/etcdserverpb.Lease/LeaseRevoke"},
    {"kv/lease/revoke", "/etcdserverpb.Lease/LeaseRevoke"},
    {"lease/keepalive", "/etcdserverpb.Lease/LeaseKeepAlive"},
    {"lease/timetolive", "/etcdserverpb.Lease/LeaseTimeToLive"},
    {"kv/lease/timetolive", "/etcdserverpb.Lease/LeaseTimeToLive"},
    {"lease/leases", "/etcdserverpb.Lease/LeaseLeases"},
    {"kv/lease/leases", "/etcdserverpb.Lease/LeaseLeases"},
    {"cluster/member/add", "/etcdserverpb.Cluster/MemberAdd"},
    {"cluster/member/remove", "/etcdserverpb.Cluster/MemberRemove"},
    {"cluster/member/update", "/etcdserverpb.Cluster/MemberUpdate"},
    {"cluster/member/list", "/etcdserverpb.Cluster/MemberList"},
    {"cluster/member/promote", "/etcdserverpb.Cluster/MemberPromote"},
    {"maintenance/alarm", "/etcdserverpb.Maintenance/Alarm"},
    {"maintenance/status", "/etcdserverpb.Maintenance/Status"},
    {"maintenance/defragment", "/etcdserverpb.Maintenance/Defragment"},
    // Hash and HashKV share this path in etcd 3.4; grpc-gateway matches the
    // first registered, Hash.
    {"maintenance/hash", "/etcdserverpb.Maintenance/Hash"},
    {"maintenance/snapshot", "/etcdserverpb.Maintenance/Snapshot"},
    {"maintenance/transfer-leadership", "/etcdserverpb.Maintenance/MoveLeader"},
    {"auth/enable", "/etcdserverpb.Auth/AuthEnable"},
    {"auth/disable", "/etcdserverpb.Auth/AuthDisable"},
    {"auth/status", "/etcdserverpb.Auth/AuthStatus"},
    {"auth/authenticate", "/etcdserverpb.Auth/Authenticate"},
    {"auth/user/add", "/etcdserverpb.Auth/UserAdd"},
    {"auth/user/get", "/etcdserverpb.Auth/UserGet"},
    {"auth/user/list", "/etcdserverpb.Auth/UserList"},
    {"auth/user/delete", "/etcdserverpb.Auth/UserDelete"},
    {"auth/user/changepw", "/etcdserverpb.Auth/UserChangePassword"},
    {"auth/user/grant", "/etcdserverpb.Auth/UserGrantRole"},
    {"auth/user/revoke", "/etcdserverpb.Auth/UserRevokeRole"},
    {"auth/role/add", "/etcdserverpb.Auth/RoleAdd"},
    {"auth/role/get", "/etcdserverpb.Auth/RoleGet"},
    {"auth/role/list", "/etcdserverpb.Auth/RoleList"},
    {"auth/role/delete", "/etcdserverpb.Auth/RoleDelete"},
    {"auth/role/grant", "/etcdserverpb.Auth/RoleGrantPermission"},
    {"auth/role/revoke", "/etcdserverpb.Auth/RoleRevokePermission"},
    // v3lock.proto's and v3election.proto's annotations.
    {"lock/lock", "/v3lockpb.Lock/Lock"},
    {"lock/unlock", "/v3lockpb.Lock/Unlock"},
    {"election/campaign", "/v3electionpb.Election/Campaign"},
    {"election/proclaim", "/v3electionpb.Election/Proclaim"},
    {"election/leader", "/v3electionpb.Election/Leader"},
    {"election/observe", "/v3electionpb.Election/Observe"},
    {"election/resign", "/v3electionpb.Election/Resign"},
};

}  // namespace

std::span<const net::GatewayRoute> EtcdGatewayRoutes() { return kRoutes; }

void RegisterEtcdGateway(net::HttpRouter& http, const net::GrpcServer& grpc,
                         std::vector<std::string> cors_origins) {
  net::JsonGatewayOptions options;
  options.prefixes = {"/v3/", "/v3beta/", "/v3alpha/"};
  options.cors_origins = std::move(cors_origins);
  net::RegisterJsonGateway(http, grpc, EtcdGatewayRoutes(), options);
}

}  // namespace keel::node
