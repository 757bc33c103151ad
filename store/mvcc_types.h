// The requests and results of the MVCC key space, as plain C++ structs.
//
// They mirror etcd's KV API messages (etcdserverpb RangeRequest, PutRequest,
// DeleteRangeRequest, TxnRequest, Compare and their responses; seeds/004
// has the field list) minus the wire details: the server maps each proto
// onto these and back, so the store never touches protobuf on its hot path.
// Field meanings are etcd's; comments note only where keel's struct differs.
#ifndef KEEL_STORE_MVCC_TYPES_H_
#define KEEL_STORE_MVCC_TYPES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace keel::store {

// One version of a key, as etcd's mvccpb.KeyValue.
struct KeyValue {
  std::string key;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  std::string value;
  int64_t lease = 0;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

enum class EventType { kPut = 0, kDelete = 1 };

// A change, as etcd's mvccpb.Event. A DELETE's kv holds only the key and
// the deletion's revision in mod_revision. prev_kv is always filled when
// the key existed before (the watch hub drops it unless asked).
struct Event {
  EventType type = EventType::kPut;
  KeyValue kv;
  std::optional<KeyValue> prev_kv;

  friend bool operator==(const Event&, const Event&) = default;
};

// The raft entry an apply belongs to. It is persisted with the apply.
struct EntryId {
  uint64_t index = 0;
  uint64_t term = 0;
};

enum class SortOrder { kNone = 0, kAscend = 1, kDescend = 2 };
enum class SortTarget { kKey = 0, kVersion = 1, kCreate = 2, kMod = 3,
                        kValue = 4 };

// range_end as etcd: empty = only `key`; "\0" = every key >= key;
// otherwise [key, range_end). A prefix range is key + (key+1), computed by
// the caller.
struct RangeRequest {
  std::string key;
  std::string range_end;
  int64_t limit = 0;
  int64_t revision = 0;
  SortOrder sort_order = SortOrder::kNone;
  SortTarget sort_target = SortTarget::kKey;
  bool keys_only = false;
  bool count_only = false;
  int64_t min_mod_revision = 0;
  int64_t max_mod_revision = 0;
  int64_t min_create_revision = 0;
  int64_t max_create_revision = 0;
};

struct RangeResult {
  int64_t revision = 0;  // the header revision: the store's, not the read's
  std::vector<KeyValue> kvs;
  bool more = false;
  int64_t count = 0;  // keys in the range at the read revision, ignoring
                      // limit and the min/max filters (as etcd)
};

struct PutRequest {
  std::string key;
  std::string value;
  int64_t lease = 0;
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};

struct PutResult {
  int64_t revision = 0;
  std::optional<KeyValue> prev_kv;
};

struct DeleteRangeRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};

struct DeleteRangeResult {
  int64_t revision = 0;
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

enum class CompareResult { kEqual = 0, kGreater = 1, kLess = 2,
                           kNotEqual = 3 };
enum class CompareTarget { kVersion = 0, kCreate = 1, kMod = 2, kValue = 3,
                           kLease = 4 };

// etcd's Compare. Its target_union is a oneof; here only the field named by
// `target` is read (number for VERSION, CREATE, MOD and LEASE).
struct Compare {
  CompareResult result = CompareResult::kEqual;
  CompareTarget target = CompareTarget::kVersion;
  std::string key;
  std::string range_end;
  int64_t number = 0;
  std::string value;
};

struct RequestOp;
struct ResponseOp;

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;
};

struct RequestOp {
  std::variant<RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest>
      request;
};

struct TxnResult {
  // The top-level result carries the txn's revision. A nested txn's result
  // has revision 0, as etcd leaves nested response headers empty.
  int64_t revision = 0;
  bool succeeded = false;
  std::vector<ResponseOp> responses;
};

struct ResponseOp {
  std::variant<RangeResult, PutResult, DeleteRangeResult, TxnResult> response;
};

// A lease as persisted (etcd's leasepb.Lease).
struct LeaseRecord {
  int64_t id = 0;
  int64_t ttl_seconds = 0;
  int64_t remaining_ttl_seconds = 0;

  friend bool operator==(const LeaseRecord&, const LeaseRecord&) = default;
};

struct KvHash {
  uint32_t hash = 0;
  int64_t revision = 0;          // the store's current revision
  int64_t compact_revision = 0;  // -1 if never compacted
};

// Events read back from history: every change with a revision in
// (after, last_revision], in revision order, whose key is in the range.
struct EventBatch {
  std::vector<Event> events;
  int64_t last_revision = 0;
};

// Receives the changes of each apply, after they are written. Called
// synchronously from the write method; must not call back into the Mvcc.
class MvccListener {
 public:
  virtual ~MvccListener() = default;
  virtual void OnApply(int64_t revision, std::span<const Event> events) = 0;
};

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_TYPES_H_
