// etcd's Txn (etcdserver/apply.go): the compares pick a path through the
// (possibly nested) branches against the state before the txn; the ops on
// that path are checked; then they run in order at one revision, each
// seeing the earlier ones' writes.
#include <utility>

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "store/mvcc.h"
#include "store/mvcc_check.h"
#include "store/mvcc_errors.h"
#include "store/mvcc_range.h"
#include "store/mvcc_write.h"

namespace keel::store {
namespace {

int CompareInt(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

bool Holds(CompareResult result, int cmp) {
  switch (result) {
    case CompareResult::kEqual:
      return cmp == 0;
    case CompareResult::kNotEqual:
      return cmp != 0;
    case CompareResult::kGreater:
      return cmp > 0;
    case CompareResult::kLess:
      return cmp < 0;
  }
  // A result value the proto does not name (a client can send any int):
  // etcd's compareKV holds.
  return true;
}

// etcd's compareKV. A missing key compares as a zero KeyValue.
bool CompareVersion(const Compare& c, const RecordMeta& meta,
                    std::string_view value) {
  switch (c.target) {
    case CompareTarget::kValue: {
      // Bytewise, as Go's bytes.Compare (char_traits compares unsigned).
      int cmp = value.compare(c.value);
      return Holds(c.result, cmp < 0 ? -1 : (cmp > 0 ? 1 : 0));
    }
    case CompareTarget::kCreate:
      return Holds(c.result, CompareInt(meta.create_revision, c.number));
    case CompareTarget::kMod:
      return Holds(c.result, CompareInt(meta.mod.main, c.number));
    case CompareTarget::kVersion:
      return Holds(c.result, CompareInt(meta.version, c.number));
    case CompareTarget::kLease:
      return Holds(c.result, CompareInt(meta.lease, c.number));
  }
  // A target value the proto does not name: etcd's compareKV compares
  // nothing, as equal.
  return Holds(c.result, 0);
}

absl::StatusOr<bool> EvaluateCompare(MvccDb* db, const ReadView& view,
                                     const Compare& c) {
  bool any = false;
  bool all = true;
  KEEL_RETURN_IF_ERROR(VisitRange(
      db, view, MakeKeyRange(c.key, c.range_end), 0,
      [&](const VersionView& v) {
        any = true;
        if (all && !CompareVersion(c, *v.meta, v.value)) all = false;
      }));
  if (any) return all;
  // No key: a value compare always fails (etcd cannot tell a missing value
  // from an empty one); the others compare against zeros.
  if (c.target == CompareTarget::kValue) return false;
  return CompareVersion(c, RecordMeta{}, {});
}

// etcd's compareToPath: this txn's outcome, then depth-first the outcomes
// of the nested txns on the chosen branch.
absl::Status ComputePath(MvccDb* db, const ReadView& view, const TxnRequest& t,
                         std::vector<bool>* path) {
  bool succeeded = true;
  for (const Compare& c : t.compare) {
    KEEL_ASSIGN_OR_RETURN(bool holds, EvaluateCompare(db, view, c));
    if (!holds) {
      succeeded = false;
      break;
    }
  }
  path->push_back(succeeded);
  for (const RequestOp& op : succeeded ? t.success : t.failure) {
    if (const auto* nested = std::get_if<TxnRequest>(&op.request)) {
      KEEL_RETURN_IF_ERROR(ComputePath(db, view, *nested, path));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Mvcc::CheckTxnPath(const TxnRequest& t,
                                const std::vector<bool>& path,
                                size_t* path_index, bool check_puts) {
  KEEL_ASSERT(*path_index < path.size());
  const bool succeeded = path[(*path_index)++];
  for (const RequestOp& op : succeeded ? t.success : t.failure) {
    if (const auto* nested = std::get_if<TxnRequest>(&op.request)) {
      KEEL_RETURN_IF_ERROR(
          CheckTxnPath(*nested, path, path_index, check_puts));
    } else if (const auto* put = std::get_if<PutRequest>(&op.request)) {
      if (!check_puts) continue;
      if (put->ignore_value || put->ignore_lease) {
        MvccReader reader(db_.get(), nullptr);
        KEEL_ASSIGN_OR_RETURN(std::optional<StoredVersion> version,
                              reader.Latest(put->key));
        if (!version) return ErrKeyNotFound();
      }
      KEEL_RETURN_IF_ERROR(CheckLease(put->lease));
    } else if (const auto* range = std::get_if<RangeRequest>(&op.request)) {
      if (check_puts) continue;
      // etcd's checkRequestRange, which (unlike Range itself) calls any
      // nonzero revision below the compacted one compacted.
      if (range->revision == 0) continue;
      if (range->revision > current_revision_) return ErrFutureRev();
      if (range->revision < compact_revision_) return ErrCompacted();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TxnResult> Mvcc::ApplyTxn(MvccWrite* write, const TxnRequest& t,
                                         const std::vector<bool>& path,
                                         size_t* path_index, bool top) {
  KEEL_ASSERT(*path_index < path.size());
  TxnResult result;
  result.succeeded = path[(*path_index)++];
  const std::vector<RequestOp>& ops = result.succeeded ? t.success : t.failure;
  result.responses.reserve(ops.size());
  for (const RequestOp& op : ops) {
    ResponseOp response;
    if (const auto* range = std::get_if<RangeRequest>(&op.request)) {
      KEEL_ASSIGN_OR_RETURN(
          response.response,
          RunRange(db_.get(), write->view(compact_revision_), *range));
    } else if (const auto* put = std::get_if<PutRequest>(&op.request)) {
      KEEL_ASSIGN_OR_RETURN(response.response, ApplyPut(write, *put));
    } else if (const auto* del = std::get_if<DeleteRangeRequest>(&op.request)) {
      KEEL_ASSIGN_OR_RETURN(response.response, ApplyDelete(write, *del));
    } else {
      KEEL_ASSIGN_OR_RETURN(
          response.response,
          ApplyTxn(write, std::get<TxnRequest>(op.request), path, path_index,
                   /*top=*/false));
    }
    result.responses.push_back(std::move(response));
  }
  if (top) result.revision = write->read_revision();
  return result;
}

absl::StatusOr<TxnResult> Mvcc::RunTxn(const TxnRequest& request,
                                       MvccWrite* write) {
  KEEL_RETURN_IF_ERROR(CheckTxn(request));
  const ReadView before{.db_revision = current_revision_,
                        .read_revision = current_revision_,
                        .overlay = nullptr,
                        .compact_revision = compact_revision_};
  std::vector<bool> path;
  KEEL_RETURN_IF_ERROR(ComputePath(db_.get(), before, request, &path));
  // As etcd: every put on the path is checked before any range.
  for (bool check_puts : {true, false}) {
    size_t path_index = 0;
    KEEL_RETURN_IF_ERROR(CheckTxnPath(request, path, &path_index, check_puts));
    KEEL_ASSERT(path_index == path.size());
  }
  size_t path_index = 0;
  absl::StatusOr<TxnResult> result =
      ApplyTxn(write, request, path, &path_index, /*top=*/true);
  // The checks above rule out every request error here; what is left is
  // the DB's, and nothing has been written.
  if (!result.ok()) KEEL_ASSERT(!IsKeyNotFound(result.status()));
  return result;
}

absl::StatusOr<TxnResult> Mvcc::Txn(EntryId entry, const TxnRequest& request) {
  KEEL_RETURN_IF_ERROR(CheckEntry(entry));
  std::unique_ptr<MvccWrite> write = BeginWrite(/*track_overlay=*/true);
  absl::StatusOr<TxnResult> result = RunTxn(request, write.get());
  if (!result.ok()) return Refuse(entry, result.status());
  KEEL_RETURN_IF_ERROR(Commit(entry, write.get(), /*force=*/false));
  KEEL_ASSERT(result->revision == current_revision_);
  return result;
}

absl::StatusOr<TxnResult> Mvcc::ReadOnlyTxn(const TxnRequest& request) {
  // A closed store answers nothing rather than an empty key space.
  if (closed()) return ClosedDbError();
  if (!IsReadOnlyTxn(request)) {
    return absl::InvalidArgumentError("mvcc: read-only txn writes");
  }
  MvccWrite reads_only(db_.get(), current_revision_, /*track_overlay=*/false,
                       /*collect_events=*/false);
  absl::StatusOr<TxnResult> result = RunTxn(request, &reads_only);
  if (result.ok()) KEEL_ASSERT(!reads_only.changed());
  return result;
}

}  // namespace keel::store
