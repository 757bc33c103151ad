// AuthStore: users, roles, their permissions, whether auth is enabled, and
// the auth revision (etcd's auth store), as this member has applied them.
//
// It changes only through applied raft entries, so every member holds the
// same store at the same index. Each change is written to the member's
// LevelDB under the 'c' tag beside the membership and the alarms (unsynced,
// before the entry is recorded as applied, so a replayed entry rewrites the
// same records), and so survives restarts and travels with keel's
// snapshots; node/snapshot_bbolt.cc writes it into etcd's "auth",
// "authUsers" and "authRoles" buckets and node/snapshot_restore_etcd.cc
// reads it back. A fresh store is at revision 1; every change that
// succeeds bumps it (etcd's commitRevision), except enabling, which etcd
// leaves alone.
//
// Records ('c' tag, node/auth_store.cc):
//   'c' 'u' <name> -> authpb.User       'c' 'r' <name> -> authpb.Role
//   'c' 'e'        -> 1 byte enabled    'c' 'v'        -> revision (u64 BE)
//
// Mutations return etcd's errors (node/errors.h) for the request's own
// failures and LevelDB's for the store's. Nothing here suspends; password
// hashes arrive already computed (node/password.h).
#ifndef KEEL_NODE_AUTH_STORE_H_
#define KEEL_NODE_AUTH_STORE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "proto/auth.pb.h"
#include "store/mvcc_db.h"

namespace keel::node {

// Who made a request: the token's user and the auth revision the token was
// issued at. Empty for a request without a token.
struct AuthInfo {
  std::string user;
  uint64_t revision = 0;
};

inline constexpr std::string_view kRootUser = "root";
inline constexpr std::string_view kRootRole = "root";

// The whole store as values, for snapshots in etcd's format.
struct AuthRecords {
  bool enabled = false;
  uint64_t revision = 0;
  std::vector<authpb::User> users;  // by name
  std::vector<authpb::Role> roles;  // by name
};

class AuthStore {
 public:
  // `db` must outlive the store (or be replaced with Reload).
  explicit AuthStore(store::MvccDb& db) : db_(&db) {}

  // Reads the persisted store. DataLoss if a record is malformed.
  absl::Status Load();
  absl::Status Reload(store::MvccDb& db) {
    db_ = &db;
    return Load();
  }

  bool enabled() const { return enabled_; }
  uint64_t revision() const { return revision_; }

  // ---- changes (applied entries) ----
  // kRootUserNotExist, kRootRoleNotExist. OK without change if enabled.
  absl::Status Enable();
  // OK without change if disabled.
  absl::Status Disable();
  // `hashed_password` is empty for a user without a password.
  // kUserEmpty, kUserAlreadyExist.
  absl::Status UserAdd(const std::string& name, const std::string& hashed_password,
                       bool no_password);
  // kInvalidAuthMgmt (root while enabled), kUserNotFound.
  absl::Status UserDelete(const std::string& name);
  // kUserNotFound.
  absl::Status UserChangePassword(const std::string& name, const std::string& hashed_password);
  // kUserNotFound, kRoleNotFound (root needs no role record). OK without
  // change if already granted.
  absl::Status UserGrantRole(const std::string& user, const std::string& role);
  // kInvalidAuthMgmt (root's root role while enabled), kUserNotFound,
  // kRoleNotGranted.
  absl::Status UserRevokeRole(const std::string& user, const std::string& role);
  // kRoleEmpty, kRoleAlreadyExist.
  absl::Status RoleAdd(const std::string& name);
  // kInvalidAuthMgmt (root while enabled), kRoleNotFound. Revokes the role
  // from every user.
  absl::Status RoleDelete(const std::string& name);
  // kRoleNotFound. A permission on the same key and range end replaces the
  // old one's type.
  absl::Status RoleGrantPermission(const std::string& role, const authpb::Permission& perm);
  // kRoleNotFound, kPermissionNotGranted.
  absl::Status RoleRevokePermission(const std::string& role, const std::string& key,
                                    const std::string& range_end);
  // Replaces everything (a snapshot from etcd). LevelDB's errors.
  absl::Status ReplaceAll(const AuthRecords& records);

  // ---- reads ----
  const authpb::User* FindUser(std::string_view name) const;
  const authpb::Role* FindRole(std::string_view name) const;
  std::vector<std::string> UserNames() const;
  std::vector<std::string> RoleNames() const;
  bool HasRole(std::string_view user, std::string_view role) const;
  AuthRecords Records() const;

  // ---- checks (etcd's isOpPermitted and IsAdminPermitted) ----
  // OK while auth is disabled. Otherwise kUserEmpty for a request without a
  // user, kAuthOldRevision if `who` was issued before the last change,
  // kPermissionDenied unless the user is root or its roles cover the key
  // (range_end empty) or the range [key, range_end) ("\0": to the end).
  absl::Status CheckRead(const AuthInfo& who, std::string_view key,
                         std::string_view range_end) const;
  absl::Status CheckWrite(const AuthInfo& who, std::string_view key,
                          std::string_view range_end) const;
  // OK while disabled; kUserEmpty, kUserNotFound, kPermissionDenied unless
  // the user has the root role. The revision is not checked (as etcd).
  absl::Status CheckAdmin(const AuthInfo& who) const;

 private:
  absl::Status CheckKeys(const AuthInfo& who, std::string_view key, std::string_view range_end,
                         bool write) const;
  // Writes `user`/`role` (or deletes when `erase`) and the bumped revision
  // in one batch, then updates the maps.
  absl::Status PutUser(const authpb::User& user);
  absl::Status WriteChange(const std::vector<authpb::User>& users,
                           const std::vector<authpb::Role>& roles,
                           const std::vector<std::string>& erased_users,
                           const std::vector<std::string>& erased_roles, bool bump);

  store::MvccDb* db_;
  bool enabled_ = false;
  uint64_t revision_ = 0;
  std::map<std::string, authpb::User, std::less<>> users_;
  std::map<std::string, authpb::Role, std::less<>> roles_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_AUTH_STORE_H_
