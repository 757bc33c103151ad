// AuthStore: the records under the 'c' tag, etcd's rules for each change,
// and the checks.
#include "node/auth_store.h"

#include <algorithm>

#include "leveldb/write_batch.h"
#include "node/auth_permissions.h"
#include "node/errors.h"
#include "runtime/assert.h"
#include "store/key_codec.h"

namespace keel::node {
namespace {

std::string UserPrefix() { return std::string{store::kClusterTag, 'u'}; }
std::string RolePrefix() { return std::string{store::kClusterTag, 'r'}; }
std::string EnabledKey() { return std::string{store::kClusterTag, 'e'}; }
std::string RevisionKey() { return std::string{store::kClusterTag, 'v'}; }

std::string EncodeRevision(uint64_t revision) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((revision >> shift) & 0xff));
  }
  return out;
}

// Loads every record under `prefix` into `out`, keyed by the name after it.
template <typename Record>
absl::Status LoadRecords(store::MvccDb& db, const std::string& prefix,
                         std::map<std::string, Record, std::less<>>& out) {
  out.clear();
  auto it = db.NewIterator();
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key = it->key();
    if (key.substr(0, prefix.size()) != prefix) break;
    Record record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("auth: a stored user or role does not parse");
    }
    if (record.name() != key.substr(prefix.size())) {
      return absl::DataLossError("auth: a stored record's name differs from its key");
    }
    out.emplace(std::string(key.substr(prefix.size())), std::move(record));
  }
  return it->status();
}

bool HasRootRole(const authpb::User& user) {
  return std::find(user.roles().begin(), user.roles().end(), kRootRole) != user.roles().end();
}

}  // namespace

absl::Status AuthStore::Load() {
  auto enabled = db_->Get(EnabledKey());
  if (!enabled.ok()) return enabled.status();
  enabled_ = enabled->has_value() && **enabled == std::string(1, '\1');
  auto revision = db_->Get(RevisionKey());
  if (!revision.ok()) return revision.status();
  // A fresh store is at revision 1, as etcd's.
  revision_ = 1;
  if (revision->has_value()) {
    if ((*revision)->size() != 8) return absl::DataLossError("auth: the revision is malformed");
    for (char c : **revision) revision_ = (revision_ << 8) | static_cast<uint8_t>(c);
  }
  if (absl::Status s = LoadRecords(*db_, UserPrefix(), users_); !s.ok()) return s;
  return LoadRecords(*db_, RolePrefix(), roles_);
}

absl::Status AuthStore::WriteChange(const std::vector<authpb::User>& users,
                                    const std::vector<authpb::Role>& roles,
                                    const std::vector<std::string>& erased_users,
                                    const std::vector<std::string>& erased_roles, bool bump) {
  leveldb::WriteBatch batch;
  for (const auto& user : users) batch.Put(UserPrefix() + user.name(), user.SerializeAsString());
  for (const auto& role : roles) batch.Put(RolePrefix() + role.name(), role.SerializeAsString());
  for (const auto& name : erased_users) batch.Delete(UserPrefix() + name);
  for (const auto& name : erased_roles) batch.Delete(RolePrefix() + name);
  const uint64_t revision = bump ? revision_ + 1 : revision_;
  batch.Put(RevisionKey(), EncodeRevision(revision));
  absl::Status status = db_->Write(&batch, /*sync=*/false);
  if (!status.ok()) return status;
  for (const auto& user : users) users_[user.name()] = user;
  for (const auto& role : roles) roles_[role.name()] = role;
  for (const auto& name : erased_users) users_.erase(name);
  for (const auto& name : erased_roles) roles_.erase(name);
  revision_ = revision;
  return absl::OkStatus();
}

absl::Status AuthStore::PutUser(const authpb::User& user) {
  return WriteChange({user}, {}, {}, {}, /*bump=*/true);
}

absl::Status AuthStore::Enable() {
  if (enabled_) return absl::OkStatus();
  const authpb::User* root = FindUser(kRootUser);
  if (root == nullptr) return MakeError(EtcdError::kRootUserNotExist);
  if (!HasRootRole(*root)) return MakeError(EtcdError::kRootRoleNotExist);
  leveldb::WriteBatch batch;
  batch.Put(EnabledKey(), std::string(1, '\1'));
  absl::Status status = db_->Write(&batch, /*sync=*/false);
  if (!status.ok()) return status;
  enabled_ = true;
  return absl::OkStatus();
}

