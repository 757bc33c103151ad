// AuthFrontend: etcd's Auth requests as a member serves them
// (v3_server.go's Auth* methods), and who a call's token names.
//
// Changes (enable, disable, users, roles, permissions) are proposed through
// raft stamped with the caller, and checked and applied on every member by
// the applier chain (node/auth_applier.h). A password is hashed here, on the
// member that received it, before proposing (as etcd 3.5 does), so the entry
// carries only the hash and every member stores the same one. The hash and
// the login's check run through Env::RunBlocking, off the event loop (tens
// of milliseconds each at the default cost).
// Reads (status, users, roles) are answered from the local store after a
// linearizable barrier, with etcd's rule: root, or a user asking about
// itself or one of its roles.
//
// A login checks the password against the local store after a barrier,
// then proposes the login (name and a simple token prefix, never the
// password); once applied, the token is issued at the revision checked, and
// the login is redone if the store changed meanwhile (etcd's loop).
#ifndef KEEL_NODE_AUTH_FRONTEND_H_
#define KEEL_NODE_AUTH_FRONTEND_H_

#include "absl/status/statusor.h"
#include "net/grpc_server.h"
#include "node/auth_store.h"
#include "node/auth_tokens.h"
#include "node/key_space.h"
#include "node/proposer.h"
#include "node/read_index.h"
#include "node/response_header.h"
#include "proto/rpc.pb.h"
#include "runtime/env.h"

namespace keel::node {

// The parts an AuthFrontend works with; all must outlive it.
struct AuthParts {
  Env& env;
  KeySpace& key_space;
  Proposer& proposer;
  ReadIndexBatcher& reads;
  const ResponseHeaders& headers;
  TokenProvider& tokens;
  // --bcrypt-cost.
  int bcrypt_cost = 10;
};

// How many times a login is redone when the store keeps changing under it.
inline constexpr int kMaxLoginAttempts = 8;

class AuthFrontend {
 public:
  explicit AuthFrontend(AuthParts parts) : parts_(parts) {}
  AuthFrontend(const AuthFrontend&) = delete;
  AuthFrontend& operator=(const AuthFrontend&) = delete;

  // Who the call's `token` metadata (or `authorization`, as etcd's gateway
  // sends it) names; an empty AuthInfo without one. kInvalidAuthToken for
  // an unknown, expired or malformed token.
  absl::StatusOr<AuthInfo> Caller(const net::CallContext& context);
  // The caller, refused unless it may administer (root while enabled):
  // kInvalidAuthToken, kUserEmpty, kUserNotFound, kPermissionDenied.
  absl::Status CheckAdmin(const net::CallContext& context);

  // Each answers etcd's errors (node/errors.h): Propose's, the barrier's,
  // the store's rules. Suspend.
  Task<absl::StatusOr<etcdserverpb::AuthEnableResponse>> Enable(AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthDisableResponse>> Disable(AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthStatusResponse>> Status();
  Task<absl::StatusOr<etcdserverpb::AuthenticateResponse>> Authenticate(
      etcdserverpb::AuthenticateRequest request);
  Task<absl::StatusOr<etcdserverpb::AuthUserAddResponse>> UserAdd(
      etcdserverpb::AuthUserAddRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthUserGetResponse>> UserGet(
      etcdserverpb::AuthUserGetRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthUserListResponse>> UserList(AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthUserDeleteResponse>> UserDelete(
      etcdserverpb::AuthUserDeleteRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthUserChangePasswordResponse>> UserChangePassword(
      etcdserverpb::AuthUserChangePasswordRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthUserGrantRoleResponse>> UserGrantRole(
      etcdserverpb::AuthUserGrantRoleRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthUserRevokeRoleResponse>> UserRevokeRole(
      etcdserverpb::AuthUserRevokeRoleRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthRoleAddResponse>> RoleAdd(
      etcdserverpb::AuthRoleAddRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthRoleGetResponse>> RoleGet(
      etcdserverpb::AuthRoleGetRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthRoleListResponse>> RoleList(AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthRoleDeleteResponse>> RoleDelete(
      etcdserverpb::AuthRoleDeleteRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthRoleGrantPermissionResponse>> RoleGrantPermission(
      etcdserverpb::AuthRoleGrantPermissionRequest request, AuthInfo caller);
  Task<absl::StatusOr<etcdserverpb::AuthRoleRevokePermissionResponse>> RoleRevokePermission(
      etcdserverpb::AuthRoleRevokePermissionRequest request, AuthInfo caller);

  const AuthStore& store() const { return parts_.key_space.auth(); }

 private:
  // Proposes `proposal` and answers a `Response` with only a header.
  template <typename Response>
  Task<absl::StatusOr<Response>> ProposeChange(internal::InternalRaftRequest proposal);
  // bcrypt of `password` with a salt from the Env's random.
  Task<absl::StatusOr<std::string>> Hash(std::string password);
  // Whether `password` matches the bcrypt `hash`, checked off the loop.
  Task<bool> Matches(std::string password, std::string hash);

  AuthParts parts_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_AUTH_FRONTEND_H_
