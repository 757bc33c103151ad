// MemberStore: the cluster's membership as this member has applied it.
//
// Changes come only from applied raft entries (conf changes and published
// member attributes), so every member holds the same list at the same
// index. Each change is written to the member's LevelDB (tag 'c', beside
// the key space) before the entry is recorded as applied, so replaying an
// entry after a crash rewrites the same record: applying is idempotent.
#ifndef KEEL_NODE_MEMBER_STORE_H_
#define KEEL_NODE_MEMBER_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/membership.h"
#include "store/mvcc_db.h"

namespace keel::node {

class MemberStore {
 public:
  // `db` must outlive the store (or be replaced with Reload).
  explicit MemberStore(store::MvccDb& db) : db_(&db) {}

  // Reads the persisted identity and members. An empty store loads empty.
  // DataLoss if a record does not parse.
  absl::Status Load();
  // After the key space was replaced: reads the identity and members of
  // `db` (which the installer wrote this member's identity into).
  absl::Status Reload(store::MvccDb& db) {
    db_ = &db;
    return Load();
  }

  // The identity of this data directory: written once, at bootstrap.
  std::optional<uint64_t> cluster_id() const { return cluster_id_; }
  std::optional<uint64_t> local_id() const { return local_id_; }
  absl::Status SetIdentity(uint64_t cluster_id, uint64_t local_id);

  // Current members by id (removed ones excluded).
  const std::map<uint64_t, Member>& members() const { return members_; }
  const Member* Find(uint64_t id) const;
  bool IsRemoved(uint64_t id) const { return removed_.count(id) > 0; }
  const std::set<uint64_t>& removed() const { return removed_; }

  // Adds or replaces a member (an add, or a learner's promotion).
  absl::Status Put(const Member& member);
  // Removes a member and remembers it as removed. OK if already gone.
  absl::Status Remove(uint64_t id);
  // Publishes a member's name and client URLs. NotFound if not a member.
  absl::Status SetAttributes(uint64_t id, const std::string& name,
                             const std::vector<std::string>& client_urls);

  // The member list's verdict on each conf change (etcd's
  // ValidateConfigurationChange), recorded by raft index before the change
  // is applied. A replay after a restart, or an entry whose change the list
  // already holds (its writes may be ahead of the applied index), must not
  // ask the list again: it reads the verdict. Nullopt: none recorded.
  absl::Status RecordVerdict(uint64_t index, bool refused);
  absl::StatusOr<std::optional<bool>> RefusedAt(uint64_t index) const;

 private:
  absl::Status Persist(const Member& member, bool removed);

  store::MvccDb* db_;
  std::optional<uint64_t> cluster_id_;
  std::optional<uint64_t> local_id_;
  std::map<uint64_t, Member> members_;
  std::set<uint64_t> removed_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_MEMBER_STORE_H_
