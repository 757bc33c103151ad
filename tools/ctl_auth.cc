// keelctl auth enable | disable | status, user ... and role ...: etcd's
// RBAC administration, each one Auth RPC.
#include "absl/strings/ascii.h"
#include "runtime/console.h"
#include "runtime/strings.h"
#include "tools/ctl_command.h"
#include "tools/ctl_format.h"
#include "tools/ctl_kv.h"

namespace keel::tools {
namespace {

using namespace etcdserverpb;  // NOLINT: the Auth messages, a dozen of them

// One Auth call with --command-timeout; the response, or the exit code of
// the failure already reported.
template <typename Resp, typename Req>
Task<absl::StatusOr<Resp>> AuthCall(Ctl& ctl, const char* path, const Req& request) {
  absl::StatusOr<Resp> response =
      co_await ctl.client().Unary<Resp>(path, request, /*read_only=*/false, ctl.Timeout());
  co_return response;
}

class AuthEnableCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (!invocation.args.empty()) {
      co_return BadArgs(ctl, "auth enable command does not accept any arguments");
    }
    // etcdctl creates the root role (granted to root) when it is missing.
    for (int attempt = 0; attempt < 3; attempt++) {
      absl::StatusOr<AuthEnableResponse> enabled =
          co_await AuthCall<AuthEnableResponse>(ctl, client::kAuthEnablePath, AuthEnableRequest());
      if (enabled.ok()) break;
      if (enabled.status().message() != "etcdserver: root user does not have root role") {
        co_return ctl.FailCall(enabled.status());
      }
      AuthRoleAddRequest role;
      role.set_name("root");
      absl::StatusOr<AuthRoleAddResponse> added =
          co_await AuthCall<AuthRoleAddResponse>(ctl, client::kRoleAddPath, role);
      if (!added.ok()) co_return ctl.FailCall(added.status());
      AuthUserGrantRoleRequest grant;
      grant.set_user("root");
      grant.set_role("root");
      absl::StatusOr<AuthUserGrantRoleResponse> granted =
          co_await AuthCall<AuthUserGrantRoleResponse>(ctl, client::kUserGrantRolePath, grant);
      if (!granted.ok()) co_return ctl.FailCall(granted.status());
    }
    ctl.Out("Authentication Enabled\n");
    co_return kExitSuccess;
  }
};

class AuthDisableCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (!invocation.args.empty()) {
      co_return BadArgs(ctl, "auth disable command does not accept any arguments");
    }
    absl::StatusOr<AuthDisableResponse> response =
        co_await AuthCall<AuthDisableResponse>(ctl, client::kAuthDisablePath, AuthDisableRequest());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    ctl.Out("Authentication Disabled\n");
    co_return kExitSuccess;
  }
};

class AuthStatusCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (!invocation.args.empty()) {
      co_return BadArgs(ctl, "auth status command does not accept any arguments");
    }
    absl::StatusOr<AuthStatusResponse> response =
        co_await AuthCall<AuthStatusResponse>(ctl, client::kAuthStatusPath, AuthStatusRequest());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().AuthStatus(*response));
  }
};

// speakeasy's prompt twice, as etcdctl asks for a new password.
absl::StatusOr<std::string> AskNewPassword(const std::string& name) {
  absl::StatusOr<std::string> first = ReadPassword(StrCat("Password of ", name, ": "));
  if (!first.ok()) {
    return ExitError(kExitBadArgs, StrCat("failed to ask password: ", first.status().message()));
  }
  if (first->empty()) return ExitError(kExitBadArgs, "empty password");
  absl::StatusOr<std::string> second =
      ReadPassword(StrCat("Type password of ", name, " again for confirmation: "));
  if (!second.ok()) {
    return ExitError(kExitBadArgs, StrCat("failed to ask password: ", second.status().message()));
  }
  if (*first != *second) return ExitError(kExitBadArgs, "given passwords are different");
  return *first;
}

