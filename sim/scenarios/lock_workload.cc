// The lock workload's clients; see lock_workload.h.
#include "sim/scenarios/lock_workload.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "client/concurrency.h"
#include "net/task_group.h"
#include "proto/v3lock.pb.h"
#include "runtime/when.h"

namespace keel::sim::cluster {
namespace {

constexpr int64_t kLeaseTtlSeconds = 3;
constexpr Duration kCallTimeout = Seconds(2);
// Lock may wait for every other client's hold.
constexpr Duration kLockTimeout = Seconds(10);
constexpr int kMaxWritesPerHold = 4;
constexpr int64_t kMaxThinkMs = 300;

// Keeps `lease` alive until the caller drops the task.
Task<void> KeepAlive(client::EtcdClient* client, Clock* clock, int64_t lease, int64_t ttl) {
  (void)co_await client::KeepSessionAlive(*client, *clock, lease, ttl);
}

}  // namespace

LockWorkload::LockWorkload(std::vector<std::string> endpoints, std::vector<uint64_t> seeds)
    : endpoints_(std::move(endpoints)), seeds_(std::move(seeds)) {}

client::ClientOptions LockWorkload::OptionsFor(int id) const {
  client::ClientOptions options;
  for (size_t i = 0; i < endpoints_.size(); i++) {
    options.endpoints.push_back(endpoints_[(static_cast<size_t>(id) + i) % endpoints_.size()]);
  }
  options.dial_timeout = Milliseconds(500);
  return options;
}

Task<void> LockWorkload::Run(Env& env) {
  std::vector<Task<void>> tasks;
  for (int c = 0; c < clients(); c++) tasks.push_back(RunClient(env, c));
  running_ = clients();
  started_ = true;
  co_await WhenAll(std::move(tasks));
  co_await final_requested_.Wait();
  co_await FinalHold(env);
}

Task<void> LockWorkload::FinalHold(Env& env) {
  const int id = clients();
  client::EtcdClient client(env, OptionsFor(id));
  Random random(seeds_.empty() ? 1 : seeds_[0] ^ 0xf1a1);
  const uint64_t before = stats_.fenced_ok;
  while (stats_.fenced_ok == before) {
    co_await Round(env, client, random, id, /*calm=*/true);
    if (stats_.fenced_ok == before) co_await env.clock().Sleep(Milliseconds(200));
  }
  final_done_ = true;
}

Task<void> LockWorkload::RunClient(Env& env, int id) {
  client::EtcdClient client(env, OptionsFor(id));
  Random random(seeds_[static_cast<size_t>(id)]);
  while (!draining_) {
    co_await Round(env, client, random, id, /*calm=*/false);
    co_await env.clock().Sleep(Milliseconds(random.UniformRange(0, kMaxThinkMs)));
  }
  running_--;
}

Task<void> LockWorkload::Round(Env& env, client::EtcdClient& client, Random& random, int id,
                               bool calm) {
  Clock& clock = env.clock();
  stats_.rounds++;
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(kLeaseTtlSeconds);
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> granted =
      co_await client.LeaseGrant(grant, client::RequestOptions::WithTimeout(kCallTimeout));
  if (!granted.ok()) {
    stats_.failed++;
    co_return;
  }
  const int64_t lease = granted->id();
  const int64_t ttl = granted->ttl();
  // Dropped when the round ends: the lease then runs out on its own.
  net::TaskGroup keeper(clock.executor());
  if (!calm && random.OneIn(4)) {
    stats_.unkept_leases++;
  } else {
    keeper.Start(KeepAlive(&client, &clock, lease, ttl));
  }

  v3lockpb::LockRequest lock;
  lock.set_name(kLockName);
  lock.set_lease(lease);
  absl::StatusOr<v3lockpb::LockResponse> locked = co_await client.Unary<v3lockpb::LockResponse>(
      "/v3lockpb.Lock/Lock", lock, false, client::RequestOptions::WithTimeout(kLockTimeout));
  if (!locked.ok()) {
    stats_.failed++;
    co_return;
  }
  stats_.acquired++;
  // The fencing token: the lock key's create revision.
  etcdserverpb::RangeRequest mine;
  mine.set_key(locked->key());
  absl::StatusOr<etcdserverpb::RangeResponse> found =
      co_await client.Range(mine, client::RequestOptions::WithTimeout(kCallTimeout));
  if (!found.ok() || found->kvs_size() == 0) {
    stats_.failed++;
    co_return;
  }
  const int64_t token = found->kvs(0).create_revision();

  const int writes = calm ? 1 : static_cast<int>(random.UniformRange(1, kMaxWritesPerHold));
  for (int i = 0; i < writes; i++) {
    if (!calm && random.OneIn(6)) {
      // A pause past the lease: the lock may have passed on meanwhile.
      stats_.pauses++;
      co_await clock.Sleep(Seconds(ttl + 1));
    }
    etcdserverpb::TxnRequest txn;
    auto* compare = txn.add_compare();
    compare->set_key(locked->key());
    compare->set_target(etcdserverpb::Compare::CREATE);
    compare->set_result(etcdserverpb::Compare::EQUAL);
    compare->set_create_revision(token);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(kLockDataKey);
    put->set_value(absl::StrFormat("client %d token %d write %d", id, token, i));
    absl::StatusOr<etcdserverpb::TxnResponse> done =
        co_await client.Txn(txn, client::RequestOptions::WithTimeout(kCallTimeout));
    if (!done.ok()) {
      stats_.failed++;
      break;
    }
    if (!done->succeeded()) {
      stats_.fenced_refused++;
      break;
    }
    stats_.fenced_ok++;
    writes_.push_back(check::FencedWrite{.client = id,
                                         .lock = kLockName,
                                         .token = token,
                                         .revision = done->header().revision()});
    co_await clock.Sleep(Milliseconds(random.UniformRange(0, kMaxThinkMs)));
  }
  v3lockpb::UnlockRequest unlock;
  unlock.set_key(locked->key());
  absl::StatusOr<v3lockpb::UnlockResponse> unlocked =
      co_await client.Unary<v3lockpb::UnlockResponse>(
          "/v3lockpb.Lock/Unlock", unlock, false,
          client::RequestOptions::WithTimeout(kCallTimeout));
  if (!unlocked.ok()) stats_.failed++;
}

}  // namespace keel::sim::cluster
