// EtcdClient: endpoints and their channels, failover, the retry policy, and
// the typed calls.
#include "client/etcd_client.h"

#include <algorithm>

#include "client/outcome.h"
#include "client/streams.h"
#include "net/grpc_wire.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::client {

// One endpoint's channel, and the dial in progress if any (concurrent calls
// wait for it instead of dialling again).
struct EtcdClient::Endpoint {
  std::unique_ptr<net::GrpcChannel> channel;
  bool dialing = false;
  absl::Status last_dial;
  WaitQueue dialed;
};

namespace {

absl::Status NoAddress() {
  return absl::UnavailableError("there is no address available");
}

// Clears the endpoint's dialing flag however the dialling frame ends (it
// may be destroyed while suspended: a cancelled call).
class DialGuard {
 public:
  DialGuard(bool* dialing, WaitQueue* dialed) : dialing_(dialing), dialed_(dialed) {
    KEEL_ASSERT(!*dialing_);
    *dialing_ = true;
  }
  ~DialGuard() {
    *dialing_ = false;
    dialed_->WakeAll();
  }
  DialGuard(const DialGuard&) = delete;
  DialGuard& operator=(const DialGuard&) = delete;

 private:
  bool* dialing_;
  WaitQueue* dialed_;
};

Task<void> WaitOn(WaitQueue* queue) { co_await queue->Wait(); }

}  // namespace

EtcdClient::EtcdClient(Env& env, ClientOptions options)
    : env_(env), options_(std::move(options)), endpoints_(options_.endpoints) {
  if (options_.tls != nullptr) {
    tls_network_ = std::make_unique<net::TlsNetwork>(env_, nullptr, options_.tls);
  }
  for (size_t i = 0; i < endpoints_.size(); i++) {
    state_.push_back(std::make_unique<Endpoint>());
  }
}

EtcdClient::~EtcdClient() {
  // Channels first: their destruction fails the calls still open on them.
  for (auto& endpoint : state_) endpoint->channel.reset();
  retired_.clear();
}

const std::string& EtcdClient::pinned_endpoint() const {
  static const std::string kNone;
  return endpoints_.empty() ? kNone : endpoints_[pinned_];
}

absl::Status EtcdClient::last_dial_error(std::string_view endpoint) const {
  for (size_t i = 0; i < endpoints_.size(); i++) {
    if (endpoints_[i] == endpoint) return state_[i]->last_dial;
  }
  return absl::OkStatus();
}

void EtcdClient::CloseChannels() {
  for (auto& endpoint : state_) {
    if (endpoint->channel != nullptr) {
      endpoint->channel->Close();
      retired_.push_back(std::move(endpoint->channel));
    }
  }
  CollectRetired();
}

void EtcdClient::CollectRetired() {
  std::erase_if(retired_, [](const std::unique_ptr<net::GrpcChannel>& channel) {
    return channel->open_calls() == 0;
  });
}

std::optional<TimePoint> EtcdClient::DeadlineOf(const RequestOptions& options) const {
  const std::optional<Duration> timeout =
      options.timeout.has_value() ? options.timeout : options_.default_timeout;
  if (!timeout.has_value()) return std::nullopt;
  return env_.clock().Now() + *timeout;
}

void EtcdClient::Unpin(size_t index) {
  KEEL_ASSERT(index < endpoints_.size());
  if (pinned_ == index) pinned_ = (index + 1) % endpoints_.size();
}

std::optional<size_t> EtcdClient::IndexOf(const std::string& endpoint) const {
  for (size_t i = 0; i < endpoints_.size(); i++) {
    if (endpoints_[i] == endpoint) return i;
  }
  return std::nullopt;
}

