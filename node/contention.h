// Contention: etcd's lock and election recipes (clientv3/concurrency's
// Mutex and Election, which etcd's v3lock and v3election services run over
// an in-process client) as a member runs them for the Lock and Election
// services, over its own KvFrontend and WatchHub. No state of their own
// reaches the applier: a contender is one key, and the order is the keys'
// create revisions.
//
//   <name>/<lease id in lower-case hex>   one key per contender, on its lease
//
// The contender whose key under "<name>/" has the lowest create revision
// holds the lock (leads the election). A waiter waits, by watch, for the
// deletion of each key created before its own, newest first. The holder's
// key's create revision is the fencing token (doc/locks.md).
//
// Every KV call is made as `caller` (node/auth_frontend.h), so auth
// permissions apply as to the caller's own requests. Cancellation: a wait
// cut off by its caller (the gRPC call ends) deletes the contender key
// again from a task of its own, as etcd's Mutex.Lock and Election.Campaign
// do when their context ends. Errors are etcd's: the KV front end's, and
// the recipes' own texts with code Unknown (as the Go services return
// plain errors).
#ifndef KEEL_NODE_CONTENTION_H_
#define KEEL_NODE_CONTENTION_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/task_group.h"
#include "node/auth_store.h"
#include "node/kv_frontend.h"
#include "node/response_header.h"
#include "node/watch_hub.h"
#include "proto/rpc.pb.h"
#include "runtime/failpoints.h"
#include "runtime/task.h"

namespace keel::node {

// Contention's layout differs between the builds (runtime/failpoints.h).
KEEL_FAILPOINT_BUILD_TAG();

// The recipes' own errors, as etcd's texts.
absl::Status ElectionNoLeaderError();      // "election: no leader"
absl::Status ElectionNotLeaderError();     // "election: not leader"
absl::Status SessionExpiredError();        // "mutex: session is expired"

// What a successful Lock or Campaign holds.
struct Contender {
  Contender() {}
  std::string key;
  int64_t revision = 0;  // the key's create revision: the fencing token
  etcdserverpb::ResponseHeader header;
};

struct ContentionParts {
  KvFrontend& kv;
  WatchHub& hub;
  const ResponseHeaders& headers;
  Executor& executor;
};

class Contention {
 public:
  // The parts must outlive the object; the object, every call.
  explicit Contention(ContentionParts parts) : parts_(parts), cleanup_(parts.executor) {}
  Contention(const Contention&) = delete;
  Contention& operator=(const Contention&) = delete;

  // Mutex.Lock: puts the contender key of `lease` under `name`/ (or finds
  // it, if this lease already waits or holds), waits until every key
  // created before it is deleted, then checks that its own key is still
  // there (else SessionExpiredError: its lease ended while it waited). On
  // an error after the put, the key is deleted again.
  Task<absl::StatusOr<Contender>> Lock(std::string name, int64_t lease, AuthInfo caller);

  // Election.Campaign: as Lock with `value` as the key's value; a lease
  // that already campaigns with another value proclaims this one first.
  // The header is the put's, as etcd answers.
  Task<absl::StatusOr<Contender>> Campaign(std::string name, int64_t lease, std::string value,
                                           AuthInfo caller);

  // Election.Proclaim: replaces the value of `key` if it is still the key
  // created at `revision`, else ElectionNotLeaderError.
  Task<absl::StatusOr<etcdserverpb::ResponseHeader>> Proclaim(std::string key, int64_t revision,
                                                              int64_t lease, std::string value,
                                                              AuthInfo caller);

  // Election.Resign: deletes `key` if it is still the key created at
  // `revision` (OK either way, as etcd).
  Task<absl::StatusOr<etcdserverpb::ResponseHeader>> Resign(std::string key, int64_t revision,
                                                            AuthInfo caller);

  // Lock's Unlock: deletes `key`.
  Task<absl::StatusOr<etcdserverpb::ResponseHeader>> Unlock(std::string key, AuthInfo caller);

  // Election.Leader: the contender key with the lowest create revision
  // under `name`/, or ElectionNoLeaderError.
  Task<absl::StatusOr<etcdserverpb::RangeResponse>> Leader(std::string name, AuthInfo caller);

  // Election.Observe: calls `deliver` with the current leader (waiting for a
  // first one if there is none), then with each new value of it, and again
  // for each next leader, until `deliver` or a read fails (that status).
  using LeaderSink =
      std::function<Task<absl::Status>(etcdserverpb::ResponseHeader, mvccpb::KeyValue)>;
  Task<absl::Status> Observe(std::string name, AuthInfo caller, LeaderSink deliver);

#if KEEL_FAILPOINTS
  // A deliberate defect (failpoints::ServerBugs's lock_skips_wait): Lock
  // and Campaign answer without waiting for the keys created before theirs.
  void set_skip_wait(bool skip) { skip_wait_ = skip; }
#endif

 private:
  // Puts the contender key (value set only on creation), waits its turn.
  // `existing` gets the value of a key that was already there.
  Task<absl::StatusOr<Contender>> Contend(std::string prefix, int64_t lease, std::string value,
                                          AuthInfo caller, std::string* existing);
  // Waits until no key under `prefix` was created at or before
  // `max_revision`.
  Task<absl::Status> WaitDeletes(std::string prefix, int64_t max_revision, AuthInfo caller);
  // Waits for a DELETE of `key` at or after `revision`.
  Task<absl::Status> WaitDelete(std::string key, int64_t revision);
  // Deletes `key` if it was created at `revision`: the cleanup of a failed
  // or abandoned wait.
  Task<void> Withdraw(std::string key, int64_t revision, AuthInfo caller);

  ContentionParts parts_;
#if KEEL_FAILPOINTS
  bool skip_wait_ = false;
#endif
  // Cleanups of abandoned waits; last, so they end before what they use.
  net::TaskGroup cleanup_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_CONTENTION_H_
