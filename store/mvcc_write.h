// One write request in progress: the changes of a put, a delete, a lease
// revoke or a whole txn, all at one main revision.
//
// MvccWrite stages every change in a LevelDB WriteBatch (the owner adds its
// metadata and writes the batch once) and, for txns, in an Overlay so that
// later operations of the same txn read the earlier ones' results. Each
// changed key takes the next sub revision, in the order of the changes.
// Nothing is visible in the DB until the owner writes the batch; dropping an
// MvccWrite discards its changes.
#ifndef KEEL_STORE_MVCC_WRITE_H_
#define KEEL_STORE_MVCC_WRITE_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "leveldb/write_batch.h"
#include "store/mvcc_db.h"
#include "store/mvcc_read.h"
#include "store/mvcc_types.h"

namespace keel::store {

// Where a read of the key space looks: the committed DB at db_revision,
// plus, when read_revision is one more, the uncommitted `overlay`.
struct ReadView {
  int64_t db_revision = 0;
  int64_t read_revision = 0;
  const Overlay* overlay = nullptr;
  int64_t compact_revision = -1;
};

struct PutArgs {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt: keep the current value
  std::optional<int64_t> lease;           // nullopt: keep the current lease
  bool want_prev = false;
};

struct DeleteOutcome {
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;  // filled only when asked
};

class MvccWrite {
 public:
  // `db` must outlive this. `begin_revision` is the store's current
  // revision; changes get begin_revision + 1. With `track_overlay` false
  // (single-operation writes) reads do not see earlier changes.
  MvccWrite(MvccDb* db, int64_t begin_revision, bool track_overlay,
            bool collect_events);
  MvccWrite(const MvccWrite&) = delete;
  MvccWrite& operator=(const MvccWrite&) = delete;

  int64_t begin_revision() const { return begin_revision_; }
  // The revision reads inside this write see: one past begin once anything
  // changed.
  int64_t read_revision() const { return begin_revision_ + (changed() ? 1 : 0); }
  bool changed() const { return next_sub_ > 0; }
  ReadView view(int64_t compact_revision) const;
  MvccReader reader() { return MvccReader(db_, &overlay_); }

  // Stages a put. Returns the version it replaced when want_prev (nullopt
  // if the key was absent). ErrKeyNotFound if value or lease is to be kept
  // and the key does not exist; nothing is staged then.
  absl::StatusOr<std::optional<KeyValue>> Put(const PutArgs& args);
  // Stages the deletion of every live key in `range`, in key order.
  absl::StatusOr<DeleteOutcome> DeleteRange(const KeyRange& range,
                                            bool want_prev);
  // Stages the deletion of `key`, whose live version is `prev`.
  void Delete(std::string_view key, const StoredVersion& prev);

  leveldb::WriteBatch* batch() { return &batch_; }
  std::vector<Event>* events() { return &events_; }

 private:
  Revision NextRevision();

  MvccDb* db_;
  int64_t begin_revision_;
  bool track_overlay_;
  bool collect_events_;
  int64_t next_sub_ = 0;
  Overlay overlay_;
  leveldb::WriteBatch batch_;
  std::vector<Event> events_;
};

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_WRITE_H_