Task<absl::StatusOr<net::GrpcChannel*>> EtcdClient::ConnectTo(
    size_t index, std::optional<TimePoint> deadline) {
  KEEL_ASSERT(index < state_.size());
  Endpoint& endpoint = *state_[index];
  Clock& clock = env_.clock();
  while (true) {
    if (endpoint.channel != nullptr && endpoint.channel->usable()) {
      co_return endpoint.channel.get();
    }
    if (!endpoint.dialing) break;
    // Another call is dialling this endpoint: use its result.
    if (deadline.has_value()) {
      const Duration left = *deadline - clock.Now();
      if (left <= Duration::zero()) co_return net::ContextDeadlineExceeded();
      if (!co_await clock.WithTimeout(left, WaitOn(&endpoint.dialed))) {
        co_return net::ContextDeadlineExceeded();
      }
    } else {
      co_await endpoint.dialed.Wait();
    }
    const bool usable = endpoint.channel != nullptr && endpoint.channel->usable();
    if (!usable && !endpoint.dialing && !endpoint.last_dial.ok()) {
      co_return endpoint.last_dial;
    }
  }
  if (endpoint.channel != nullptr) retired_.push_back(std::move(endpoint.channel));
  CollectRetired();
  Duration limit = options_.dial_timeout;
  if (deadline.has_value()) limit = std::min(limit, *deadline - clock.Now());
  if (limit <= Duration::zero()) co_return net::ContextDeadlineExceeded();
  DialGuard guard(&endpoint.dialing, &endpoint.dialed);
  dials_++;
  const std::string address = endpoints_[index];
  net::ChannelOptions channel_options = options_.channel;
  std::optional<absl::StatusOr<std::unique_ptr<net::GrpcChannel>>> dialed =
      co_await clock.WithTimeout(
          limit, net::DialGrpc(tls_network_ != nullptr ? *tls_network_ : env_.net(), clock,
                                   address, std::move(channel_options)));
  if (!dialed.has_value()) {
    endpoint.last_dial = absl::UnavailableError(
        AsAbsl(StrCat("dial ", address, ": connection timed out")));
    co_return endpoint.last_dial;
  }
  if (!dialed->ok()) {
    endpoint.last_dial = absl::UnavailableError(
        AsAbsl(StrCat("dial ", address, ": ", dialed->status().message())));
    co_return endpoint.last_dial;
  }
  endpoint.last_dial = absl::OkStatus();
  endpoint.channel = std::move(**dialed);
  co_return endpoint.channel.get();
}

Task<absl::StatusOr<net::GrpcChannel*>> EtcdClient::Connect(
    std::optional<TimePoint> deadline, size_t* index) {
  if (endpoints_.empty()) co_return NoAddress();
  absl::Status last = NoAddress();
  // Each endpoint once, from the pinned one.
  const size_t first = pinned_;
  for (size_t k = 0; k < endpoints_.size(); k++) {
    const size_t i = (first + k) % endpoints_.size();
    absl::StatusOr<net::GrpcChannel*> channel = co_await ConnectTo(i, deadline);
    if (channel.ok()) {
      pinned_ = i;
      *index = i;
      co_return *channel;
    }
    last = channel.status();
    if (absl::IsDeadlineExceeded(last)) break;
    env_.log().Debug("endpoint unreachable", {{"endpoint", endpoints_[i]},
                                              {"error", last.ToString()}});
    Unpin(i);
  }
  co_return last;
}

Task<bool> EtcdClient::Backoff(int attempt, std::optional<TimePoint> deadline) {
  KEEL_ASSERT(attempt >= 1);
  const Duration pause =
      std::min(options_.retry_backoff * attempt, options_.retry_backoff_max);
  Clock& clock = env_.clock();
  if (deadline.has_value() && clock.Now() + pause >= *deadline) co_return false;
  co_await clock.Sleep(pause);
  co_return true;
}

void EtcdClient::AddToken(net::CallOptions& call) const {
  if (!token_.empty()) call.metadata.emplace_back("token", token_);
}

Task<absl::Status> EtcdClient::MaybeAuthenticate(RequestOptions options) {
  if (options_.username.empty() || !token_.empty()) co_return absl::OkStatus();
  etcdserverpb::AuthenticateRequest request;
  request.set_name(options_.username);
  request.set_password(options_.password);
  absl::StatusOr<std::string> bytes = co_await CallOnce(
      kAuthenticatePath, request.SerializeAsString(), Retry::kOnUnavailable, options);
  if (!bytes.ok()) co_return bytes.status();
  etcdserverpb::AuthenticateResponse response;
  if (!response.ParseFromString(*bytes)) {
    co_return absl::InternalError("grpc: failed to unmarshal the received message proto");
  }
  token_ = response.token();
  co_return absl::OkStatus();
}

