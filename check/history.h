// The history model: what clients asked of an etcd-compatible cluster, what
// they got back and when. Histories come from keel's simulator (virtual
// nanoseconds) or from a harness driving a real cluster (wall nanoseconds);
// the checkers (checker.h) read nothing else, so they work on both.
//
// One Operation per client request. Its outcome is one of
//   kOk       the request completed; `response` and `revision` (etcd's
//             response header revision) are set;
//   kError    the request definitely failed and had no effect (for example
//             "revision has been compacted", "lease not found");
//   kUnknown  the client does not know (timeout, lost connection): the
//             request may take effect at any point after `invoke_ns`, even
//             after the client gave up.
// A watch is one Operation holding every response its stream delivered, in
// order, with receive times. Keys and values are arbitrary bytes. The JSON
// Lines file format is described in check/FORMAT.md.
#ifndef KEEL_CHECK_HISTORY_H_
#define KEEL_CHECK_HISTORY_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace keel::check {

using OpId = int64_t;
using ClientId = int64_t;

// complete_ns of an operation that never completed.
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// etcd's first revision: a fresh store is at revision 1 and the first write
// creates revision 2.
inline constexpr int64_t kFirstRevision = 1;

struct KeyValue {
  std::string key;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  std::string value;
  int64_t lease = 0;
  bool operator==(const KeyValue&) const = default;
};

// --- KV requests and responses (etcdserverpb.KV) ---------------------------

struct PutRequest {
  std::string key;
  std::string value;
  int64_t lease = 0;
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};
struct PutResponse {
  std::optional<KeyValue> prev_kv;  // set iff prev_kv was asked and existed
};

// range_end as in etcd: empty = the single key; "\0" = every key >= key;
// otherwise [key, range_end).
struct RangeRequest {
  std::string key;
  std::string range_end;
  int64_t revision = 0;  // 0 = the current revision
  int64_t limit = 0;     // 0 = no limit
  bool serializable = false;
  bool keys_only = false;
  bool count_only = false;
};
struct RangeResponse {
  std::vector<KeyValue> kvs;
  bool more = false;
  int64_t count = 0;
};

struct DeleteRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};
struct DeleteResponse {
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

enum class CompareTarget { kVersion, kCreate, kMod, kValue, kLease };
enum class CompareResult { kEqual, kGreater, kLess, kNotEqual };
struct Compare {
  CompareResult result = CompareResult::kEqual;
  CompareTarget target = CompareTarget::kValue;
  std::string key;
  std::string range_end;
  int64_t number = 0;  // version, create/mod revision or lease
  std::string value;   // kValue
};

using TxnRequestOp = std::variant<RangeRequest, PutRequest, DeleteRequest>;
using TxnResponseOp = std::variant<RangeResponse, PutResponse, DeleteResponse>;
struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<TxnRequestOp> success;
  std::vector<TxnRequestOp> failure;
};
struct TxnResponse {
  bool succeeded = false;
  std::vector<TxnResponseOp> responses;
};

struct CompactRequest {
  int64_t revision = 0;
  bool physical = false;
};
struct CompactResponse {};

// --- Leases (etcdserverpb.Lease); TTLs in seconds as in etcd ---------------

struct LeaseGrantRequest {
  int64_t ttl = 0;
  int64_t id = 0;  // 0 = the server picks
};
struct LeaseGrantResponse {
  int64_t id = 0;
  int64_t ttl = 0;
};
struct LeaseRevokeRequest {
  int64_t id = 0;
};
struct LeaseRevokeResponse {};
struct LeaseKeepAliveRequest {
  int64_t id = 0;
};
struct LeaseKeepAliveResponse {
  int64_t ttl = 0;  // 0: the lease was not found (expired or revoked)
};
struct LeaseTimeToLiveRequest {
  int64_t id = 0;
  bool keys = false;
};
struct LeaseTimeToLiveResponse {
  int64_t ttl = 0;  // remaining seconds; -1: expired or never existed
  int64_t granted_ttl = 0;
  std::vector<std::string> keys;
};

