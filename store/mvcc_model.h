// A plain model of etcd's key space for the property test: every key maps
// to the list of its versions and tombstones, and every read is computed
// from that list the slow, obvious way, following etcd's documented
// semantics (seeds/004 data model; etcdserver/apply.go for Range's
// count/limit/sort rules). It shares nothing with the store but the
// request/result structs and etcd's KeyValue bytes.
#ifndef KEEL_STORE_MVCC_MODEL_H_
#define KEEL_STORE_MVCC_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store/mvcc_types.h"
#include "store/revision.h"

namespace keel::store {

struct ModelVersion {
  Revision rev;
  bool tombstone = false;
  std::string value;
  int64_t create_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

class MvccModel {
 public:
  int64_t current_revision = 1;
  int64_t compact_revision = -1;
  std::set<int64_t> leases;
  std::map<std::string, std::vector<ModelVersion>> keys;

  // Reads.
  absl::StatusOr<RangeResult> Range(const RangeRequest& r) const;
  absl::StatusOr<EventBatch> Events(const std::string& key,
                                    const std::string& range_end,
                                    int64_t after, int64_t until,
                                    size_t max_events) const;
  absl::StatusOr<KvHash> HashKV(int64_t revision) const;
  uint32_t Hash() const;
  std::vector<std::string> KeysOfLease(int64_t lease) const;

  // Writes; each mirrors the Mvcc method of the same name.
  absl::StatusOr<PutResult> Put(const PutRequest& r);
  absl::StatusOr<DeleteRangeResult> DeleteRange(const DeleteRangeRequest& r);
  absl::StatusOr<TxnResult> Txn(const TxnRequest& t);
  absl::StatusOr<int64_t> Compact(int64_t revision);
  absl::StatusOr<DeleteRangeResult> RevokeLease(int64_t lease);

 private:
  // The write in progress: its main revision and next sub revision.
  struct Pending {
    int64_t main = 0;
    int64_t sub = 0;
    bool changed() const { return sub > 0; }
  };

  const ModelVersion* VisibleAt(const std::string& key, int64_t revision) const;
  std::vector<KeyValue> LiveAt(const std::string& key,
                               const std::string& range_end,
                               int64_t revision) const;
  RangeResult RangeAt(const RangeRequest& r, int64_t header_revision,
                      int64_t revision) const;
  void PutVersion(Pending* p, const std::string& key, const std::string& value,
                  int64_t lease);
  int64_t DeleteKeys(Pending* p, const std::string& key,
                     const std::string& range_end,
                     std::vector<KeyValue>* prev_kvs);
  bool Holds(const Compare& c) const;
  void Path(const TxnRequest& t, std::vector<bool>* path) const;
  absl::Status CheckPath(const TxnRequest& t, const std::vector<bool>& path,
                         size_t* index) const;
  TxnResult ApplyTxn(Pending* p, const TxnRequest& t,
                     const std::vector<bool>& path, size_t* index);
};

KeyValue ModelKeyValue(const std::string& key, const ModelVersion& v);

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_MODEL_H_
