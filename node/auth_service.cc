// AuthService: each Auth method to the front end; the admin interceptor.
#include "node/auth_service.h"

#include <array>

#include "node/errors.h"
#include "runtime/status_macros.h"

namespace keel::node {
namespace {

// Registers `path` as a unary method calling `method(request, caller)`.
template <typename Req, typename Resp, typename Method>
void AddWithCaller(net::GrpcServer& grpc, std::string path, AuthFrontend& auth, Method method) {
  grpc.AddUnary<Req, Resp>(
      std::move(path),
      [&auth, method](net::CallContext& context, Req request) -> Task<absl::StatusOr<Resp>> {
        KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth.Caller(context));
        co_return co_await (auth.*method)(std::move(request), std::move(caller));
      });
}

// The same for a method that takes no request fields.
template <typename Req, typename Resp, typename Method>
void AddCallerOnly(net::GrpcServer& grpc, std::string path, AuthFrontend& auth, Method method) {
  grpc.AddUnary<Req, Resp>(
      std::move(path),
      [&auth, method](net::CallContext& context, Req) -> Task<absl::StatusOr<Resp>> {
        KEEL_CO_ASSIGN_OR_RETURN(AuthInfo caller, auth.Caller(context));
        co_return co_await (auth.*method)(std::move(caller));
      });
}

constexpr std::array<std::string_view, 9> kAdminMethods = {
    "/etcdserverpb.Maintenance/Defragment", "/etcdserverpb.Maintenance/Snapshot",
    "/etcdserverpb.Maintenance/Hash",       "/etcdserverpb.Maintenance/HashKV",
    "/etcdserverpb.Maintenance/MoveLeader", "/etcdserverpb.Cluster/MemberAdd",
    "/etcdserverpb.Cluster/MemberRemove",   "/etcdserverpb.Cluster/MemberUpdate",
    "/etcdserverpb.Cluster/MemberPromote",
};

// etcd's maintenance server returns the auth store's errors unconverted,
// so clients see gRPC's Unknown with the store's own text ("auth: ...").
absl::Status AsRawAuthError(const absl::Status& status) {
  struct Raw {
    EtcdError error;
    std::string_view text;
  };
  static constexpr Raw kRaw[] = {
      {EtcdError::kPermissionDenied, "auth: permission denied"},
      {EtcdError::kUserEmpty, "auth: user name is empty"},
      {EtcdError::kUserNotFound, "auth: user not found"},
      {EtcdError::kInvalidAuthToken, "auth: invalid auth token"},
  };
  for (const Raw& raw : kRaw) {
    if (IsError(status, raw.error)) return absl::UnknownError(std::string(raw.text));
  }
  return status;
}

}  // namespace

bool IsAdminMethod(std::string_view method) {
  for (std::string_view admin : kAdminMethods) {
    if (method == admin) return true;
  }
  return false;
}

void InstallAdminInterceptor(net::GrpcServer& grpc, AuthFrontend& auth) {
  grpc.AddInterceptor([&auth](net::CallContext& context, const google::protobuf::Message*) {
    if (!IsAdminMethod(context.method)) return absl::OkStatus();
    absl::Status status = auth.CheckAdmin(context);
    if (context.method.starts_with("/etcdserverpb.Maintenance/")) return AsRawAuthError(status);
    return status;
  });
}

void RegisterAuthService(net::GrpcServer& grpc, AuthFrontend& auth) {
  using namespace etcdserverpb;
  using F = AuthFrontend;
  const std::string prefix = "/etcdserverpb.Auth/";
  AddCallerOnly<AuthEnableRequest, AuthEnableResponse>(grpc, prefix + "AuthEnable", auth,
                                                       &F::Enable);
  AddCallerOnly<AuthDisableRequest, AuthDisableResponse>(grpc, prefix + "AuthDisable", auth,
                                                         &F::Disable);
  grpc.AddUnary<AuthStatusRequest, AuthStatusResponse>(
      prefix + "AuthStatus",
      [&auth](net::CallContext&, AuthStatusRequest) -> Task<absl::StatusOr<AuthStatusResponse>> {
        co_return co_await auth.Status();
      });
  // A login carries no token worth resolving: a client refreshing an
  // expired one sends it along.
  grpc.AddUnary<AuthenticateRequest, AuthenticateResponse>(
      prefix + "Authenticate",
      [&auth](net::CallContext&,
              AuthenticateRequest request) -> Task<absl::StatusOr<AuthenticateResponse>> {
        co_return co_await auth.Authenticate(std::move(request));
      });
  AddWithCaller<AuthUserAddRequest, AuthUserAddResponse>(grpc, prefix + "UserAdd", auth,
                                                         &F::UserAdd);
  AddWithCaller<AuthUserGetRequest, AuthUserGetResponse>(grpc, prefix + "UserGet", auth,
                                                         &F::UserGet);
  AddCallerOnly<AuthUserListRequest, AuthUserListResponse>(grpc, prefix + "UserList", auth,
                                                           &F::UserList);
  AddWithCaller<AuthUserDeleteRequest, AuthUserDeleteResponse>(grpc, prefix + "UserDelete",
                                                               auth, &F::UserDelete);
  AddWithCaller<AuthUserChangePasswordRequest, AuthUserChangePasswordResponse>(
      grpc, prefix + "UserChangePassword", auth, &F::UserChangePassword);
  AddWithCaller<AuthUserGrantRoleRequest, AuthUserGrantRoleResponse>(
      grpc, prefix + "UserGrantRole", auth, &F::UserGrantRole);
  AddWithCaller<AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse>(
      grpc, prefix + "UserRevokeRole", auth, &F::UserRevokeRole);
  AddWithCaller<AuthRoleAddRequest, AuthRoleAddResponse>(grpc, prefix + "RoleAdd", auth,
                                                         &F::RoleAdd);
  AddWithCaller<AuthRoleGetRequest, AuthRoleGetResponse>(grpc, prefix + "RoleGet", auth,
                                                         &F::RoleGet);
  AddCallerOnly<AuthRoleListRequest, AuthRoleListResponse>(grpc, prefix + "RoleList", auth,
                                                           &F::RoleList);
  AddWithCaller<AuthRoleDeleteRequest, AuthRoleDeleteResponse>(grpc, prefix + "RoleDelete",
                                                               auth, &F::RoleDelete);
  AddWithCaller<AuthRoleGrantPermissionRequest, AuthRoleGrantPermissionResponse>(
      grpc, prefix + "RoleGrantPermission", auth, &F::RoleGrantPermission);
  AddWithCaller<AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponse>(
      grpc, prefix + "RoleRevokePermission", auth, &F::RoleRevokePermission);
}

}  // namespace keel::node