absl::Status AuthStore::Disable() {
  if (!enabled_) return absl::OkStatus();
  leveldb::WriteBatch batch;
  batch.Put(EnabledKey(), std::string(1, '\0'));
  batch.Put(RevisionKey(), EncodeRevision(revision_ + 1));
  absl::Status status = db_->Write(&batch, /*sync=*/false);
  if (!status.ok()) return status;
  enabled_ = false;
  revision_++;
  return absl::OkStatus();
}

absl::Status AuthStore::UserAdd(const std::string& name, const std::string& hashed_password,
                                bool no_password) {
  if (name.empty()) return MakeError(EtcdError::kUserEmpty);
  if (FindUser(name) != nullptr) return MakeError(EtcdError::kUserAlreadyExist);
  authpb::User user;
  user.set_name(name);
  if (!no_password) user.set_password(hashed_password);
  user.mutable_options()->set_no_password(no_password);
  return PutUser(user);
}

absl::Status AuthStore::UserDelete(const std::string& name) {
  if (enabled_ && name == kRootUser) return MakeError(EtcdError::kInvalidAuthMgmt);
  if (FindUser(name) == nullptr) return MakeError(EtcdError::kUserNotFound);
  return WriteChange({}, {}, {name}, {}, /*bump=*/true);
}

absl::Status AuthStore::UserChangePassword(const std::string& name,
                                           const std::string& hashed_password) {
  const authpb::User* found = FindUser(name);
  if (found == nullptr) return MakeError(EtcdError::kUserNotFound);
  authpb::User user = *found;
  user.set_password(hashed_password);
  return PutUser(user);
}

absl::Status AuthStore::UserGrantRole(const std::string& name, const std::string& role) {
  const authpb::User* found = FindUser(name);
  if (found == nullptr) return MakeError(EtcdError::kUserNotFound);
  if (role != kRootRole && FindRole(role) == nullptr) return MakeError(EtcdError::kRoleNotFound);
  authpb::User user = *found;
  std::vector<std::string> roles(user.roles().begin(), user.roles().end());
  if (std::binary_search(roles.begin(), roles.end(), role)) return absl::OkStatus();
  roles.push_back(role);
  std::sort(roles.begin(), roles.end());
  user.clear_roles();
  for (auto& r : roles) user.add_roles(std::move(r));
  return PutUser(user);
}

absl::Status AuthStore::UserRevokeRole(const std::string& name, const std::string& role) {
  if (enabled_ && name == kRootUser && role == kRootRole) {
    return MakeError(EtcdError::kInvalidAuthMgmt);
  }
  const authpb::User* found = FindUser(name);
  if (found == nullptr) return MakeError(EtcdError::kUserNotFound);
  authpb::User user = *found;
  user.clear_roles();
  for (const auto& r : found->roles()) {
    if (r != role) user.add_roles(r);
  }
  if (user.roles_size() == found->roles_size()) return MakeError(EtcdError::kRoleNotGranted);
  return PutUser(user);
}

absl::Status AuthStore::RoleAdd(const std::string& name) {
  if (name.empty()) return MakeError(EtcdError::kRoleEmpty);
  if (FindRole(name) != nullptr) return MakeError(EtcdError::kRoleAlreadyExist);
  authpb::Role role;
  role.set_name(name);
  return WriteChange({}, {role}, {}, {}, /*bump=*/true);
}

absl::Status AuthStore::RoleDelete(const std::string& name) {
  if (enabled_ && name == kRootRole) return MakeError(EtcdError::kInvalidAuthMgmt);
  if (FindRole(name) == nullptr) return MakeError(EtcdError::kRoleNotFound);
  std::vector<authpb::User> changed;
  for (const auto& [user_name, user] : users_) {
    authpb::User updated = user;
    updated.clear_roles();
    for (const auto& r : user.roles()) {
      if (r != name) updated.add_roles(r);
    }
    if (updated.roles_size() != user.roles_size()) changed.push_back(std::move(updated));
  }
  return WriteChange(changed, {}, {}, {name}, /*bump=*/true);
}

absl::Status AuthStore::RoleGrantPermission(const std::string& name,
                                            const authpb::Permission& perm) {
  const authpb::Role* found = FindRole(name);
  if (found == nullptr) return MakeError(EtcdError::kRoleNotFound);
  authpb::Role role = *found;
  bool replaced = false;
  for (auto& existing : *role.mutable_keypermission()) {
    if (existing.key() == perm.key() && existing.range_end() == perm.range_end()) {
      existing.set_permtype(perm.permtype());
      replaced = true;
      break;
    }
  }
  if (!replaced) {
    *role.add_keypermission() = perm;
    // etcd keeps them sorted by key (stable: equal keys keep their order).
    std::stable_sort(role.mutable_keypermission()->begin(), role.mutable_keypermission()->end(),
                     [](const authpb::Permission& a, const authpb::Permission& b) {
                       return a.key() < b.key();
                     });
  }
  return WriteChange({}, {role}, {}, {}, /*bump=*/true);
}

