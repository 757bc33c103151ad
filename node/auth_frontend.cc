// AuthFrontend: proposals for changes, local answers for reads, logins.
#include "node/auth_frontend.h"

#include <memory>
#include <utility>

#include "node/auth_applier.h"
#include "node/errors.h"
#include "node/password.h"
#include "runtime/status_macros.h"

namespace keel::node {
namespace {

// etcd's rule for reading a user or role: root may read any; others only
// themselves (UserGet) or a role they hold (RoleGet).
absl::Status CheckReader(const AuthStore& store, const AuthInfo& caller, bool self) {
  absl::Status admin = store.CheckAdmin(caller);
  if (admin.ok() || self) return absl::OkStatus();
  return admin;
}

}  // namespace

absl::StatusOr<AuthInfo> AuthFrontend::Caller(const net::CallContext& context) {
  std::optional<std::string_view> token = context.Get("token");
  if (!token.has_value()) token = context.Get("authorization");
  if (!token.has_value()) return AuthInfo{};
  std::optional<AuthInfo> info = parts_.tokens.Info(*token, store().revision());
  if (!info.has_value()) return MakeError(EtcdError::kInvalidAuthToken);
  return *std::move(info);
}

absl::Status AuthFrontend::CheckAdmin(const net::CallContext& context) {
  KEEL_ASSIGN_OR_RETURN(AuthInfo caller, Caller(context));
  return store().CheckAdmin(caller);
}

template <typename Response>
Task<absl::StatusOr<Response>> AuthFrontend::ProposeChange(
    internal::InternalRaftRequest proposal) {
  ApplyResult result = co_await parts_.proposer.Propose(std::move(proposal));
  if (!result.status.ok()) co_return result.status;
  Response response;
  *response.mutable_header() = parts_.headers.Make();
  co_return response;
}

Task<absl::StatusOr<std::string>> AuthFrontend::Hash(std::string password) {
  std::string salt;
  for (size_t i = 0; i < kBcryptSaltBytes; i++) {
    salt.push_back(static_cast<char>(parts_.env.random().Uniform(256)));
  }
  // Off the loop: tens of milliseconds at the default cost. The work owns
  // copies of what it reads, since it runs to its end even if this frame dies.
  // (The lambda is named first: see ci/lint-coroutines.)
  auto hashed = std::make_shared<absl::StatusOr<std::string>>(absl::UnknownError("unset"));
  auto work = [hashed, password = std::move(password), cost = parts_.bcrypt_cost,
               salt = std::move(salt)] { *hashed = HashPassword(password, cost, salt); };
  co_await parts_.env.RunBlocking(std::move(work));
  co_return std::move(*hashed);
}

Task<bool> AuthFrontend::Matches(std::string password, std::string hash) {
  // Off the loop, as Hash() is.
  auto matches = std::make_shared<bool>(false);
  auto work = [matches, password = std::move(password), hash = std::move(hash)] {
    *matches = PasswordMatches(password, hash);
  };
  co_await parts_.env.RunBlocking(std::move(work));
  co_return *matches;
}

Task<absl::StatusOr<etcdserverpb::AuthEnableResponse>> AuthFrontend::Enable(AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  proposal.mutable_auth_enable();
  co_return co_await ProposeChange<etcdserverpb::AuthEnableResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthDisableResponse>> AuthFrontend::Disable(AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  proposal.mutable_auth_disable();
  co_return co_await ProposeChange<etcdserverpb::AuthDisableResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthStatusResponse>> AuthFrontend::Status() {
  KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
  etcdserverpb::AuthStatusResponse response;
  *response.mutable_header() = parts_.headers.Make();
  response.set_enabled(store().enabled());
  response.set_authrevision(store().revision());
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::AuthenticateResponse>> AuthFrontend::Authenticate(
    etcdserverpb::AuthenticateRequest request) {
  for (int attempt = 0; attempt < kMaxLoginAttempts; attempt++) {
    KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
    if (!store().enabled()) co_return MakeError(EtcdError::kAuthNotEnabled);
    const authpb::User* user = store().FindUser(request.name());
    if (user == nullptr) co_return MakeError(EtcdError::kAuthFailed);
    if (user->options().no_password()) {
      // etcd returns this one unconverted: Unknown, the store's own text.
      co_return absl::UnknownError(
          "auth: authentication failed, password was given for no password user");
    }
    const uint64_t checked_revision = store().revision();
    if (!co_await Matches(request.password(), user->password())) {
      co_return MakeError(EtcdError::kAuthFailed);
    }
    const std::string prefix = parts_.tokens.NewSimplePrefix();
    internal::InternalRaftRequest proposal;
    proposal.mutable_authenticate()->set_name(request.name());
    proposal.mutable_authenticate()->set_simple_token_prefix(prefix);
    ApplyResult result = co_await parts_.proposer.Propose(std::move(proposal));
    if (!result.status.ok()) co_return result.status;
    // A change applied since the check may have revoked this login.
    if (checked_revision != store().revision()) continue;
    KEEL_CO_ASSIGN_OR_RETURN(
        std::string token,
        parts_.tokens.Assign(prefix, result.index, request.name(), checked_revision));
    etcdserverpb::AuthenticateResponse response;
    *response.mutable_header() = parts_.headers.Make();
    response.set_token(std::move(token));
    co_return response;
  }
  co_return MakeError(EtcdError::kAuthOldRevision);
}

Task<absl::StatusOr<etcdserverpb::AuthUserAddResponse>> AuthFrontend::UserAdd(
    etcdserverpb::AuthUserAddRequest request, AuthInfo caller) {
  if (request.name().empty()) co_return MakeError(EtcdError::kUserEmpty);
  if (!request.options().no_password()) {
    KEEL_CO_ASSIGN_OR_RETURN(std::string hashed, co_await Hash(request.password()));
    request.set_hashedpassword(std::move(hashed));
  }
  request.clear_password();
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_user_add() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthUserAddResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthUserGetResponse>> AuthFrontend::UserGet(
    etcdserverpb::AuthUserGetRequest request, AuthInfo caller) {
  KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
  KEEL_CO_RETURN_IF_ERROR(CheckReader(store(), caller, request.name() == caller.user));
  const authpb::User* user = store().FindUser(request.name());
  if (user == nullptr) co_return MakeError(EtcdError::kUserNotFound);
  etcdserverpb::AuthUserGetResponse response;
  *response.mutable_header() = parts_.headers.Make();
  for (const auto& role : user->roles()) response.add_roles(role);
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::AuthUserListResponse>> AuthFrontend::UserList(
    AuthInfo caller) {
  KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
  KEEL_CO_RETURN_IF_ERROR(store().CheckAdmin(caller));
  etcdserverpb::AuthUserListResponse response;
  *response.mutable_header() = parts_.headers.Make();
  for (auto& name : store().UserNames()) response.add_users(std::move(name));
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::AuthUserDeleteResponse>> AuthFrontend::UserDelete(
    etcdserverpb::AuthUserDeleteRequest request, AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_user_delete() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthUserDeleteResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthUserChangePasswordResponse>>
AuthFrontend::UserChangePassword(etcdserverpb::AuthUserChangePasswordRequest request,
                                 AuthInfo caller) {
  KEEL_CO_ASSIGN_OR_RETURN(std::string hashed, co_await Hash(request.password()));
  request.set_hashedpassword(std::move(hashed));
  request.clear_password();
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_user_change_password() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthUserChangePasswordResponse>(
      std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthUserGrantRoleResponse>> AuthFrontend::UserGrantRole(
    etcdserverpb::AuthUserGrantRoleRequest request, AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_user_grant_role() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthUserGrantRoleResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthUserRevokeRoleResponse>> AuthFrontend::UserRevokeRole(
    etcdserverpb::AuthUserRevokeRoleRequest request, AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_user_revoke_role() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthUserRevokeRoleResponse>(
      std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthRoleAddResponse>> AuthFrontend::RoleAdd(
    etcdserverpb::AuthRoleAddRequest request, AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_role_add() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthRoleAddResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthRoleGetResponse>> AuthFrontend::RoleGet(
    etcdserverpb::AuthRoleGetRequest request, AuthInfo caller) {
  KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
  KEEL_CO_RETURN_IF_ERROR(
      CheckReader(store(), caller, store().HasRole(caller.user, request.role())));
  const authpb::Role* role = store().FindRole(request.role());
  if (role == nullptr) co_return MakeError(EtcdError::kRoleNotFound);
  etcdserverpb::AuthRoleGetResponse response;
  *response.mutable_header() = parts_.headers.Make();
  for (const auto& perm : role->keypermission()) *response.add_perm() = perm;
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::AuthRoleListResponse>> AuthFrontend::RoleList(
    AuthInfo caller) {
  KEEL_CO_RETURN_IF_ERROR(co_await parts_.reads.Barrier());
  KEEL_CO_RETURN_IF_ERROR(store().CheckAdmin(caller));
  etcdserverpb::AuthRoleListResponse response;
  *response.mutable_header() = parts_.headers.Make();
  for (auto& name : store().RoleNames()) response.add_roles(std::move(name));
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::AuthRoleDeleteResponse>> AuthFrontend::RoleDelete(
    etcdserverpb::AuthRoleDeleteRequest request, AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_role_delete() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthRoleDeleteResponse>(std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthRoleGrantPermissionResponse>>
AuthFrontend::RoleGrantPermission(etcdserverpb::AuthRoleGrantPermissionRequest request,
                                  AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_role_grant_permission() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthRoleGrantPermissionResponse>(
      std::move(proposal));
}

Task<absl::StatusOr<etcdserverpb::AuthRoleRevokePermissionResponse>>
AuthFrontend::RoleRevokePermission(etcdserverpb::AuthRoleRevokePermissionRequest request,
                                   AuthInfo caller) {
  internal::InternalRaftRequest proposal = StampedProposal(caller);
  *proposal.mutable_auth_role_revoke_permission() = std::move(request);
  co_return co_await ProposeChange<etcdserverpb::AuthRoleRevokePermissionResponse>(
      std::move(proposal));
}

}  // namespace keel::node
