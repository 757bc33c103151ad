// etcd's request checks. The overlap rule follows etcd's checkIntervals:
// within one txn level, no key may be put twice or put and deleted; the
// success and failure branches of a nested txn may put the same key (only one
// branch runs), but neither may clash with the enclosing level.
#include "node/request_checks.h"

#include <set>
#include <string>
#include <vector>

#include "node/errors.h"

namespace keel::node {
namespace {

// A deleted interval [key, end); end "" means the single key, "\0" means
// every key from `key` on.
struct Interval {
  std::string key;
  std::string end;

  bool Contains(const std::string& k) const {
    if (end.empty()) return k == key;
    if (end == std::string(1, '\0')) return k >= key;
    return k >= key && k < end;
  }
};

struct Writes {
  std::set<std::string> puts;
  std::vector<Interval> deletes;

  bool Deleted(const std::string& key) const {
    for (const Interval& d : deletes) {
      if (d.Contains(key)) return true;
    }
    return false;
  }
};

absl::Status CheckIntervals(
    const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops,
    Writes* out) {
  // This level's deletes first: lower levels' puts are checked against them.
  for (const auto& op : ops) {
    if (!op.has_request_delete_range()) continue;
    const auto& del = op.request_delete_range();
    out->deletes.push_back(Interval{del.key(), del.range_end()});
  }
  for (const auto& op : ops) {
    if (!op.has_request_txn()) continue;
    Writes then_writes, else_writes;
    absl::Status status = CheckIntervals(op.request_txn().success(), &then_writes);
    if (!status.ok()) return status;
    status = CheckIntervals(op.request_txn().failure(), &else_writes);
    if (!status.ok()) return status;
    for (const std::string& key : then_writes.puts) {
      if (out->puts.count(key) > 0 || out->Deleted(key)) {
        return MakeError(EtcdError::kDuplicateKey);
      }
      out->puts.insert(key);
    }
    for (const std::string& key : else_writes.puts) {
      const bool from_then = then_writes.puts.count(key) > 0;
      if ((out->puts.count(key) > 0 && !from_then) || out->Deleted(key)) {
        return MakeError(EtcdError::kDuplicateKey);
      }
      out->puts.insert(key);
    }
    for (auto& d : then_writes.deletes) out->deletes.push_back(std::move(d));
    for (auto& d : else_writes.deletes) out->deletes.push_back(std::move(d));
  }
  for (const auto& op : ops) {
    if (!op.has_request_put()) continue;
    const std::string& key = op.request_put().key();
    if (out->puts.count(key) > 0 || out->Deleted(key)) {
      return MakeError(EtcdError::kDuplicateKey);
    }
    out->puts.insert(key);
  }
  return absl::OkStatus();
}

absl::Status CheckRequestOp(const etcdserverpb::RequestOp& op,
                            int64_t max_txn_ops) {
  if (op.has_request_range()) return CheckRangeRequest(op.request_range());
  if (op.has_request_put()) return CheckPutRequest(op.request_put());
  if (op.has_request_delete_range()) {
    return CheckDeleteRequest(op.request_delete_range());
  }
  if (op.has_request_txn()) return CheckTxnRequest(op.request_txn(), max_txn_ops);
  // etcd accepts an empty RequestOp (it does nothing when applied).
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRangeRequest(const etcdserverpb::RangeRequest& request) {
  if (request.key().empty()) return MakeError(EtcdError::kEmptyKey);
  // A client can send any int for an enum; the store sorts only by the
  // named ones.
  if (!etcdserverpb::RangeRequest::SortOrder_IsValid(request.sort_order()) ||
      !etcdserverpb::RangeRequest::SortTarget_IsValid(request.sort_target())) {
    return MakeError(EtcdError::kInvalidSortOption);
  }
  return absl::OkStatus();
}

absl::Status CheckPutRequest(const etcdserverpb::PutRequest& request) {
  if (request.key().empty()) return MakeError(EtcdError::kEmptyKey);
  if (request.ignore_value() && !request.value().empty()) {
    return MakeError(EtcdError::kValueProvided);
  }
  if (request.ignore_lease() && request.lease() != 0) {
    return MakeError(EtcdError::kLeaseProvided);
  }
  return absl::OkStatus();
}

absl::Status CheckDeleteRequest(const etcdserverpb::DeleteRangeRequest& request) {
  if (request.key().empty()) return MakeError(EtcdError::kEmptyKey);
  return absl::OkStatus();
}

absl::Status CheckTxnRequest(const etcdserverpb::TxnRequest& request,
                             int64_t max_txn_ops) {
  int64_t ops = request.compare_size();
  ops = std::max<int64_t>(ops, request.success_size());
  ops = std::max<int64_t>(ops, request.failure_size());
  if (ops > max_txn_ops) return MakeError(EtcdError::kTooManyOps);
  for (const auto& compare : request.compare()) {
    if (compare.key().empty()) return MakeError(EtcdError::kEmptyKey);
  }
  // etcd passes the remaining budget down to nested txns.
  for (const auto& op : request.success()) {
    absl::Status status = CheckRequestOp(op, max_txn_ops - ops);
    if (!status.ok()) return status;
  }
  for (const auto& op : request.failure()) {
    absl::Status status = CheckRequestOp(op, max_txn_ops - ops);
    if (!status.ok()) return status;
  }
  Writes then_writes, else_writes;
  absl::Status status = CheckIntervals(request.success(), &then_writes);
  if (!status.ok()) return status;
  return CheckIntervals(request.failure(), &else_writes);
}

bool TxnWrites(const etcdserverpb::TxnRequest& request) {
  for (const auto* branch : {&request.success(), &request.failure()}) {
    for (const etcdserverpb::RequestOp& op : *branch) {
      if (op.has_request_put() || op.has_request_delete_range()) return true;
      if (op.has_request_txn() && TxnWrites(op.request_txn())) return true;
    }
  }
  return false;
}

bool TxnOnlyRanges(const etcdserverpb::TxnRequest& request) {
  for (const auto* branch : {&request.success(), &request.failure()}) {
    for (const etcdserverpb::RequestOp& op : *branch) {
      // An empty op is applied as an empty range (kv_convert.h).
      if (op.has_request_put() || op.has_request_delete_range() || op.has_request_txn()) {
        return false;
      }
    }
  }
  return true;
}

bool TxnIsSerializable(const etcdserverpb::TxnRequest& request) {
  for (const auto* branch : {&request.success(), &request.failure()}) {
    for (const etcdserverpb::RequestOp& op : *branch) {
      if (op.has_request_range() && !op.request_range().serializable()) return false;
      if (op.has_request_txn() && !TxnIsSerializable(op.request_txn())) return false;
    }
  }
  return true;
}

}  // namespace keel::node