// fmt.Scanf("%s"): the first word of standard input.
std::string FirstWordOfStdin() {
  absl::StatusOr<std::optional<std::string>> line = ReadStdinLine();
  if (!line.ok() || !line->has_value()) return "";
  const std::string& text = **line;
  const size_t start = text.find_first_not_of(" \t");
  if (start == std::string::npos) return "";
  const size_t end = text.find_first_of(" \t\r", start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

class UserAddCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("interactive", &interactive_, "Read password from stdin instead of interactive terminal");
    flags.String("new-user-password", &new_password_, "Supply password from the command line flag");
    flags.Bool("no-password", &no_password_, "Create a user without password (CN based auth only)");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "user add command requires user name as its argument");
    }
    const std::string& arg = invocation.args[0];
    AuthUserAddRequest request;
    request.mutable_options()->set_no_password(no_password_);
    if (no_password_) {
      request.set_name(arg);
    } else if (!new_password_.empty()) {
      request.set_name(arg);
      request.set_password(new_password_);
    } else if (const size_t colon = arg.find(':'); colon != std::string::npos) {
      request.set_name(arg.substr(0, colon));
      request.set_password(arg.substr(colon + 1));
      if (request.name().empty()) co_return BadArgs(ctl, "empty user name is not allowed");
    } else {
      request.set_name(arg);
      if (!interactive_) {
        request.set_password(FirstWordOfStdin());
      } else {
        absl::StatusOr<std::string> password = AskNewPassword(arg);
        if (!password.ok()) co_return FailWith(ctl, password.status());
        request.set_password(*password);
      }
    }
    absl::StatusOr<AuthUserAddResponse> response =
        co_await AuthCall<AuthUserAddResponse>(ctl, client::kUserAddPath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().UserAdd(request.name(), *response));
  }

 private:
  bool interactive_ = true;
  std::string new_password_;
  bool no_password_ = false;
};

class UserDeleteCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "user delete command requires user name as its argument");
    }
    AuthUserDeleteRequest request;
    request.set_name(invocation.args[0]);
    absl::StatusOr<AuthUserDeleteResponse> response =
        co_await AuthCall<AuthUserDeleteResponse>(ctl, client::kUserDeletePath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().UserDelete(invocation.args[0], *response));
  }
};

class UserGetCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("detail", &detail_, "Show permissions of roles granted to the user");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "user get command requires user name as its argument");
    }
    const std::string& name = invocation.args[0];
    AuthUserGetRequest request;
    request.set_name(name);
    absl::StatusOr<AuthUserGetResponse> response =
        co_await AuthCall<AuthUserGetResponse>(ctl, client::kUserGetPath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    if (!detail_) co_return ctl.Print(ctl.printer().UserGet(name, *response));
    ctl.Out(StrCat("User: ", name, "\n"));
    for (const std::string& role : response->roles()) {
      ctl.Out("\n");
      AuthRoleGetRequest get;
      get.set_role(role);
      absl::StatusOr<AuthRoleGetResponse> perms =
          co_await AuthCall<AuthRoleGetResponse>(ctl, client::kRoleGetPath, get);
      if (!perms.ok()) co_return ctl.FailCall(perms.status());
      const int printed = ctl.Print(ctl.printer().RoleGet(role, *perms));
      if (printed != kExitSuccess) co_return printed;
    }
    co_return kExitSuccess;
  }

 private:
  bool detail_ = false;
};

class UserListCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (!invocation.args.empty()) co_return BadArgs(ctl, "user list command requires no arguments");
    absl::StatusOr<AuthUserListResponse> response =
        co_await AuthCall<AuthUserListResponse>(ctl, client::kUserListPath, AuthUserListRequest());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().UserList(*response));
  }
};

class UserPasswdCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("interactive", &interactive_,
               "If true, read password from stdin instead of interactive terminal");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "user passwd command requires user name as its argument");
    }
    AuthUserChangePasswordRequest request;
    request.set_name(invocation.args[0]);
    if (!interactive_) {
      request.set_password(FirstWordOfStdin());
    } else {
      absl::StatusOr<std::string> password = AskNewPassword(invocation.args[0]);
      if (!password.ok()) co_return FailWith(ctl, password.status());
      request.set_password(*password);
    }
    absl::StatusOr<AuthUserChangePasswordResponse> response =
        co_await AuthCall<AuthUserChangePasswordResponse>(ctl, client::kUserChangePasswordPath,
                                                          request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().UserChangePassword(*response));
  }

 private:
  bool interactive_ = true;
};

class UserGrantRoleCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 2) {
      co_return BadArgs(ctl, "user grant command requires user name and role name as its argument");
    }
    AuthUserGrantRoleRequest request;
    request.set_user(invocation.args[0]);
    request.set_role(invocation.args[1]);
    absl::StatusOr<AuthUserGrantRoleResponse> response =
        co_await AuthCall<AuthUserGrantRoleResponse>(ctl, client::kUserGrantRolePath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(
        ctl.printer().UserGrantRole(invocation.args[0], invocation.args[1], *response));
  }
};

class UserRevokeRoleCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 2) {
      co_return BadArgs(ctl, "user revoke-role requires user name and role name as its argument");
    }
    AuthUserRevokeRoleRequest request;
    request.set_name(invocation.args[0]);
    request.set_role(invocation.args[1]);
    absl::StatusOr<AuthUserRevokeRoleResponse> response =
        co_await AuthCall<AuthUserRevokeRoleResponse>(ctl, client::kUserRevokeRolePath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(
        ctl.printer().UserRevokeRole(invocation.args[0], invocation.args[1], *response));
  }
};

class RoleAddCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "role add command requires role name as its argument");
    }
    AuthRoleAddRequest request;
    request.set_name(invocation.args[0]);
    absl::StatusOr<AuthRoleAddResponse> response =
        co_await AuthCall<AuthRoleAddResponse>(ctl, client::kRoleAddPath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().RoleAdd(invocation.args[0], *response));
  }
};

class RoleDeleteCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "role delete command requires role name as its argument");
    }
    AuthRoleDeleteRequest request;
    request.set_role(invocation.args[0]);
    absl::StatusOr<AuthRoleDeleteResponse> response =
        co_await AuthCall<AuthRoleDeleteResponse>(ctl, client::kRoleDeletePath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().RoleDelete(invocation.args[0], *response));
  }
};

class RoleGetCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "role get command requires role name as its argument");
    }
    AuthRoleGetRequest request;
    request.set_role(invocation.args[0]);
    absl::StatusOr<AuthRoleGetResponse> response =
        co_await AuthCall<AuthRoleGetResponse>(ctl, client::kRoleGetPath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().RoleGet(invocation.args[0], *response));
  }
};

class RoleListCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (!invocation.args.empty()) co_return BadArgs(ctl, "role list command requires no arguments");
    absl::StatusOr<AuthRoleListResponse> response =
        co_await AuthCall<AuthRoleListResponse>(ctl, client::kRoleListPath, AuthRoleListRequest());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().RoleList(*response));
  }
};

// The permission flags both permission commands share, and etcdctl's
// permRange: the key and range end a permission covers.
class PermissionCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("prefix", &prefix_, "grant a prefix permission");
    flags.Bool("from-key", &from_key_,
               "grant a permission of keys that are greater than or equal to the given key using "
               "byte compare");
  }

 protected:
  absl::StatusOr<std::pair<std::string, std::string>> Range(
      const std::vector<std::string>& args) const {
    std::string key = args[0];
    std::string end;
    if (key.empty()) {
      if (prefix_ && from_key_) {
        return ExitError(kExitBadArgs, "--from-key and --prefix flags are mutually exclusive");
      }
      // The empty prefix matches every key: ["\0", "\0").
      key = std::string(1, '\0');
      if (prefix_ || from_key_) end = std::string(1, '\0');
      return std::make_pair(key, end);
    }
    if (args.size() == 1) {
      if (prefix_) {
        if (from_key_) {
          return ExitError(kExitBadArgs, "--from-key and --prefix flags are mutually exclusive");
        }
        end = PrefixRangeEnd(key);
      } else if (from_key_) {
        end = std::string(1, '\0');
      }
      return std::make_pair(key, end);
    }
    if (prefix_) return ExitError(kExitBadArgs, "unexpected endkey argument with --prefix flag");
    if (from_key_) return ExitError(kExitBadArgs, "unexpected endkey argument with --from-key flag");
    return std::make_pair(key, args[1]);
  }

  bool prefix_ = false;
  bool from_key_ = false;
};

