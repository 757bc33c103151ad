// Membership persisted under the 'c' tag of the member's LevelDB:
// 'c' 'i' -> ClusterIdentity, 'c' 'm' <id big-endian> -> MemberRecord,
// 'c' 'd' <index> -> a conf change's verdict. The tag's other second bytes
// belong to AlarmStore ('a') and AuthStore ('u', 'r', 'e', 'v').
#include "node/member_store.h"

#include "leveldb/write_batch.h"
#include "proto/internal.pb.h"
#include "runtime/strings.h"
#include "store/key_codec.h"

namespace keel::node {
namespace {

std::string IdentityKey() { return std::string{store::kClusterTag, 'i'}; }
std::string MemberPrefix() { return std::string{store::kClusterTag, 'm'}; }
void AppendBigEndian(std::string* key, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    key->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}
std::string MemberKey(uint64_t id) {
  std::string key = MemberPrefix();
  AppendBigEndian(&key, id);
  return key;
}
// 'c' 'd' <raft index big-endian> -> "1" refused, "0" accepted: the
// verdict on a conf change.
std::string RefusedKey(uint64_t index) {
  std::string key{store::kClusterTag, 'd'};
  AppendBigEndian(&key, index);
  return key;
}

}  // namespace

absl::Status MemberStore::Load() {
  cluster_id_.reset();
  local_id_.reset();
  members_.clear();
  removed_.clear();
  auto identity = db_->Get(IdentityKey());
  if (!identity.ok()) return identity.status();
  if (identity->has_value()) {
    internal::ClusterIdentity parsed;
    if (!parsed.ParseFromString(**identity)) {
      return absl::DataLossError("membership: cluster identity does not parse");
    }
    cluster_id_ = parsed.cluster_id();
    local_id_ = parsed.member_id();
  }
  const std::string prefix = MemberPrefix();
  auto it = db_->NewIterator();
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key = it->key();
    if (key.substr(0, prefix.size()) != prefix) break;
    internal::MemberRecord record;
    std::string_view value = it->value();
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError("membership: a member record does not parse");
    }
    if (record.removed()) {
      removed_.insert(record.id());
      continue;
    }
    Member member;
    member.id = record.id();
    member.name = record.name();
    member.peer_urls.assign(record.peer_urls().begin(), record.peer_urls().end());
    member.client_urls.assign(record.client_urls().begin(),
                              record.client_urls().end());
    member.is_learner = record.is_learner();
    members_[member.id] = std::move(member);
  }
  return it->status();
}

absl::Status MemberStore::SetIdentity(uint64_t cluster_id, uint64_t local_id) {
  internal::ClusterIdentity identity;
  identity.set_cluster_id(cluster_id);
  identity.set_member_id(local_id);
  leveldb::WriteBatch batch;
  batch.Put(IdentityKey(), identity.SerializeAsString());
  // The identity must survive any crash: it decides which cluster this
  // data belongs to.
  absl::Status status = db_->Write(&batch, /*sync=*/true);
  if (!status.ok()) return status;
  cluster_id_ = cluster_id;
  local_id_ = local_id;
  return absl::OkStatus();
}

const Member* MemberStore::Find(uint64_t id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

absl::Status MemberStore::Persist(const Member& member, bool removed) {
  internal::MemberRecord record;
  record.set_id(member.id);
  record.set_name(member.name);
  for (const auto& url : member.peer_urls) record.add_peer_urls(url);
  for (const auto& url : member.client_urls) record.add_client_urls(url);
  record.set_is_learner(member.is_learner);
  record.set_removed(removed);
  leveldb::WriteBatch batch;
  batch.Put(MemberKey(member.id), record.SerializeAsString());
  return db_->Write(&batch, /*sync=*/false);
}

absl::Status MemberStore::Put(const Member& member) {
  KEEL_ASSERT(member.id != 0);
  absl::Status status = Persist(member, /*removed=*/false);
  if (!status.ok()) return status;
  members_[member.id] = member;
  return absl::OkStatus();
}

absl::Status MemberStore::Remove(uint64_t id) {
  Member gone;
  gone.id = id;
  if (const Member* m = Find(id)) gone = *m;
  absl::Status status = Persist(gone, /*removed=*/true);
  if (!status.ok()) return status;
  members_.erase(id);
  removed_.insert(id);
  return absl::OkStatus();
}

absl::Status MemberStore::RecordVerdict(uint64_t index, bool refused) {
  leveldb::WriteBatch batch;
  batch.Put(RefusedKey(index), refused ? "1" : "0");
  // Unsynced like the change written after it: LevelDB keeps the order, so
  // a recovered change implies its verdict.
  return db_->Write(&batch, /*sync=*/false);
}

absl::StatusOr<std::optional<bool>> MemberStore::RefusedAt(uint64_t index) const {
  auto value = db_->Get(RefusedKey(index));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<bool>();
  return std::optional<bool>(**value == "1");
}

absl::Status MemberStore::SetAttributes(uint64_t id, const std::string& name,
                                        const std::vector<std::string>& client_urls) {
  auto it = members_.find(id);
  if (it == members_.end()) {
    return absl::NotFoundError(StrCat("member ", FormatId(id), " not found"));
  }
  Member updated = it->second;
  updated.name = name;
  updated.client_urls = client_urls;
  return Put(updated);
}

}  // namespace keel::node
