// AlarmStore: the cluster's alarms (etcd's alarm bucket) as this member has
// applied them.
//
// An alarm is a (member, type) pair: NOSPACE when a member's key space
// outgrew --quota-backend-bytes, CORRUPT when a member's data disagrees
// with its peers'. Alarms change only through applied raft entries
// (AlarmRequest), so every member holds the same set at the same index; they
// are written to the member's LevelDB under the 'c' tag beside the
// membership (unsynced, before the entry is recorded as applied, so a replay
// after a crash rewrites the same record) and so survive restarts and travel
// with snapshots. The applier chain (node/applier.h) reads Active() to
// refuse what an alarm forbids.
#ifndef KEEL_NODE_ALARM_STORE_H_
#define KEEL_NODE_ALARM_STORE_H_

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/rpc.pb.h"
#include "store/mvcc_db.h"

namespace keel::node {

class AlarmStore {
 public:
  // `db` must outlive the store (or be replaced with Reload).
  explicit AlarmStore(store::MvccDb& db) : db_(&db) {}

  // Reads the persisted alarms. DataLoss if a record is malformed.
  absl::Status Load();
  // After the key space was replaced: reads the alarms of `db`.
  absl::Status Reload(store::MvccDb& db) {
    db_ = &db;
    return Load();
  }

  // Raises `type` for `member_id`. Returns whether it was new. InvalidArgument
  // for AlarmType NONE; LevelDB's errors.
  absl::StatusOr<bool> Activate(uint64_t member_id, etcdserverpb::AlarmType type);
  // Clears it. Returns whether it was raised. LevelDB's errors.
  absl::StatusOr<bool> Deactivate(uint64_t member_id, etcdserverpb::AlarmType type);

  // Every alarm, by member then type (etcd lists them in that order).
  std::vector<etcdserverpb::AlarmMember> List() const;
  // The alarms of one type (etcd's alarmStore.Get).
  std::vector<etcdserverpb::AlarmMember> List(etcdserverpb::AlarmType type) const;
  // Whether any member has raised `type`.
  bool Active(etcdserverpb::AlarmType type) const;
  bool empty() const { return alarms_.empty(); }

 private:
  store::MvccDb* db_;
  // (member, type).
  std::set<std::pair<uint64_t, int>> alarms_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_ALARM_STORE_H_