absl::Status AuthStore::RoleRevokePermission(const std::string& name, const std::string& key,
                                             const std::string& range_end) {
  const authpb::Role* found = FindRole(name);
  if (found == nullptr) return MakeError(EtcdError::kRoleNotFound);
  authpb::Role role;
  role.set_name(found->name());
  for (const auto& perm : found->keypermission()) {
    if (perm.key() != key || perm.range_end() != range_end) *role.add_keypermission() = perm;
  }
  if (role.keypermission_size() == found->keypermission_size()) {
    return MakeError(EtcdError::kPermissionNotGranted);
  }
  return WriteChange({}, {role}, {}, {}, /*bump=*/true);
}

absl::Status AuthStore::ReplaceAll(const AuthRecords& records) {
  leveldb::WriteBatch batch;
  for (const auto& [name, user] : users_) batch.Delete(UserPrefix() + name);
  for (const auto& [name, role] : roles_) batch.Delete(RolePrefix() + name);
  for (const auto& user : records.users) batch.Put(UserPrefix() + user.name(), user.SerializeAsString());
  for (const auto& role : records.roles) batch.Put(RolePrefix() + role.name(), role.SerializeAsString());
  batch.Put(EnabledKey(), std::string(1, records.enabled ? '\1' : '\0'));
  batch.Put(RevisionKey(), EncodeRevision(records.revision));
  absl::Status status = db_->Write(&batch, /*sync=*/false);
  if (!status.ok()) return status;
  return Load();
}

const authpb::User* AuthStore::FindUser(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

const authpb::Role* AuthStore::FindRole(std::string_view name) const {
  auto it = roles_.find(name);
  return it == roles_.end() ? nullptr : &it->second;
}

std::vector<std::string> AuthStore::UserNames() const {
  std::vector<std::string> out;
  for (const auto& [name, user] : users_) out.push_back(name);
  return out;
}

std::vector<std::string> AuthStore::RoleNames() const {
  std::vector<std::string> out;
  for (const auto& [name, role] : roles_) out.push_back(name);
  return out;
}

bool AuthStore::HasRole(std::string_view user, std::string_view role) const {
  const authpb::User* found = FindUser(user);
  if (found == nullptr) return false;
  return std::find(found->roles().begin(), found->roles().end(), role) != found->roles().end();
}

AuthRecords AuthStore::Records() const {
  AuthRecords records{.enabled = enabled_, .revision = revision_};
  for (const auto& [name, user] : users_) records.users.push_back(user);
  for (const auto& [name, role] : roles_) records.roles.push_back(role);
  return records;
}

absl::Status AuthStore::CheckRead(const AuthInfo& who, std::string_view key,
                                  std::string_view range_end) const {
  return CheckKeys(who, key, range_end, /*write=*/false);
}

absl::Status AuthStore::CheckWrite(const AuthInfo& who, std::string_view key,
                                   std::string_view range_end) const {
  return CheckKeys(who, key, range_end, /*write=*/true);
}

absl::Status AuthStore::CheckKeys(const AuthInfo& who, std::string_view key,
                                  std::string_view range_end, bool write) const {
  if (!enabled_) return absl::OkStatus();
  if (who.revision == 0) return MakeError(EtcdError::kUserEmpty);
  if (who.revision < revision_) return MakeError(EtcdError::kAuthOldRevision);
  const authpb::User* user = FindUser(who.user);
  if (user == nullptr) return MakeError(EtcdError::kPermissionDenied);
  if (HasRootRole(*user)) return absl::OkStatus();
  std::vector<const authpb::Permission*> perms;
  for (const auto& role_name : user->roles()) {
    const authpb::Role* role = FindRole(role_name);
    if (role == nullptr) continue;
    for (const auto& perm : role->keypermission()) perms.push_back(&perm);
  }
  if (PermissionsCover(perms, write, key, range_end)) return absl::OkStatus();
  return MakeError(EtcdError::kPermissionDenied);
}

absl::Status AuthStore::CheckAdmin(const AuthInfo& who) const {
  if (!enabled_) return absl::OkStatus();
  if (who.user.empty()) return MakeError(EtcdError::kUserEmpty);
  const authpb::User* user = FindUser(who.user);
  if (user == nullptr) return MakeError(EtcdError::kUserNotFound);
  if (!HasRootRole(*user)) return MakeError(EtcdError::kPermissionDenied);
  return absl::OkStatus();
}

}  // namespace keel::node