class RoleGrantPermissionCommand : public PermissionCommand {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    const auto& args = invocation.args;
    if (args.size() < 3) {
      co_return BadArgs(ctl, "role grant command requires role name, permission type, and key "
                             "[endkey] as its argument");
    }
    authpb::Permission::Type type;
    if (!authpb::Permission::Type_Parse(absl::AsciiStrToUpper(args[1]), &type)) {
      co_return BadArgs(ctl, StrCat("invalid permission type: ", args[1]));
    }
    absl::StatusOr<std::pair<std::string, std::string>> range =
        Range(std::vector<std::string>(args.begin() + 2, args.end()));
    if (!range.ok()) co_return FailWith(ctl, range.status());
    AuthRoleGrantPermissionRequest request;
    request.set_name(args[0]);
    request.mutable_perm()->set_permtype(type);
    request.mutable_perm()->set_key(range->first);
    request.mutable_perm()->set_range_end(range->second);
    absl::StatusOr<AuthRoleGrantPermissionResponse> response =
        co_await AuthCall<AuthRoleGrantPermissionResponse>(ctl, client::kRoleGrantPermissionPath,
                                                           request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().RoleGrantPermission(args[0], *response));
  }
};

class RoleRevokePermissionCommand : public PermissionCommand {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    const auto& args = invocation.args;
    if (args.size() < 2) {
      co_return BadArgs(ctl, "role revoke-permission command requires role name and key "
                             "[endkey] as its argument");
    }
    absl::StatusOr<std::pair<std::string, std::string>> range =
        Range(std::vector<std::string>(args.begin() + 1, args.end()));
    if (!range.ok()) co_return FailWith(ctl, range.status());
    AuthRoleRevokePermissionRequest request;
    request.set_role(args[0]);
    request.set_key(range->first);
    request.set_range_end(range->second);
    absl::StatusOr<AuthRoleRevokePermissionResponse> response =
        co_await AuthCall<AuthRoleRevokePermissionResponse>(
            ctl, client::kRoleRevokePermissionPath, request);
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(
        ctl.printer().RoleRevokePermission(args[0], args[1], range->second, *response));
  }
};

}  // namespace

void RegisterAuthCommands(CommandTable& table) {
  table.Add<AuthEnableCommand>("auth enable", "auth enable", "Enables authentication");
  table.Add<AuthDisableCommand>("auth disable", "auth disable", "Disables authentication");
  table.Add<AuthStatusCommand>("auth status", "auth status",
                               "Returns authentication status");
  table.Add<UserAddCommand>("user add", "user add <user name or user:password> [options]",
                            "Adds a new user");
  table.Add<UserDeleteCommand>("user delete", "user delete <user name>", "Deletes a user");
  table.Add<UserGetCommand>("user get", "user get <user name> [options]",
                            "Gets detailed information of a user");
  table.Add<UserListCommand>("user list", "user list", "Lists all users");
  table.Add<UserPasswdCommand>("user passwd", "user passwd <user name> [options]",
                               "Changes password of user");
  table.Add<UserGrantRoleCommand>("user grant-role", "user grant-role <user name> <role name>",
                                  "Grants a role to a user");
  table.Add<UserRevokeRoleCommand>("user revoke-role", "user revoke-role <user name> <role name>",
                                   "Revokes a role from a user");
  table.Add<RoleAddCommand>("role add", "role add <role name>", "Adds a new role");
  table.Add<RoleDeleteCommand>("role delete", "role delete <role name>", "Deletes a role");
  table.Add<RoleGetCommand>("role get", "role get <role name>",
                            "Gets detailed information of a role");
  table.Add<RoleListCommand>("role list", "role list", "Lists all roles");
  table.Add<RoleGrantPermissionCommand>(
      "role grant-permission",
      "role grant-permission [options] <role name> <permission type> <key> [endkey]",
      "Grants a key to a role");
  table.Add<RoleRevokePermissionCommand>(
      "role revoke-permission", "role revoke-permission <role name> <key> [endkey]",
      "Revokes a key from a role");
}

}  // namespace keel::tools
