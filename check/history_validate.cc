// ValidateHistory: the structural promises the checkers rely on; see
// history_json.h. Every rule here would otherwise be an assertion deep in a
// checker, so hand-made histories fail early with a clear message.
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "runtime/strings.h"
#include "check/history_json.h"

namespace keel::check {
namespace {

absl::Status Invalid(const Operation& op, std::string_view what) {
  return absl::InvalidArgumentError(StrCat("op ", op.id, ": ", what));
}

bool SameKind(const TxnRequestOp& request, const TxnResponseOp& response) {
  return request.index() == response.index();
}

absl::Status ValidateKvs(const Operation& op, const std::vector<KeyValue>& kvs) {
  for (const KeyValue& kv : kvs) {
    if (kv.mod_revision < kv.create_revision || kv.create_revision < 0 ||
        kv.version < 0) {
      return Invalid(op, StrCat("malformed kv ", DescribeKv(kv)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateOk(const Operation& op) {
  if (op.response.index() != op.request.index()) {
    return Invalid(op, "response type does not match the request");
  }
  if (op.type() != OpType::kWatch && op.revision < kFirstRevision) {
    return Invalid(op, "a successful response needs a header revision >= 1");
  }
  switch (op.type()) {
    case OpType::kRange: {
      const auto& r = std::get<RangeRequest>(op.request);
      if (r.limit < 0) return Invalid(op, "negative limit");
      return ValidateKvs(op, std::get<RangeResponse>(op.response).kvs);
    }
    case OpType::kDelete: {
      const auto& d = std::get<DeleteResponse>(op.response);
      if (d.deleted < 0) return Invalid(op, "negative deleted count");
      return ValidateKvs(op, d.prev_kvs);
    }
    case OpType::kTxn: {
      const auto& t = std::get<TxnRequest>(op.request);
      const auto& r = std::get<TxnResponse>(op.response);
      const auto& branch = r.succeeded ? t.success : t.failure;
      if (branch.size() != r.responses.size()) {
        return Invalid(op, StrCat("txn has ", r.responses.size(),
                                  " responses for ", branch.size(), " ops"));
      }
      for (size_t i = 0; i < branch.size(); ++i) {
        if (!SameKind(branch[i], r.responses[i])) {
          return Invalid(op, StrCat("txn response ", i, " does not match its op"));
        }
      }
      for (const TxnRequestOp& sub : branch) {
        if (const auto* q = std::get_if<RangeRequest>(&sub); q && q->limit < 0) {
          return Invalid(op, "negative limit");
        }
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

}  // namespace

absl::Status ValidateHistory(const History& history) {
  if (history.initial_revision < kFirstRevision) {
    return absl::InvalidArgumentError("initial revision must be >= 1");
  }
  absl::flat_hash_set<std::string> initial_keys;
  for (const KeyValue& kv : history.initial_kvs) {
    if (!initial_keys.insert(kv.key).second) {
      return absl::InvalidArgumentError(
          StrCat("initial store lists ", Printable(kv.key), " twice"));
    }
    if (kv.create_revision < kFirstRevision || kv.mod_revision < kv.create_revision ||
        kv.mod_revision > history.initial_revision || kv.version < 1) {
      return absl::InvalidArgumentError(
          StrCat("initial store has a malformed kv ", DescribeKv(kv)));
    }
  }
  absl::flat_hash_set<OpId> ids;
  for (const Operation& op : history.ops) {
    if (!ids.insert(op.id).second) {
      return absl::InvalidArgumentError(StrCat("duplicate op id ", op.id));
    }
    if (op.complete_ns != kNever && op.complete_ns < op.invoke_ns) {
      return Invalid(op, "completes before it was invoked");
    }
    if (op.outcome == Outcome::kError && op.complete_ns == kNever) {
      return Invalid(op, "a failed operation needs a completion time");
    }
    if (op.final_read && op.type() != OpType::kRange) {
      return Invalid(op, "only a range can be part of the final read-out");
    }
    if (op.outcome == Outcome::kOk) {
      if (op.type() != OpType::kWatch && op.complete_ns == kNever) {
        return Invalid(op, "a successful operation needs a completion time");
      }
      absl::Status s = ValidateOk(op);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace keel::check
