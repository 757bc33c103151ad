// Reads of the MVCC key space: one key or a key range, at the latest
// revision or at a past one.
//
// Latest reads see the 'l' table, overlaid with the uncommitted changes of
// the write in progress (a txn's reads see its own earlier writes, as
// etcd's do). Reads at a past revision R merge the 'l' and 'h' tables: a
// key's version at R is its 'l' record if that was written at or before R,
// else the newest 'h' entry at or before R (a tombstone there means the key
// did not exist at R). Callers check R against the compacted revision; the
// reader trusts it. Nothing here suspends; views handed to a visitor are
// valid only during the call.
#ifndef KEEL_STORE_MVCC_READ_H_
#define KEEL_STORE_MVCC_READ_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/key_codec.h"
#include "store/mvcc_db.h"
#include "store/mvcc_types.h"

namespace keel::store {

// One stored version: its decoded metadata and its encoded record (the
// bytes of the 'l'/'h' value, which a superseding write copies to 'h').
class StoredVersion {
 public:
  // nullopt if `encoded` is not a record.
  static std::optional<StoredVersion> Decode(std::string encoded);
  StoredVersion(const RecordMeta& meta, std::string encoded);

  const RecordMeta& meta() const { return meta_; }
  std::string_view value() const;
  const std::string& encoded() const { return encoded_; }

 private:
  RecordMeta meta_;
  std::string encoded_;
  size_t value_offset_ = 0;
};

// Uncommitted latest versions by key; a tombstone marks a key deleted by
// the write in progress.
using Overlay = absl::btree_map<std::string, StoredVersion, std::less<>>;

// A version being visited: views into storage or the overlay.
struct VersionView {
  std::string_view key;
  const RecordMeta* meta = nullptr;
  std::string_view value;
};

KeyValue ToKeyValue(std::string_view key, const RecordMeta& meta,
                    std::string_view value, bool with_value = true);
inline KeyValue ToKeyValue(const VersionView& v, bool with_value = true) {
  return ToKeyValue(v.key, *v.meta, v.value, with_value);
}

// A request's keys as etcd reads range_end: empty = one key; "\0" = every
// key from `key` on (end is nullopt); else [key, end).
struct KeyRange {
  std::string_view key;
  std::optional<std::string_view> end;
  bool single = false;
};
KeyRange MakeKeyRange(std::string_view key, std::string_view range_end);

class MvccReader {
 public:
  using Visitor = absl::FunctionRef<void(const VersionView&)>;

  // `overlay` may be null; neither is owned. With `snapshot`, reads see
  // the DB as of that LevelDB snapshot.
  MvccReader(MvccDb* db, const Overlay* overlay,
             const leveldb::Snapshot* snapshot = nullptr);

  // The latest live version of `key`, overlay first. nullopt if absent.
  // Errors: DataLoss on a malformed record, or LevelDB's.
  absl::StatusOr<std::optional<StoredVersion>> Latest(std::string_view key);
  // The version of `key` visible at `revision`, from the DB alone.
  absl::StatusOr<std::optional<StoredVersion>> At(std::string_view key,
                                                  int64_t revision);

  // Visits every live key of `range` at the latest revision, in key order.
  // With `use_overlay` false, reads the committed DB only.
  absl::Status VisitLatest(const KeyRange& range, bool use_overlay,
                           Visitor visit);
  // Visits every key of `range` alive at `revision`, in key order.
  absl::Status VisitAt(const KeyRange& range, int64_t revision,
                       Visitor visit);

 private:
  absl::Status VisitLatestMerged(const KeyRange& range, const Overlay* overlay,
                                 Visitor visit);
  // Reads the newest 'h' entry of `key` at or below `revision` with `it`.
  absl::StatusOr<std::optional<StoredVersion>> HistoryAt(DbIterator* it,
                                                         std::string_view key,
                                                         int64_t revision);

  MvccDb* db_;
  const Overlay* overlay_;
  const leveldb::Snapshot* snapshot_;
};

absl::Status CorruptRecord(std::string_view where);

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_READ_H_
