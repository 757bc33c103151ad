// clientv3/concurrency's session, mutex and election; see concurrency.h.
#include "client/concurrency.h"

#include "absl/strings/str_format.h"
#include "client/streams.h"
#include "runtime/strings.h"

namespace keel::client {

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(end.back() + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

namespace {

absl::Status SessionExpired() { return absl::NotFoundError("session expired"); }

// Waits for a DELETE of `key` at or after `revision`.
Task<absl::Status> WaitDelete(EtcdClient& client, std::string key, int64_t revision,
                              RequestOptions options) {
  options.require_leader = true;
  absl::StatusOr<std::unique_ptr<WatchStream>> stream = co_await client.Watch(options);
  if (!stream.ok()) co_return stream.status();
  etcdserverpb::WatchCreateRequest request;
  request.set_key(key);
  request.set_start_revision(revision);
  absl::Status created = co_await (*stream)->Create(std::move(request));
  if (!created.ok()) co_return created;
  while (true) {
    std::optional<etcdserverpb::WatchResponse> response = co_await (*stream)->Receive();
    if (!response.has_value()) {
      co_return (*stream)->status().value_or(absl::UnavailableError("lost watcher waiting for delete"));
    }
    if (response->canceled()) co_return absl::UnavailableError("lost watcher waiting for delete");
    for (const auto& event : response->events()) {
      if (event.type() == mvccpb::Event::DELETE) co_return absl::OkStatus();
    }
  }
}

// Waits until no key under `prefix` was created at or before `max_revision`.
Task<absl::Status> WaitDeletes(EtcdClient& client, std::string prefix, int64_t max_revision,
                               RequestOptions options) {
  while (true) {
    etcdserverpb::RangeRequest last;
    last.set_key(prefix);
    last.set_range_end(PrefixEnd(prefix));
    last.set_max_create_revision(max_revision);
    last.set_sort_target(etcdserverpb::RangeRequest::CREATE);
    last.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
    last.set_limit(1);
    absl::StatusOr<etcdserverpb::RangeResponse> found = co_await client.Range(last, options);
    if (!found.ok()) co_return found.status();
    if (found->kvs_size() == 0) co_return absl::OkStatus();
    absl::Status deleted = co_await WaitDelete(client, found->kvs(0).key(),
                                               found->header().revision(), options);
    if (!deleted.ok()) co_return deleted;
  }
}

etcdserverpb::RangeRequest FirstCreated(const std::string& prefix) {
  etcdserverpb::RangeRequest first;
  first.set_key(prefix);
  first.set_range_end(PrefixEnd(prefix));
  first.set_sort_target(etcdserverpb::RangeRequest::CREATE);
  first.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
  first.set_limit(1);
  return first;
}

// Puts the contender key if absent (else reads it), then waits for its
// turn. `value` is set only when the key is created; *existing_value gets
// the value of a key that was already there.
Task<absl::StatusOr<Held>> Contend(EtcdClient& client, std::string prefix, int64_t lease,
                                   std::string value, std::string* existing_value,
                                   RequestOptions options) {
  Held held;
  held.key = ContenderKey(prefix, lease);
  etcdserverpb::TxnRequest txn;
  auto* compare = txn.add_compare();
  compare->set_key(held.key);
  compare->set_target(etcdserverpb::Compare::CREATE);
  compare->set_result(etcdserverpb::Compare::EQUAL);
  compare->set_create_revision(0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(held.key);
  put->set_value(value);
  put->set_lease(lease);
  *txn.add_success()->mutable_request_range() = FirstCreated(prefix);
  txn.add_failure()->mutable_request_range()->set_key(held.key);
  *txn.add_failure()->mutable_request_range() = FirstCreated(prefix);
  absl::StatusOr<etcdserverpb::TxnResponse> response = co_await client.Txn(txn, options);
  if (!response.ok()) co_return response.status();
  held.revision = response->header().revision();
  if (!response->succeeded()) {
    const auto& mine = response->responses(0).response_range();
    if (mine.kvs_size() == 0) co_return SessionExpired();
    held.revision = mine.kvs(0).create_revision();
    *existing_value = mine.kvs(0).value();
  }
  const auto& owner = response->responses(1).response_range();
  if (owner.kvs_size() == 0 || owner.kvs(0).create_revision() == held.revision) {
    held.header = response->header();
    co_return held;
  }
  absl::Status waited = co_await WaitDeletes(client, prefix, held.revision - 1, options);
  if (!waited.ok()) {
    (void)co_await Release(client, held.key, options);
    co_return waited;
  }
  etcdserverpb::RangeRequest check;
  check.set_key(held.key);
  absl::StatusOr<etcdserverpb::RangeResponse> still = co_await client.Range(check, options);
  if (!still.ok()) {
    (void)co_await Release(client, held.key, options);
    co_return still.status();
  }
  if (still->kvs_size() == 0) co_return SessionExpired();
  held.header = still->header();
  co_return held;
}

}  // namespace

std::string ContenderKey(std::string_view prefix, int64_t lease) {
  return absl::StrFormat("%s%x", prefix, lease);
}

Task<absl::Status> KeepSessionAlive(EtcdClient& client, Clock& clock, int64_t lease,
                                    int64_t ttl_seconds) {
  TimePoint expires = clock.Now() + Seconds(ttl_seconds);
  while (clock.Now() < expires) {
    absl::StatusOr<std::unique_ptr<LeaseKeepAliveStream>> stream =
        co_await client.LeaseKeepAlive(RequestOptions::WithTimeout(expires - clock.Now()));
    if (!stream.ok()) break;
    while (true) {
      absl::Status sent = co_await (*stream)->Send(lease);
      if (!sent.ok()) break;
      std::optional<std::optional<etcdserverpb::LeaseKeepAliveResponse>> answer =
          co_await clock.WithTimeout(expires - clock.Now(), (*stream)->Receive());
      if (!answer.has_value()) co_return SessionExpired();
      if (!answer->has_value()) break;
      if ((*answer)->ttl() <= 0) co_return SessionExpired();
      expires = clock.Now() + Seconds((*answer)->ttl());
      co_await clock.Sleep(Seconds(std::max<int64_t>((*answer)->ttl() / 3, 1)));
    }
    co_await clock.Sleep(Milliseconds(500));
  }
  co_return SessionExpired();
}

Task<absl::StatusOr<Held>> Lock(EtcdClient& client, std::string name, int64_t lease,
                                RequestOptions options) {
  std::string existing;
  co_return co_await Contend(client, name + "/", lease, "", &existing, options);
}

Task<absl::StatusOr<Held>> Campaign(EtcdClient& client, std::string election, int64_t lease,
                                    std::string value, RequestOptions options) {
  const std::string prefix = election + "/";
  const std::string key = ContenderKey(prefix, lease);
  std::string existing = value;
  absl::StatusOr<Held> held = co_await Contend(client, prefix, lease, value, &existing, options);
  if (held.ok() && existing != value) {
    // Proclaim: this lease campaigned before with another value.
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value(value);
    put.set_lease(lease);
    absl::StatusOr<etcdserverpb::PutResponse> proclaimed = co_await client.Put(put, options);
    if (!proclaimed.ok()) co_return proclaimed.status();
  }
  co_return held;
}

Task<absl::Status> Release(EtcdClient& client, std::string key, RequestOptions options) {
  etcdserverpb::DeleteRangeRequest del;
  del.set_key(std::move(key));
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> deleted =
      co_await client.DeleteRange(std::move(del), options);
  co_return deleted.status();
}

Task<absl::Status> Observe(EtcdClient& client, std::string election,
                           std::function<void(const etcdserverpb::RangeResponse&)> on_leader,
                           RequestOptions options) {
  const std::string prefix = election + "/";
  options.require_leader = true;
  while (true) {
    absl::StatusOr<etcdserverpb::RangeResponse> first =
        co_await client.Range(FirstCreated(prefix), options);
    if (!first.ok()) co_return first.status();
    absl::StatusOr<std::unique_ptr<WatchStream>> stream = co_await client.Watch(options);
    if (!stream.ok()) co_return stream.status();
    mvccpb::KeyValue leader;
    etcdserverpb::ResponseHeader header = first->header();
    if (first->kvs_size() > 0) {
      leader = first->kvs(0);
    } else {
      // No leader yet: wait for the first key put under the prefix.
      etcdserverpb::WatchCreateRequest request;
      request.set_key(prefix);
      request.set_range_end(PrefixEnd(prefix));
      request.set_start_revision(first->header().revision() + 1);
      absl::Status created = co_await (*stream)->Create(std::move(request));
      if (!created.ok()) co_return created;
      bool found = false;
      while (!found) {
        std::optional<etcdserverpb::WatchResponse> response = co_await (*stream)->Receive();
        if (!response.has_value()) {
          co_return (*stream)->status().value_or(absl::UnavailableError("elect: observer lost"));
        }
        for (const auto& event : response->events()) {
          if (event.type() == mvccpb::Event::PUT) {
            leader = event.kv();
            header = response->header();
            found = true;
            break;
          }
        }
      }
      absl::StatusOr<std::unique_ptr<WatchStream>> fresh = co_await client.Watch(options);
      if (!fresh.ok()) co_return fresh.status();
      stream = std::move(fresh);
    }
    etcdserverpb::RangeResponse shown;
    *shown.mutable_header() = header;
    *shown.add_kvs() = leader;
    shown.set_count(1);
    on_leader(shown);
    // Follow the leader's key until it is deleted.
    etcdserverpb::WatchCreateRequest follow;
    follow.set_key(leader.key());
    follow.set_start_revision(leader.mod_revision() + 1);
    absl::Status created = co_await (*stream)->Create(std::move(follow));
    if (!created.ok()) co_return created;
    bool deleted = false;
    while (!deleted) {
      std::optional<etcdserverpb::WatchResponse> response = co_await (*stream)->Receive();
      if (!response.has_value()) {
        co_return (*stream)->status().value_or(absl::UnavailableError("elect: observer lost"));
      }
      for (const auto& event : response->events()) {
        if (event.type() == mvccpb::Event::DELETE) {
          deleted = true;
          break;
        }
        // A new value of the same leader (Proclaim).
        etcdserverpb::RangeResponse changed;
        *changed.mutable_header() = response->header();
        *changed.add_kvs() = event.kv();
        changed.set_count(1);
        on_leader(changed);
      }
    }
  }
}

}  // namespace keel::client