// --- Watch (etcdserverpb.Watch) ---------------------------------------------

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for a delete: the key and mod_revision only
  std::optional<KeyValue> prev_kv;
  bool operator==(const Event&) const = default;
};

struct WatchRequest {
  std::string key;
  std::string range_end;
  int64_t start_revision = 0;  // 0 = from the revision after creation
  bool prev_kv = false;
  bool progress_notify = false;
  bool fragment = false;
  bool filter_noput = false;
  bool filter_nodelete = false;
  int64_t watch_id = 0;  // as requested (0 = server assigns)
};
// One message received on the stream. A progress notification is a response
// with no events that is neither created, canceled nor compacted.
struct WatchResponse {
  int64_t time_ns = 0;   // when the client received it
  int64_t revision = 0;  // header revision
  int64_t watch_id = 0;
  bool created = false;
  bool canceled = false;
  bool fragment = false;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<Event> events;

  bool IsProgressNotify() const {
    return events.empty() && !created && !canceled && compact_revision == 0;
  }
};
struct WatchResult {
  std::vector<WatchResponse> responses;
};

// --- Operations -------------------------------------------------------------

// The variant order of Request and Response is the same and matches OpType.
enum class OpType {
  kPut,
  kRange,
  kDelete,
  kTxn,
  kCompact,
  kLeaseGrant,
  kLeaseRevoke,
  kLeaseKeepAlive,
  kLeaseTimeToLive,
  kWatch,
};
using Request =
    std::variant<PutRequest, RangeRequest, DeleteRequest, TxnRequest,
                 CompactRequest, LeaseGrantRequest, LeaseRevokeRequest,
                 LeaseKeepAliveRequest, LeaseTimeToLiveRequest, WatchRequest>;
using Response =
    std::variant<PutResponse, RangeResponse, DeleteResponse, TxnResponse,
                 CompactResponse, LeaseGrantResponse, LeaseRevokeResponse,
                 LeaseKeepAliveResponse, LeaseTimeToLiveResponse, WatchResult>;

enum class Outcome { kOk, kError, kUnknown };

struct Operation {
  OpId id = 0;
  ClientId client = 0;
  int64_t invoke_ns = 0;
  int64_t complete_ns = kNever;  // kNever if the client never learnt
  Outcome outcome = Outcome::kUnknown;
  std::string error;      // kError / kUnknown: what the client saw
  int64_t revision = 0;   // kOk: the response header revision
  bool final_read = false;  // a read-out of the key space after the run
  Request request;
  Response response;

  OpType type() const { return static_cast<OpType>(request.index()); }
};

struct History {
  // The store before the first operation: etcd's fresh store by default.
  int64_t initial_revision = kFirstRevision;
  std::vector<KeyValue> initial_kvs;
  std::vector<Operation> ops;
};

// --- Helpers shared by the checkers -----------------------------------------

// A default-constructed response of the type matching `type`.
Response EmptyResponse(OpType type);

// Whether `key` lies in etcd's range [begin, end) (see RangeRequest).
bool InRange(std::string_view key, std::string_view begin, std::string_view end);

// "put", "range", ..., "watch" (the JSON "op" names).
std::string_view OpTypeName(OpType type);
std::string_view CompareTargetName(CompareTarget target);
std::string_view CompareResultName(CompareResult result);

// A key or value for humans: printable ASCII as is, other bytes as \xNN,
// quoted, and cut after `max_bytes` with "...".
std::string Printable(std::string_view bytes, size_t max_bytes = 48);

// "k=v (create 2, mod 5, version 3, lease 0)".
std::string DescribeKv(const KeyValue& kv);

// One-line summary of a request: "put \"a\"=\"1\"", "range [\"a\", \"b\")".
std::string DescribeRequest(const Request& request);

// "op 17 (client 3, put \"a\"=\"1\")".
std::string DescribeOp(const Operation& op);

}  // namespace keel::check

#endif  // KEEL_CHECK_HISTORY_H_
