// The etcd v3 KV state machine over KvState: what a put, range, delete or
// txn returns and changes, following etcd 3.4's applier and mvcc store
// (etcdserver/apply.go, mvcc/kvstore_txn.go):
//
// - a request that changes anything creates exactly one new revision; all
//   its kvs get that mod_revision; a request that changes nothing (a range,
//   a delete that matched no key, a txn whose branch only reads) creates none;
// - a put of an absent key starts version 1 / create_revision = revision; a
//   put of a present key increments its version and keeps create_revision;
// - range results are in key order; `count` counts every key in range,
//   `more` says `limit` cut the result; count_only returns no kvs;
//   keys_only clears values;
// - txn compares read the store before the txn; a compare over a range holds
//   if it holds for every key; a value compare on no key fails, other
//   targets compare against a zero kv; ops run in order and later ops see
//   earlier ones;
// - watch events of a write list its changes in order; a delete event's kv
//   holds the key and mod_revision only.
#ifndef KEEL_CHECK_KV_EVAL_H_
#define KEEL_CHECK_KV_EVAL_H_

#include <optional>
#include <string>
#include <vector>

#include "check/history.h"
#include "check/kv_state.h"

namespace keel::check {

struct EvalResult {
  Response response;          // what etcd would have answered
  std::vector<Event> events;  // the changes, with prev_kv set where a key existed
  // Why the request would have failed in etcd (e.g. ignore_value on a
  // missing key); empty if it succeeds. A failed request changes nothing.
  std::string error;
};

// Runs a put, range, delete or txn against `state` as the next write
// (revision state.next_revision()). If it changed anything, the changes are
// applied and the revision committed; otherwise the state is unchanged.
// Ranges read the current state (the caller arranges for the state to be at
// the revision the range asked for). `writer` is recorded as the writer of
// every key it puts. Undo with state.Rollback(mark taken before).
EvalResult Evaluate(const Request& request, KvState& state, OpId writer);

// Revokes (or expires) `lease`: deletes every key attached to it in one
// revision (in key order, as etcd's lessor does) and marks it dead. Returns
// the delete events (none if no key was attached: no revision then).
std::vector<Event> RevokeLease(int64_t lease, KvState& state);

// Compares what a client observed with what the model answers. nullopt if
// they agree, else a description of the first difference. Sub-ranges of a
// txn that read an older revision are not compared (the model only has the
// current one).
std::optional<std::string> DiffResponse(const Request& request,
                                        const Response& model,
                                        const Response& observed);

// The model's view of the keys a request touches, for reports: one line per
// key "k=v (create .., mod .., version .., lease ..) written by op N".
std::string DescribeModelState(const Request& request, const KvState& state);

// The key ranges (begin, etcd range end) a request reads or writes, in any
// branch, without duplicates.
using KeyRanges = std::vector<std::pair<std::string, std::string>>;
KeyRanges RequestRanges(const Request& request);

// Whether `key` falls in one of the ranges.
bool RangesTouch(const KeyRanges& ranges, std::string_view key);

// Whether the request may touch `key` (reads or writes it, in any branch).
bool RequestMayTouch(const Request& request, std::string_view key);

}  // namespace keel::check

#endif  // KEEL_CHECK_KV_EVAL_H_
