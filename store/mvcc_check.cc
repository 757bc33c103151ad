// etcd's pre-raft request checks; see mvcc_check.h.
#include "store/mvcc_check.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "runtime/status_macros.h"
#include "store/mvcc_errors.h"

namespace keel::store {
namespace {

// A deleted key range: [begin, end), end nullopt = unbounded.
struct DeletedRange {
  std::string begin;
  std::optional<std::string> end;

  bool Covers(std::string_view key) const {
    return key >= begin && (!end || key < *end);
  }
};

struct Writes {
  absl::btree_set<std::string> puts;
  std::vector<DeletedRange> deletes;

  bool Deletes(std::string_view key) const {
    for (const DeletedRange& d : deletes) {
      if (d.Covers(key)) return true;
    }
    return false;
  }
};

DeletedRange ToDeletedRange(const DeleteRangeRequest& d) {
  if (d.range_end.empty()) return DeletedRange{d.key, d.key + '\0'};
  if (d.range_end == std::string_view("\0", 1)) {
    return DeletedRange{d.key, std::nullopt};
  }
  return DeletedRange{d.key, d.range_end};
}

absl::Status CheckOp(const RequestOp& op);

// etcd's checkIntervals: the puts and deletes one branch list may make,
// including those of nested txns (either of whose branches may run).
absl::Status CollectWrites(const std::vector<RequestOp>& ops, Writes* out) {
  for (const RequestOp& op : ops) {
    if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
      out->deletes.push_back(ToDeletedRange(*d));
    }
  }
  for (const RequestOp& op : ops) {
    const auto* txn = std::get_if<TxnRequest>(&op.request);
    if (txn == nullptr) continue;
    Writes then_writes, else_writes;
    KEEL_RETURN_IF_ERROR(CollectWrites(txn->success, &then_writes));
    KEEL_RETURN_IF_ERROR(CollectWrites(txn->failure, &else_writes));
    for (const std::string& key : then_writes.puts) {
      if (out->puts.contains(key) || out->Deletes(key)) return ErrDuplicateKey();
      out->puts.insert(key);
    }
    for (const std::string& key : else_writes.puts) {
      // The same key in both branches of one nested txn is fine: only one
      // branch runs.
      if (out->puts.contains(key) && !then_writes.puts.contains(key)) {
        return ErrDuplicateKey();
      }
      if (out->Deletes(key)) return ErrDuplicateKey();
      out->puts.insert(key);
    }
    for (DeletedRange& d : then_writes.deletes) out->deletes.push_back(std::move(d));
    for (DeletedRange& d : else_writes.deletes) out->deletes.push_back(std::move(d));
  }
  for (const RequestOp& op : ops) {
    const auto* put = std::get_if<PutRequest>(&op.request);
    if (put == nullptr) continue;
    if (out->puts.contains(put->key) || out->Deletes(put->key)) {
      return ErrDuplicateKey();
    }
    out->puts.insert(put->key);
  }
  return absl::OkStatus();
}

absl::Status CheckTxnShape(const TxnRequest& request) {
  for (const Compare& compare : request.compare) {
    if (compare.key.empty()) return ErrEmptyKey();
  }
  for (const RequestOp& op : request.success) KEEL_RETURN_IF_ERROR(CheckOp(op));
  for (const RequestOp& op : request.failure) KEEL_RETURN_IF_ERROR(CheckOp(op));
  return absl::OkStatus();
}

absl::Status CheckOp(const RequestOp& op) {
  if (const auto* r = std::get_if<RangeRequest>(&op.request)) return CheckRange(*r);
  if (const auto* p = std::get_if<PutRequest>(&op.request)) return CheckPut(*p);
  if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
    return CheckDeleteRange(*d);
  }
  return CheckTxnShape(std::get<TxnRequest>(op.request));
}

}  // namespace

absl::Status CheckRange(const RangeRequest& request) {
  if (request.key.empty()) return ErrEmptyKey();
  return absl::OkStatus();
}

absl::Status CheckPut(const PutRequest& request) {
  if (request.key.empty()) return ErrEmptyKey();
  if (request.ignore_value && !request.value.empty()) return ErrValueProvided();
  if (request.ignore_lease && request.lease != 0) return ErrLeaseProvided();
  return absl::OkStatus();
}

absl::Status CheckDeleteRange(const DeleteRangeRequest& request) {
  if (request.key.empty()) return ErrEmptyKey();
  return absl::OkStatus();
}

absl::Status CheckTxn(const TxnRequest& request) {
  KEEL_RETURN_IF_ERROR(CheckTxnShape(request));
  Writes success, failure;
  KEEL_RETURN_IF_ERROR(CollectWrites(request.success, &success));
  return CollectWrites(request.failure, &failure);
}

bool IsReadOnlyTxn(const TxnRequest& request) {
  for (const auto* ops : {&request.success, &request.failure}) {
    for (const RequestOp& op : *ops) {
      if (!std::holds_alternative<RangeRequest>(op.request)) return false;
    }
  }
  return true;
}

}  // namespace keel::store
