// etcd's concurrency recipes (clientv3/concurrency) over the KV and Watch
// APIs: a session lease kept alive, a mutex, and a leader election. They
// use the same keys and the same order (the lowest create revision under
// a prefix holds it) as clientv3's Mutex and Election and as etcd's Lock
// and Election services, so keelctl lock/elect, Go clients and the
// services can contend for the same names.
//
//   name/<lease id in hex>   one key per contender, attached to its lease
//
// All calls suspend; each takes the RequestOptions for its KV calls (a
// wait for the lock or leadership itself is unbounded).
#ifndef KEEL_CLIENT_CONCURRENCY_H_
#define KEEL_CLIENT_CONCURRENCY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/etcd_client.h"
#include "runtime/clock.h"
#include "runtime/task.h"

namespace keel::client {

// The first key after every key that starts with `prefix` (clientv3's
// GetPrefixRangeEnd): the range_end of a prefix's contenders.
std::string PrefixEnd(std::string_view prefix);

// Keeps `lease` alive (a keepalive every ttl/3 seconds) until it is lost:
// returns NotFound "session expired" when the server says it is gone, or
// when no keepalive was answered for a whole TTL. Runs until then, so a
// caller races it against its work (WhenAny) and drops it when done.
Task<absl::Status> KeepSessionAlive(EtcdClient& client, Clock& clock, int64_t lease,
                                    int64_t ttl_seconds);

// The key a contender of `prefix` (a lock or election name plus "/") holds
// with `lease`: prefix + the lease ID in lower-case hex.
std::string ContenderKey(std::string_view prefix, int64_t lease);

struct Held {
  Held() {}
  std::string key;
  int64_t revision = 0;  // the contender key's create revision
  etcdserverpb::ResponseHeader header;
};

// Mutex.Lock: puts the contender key (or finds it, if this lease already
// waits) and waits until every key created before it under the prefix is
// deleted. NotFound "session expired" if the key vanished meanwhile. On an
// error the contender key is deleted again.
Task<absl::StatusOr<Held>> Lock(EtcdClient& client, std::string name, int64_t lease,
                                RequestOptions options);

// Election.Campaign: as Lock, with `value` as the key's value (updated if
// this lease already campaigns with another value).
Task<absl::StatusOr<Held>> Campaign(EtcdClient& client, std::string election, int64_t lease,
                                    std::string value, RequestOptions options);

// Unlock / Resign: deletes the contender key.
Task<absl::Status> Release(EtcdClient& client, std::string key, RequestOptions options);

// Election.Observe: calls `on_leader` with a RangeResponse holding the
// leader's key-value, first for the current leader and then for every
// change of leader or of its value, until an error ends the observation
// (returned). Never returns OK.
Task<absl::Status> Observe(EtcdClient& client, std::string election,
                           std::function<void(const etcdserverpb::RangeResponse&)> on_leader,
                           RequestOptions options);

}  // namespace keel::client

#endif  // KEEL_CLIENT_CONCURRENCY_H_