Task<absl::StatusOr<std::string>> EtcdClient::Call(std::string path, std::string request,
                                                   Retry retry, RequestOptions options) {
  const std::optional<TimePoint> deadline = DeadlineOf(options);
  RequestOptions bounded = options;
  if (deadline.has_value()) bounded.timeout = *deadline - env_.clock().Now();
  absl::Status authenticated = co_await MaybeAuthenticate(bounded);
  if (!authenticated.ok()) co_return authenticated;
  absl::StatusOr<std::string> response = co_await CallOnce(path, request, retry, options);
  // A token the member no longer knows (it restarted, or the token
  // expired): authenticate again and try once more; the first attempt
  // was refused before it did anything.
  const bool stale_token = !options_.username.empty() && !response.ok() &&
                           absl::IsUnauthenticated(response.status()) &&
                           response.status().message() == "etcdserver: invalid auth token";
  if (!stale_token) co_return response;
  token_.clear();
  if (deadline.has_value()) bounded.timeout = *deadline - env_.clock().Now();
  authenticated = co_await MaybeAuthenticate(bounded);
  if (!authenticated.ok()) co_return authenticated;
  if (deadline.has_value()) options.timeout = *deadline - env_.clock().Now();
  co_return co_await CallOnce(std::move(path), std::move(request), retry, std::move(options));
}

Task<absl::StatusOr<std::string>> EtcdClient::CallOnce(std::string path, std::string request,
                                                       Retry retry, RequestOptions options) {
  const std::optional<TimePoint> deadline = DeadlineOf(options);
  Clock& clock = env_.clock();
  absl::Status last = NoAddress();
  for (int attempt = 1;; attempt++) {
    if (attempt > 1) {
      // (Not in the if's condition: GCC 12 and co_await in conditions.)
      const bool in_time = co_await Backoff(attempt - 1, deadline);
      // Out of time: a transport failure says more than the deadline.
      if (!in_time) co_return absl::IsUnavailable(last) ? last : net::ContextDeadlineExceeded();
    }
    size_t index = 0;
    absl::StatusOr<net::GrpcChannel*> channel = co_await Connect(deadline, &index);
    if (!channel.ok()) {
      // Nothing was sent: safe to try again whatever the request is.
      if (absl::IsDeadlineExceeded(channel.status())) co_return channel.status();
      last = channel.status();
      continue;
    }
    net::CallOptions call;
    if (deadline.has_value()) {
      call.timeout = *deadline - clock.Now();
      if (*call.timeout <= Duration::zero()) co_return net::ContextDeadlineExceeded();
    }
    if (options.require_leader) call.metadata.emplace_back("hasleader", "true");
    AddToken(call);
    KEEL_ASSERT((*channel)->usable());
    absl::StatusOr<std::string> response =
        co_await (*channel)->Call(path, request, std::move(call));
    if (response.ok() || !absl::IsUnavailable(response.status())) co_return response;
    // Unavailable: the member or the connection failed; try another member
    // next time.
    last = response.status();
    env_.log().Debug("call failed; unpinning endpoint",
                     {{"endpoint", endpoints_[index]}, {"method", path},
                      {"error", last.ToString()}});
    Unpin(index);
    if (retry == Retry::kIfNotSent) co_return response;
  }
}


// ---- KV ----

