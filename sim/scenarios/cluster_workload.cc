// The cluster scenario's clients and watchers.
#include "sim/scenarios/cluster_workload.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "client/outcome.h"
#include "client/streams.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "runtime/when.h"
#include "sim/scenarios/cluster_convert.h"

namespace keel::sim::cluster {
namespace {

// Bounds on one request, drawn per request: shorter than the server's own
// request timeout (7 s) now and then, so some writes end unknown while the
// server still works on them.
constexpr int64_t kMinTimeoutMs = 1500;
constexpr int64_t kMaxTimeoutMs = 8000;
// Pause between a client's requests.
constexpr int64_t kMaxThinkMs = 30;
// How long a watcher keeps one watch open.
constexpr int64_t kMinWatchMs = 500;
constexpr int64_t kMaxWatchMs = 6000;
// Between a watcher's progress requests (on watches that send them).
constexpr int64_t kMinProgressRequestMs = 100;
constexpr int64_t kMaxProgressRequestMs = 1500;
// Lease TTLs: long enough to outlive an election now and then, short
// enough that unattended leases expire within a run.
constexpr int64_t kMinLeaseTtlSeconds = 2;
constexpr int64_t kMaxLeaseTtlSeconds = 8;
// Leases a client keeps track of.
constexpr size_t kMaxLeasesPerClient = 6;
// Between attempts of the final read-out.
constexpr Duration kFinalReadRetry = Milliseconds(200);

}  // namespace

namespace {
check::ClientId AfterClients(const std::vector<PlanClient>& clients) {
  check::ClientId next = 0;
  for (const PlanClient& client : clients) {
    next = std::max<check::ClientId>(next, client.id + 1);
  }
  return next;
}
}  // namespace

ClusterWorkload::ClusterWorkload(std::vector<std::string> endpoints,
                                 std::vector<PlanClient> clients, int watchers, int keys,
                                 WorkloadBugs bugs)
    : endpoints_(std::move(endpoints)),
      plan_(std::move(clients)),
      slots_run_(plan_.size(), 0),
      watcher_base_(AfterClients(plan_)),
      watchers_(watchers),
      keys_(keys),
      bugs_(bugs) {
  KEEL_ASSERT(!endpoints_.empty());
  KEEL_ASSERT(keys_ >= 2);
}

client::ClientOptions ClusterWorkload::OptionsFor(size_t first_endpoint) const {
  client::ClientOptions options;
  // Each client starts on a different member, as clientv3's balancer
  // spreads them.
  for (size_t i = 0; i < endpoints_.size(); i++) {
    options.endpoints.push_back(endpoints_[(first_endpoint + i) % endpoints_.size()]);
  }
  options.dial_timeout = Milliseconds(500);
  return options;
}

int64_t ClusterWorkload::NowNs(const ClientState& state) const {
  return ToNanoseconds(state.env.clock().Now());
}

std::string ClusterWorkload::KeyOf(ClientState& state) {
  // Skewed towards the first keys: a few registers under high contention.
  const uint64_t a = state.random.Uniform(static_cast<uint64_t>(keys_));
  const uint64_t b = state.random.Uniform(static_cast<uint64_t>(keys_));
  return StrCat(kKeyPrefix, std::min(a, b));
}

Task<void> ClusterWorkload::Run(Env& env) {
  std::vector<Task<void>> tasks;
  for (size_t c = 0; c < plan_.size(); c++) tasks.push_back(RunClient(env, c));
  for (int w = 0; w < watchers_; w++) {
    tasks.push_back(RunWatcher(env, watcher_base_ + w, env.random().Next()));
  }
  running_ = static_cast<int>(tasks.size());
  started_ = true;
  co_await WhenAll(std::move(tasks));
  co_await final_read_requested_.Wait();
  co_await FinalRead(env);
}

std::vector<PlanClient> ClusterWorkload::SlotsRun() const {
  std::vector<PlanClient> out = plan_;
  for (size_t c = 0; c < out.size(); c++) out[c].slots.resize(slots_run_[c]);
  return out;
}

Task<void> ClusterWorkload::RunClient(Env& env, size_t index) {
  const PlanClient& plan = plan_[index];
  const check::ClientId id = plan.id;
  ClientState state(env, id, OptionsFor(static_cast<size_t>(id) % endpoints_.size()), plan.seed);
  while (!draining_ && slots_run_[index] < plan.slots.size()) {
    const uint64_t slot = plan.slots[slots_run_[index]++];
    state.random.Reseed(plan.seed + slot * 0x9e3779b97f4a7c15ULL);
    check::Request request = NextRequest(state);
    co_await Issue(state, std::move(request));
    const int64_t think = state.random.UniformRange(0, kMaxThinkMs);
    co_await env.clock().Sleep(Milliseconds(think));
  }
  running_--;
}

check::Request ClusterWorkload::NextLeaseRequest(ClientState& state) {
  Random& r = state.random;
  const uint64_t roll = r.Uniform(100);
  if (state.leases.empty() || roll < 20) {
    check::LeaseGrantRequest grant;
    grant.ttl = r.UniformRange(kMinLeaseTtlSeconds, kMaxLeaseTtlSeconds);
    return grant;
  }
  // Mostly the newest leases: the oldest are left to expire.
  const size_t n = state.leases.size();
  const int64_t lease = state.leases[n - 1 - r.Uniform(std::min<size_t>(n, 3))];
  if (roll < 50) {
    check::PutRequest put;
    put.key = KeyOf(state);
    put.value = StrCat("c", state.id, "-", ++state.writes);
    put.lease = lease;
    return put;
  }
  if (roll < 80) {
    check::LeaseKeepAliveRequest keepalive;
    keepalive.id = lease;
    return keepalive;
  }
  if (roll < 92) {
    check::LeaseTimeToLiveRequest ttl;
    ttl.id = lease;
    ttl.keys = r.OneIn(2);
    return ttl;
  }
  check::LeaseRevokeRequest revoke;
  revoke.id = lease;
  return revoke;
}

check::Request ClusterWorkload::NextRequest(ClientState& state) {
  Random& r = state.random;
  const uint64_t roll = r.Uniform(100);
  if (roll >= 92) return NextLeaseRequest(state);
  auto value = [&] {
    std::string v = StrCat("c", state.id, "-", ++state.writes);
    // Now and then a large value, to fill raft messages and memtables.
    if (r.OneIn(40)) v.append(static_cast<size_t>(r.UniformRange(1000, 20000)), 'x');
    return v;
  };
  if (roll < 37) {
    if (roll < 22) {
      check::PutRequest put;
      put.key = KeyOf(state);
      put.value = value();
      put.prev_kv = r.OneIn(4);
      return put;
    }
    check::RangeRequest get;
    get.key = KeyOf(state);
    return get;
  }
  if (roll < 47) {
    check::RangeRequest get;
    get.key = KeyOf(state);
    get.serializable = true;
    return get;
  }
  if (roll < 55) {
    check::RangeRequest scan;
    scan.key = kKeyPrefix;
    scan.range_end = kKeyPrefixEnd;
    if (r.OneIn(3)) scan.limit = r.UniformRange(1, 4);
    scan.serializable = r.OneIn(4);
    return scan;
  }
  if (roll < 60) {
    check::RangeRequest past;
    past.key = kKeyPrefix;
    past.range_end = kKeyPrefixEnd;
    past.revision = std::max<int64_t>(1, state.last_revision - r.UniformRange(0, 20));
    return past;
  }
  if (roll < 67) {
    check::DeleteRequest del;
    if (r.OneIn(6)) {
      del.key = StrCat(kKeyPrefix, r.Uniform(static_cast<uint64_t>(keys_)));
      del.range_end = kKeyPrefixEnd;
    } else {
      del.key = KeyOf(state);
    }
    del.prev_kv = r.OneIn(2);
    return del;
  }
  if (roll < 82) {
    // Compare-and-swap on the key's mod revision as this client last saw
    // it (0: absent); on failure, read the key.
    check::TxnRequest txn;
    check::Compare compare;
    compare.key = KeyOf(state);
    compare.target = check::CompareTarget::kMod;
    compare.result = check::CompareResult::kEqual;
    compare.number = state.mod_revisions[compare.key];
    check::PutRequest put;
    put.key = compare.key;
    put.value = value();
    check::RangeRequest get;
    get.key = compare.key;
    txn.compare.push_back(std::move(compare));
    txn.success.emplace_back(std::move(put));
    txn.failure.emplace_back(std::move(get));
    return txn;
  }
  if (roll < 87) {
    // Two keys written in one revision (and sometimes a third deleted).
    check::TxnRequest txn;
    for (int i = 0; i < 2; i++) {
      check::PutRequest put;
      put.key = StrCat(kKeyPrefix, keys_ - 1 - i);
      put.value = value();
      txn.success.emplace_back(std::move(put));
    }
    if (r.OneIn(3)) {
      check::DeleteRequest del;
      del.key = KeyOf(state);
      if (del.key != StrCat(kKeyPrefix, keys_ - 1) && del.key != StrCat(kKeyPrefix, keys_ - 2)) {
        txn.success.emplace_back(std::move(del));
      }
    }
    return txn;
  }
  if (roll < 88 && state.last_revision > 30 && r.OneIn(3)) {
    check::CompactRequest compact;
    compact.revision = state.last_revision - r.UniformRange(10, 30);
    return compact;
  }
  check::PutRequest put;
  put.key = KeyOf(state);
  put.value = value();
  return put;
}

void ClusterWorkload::Observe(ClientState& state, const check::Request& request,
                              const check::Response& response, int64_t revision) {
  state.last_revision = std::max(state.last_revision, revision);
  auto forget = [&state](int64_t lease) {
    state.leases.erase(std::remove(state.leases.begin(), state.leases.end(), lease),
                       state.leases.end());
  };
  if (const auto* grant = std::get_if<check::LeaseGrantResponse>(&response)) {
    stats_.leases_granted++;
    state.leases.push_back(grant->id);
    if (state.leases.size() > kMaxLeasesPerClient) state.leases.erase(state.leases.begin());
    return;
  }
  if (const auto* revoke = std::get_if<check::LeaseRevokeRequest>(&request)) {
    forget(revoke->id);
    return;
  }
  if (const auto* keepalive = std::get_if<check::LeaseKeepAliveRequest>(&request)) {
    if (std::get<check::LeaseKeepAliveResponse>(response).ttl <= 0) {
      stats_.leases_seen_ended++;
      forget(keepalive->id);
    }
    return;
  }
  if (const auto* ttl = std::get_if<check::LeaseTimeToLiveRequest>(&request)) {
    if (std::get<check::LeaseTimeToLiveResponse>(response).ttl < 0) {
      stats_.leases_seen_ended++;
      forget(ttl->id);
    }
    return;
  }
  if (const auto* put = std::get_if<check::PutRequest>(&request)) {
    state.mod_revisions[put->key] = revision;
  } else if (const auto* get = std::get_if<check::RangeRequest>(&request)) {
    const auto& got = std::get<check::RangeResponse>(response);
    if (get->revision == 0 && get->range_end.empty()) {
      state.mod_revisions[get->key] = got.kvs.empty() ? 0 : got.kvs[0].mod_revision;
    }
  } else if (const auto* txn = std::get_if<check::TxnResponse>(&response)) {
    for (const check::TxnResponseOp& op : txn->responses) {
      if (const auto* got = std::get_if<check::RangeResponse>(&op)) {
        const auto& compare = std::get<check::TxnRequest>(request).compare;
        if (!compare.empty()) {
          state.mod_revisions[compare[0].key] = got->kvs.empty() ? 0 : got->kvs[0].mod_revision;
        }
      } else if (std::holds_alternative<check::PutResponse>(op) && txn->succeeded) {
        // The CAS's put wrote its key at this revision.
        const auto& compare = std::get<check::TxnRequest>(request).compare;
        if (!compare.empty()) state.mod_revisions[compare[0].key] = revision;
      }
    }
  }
}

void ClusterWorkload::Record(check::OpId op, const absl::Status& status, bool is_write,
                             ClientState& state) {
  const int64_t now = NowNs(state);
  if (is_write && client::MayHaveTakenEffect(status)) {
    stats_.unknown++;
    recorder_.Unknown(op, status.ToString(), now);
  } else {
    stats_.failed++;
    recorder_.Fail(op, status.ToString(), now);
  }
}

Task<void> ClusterWorkload::Issue(ClientState& state, check::Request request) {
  const Duration timeout =
      Milliseconds(state.random.UniformRange(kMinTimeoutMs, kMaxTimeoutMs));
  const client::RequestOptions options = client::RequestOptions::WithTimeout(timeout);
  const check::OpId op = recorder_.Invoke(state.id, request, NowNs(state));
  absl::Status status;
  check::Response response;
  int64_t revision = 0;
  bool is_write = true;
  switch (request.index()) {
    case 0: {
      etcdserverpb::PutRequest wire = ToProto(std::get<check::PutRequest>(request));
      auto got = co_await state.client.Put(std::move(wire), options);
      status = got.status();
      if (got.ok()) {
        response = FromProto(*got);
        revision = got->header().revision();
      }
      break;
    }
    case 1: {
      is_write = false;
      etcdserverpb::RangeRequest wire = ToProto(std::get<check::RangeRequest>(request));
      if (bugs_.stale_read && wire.revision() == 0) wire.set_serializable(true);
      auto got = co_await state.client.Range(std::move(wire), options);
      status = got.status();
      if (got.ok()) {
        response = FromProto(*got);
        revision = got->header().revision();
      }
      break;
    }
    case 2: {
      etcdserverpb::DeleteRangeRequest wire = ToProto(std::get<check::DeleteRequest>(request));
      auto got = co_await state.client.DeleteRange(std::move(wire), options);
      status = got.status();
      if (got.ok()) {
        response = FromProto(*got);
        revision = got->header().revision();
      }
      break;
    }
    case 3: {
      etcdserverpb::TxnRequest wire = ToProto(std::get<check::TxnRequest>(request));
      auto got = co_await state.client.Txn(std::move(wire), options);
      status = got.status();
      if (got.ok()) {
        response = FromProto(*got);
        revision = got->header().revision();
      }
      break;
    }
    case 4: {
      etcdserverpb::CompactionRequest wire = ToProto(std::get<check::CompactRequest>(request));
      auto got = co_await state.client.Compact(std::move(wire), options);
      status = got.status();
      if (got.ok()) {
        response = check::CompactResponse{};
        revision = got->header().revision();
      }
      break;
    }
    default:
      status = co_await IssueLease(state, request, options, &response, &revision, &is_write);
      break;
  }
  if (status.ok()) {
    stats_.ok++;
    Observe(state, request, response, revision);
    recorder_.Ok(op, std::move(response), revision, NowNs(state));
  } else {
    Record(op, status, is_write, state);
  }
}

Task<absl::Status> ClusterWorkload::IssueLease(ClientState& state,
                                               const check::Request& request,
                                               client::RequestOptions options,
                                               check::Response* response, int64_t* revision,
                                               bool* is_write) {
  if (const auto* grant = std::get_if<check::LeaseGrantRequest>(&request)) {
    etcdserverpb::LeaseGrantRequest wire;
    wire.set_ttl(grant->ttl);
    wire.set_id(grant->id);
    auto got = co_await state.client.LeaseGrant(std::move(wire), options);
    if (!got.ok()) co_return got.status();
    *response = check::LeaseGrantResponse{.id = got->id(), .ttl = got->ttl()};
    *revision = got->header().revision();
    co_return absl::OkStatus();
  }
  if (const auto* revoke = std::get_if<check::LeaseRevokeRequest>(&request)) {
    etcdserverpb::LeaseRevokeRequest wire;
    wire.set_id(revoke->id);
    auto got = co_await state.client.LeaseRevoke(std::move(wire), options);
    if (!got.ok()) co_return got.status();
    *response = check::LeaseRevokeResponse{};
    *revision = got->header().revision();
    co_return absl::OkStatus();
  }
  if (const auto* keepalive = std::get_if<check::LeaseKeepAliveRequest>(&request)) {
    auto got = co_await state.client.LeaseKeepAliveOnce(keepalive->id, options);
    if (!got.ok()) co_return got.status();
    *response = check::LeaseKeepAliveResponse{.ttl = got->ttl()};
    *revision = got->header().revision();
    co_return absl::OkStatus();
  }
  const auto& ttl = std::get<check::LeaseTimeToLiveRequest>(request);
  *is_write = false;
  etcdserverpb::LeaseTimeToLiveRequest wire;
  wire.set_id(ttl.id);
  wire.set_keys(ttl.keys);
  auto got = co_await state.client.LeaseTimeToLive(std::move(wire), options);
  if (!got.ok()) co_return got.status();
  check::LeaseTimeToLiveResponse out;
  out.ttl = got->ttl();
  out.granted_ttl = got->grantedttl();
  for (const std::string& key : got->keys()) out.keys.push_back(key);
  *response = std::move(out);
  *revision = got->header().revision();
  co_return absl::OkStatus();
}

Task<void> ClusterWorkload::RunWatcher(Env& env, check::ClientId id, uint64_t seed) {
  ClientState state(env, id, OptionsFor(static_cast<size_t>(id) % endpoints_.size()), seed);
  while (!draining_) {
    co_await WatchOnce(state);
    co_await env.clock().Sleep(Milliseconds(state.random.UniformRange(0, 200)));
  }
  running_--;
}

Task<void> ClusterWorkload::WatchOnce(ClientState& state) {
  Random& r = state.random;
  client::RequestOptions options = client::RequestOptions::WithTimeout(Seconds(2));
  options.require_leader = r.OneIn(2);
  auto stream = co_await state.client.Watch(options);
  if (!stream.ok()) co_return;
  check::WatchRequest request;
  if (r.OneIn(4)) {
    request.key = KeyOf(state);
  } else {
    request.key = kKeyPrefix;
    request.range_end = kKeyPrefixEnd;
  }
  // From now, or replaying a little history (perhaps compacted).
  if (!r.OneIn(3)) {
    request.start_revision = std::max<int64_t>(1, state.last_revision - r.UniformRange(0, 40));
  }
  request.prev_kv = r.OneIn(2);
  // Progress notifications, as etcd clients use them: on the server's
  // ticker (progress_notify), asked for now and then (WatchProgressRequest,
  // clientv3's RequestProgress), both, or neither.
  request.progress_notify = r.OneIn(2);
  const bool request_progress = r.OneIn(3);
  const check::OpId op = recorder_.StartWatch(state.id, request, NowNs(state));
  stats_.watches++;
  // Which member serves the watch: the history does not say, the log does.
  state.env.log().Info("watch started", {{"op", op},
                                         {"endpoint", (*stream)->endpoint()},
                                         {"start-revision", request.start_revision}});
  etcdserverpb::WatchCreateRequest create = ToProto(request);
  absl::Status sent = co_await (*stream)->Create(std::move(create));
  const TimePoint until =
      state.env.clock().Now() + Milliseconds(r.UniformRange(kMinWatchMs, kMaxWatchMs));
  if (sent.ok()) {
    std::vector<Task<void>> tasks;
    tasks.push_back(ReceiveWatch(state, **stream, op, until));
    // The requests stop when the receiving does (WhenAny cancels them).
    if (request_progress) tasks.push_back(RequestProgressNowAndThen(state, **stream));
    co_await WhenAny(std::move(tasks));
  }
  (*stream)->Close();
  recorder_.EndWatch(op, NowNs(state));
}

Task<void> ClusterWorkload::ReceiveWatch(ClientState& state, client::WatchStream& stream,
                                         check::OpId op, TimePoint until) {
  bool skipped = false;
  bool announced = false;
  while (!draining_) {
    const Duration left = until - state.env.clock().Now();
    if (left <= Duration::zero()) break;
    auto got = co_await state.env.clock().WithTimeout(left, stream.Receive());
    if (!got.has_value() || !got->has_value()) break;  // time is up, or the stream ended
    const etcdserverpb::WatchResponse& response = **got;
    check::WatchResponse recorded = FromProto(response, NowNs(state));
    if (bugs_.watch_skip && !skipped && recorded.events.size() >= 2) {
      recorded.events.erase(recorded.events.begin() + 1);
      skipped = true;
    }
    if (bugs_.progress_early && !announced && !recorded.events.empty()) {
      check::WatchResponse early;
      early.time_ns = recorded.time_ns;
      early.revision = recorded.revision;
      early.watch_id = recorded.watch_id;
      recorder_.WatchReceived(op, std::move(early));
      announced = true;
    }
    stats_.watch_events += recorded.events.size();
    if (recorded.IsProgressNotify()) stats_.watch_progress++;
    state.last_revision = std::max(state.last_revision, recorded.revision);
    const bool canceled = recorded.canceled;
    recorder_.WatchReceived(op, std::move(recorded));
    if (canceled) break;
  }
}

Task<void> ClusterWorkload::RequestProgressNowAndThen(ClientState& state,
                                                      client::WatchStream& stream) {
  while (true) {
    co_await state.env.clock().Sleep(
        Milliseconds(state.random.UniformRange(kMinProgressRequestMs, kMaxProgressRequestMs)));
    if (!(co_await stream.RequestProgress()).ok()) break;  // the stream ended
  }
  // Leaves the end to the receiving side.
  Event never;
  co_await never.Wait();
}

Task<void> ClusterWorkload::FinalRead(Env& env) {
  ClientState state(env, watcher_base_ + watchers_, OptionsFor(0), env.random().Next());
  while (true) {
    check::RangeRequest scan;
    scan.key = kKeyPrefix;
    scan.range_end = kKeyPrefixEnd;
    const check::OpId op = recorder_.Invoke(state.id, scan, NowNs(state));
    etcdserverpb::RangeRequest wire = ToProto(scan);
    auto got = co_await state.client.Range(std::move(wire),
                                           client::RequestOptions::WithTimeout(Seconds(5)));
    if (got.ok()) {
      recorder_.Ok(op, FromProto(*got), got->header().revision(), NowNs(state));
      recorder_.MarkFinalRead(op);
      final_read_done_ = true;
      co_return;
    }
    recorder_.Fail(op, got.status().ToString(), NowNs(state));
    co_await env.clock().Sleep(kFinalReadRetry);
  }
}

}  // namespace keel::sim::cluster
