// Contention: clientv3/concurrency's Mutex and Election over the member's
// own KV front end and watch hub; see contention.h.
#include "node/contention.h"

#include <memory>
#include <utility>

#include "absl/strings/str_format.h"
#include "client/concurrency.h"
#include "node/errors.h"
#include "store/mvcc_proto.h"

namespace keel::node {
namespace {

using client::PrefixEnd;

// clientv3.WithFirstCreate on `prefix`: the oldest contender.
etcdserverpb::RangeRequest FirstCreated(const std::string& prefix) {
  etcdserverpb::RangeRequest first;
  first.set_key(prefix);
  first.set_range_end(PrefixEnd(prefix));
  first.set_sort_target(etcdserverpb::RangeRequest::CREATE);
  first.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
  first.set_limit(1);
  return first;
}

void CompareCreate(etcdserverpb::TxnRequest& txn, const std::string& key, int64_t revision) {
  auto* compare = txn.add_compare();
  compare->set_key(key);
  compare->set_target(etcdserverpb::Compare::CREATE);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_create_revision(revision);
}

// The events of one watch response, merged revisions included.
template <typename F>
void ForEachEvent(const WatchResponse& response, F f) {
  if (response.events != nullptr) {
    for (const store::Event& event : *response.events) f(event);
  }
  for (const WatchEvents& more : response.more_events) {
    for (const store::Event& event : *more) f(event);
  }
}

mvccpb::KeyValue ToWireKv(const store::KeyValue& kv) {
  mvccpb::KeyValue out;
  store::ToProto(kv, &out);
  return out;
}

// A watcher that ended without the event it waited for: compacted history,
// or a hub that went away.
absl::Status LostWatcher(const WatchResponse& response) {
  if (response.compact_revision != 0) return MakeError(EtcdError::kCompacted);
  return absl::UnknownError("lost watcher waiting for delete");
}

}  // namespace

absl::Status ElectionNoLeaderError() { return absl::UnknownError("election: no leader"); }
absl::Status ElectionNotLeaderError() { return absl::UnknownError("election: not leader"); }
absl::Status SessionExpiredError() { return absl::UnknownError("mutex: session is expired"); }

Task<absl::Status> Contention::WaitDelete(std::string key, int64_t revision) {
  std::unique_ptr<WatchStream> stream = parts_.hub.NewStream();
  WatchOptions options;
  options.key = std::move(key);
  options.start_revision = revision;
  options.no_put = true;
  absl::StatusOr<int64_t> id = stream->Watch(std::move(options));
  if (!id.ok()) co_return id.status();
  while (true) {
    WatchResponse response = co_await stream->Next();
    if (response.canceled || response.compact_revision != 0) co_return LostWatcher(response);
    bool deleted = false;
    ForEachEvent(response, [&deleted](const store::Event& event) {
      deleted = deleted || event.type == store::EventType::kDelete;
    });
    if (deleted) co_return absl::OkStatus();
  }
}

Task<absl::Status> Contention::WaitDeletes(std::string prefix, int64_t max_revision,
                                           AuthInfo caller) {
  while (true) {
    etcdserverpb::RangeRequest last;
    last.set_key(prefix);
    last.set_range_end(PrefixEnd(prefix));
    last.set_max_create_revision(max_revision);
    last.set_sort_target(etcdserverpb::RangeRequest::CREATE);
    last.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
    last.set_limit(1);
    absl::StatusOr<etcdserverpb::RangeResponse> found =
        co_await parts_.kv.Range(std::move(last), caller);
    if (!found.ok()) co_return found.status();
    if (found->kvs_size() == 0) co_return absl::OkStatus();
    // The range read waited for this member to apply its revision, so the
    // local hub has the history from there on.
    absl::Status deleted = co_await WaitDelete(found->kvs(0).key(), found->header().revision());
    if (!deleted.ok()) co_return deleted;
  }
}

Task<void> Contention::Withdraw(std::string key, int64_t revision, AuthInfo caller) {
  etcdserverpb::TxnRequest txn;
  CompareCreate(txn, key, revision);
  txn.add_success()->mutable_request_delete_range()->set_key(key);
  // Best effort: if it fails, the key goes with its lease.
  (void)co_await parts_.kv.Txn(std::move(txn), std::move(caller));
}

Task<absl::StatusOr<Contender>> Contention::Contend(std::string prefix, int64_t lease,
                                                    std::string value, AuthInfo caller,
                                                    std::string* existing) {
  Contender held;
  held.key = absl::StrFormat("%s%x", prefix, lease);
  etcdserverpb::TxnRequest txn;
  CompareCreate(txn, held.key, 0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(held.key);
  put->set_value(std::move(value));
  put->set_lease(lease);
  *txn.add_success()->mutable_request_range() = FirstCreated(prefix);
  txn.add_failure()->mutable_request_range()->set_key(held.key);
  *txn.add_failure()->mutable_request_range() = FirstCreated(prefix);
  absl::StatusOr<etcdserverpb::TxnResponse> response =
      co_await parts_.kv.Txn(std::move(txn), caller);
  if (!response.ok()) co_return response.status();
  held.revision = response->header().revision();
  if (!response->succeeded()) {
    const auto& mine = response->responses(0).response_range();
    if (mine.kvs_size() == 0) co_return SessionExpiredError();
    held.revision = mine.kvs(0).create_revision();
    *existing = mine.kvs(0).value();
  }
  held.header = response->header();
  const auto& owner = response->responses(1).response_range();
  if (owner.kvs_size() == 0 || owner.kvs(0).create_revision() == held.revision) co_return held;
#if KEEL_FAILPOINTS
  if (skip_wait_) co_return held;
#endif

  // If the call is cut off while it waits, the key goes again (etcd's
  // Mutex.Lock and Election.Campaign on a cancelled context).
  struct WithdrawIfAbandoned {
    Contention* self;
    const Contender* held;
    const AuthInfo* caller;
    bool armed = true;
    ~WithdrawIfAbandoned() {
      if (armed) self->cleanup_.Start(self->Withdraw(held->key, held->revision, *caller));
    }
  } guard{this, &held, &caller};
  absl::Status waited = co_await WaitDeletes(prefix, held.revision - 1, caller);
  guard.armed = false;
  if (!waited.ok()) {
    co_await Withdraw(held.key, held.revision, caller);
    co_return waited;
  }
  co_return held;
}

Task<absl::StatusOr<Contender>> Contention::Lock(std::string name, int64_t lease,
                                                 AuthInfo caller) {
  std::string existing;
  absl::StatusOr<Contender> held = co_await Contend(name + "/", lease, "", caller, &existing);
  if (!held.ok()) co_return held;
  // The lease may have ended while this waited: then the key is gone and
  // the lock is not held (etcd 3.5's check, which 3.4's Mutex lacked).
  etcdserverpb::RangeRequest mine;
  mine.set_key(held->key);
  absl::StatusOr<etcdserverpb::RangeResponse> still =
      co_await parts_.kv.Range(std::move(mine), caller);
  if (!still.ok()) {
    co_await Withdraw(held->key, held->revision, caller);
    co_return still.status();
  }
  if (still->kvs_size() == 0 || still->kvs(0).create_revision() != held->revision) {
    co_return SessionExpiredError();
  }
  held->header = still->header();
  co_return held;
}

Task<absl::StatusOr<Contender>> Contention::Campaign(std::string name, int64_t lease,
                                                     std::string value, AuthInfo caller) {
  std::string existing = value;
  absl::StatusOr<Contender> held =
      co_await Contend(name + "/", lease, value, caller, &existing);
  if (!held.ok() || existing == value) co_return held;
  // This lease campaigned before with another value.
  absl::StatusOr<etcdserverpb::ResponseHeader> proclaimed =
      co_await Proclaim(held->key, held->revision, lease, std::move(value), caller);
  if (!proclaimed.ok()) {
    co_await Withdraw(held->key, held->revision, caller);
    co_return proclaimed.status();
  }
  co_return held;
}

Task<absl::StatusOr<etcdserverpb::ResponseHeader>> Contention::Proclaim(
    std::string key, int64_t revision, int64_t lease, std::string value, AuthInfo caller) {
  etcdserverpb::TxnRequest txn;
  CompareCreate(txn, key, revision);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(std::move(value));
  put->set_lease(lease);
  absl::StatusOr<etcdserverpb::TxnResponse> response =
      co_await parts_.kv.Txn(std::move(txn), std::move(caller));
  if (!response.ok()) co_return response.status();
  if (!response->succeeded()) co_return ElectionNotLeaderError();
  co_return response->header();
}

Task<absl::StatusOr<etcdserverpb::ResponseHeader>> Contention::Resign(std::string key,
                                                                      int64_t revision,
                                                                      AuthInfo caller) {
  etcdserverpb::TxnRequest txn;
  CompareCreate(txn, key, revision);
  txn.add_success()->mutable_request_delete_range()->set_key(key);
  absl::StatusOr<etcdserverpb::TxnResponse> response =
      co_await parts_.kv.Txn(std::move(txn), std::move(caller));
  if (!response.ok()) co_return response.status();
  co_return response->header();
}

Task<absl::StatusOr<etcdserverpb::ResponseHeader>> Contention::Unlock(std::string key,
                                                                      AuthInfo caller) {
  etcdserverpb::DeleteRangeRequest del;
  del.set_key(std::move(key));
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> response =
      co_await parts_.kv.DeleteRange(std::move(del), std::move(caller));
  if (!response.ok()) co_return response.status();
  co_return response->header();
}

Task<absl::StatusOr<etcdserverpb::RangeResponse>> Contention::Leader(std::string name,
                                                                     AuthInfo caller) {
  absl::StatusOr<etcdserverpb::RangeResponse> first =
      co_await parts_.kv.Range(FirstCreated(name + "/"), std::move(caller));
  if (!first.ok()) co_return first.status();
  if (first->kvs_size() == 0) co_return ElectionNoLeaderError();
  co_return first;
}

Task<absl::Status> Contention::Observe(std::string name, AuthInfo caller, LeaderSink deliver) {
  const std::string prefix = name + "/";
  while (true) {
    absl::StatusOr<etcdserverpb::RangeResponse> first =
        co_await parts_.kv.Range(FirstCreated(prefix), caller);
    if (!first.ok()) co_return first.status();
    etcdserverpb::ResponseHeader header = first->header();
    mvccpb::KeyValue leader;
    if (first->kvs_size() > 0) {
      leader = first->kvs(0);
    } else {
      // No leader yet: the first key put under the prefix leads.
      std::unique_ptr<WatchStream> stream = parts_.hub.NewStream();
      WatchOptions options;
      options.key = prefix;
      options.range_end = PrefixEnd(prefix);
      options.start_revision = header.revision() + 1;
      options.no_delete = true;
      absl::StatusOr<int64_t> id = stream->Watch(std::move(options));
      if (!id.ok()) co_return id.status();
      bool found = false;
      while (!found) {
        WatchResponse response = co_await stream->Next();
        if (response.canceled || response.compact_revision != 0) {
          co_return LostWatcher(response);
        }
        ForEachEvent(response, [&](const store::Event& event) {
          if (found) return;
          leader = ToWireKv(event.kv);
          found = true;
        });
      }
      // As etcd: the header names the revision of the leader's put.
      header = parts_.headers.Make(leader.mod_revision());
    }
    absl::Status sent = co_await deliver(header, leader);
    if (!sent.ok()) co_return sent;

    // Follow the leader's key: each new value, until it is deleted.
    std::unique_ptr<WatchStream> stream = parts_.hub.NewStream();
    WatchOptions options;
    options.key = leader.key();
    options.start_revision = header.revision() + 1;
    absl::StatusOr<int64_t> id = stream->Watch(std::move(options));
    if (!id.ok()) co_return id.status();
    bool deleted = false;
    while (!deleted) {
      WatchResponse response = co_await stream->Next();
      if (response.canceled || response.compact_revision != 0) co_return LostWatcher(response);
      std::vector<mvccpb::KeyValue> values;
      ForEachEvent(response, [&](const store::Event& event) {
        if (deleted) return;
        if (event.type == store::EventType::kDelete) {
          deleted = true;
          return;
        }
        values.push_back(ToWireKv(event.kv));
      });
      for (mvccpb::KeyValue& value : values) {
        absl::Status changed =
            co_await deliver(parts_.headers.Make(value.mod_revision()), std::move(value));
        if (!changed.ok()) co_return changed;
      }
    }
  }
}

}  // namespace keel::node