Task<absl::StatusOr<etcdserverpb::RangeResponse>> EtcdClient::Range(
    etcdserverpb::RangeRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::RangeResponse>(
      kRangePath, request.SerializeAsString(), Retry::kOnUnavailable, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::PutResponse>> EtcdClient::Put(
    etcdserverpb::PutRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::PutResponse>(
      kPutPath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::DeleteRangeResponse>> EtcdClient::DeleteRange(
    etcdserverpb::DeleteRangeRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::DeleteRangeResponse>(
      kDeleteRangePath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::TxnResponse>> EtcdClient::Txn(
    etcdserverpb::TxnRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::TxnResponse>(
      kTxnPath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::CompactionResponse>> EtcdClient::Compact(
    etcdserverpb::CompactionRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::CompactionResponse>(
      kCompactPath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

// ---- Lease ----

Task<absl::StatusOr<etcdserverpb::LeaseGrantResponse>> EtcdClient::LeaseGrant(
    etcdserverpb::LeaseGrantRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::LeaseGrantResponse>(
      kLeaseGrantPath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> EtcdClient::LeaseRevoke(
    etcdserverpb::LeaseRevokeRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::LeaseRevokeResponse>(
      kLeaseRevokePath, request.SerializeAsString(), Retry::kIfNotSent, std::move(options));
}

Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> EtcdClient::LeaseTimeToLive(
    etcdserverpb::LeaseTimeToLiveRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::LeaseTimeToLiveResponse>(
      kLeaseTimeToLivePath, request.SerializeAsString(), Retry::kOnUnavailable,
      std::move(options));
}

Task<absl::StatusOr<etcdserverpb::LeaseLeasesResponse>> EtcdClient::LeaseLeases(
    etcdserverpb::LeaseLeasesRequest request, RequestOptions options) {
  co_return co_await TypedCall<etcdserverpb::LeaseLeasesResponse>(
      kLeaseLeasesPath, request.SerializeAsString(), Retry::kOnUnavailable,
      std::move(options));
}

Task<absl::StatusOr<std::unique_ptr<net::ClientStream>>> EtcdClient::OpenStream(
    std::string path, RequestOptions options, bool require_leader, size_t* index) {
  const std::optional<TimePoint> deadline = DeadlineOf(options);
  {
    RequestOptions bounded = options;
    if (deadline.has_value()) bounded.timeout = *deadline - env_.clock().Now();
    absl::Status authenticated = co_await MaybeAuthenticate(bounded);
    if (!authenticated.ok()) co_return authenticated;
  }
  absl::Status last = NoAddress();
  for (int attempt = 1;; attempt++) {
    if (attempt > 1) {
      const bool in_time = co_await Backoff(attempt - 1, deadline);
      if (!in_time) co_return absl::IsUnavailable(last) ? last : net::ContextDeadlineExceeded();
    }
    absl::StatusOr<net::GrpcChannel*> channel = co_await Connect(deadline, index);
    if (!channel.ok()) {
      if (absl::IsDeadlineExceeded(channel.status())) co_return channel.status();
      last = channel.status();
      continue;
    }
    net::CallOptions call;
    if (require_leader) call.metadata.emplace_back("hasleader", "true");
    AddToken(call);
    absl::StatusOr<std::unique_ptr<net::ClientStream>> stream =
        (*channel)->OpenStream(path, std::move(call));
    if (stream.ok()) co_return std::move(*stream);
    last = stream.status();
    Unpin(*index);
  }
}

Task<absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse>> EtcdClient::LeaseKeepAliveOnce(
    int64_t lease_id, RequestOptions options) {
  const std::optional<TimePoint> deadline = DeadlineOf(options);
  Clock& clock = env_.clock();
  absl::Status last = NoAddress();
  for (int attempt = 1;; attempt++) {
    if (attempt > 1) {
      const bool in_time = co_await Backoff(attempt - 1, deadline);
      if (!in_time) co_return absl::IsUnavailable(last) ? last : net::ContextDeadlineExceeded();
    }
    RequestOptions open = options;
    if (deadline.has_value()) open.timeout = *deadline - clock.Now();
    absl::StatusOr<std::unique_ptr<LeaseKeepAliveStream>> stream =
        co_await LeaseKeepAlive(std::move(open));
    if (!stream.ok()) co_return stream.status();
    LeaseKeepAliveStream& keepalive = **stream;
    absl::Status sent = co_await keepalive.Send(lease_id);
    std::optional<etcdserverpb::LeaseKeepAliveResponse> response;
    if (sent.ok()) {
      if (deadline.has_value()) {
        const Duration left = *deadline - clock.Now();
        if (left <= Duration::zero()) co_return net::ContextDeadlineExceeded();
        std::optional<std::optional<etcdserverpb::LeaseKeepAliveResponse>> got =
            co_await clock.WithTimeout(left, keepalive.Receive());
        if (!got.has_value()) co_return net::ContextDeadlineExceeded();
        response = std::move(*got);
      } else {
        response = co_await keepalive.Receive();
      }
    }
    if (response.has_value()) co_return std::move(*response);
    // The stream ended without an answer.
    last = sent.ok() ? keepalive.status().value_or(absl::UnavailableError("stream ended"))
                     : sent;
    if (!IsRetryableRead(last)) co_return last;
    if (const std::optional<size_t> index = IndexOf(keepalive.endpoint())) Unpin(*index);
  }
}

Task<absl::StatusOr<std::unique_ptr<LeaseKeepAliveStream>>> EtcdClient::LeaseKeepAlive(
    RequestOptions options) {
  size_t index = 0;
  absl::StatusOr<std::unique_ptr<net::ClientStream>> stream = co_await OpenStream(
      kLeaseKeepAlivePath, std::move(options), /*require_leader=*/true, &index);
  if (!stream.ok()) co_return stream.status();
  co_return std::make_unique<LeaseKeepAliveStream>(std::move(*stream), endpoints_[index]);
}

// ---- Watch ----

Task<absl::StatusOr<std::unique_ptr<WatchStream>>> EtcdClient::Watch(RequestOptions options) {
  const bool require_leader = options.require_leader;
  size_t index = 0;
  absl::StatusOr<std::unique_ptr<net::ClientStream>> stream =
      co_await OpenStream(kWatchPath, std::move(options), require_leader, &index);
  if (!stream.ok()) co_return stream.status();
  co_return std::make_unique<WatchStream>(std::move(*stream), endpoints_[index]);
}

// ---- Maintenance and Cluster ----

Task<absl::StatusOr<std::string>> EtcdClient::CallAt(std::string endpoint, std::string path,
                                                     std::string request,
                                                     RequestOptions options) {
  const std::optional<size_t> index = IndexOf(endpoint);
  if (!index.has_value()) {
    co_return absl::InvalidArgumentError(AsAbsl(StrCat("unknown endpoint ", endpoint)));
  }
  const std::optional<TimePoint> deadline = DeadlineOf(options);
  {
    RequestOptions bounded = options;
    if (deadline.has_value()) bounded.timeout = *deadline - env_.clock().Now();
    absl::Status authenticated = co_await MaybeAuthenticate(bounded);
    if (!authenticated.ok()) co_return authenticated;
  }
  absl::StatusOr<net::GrpcChannel*> channel = co_await ConnectTo(*index, deadline);
  if (!channel.ok()) co_return channel.status();
  net::CallOptions call;
  if (deadline.has_value()) {
    call.timeout = *deadline - env_.clock().Now();
    if (*call.timeout <= Duration::zero()) co_return net::ContextDeadlineExceeded();
  }
  AddToken(call);
  co_return co_await (*channel)->Call(std::move(path), std::move(request), std::move(call));
}


Task<absl::StatusOr<etcdserverpb::StatusResponse>> EtcdClient::Status(
    std::string endpoint, RequestOptions options) {
  const etcdserverpb::StatusRequest request;
  co_return co_await TypedCallAt<etcdserverpb::StatusResponse>(
      std::move(endpoint), kStatusPath, request.SerializeAsString(), std::move(options));
}

Task<absl::StatusOr<etcdserverpb::HashKVResponse>> EtcdClient::HashKV(
    std::string endpoint, int64_t revision, RequestOptions options) {
  etcdserverpb::HashKVRequest request;
  request.set_revision(revision);
  co_return co_await TypedCallAt<etcdserverpb::HashKVResponse>(
      std::move(endpoint), kHashKVPath, request.SerializeAsString(), std::move(options));
}

Task<absl::StatusOr<etcdserverpb::MemberListResponse>> EtcdClient::MemberList(
    RequestOptions options) {
  const etcdserverpb::MemberListRequest request;
  co_return co_await TypedCall<etcdserverpb::MemberListResponse>(
      kMemberListPath, request.SerializeAsString(), Retry::kOnUnavailable,
      std::move(options));
}

}  // namespace keel::client
