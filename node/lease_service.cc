// The Lease service and the forwarding of keepalives and TimeToLive to the
// leader. See lease_service.h.
#include "node/lease_service.h"

#include <utility>

#include "node/errors.h"
#include "node/membership.h"
#include "node/server_config.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::node {
namespace {

constexpr std::string_view kKeepAlivePath = "/etcdserverpb.Lease/LeaseKeepAlive";
constexpr std::string_view kTimeToLivePath = "/etcdserverpb.Lease/LeaseTimeToLive";

Duration Left(Clock& clock, TimePoint deadline) {
  const Duration left = deadline - clock.Now();
  return left > Duration::zero() ? left : Duration::zero();
}

net::CallOptions ForwardOptions(Clock& clock, TimePoint deadline) {
  net::CallOptions options;
  options.timeout = Left(clock, deadline);
  options.metadata.emplace_back(std::string(kForwardedMetadata), "true");
  return options;
}

// One keepalive through the leader: a stream carrying one request. The
// leader answers TTL 0 for a lease it does not have.
Task<absl::StatusOr<int64_t>> ForwardRenewOnce(std::shared_ptr<net::GrpcChannel> channel,
                                               Clock& clock, int64_t id,
                                               TimePoint deadline) {
  absl::StatusOr<std::unique_ptr<net::ClientStream>> opened =
      channel->OpenStream(std::string(kKeepAlivePath), ForwardOptions(clock, deadline));
  if (!opened.ok()) co_return opened.status();
  std::unique_ptr<net::ClientStream> stream = std::move(*opened);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(id);
  KEEL_CO_RETURN_IF_ERROR(co_await stream->Write(request.SerializeAsString()));
  stream->CloseSend();
  std::optional<std::optional<std::string>> read =
      co_await clock.WithTimeout(Left(clock, deadline), stream->Read());
  if (!read.has_value()) co_return MakeError(EtcdError::kTimeout);
  if (!read->has_value()) {
    absl::Status status = co_await stream->Finish();
    if (status.ok()) status = absl::UnavailableError("the leader ended the keepalive");
    co_return status;
  }
  etcdserverpb::LeaseKeepAliveResponse response;
  if (!response.ParseFromString(**read)) {
    co_return absl::InternalError("the leader's keepalive response does not parse");
  }
  if (response.ttl() <= 0) co_return MakeError(EtcdError::kLeaseNotFound);
  co_return response.ttl();
}

Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> ForwardTimeToLiveOnce(
    std::shared_ptr<net::GrpcChannel> channel, Clock& clock,
    etcdserverpb::LeaseTimeToLiveRequest request, TimePoint deadline) {
  absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> response =
      co_await channel->Call<etcdserverpb::LeaseTimeToLiveResponse>(
          std::string(kTimeToLivePath), request, ForwardOptions(clock, deadline));
  if (!response.ok()) co_return response.status();
  if (response->ttl() == -1) co_return MakeError(EtcdError::kLeaseNotFound);
  co_return response;
}

// Worth trying the leader again: the leader changed or refused, or the
// connection failed. Anything else (a stopped member) is final.
bool Retryable(const absl::Status& status) {
  return IsError(status, EtcdError::kNotLeader) || IsError(status, EtcdError::kStopped) ||
         IsError(status, EtcdError::kTimeoutWaitAppliedIndex) ||
         IsError(status, EtcdError::kTimeout) || absl::IsUnavailable(status) ||
         absl::IsDeadlineExceeded(status) || absl::IsCancelled(status) ||
         absl::IsInternal(status);
}

Task<void> SleepUntil(Clock& clock, TimePoint deadline) {
  co_await clock.SleepUntil(deadline);
}

Task<void> WaitOn(WaitQueue& queue) { co_await queue.Wait(); }

}  // namespace

LeaseService::LeaseService(LeaseServiceParts parts) : parts_(parts) {}

LeaseService::~LeaseService() = default;

Task<absl::StatusOr<etcdserverpb::LeaseGrantResponse>> LeaseService::Grant(
    net::CallContext& context, etcdserverpb::LeaseGrantRequest request) {
  co_return co_await parts_.leases.Grant(std::move(request));
}

Task<absl::StatusOr<etcdserverpb::LeaseRevokeResponse>> LeaseService::Revoke(
    net::CallContext& context, etcdserverpb::LeaseRevokeRequest request) {
  AuthInfo caller;
  if (callers_) {
    absl::StatusOr<AuthInfo> resolved = callers_(context);
    if (!resolved.ok()) co_return resolved.status();
    caller = *std::move(resolved);
  }
  co_return co_await parts_.leases.Revoke(std::move(request), std::move(caller));
}

Task<absl::Status> LeaseService::KeepAlive(const net::CallContext& context,
                                           KeepAliveStream& stream) {
  const bool forwarded = context.Get(kForwardedMetadata).has_value();
  while (true) {
    absl::StatusOr<std::optional<etcdserverpb::LeaseKeepAliveRequest>> request =
        co_await stream.Read();
    if (!request.ok()) co_return request.status();
    if (!request->has_value()) co_return absl::OkStatus();
    const int64_t id = (*request)->id();
    absl::StatusOr<int64_t> ttl = co_await Renew(id, forwarded);
    etcdserverpb::LeaseKeepAliveResponse response;
    response.set_id(id);
    if (ttl.ok()) {
      response.set_ttl(*ttl);
    } else if (IsError(ttl.status(), EtcdError::kLeaseNotFound)) {
      response.set_ttl(0);  // etcd: a missing lease is TTL 0, not an error
    } else {
      co_return ttl.status();
    }
    *response.mutable_header() = parts_.headers.Make();
    KEEL_CO_RETURN_IF_ERROR(co_await stream.Write(response));
  }
}

Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>> LeaseService::TimeToLive(
    const net::CallContext& context, etcdserverpb::LeaseTimeToLiveRequest request) {
  const bool forwarded = context.Get(kForwardedMetadata).has_value();
  const int64_t id = request.id();
  absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> response =
      co_await TimeToLiveOnLeader(std::move(request), forwarded);
  if (IsError(response.status(), EtcdError::kLeaseNotFound)) {
    // etcd answers a missing lease with TTL -1, not an error.
    etcdserverpb::LeaseTimeToLiveResponse missing;
    missing.set_id(id);
    missing.set_ttl(-1);
    response = std::move(missing);
  }
  if (!response.ok()) co_return response.status();
  *response->mutable_header() = parts_.headers.Make();
  co_return response;
}

Task<absl::StatusOr<etcdserverpb::LeaseLeasesResponse>> LeaseService::Leases(
    const net::CallContext& context, etcdserverpb::LeaseLeasesRequest) {
  co_return co_await parts_.leases.Leases();
}

// ---- forwarding ----

Task<absl::StatusOr<int64_t>> LeaseService::Renew(int64_t id, bool forwarded) {
  if (forwarded) co_return co_await parts_.leases.Renew(id);
  Clock& clock = parts_.env.clock();
  const TimePoint deadline = clock.Now() + parts_.request_timeout;
  bool saw_leader = false;
  while (clock.Now() < deadline) {
    const uint64_t leader = parts_.raft.leader();
    if (leader == 0) {
      co_await Backoff(deadline);
      continue;
    }
    saw_leader = true;
    absl::StatusOr<int64_t> ttl;
    if (leader == parts_.raft.id()) {
      ttl = co_await parts_.leases.Renew(id);
    } else {
      absl::StatusOr<std::shared_ptr<net::GrpcChannel>> channel =
          co_await LeaderChannel(leader, deadline);
      if (!channel.ok()) {
        ttl = channel.status();
      } else {
        ttl = co_await ForwardRenewOnce(*channel, clock, id, deadline);
        if (absl::IsUnavailable(ttl.status())) DropChannel(*channel);
      }
    }
    if (ttl.ok() || !Retryable(ttl.status())) co_return ttl;
    co_await Backoff(std::min(deadline, clock.Now() + kLeaseForwardRetry));
  }
  co_return saw_leader ? MakeError(EtcdError::kTimeout) : MakeError(EtcdError::kNoLeader);
}

Task<absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse>>
LeaseService::TimeToLiveOnLeader(etcdserverpb::LeaseTimeToLiveRequest request,
                                 bool forwarded) {
  if (forwarded) co_return co_await parts_.leases.TimeToLive(std::move(request));
  Clock& clock = parts_.env.clock();
  const TimePoint deadline = clock.Now() + parts_.request_timeout;
  bool saw_leader = false;
  while (clock.Now() < deadline) {
    const uint64_t leader = parts_.raft.leader();
    if (leader == 0) {
      co_await Backoff(deadline);
      continue;
    }
    saw_leader = true;
    absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> response;
    if (leader == parts_.raft.id()) {
      response = co_await parts_.leases.TimeToLive(request);
    } else {
      absl::StatusOr<std::shared_ptr<net::GrpcChannel>> channel =
          co_await LeaderChannel(leader, deadline);
      if (!channel.ok()) {
        response = channel.status();
      } else {
        response = co_await ForwardTimeToLiveOnce(*channel, clock, request, deadline);
        if (absl::IsUnavailable(response.status())) DropChannel(*channel);
      }
    }
    if (response.ok() || !Retryable(response.status())) co_return response;
    co_await Backoff(std::min(deadline, clock.Now() + kLeaseForwardRetry));
  }
  co_return saw_leader ? MakeError(EtcdError::kTimeout) : MakeError(EtcdError::kNoLeader);
}

absl::StatusOr<std::string> LeaderClientAddress(const MemberStore& members, uint64_t leader) {
  if (const Member* member = members.Find(leader)) {
    for (const std::string& url : member->client_urls) {
      absl::StatusOr<Url> parsed = ParseUrl(url);
      if (parsed.ok()) return parsed->HostPort();
    }
  }
  return absl::UnavailableError(StrCat("no client URL known for leader ", FormatId(leader)));
}

Task<absl::StatusOr<std::shared_ptr<net::GrpcChannel>>> LeaseService::LeaderChannel(
    uint64_t leader, TimePoint deadline) {
  Mutex::Guard guard = co_await dial_mutex_.Lock();
  absl::StatusOr<std::string> leader_address = LeaderClientAddress(parts_.members, leader);
  if (!leader_address.ok()) co_return leader_address.status();
  const std::string& address = *leader_address;
  if (channel_ != nullptr && channel_leader_ == leader && channel_address_ == address &&
      channel_->usable()) {
    co_return channel_;
  }
  channel_.reset();
  Clock& clock = parts_.env.clock();
  net::ChannelOptions options;
  std::optional<absl::StatusOr<std::unique_ptr<net::GrpcChannel>>> dialed =
      co_await clock.WithTimeout(
          Left(clock, deadline),
          net::DialGrpc(parts_.env.net(), clock, address, std::move(options)));
  dials_++;
  if (!dialed.has_value()) co_return MakeError(EtcdError::kTimeout);
  if (!dialed->ok()) co_return dialed->status();
  channel_ = std::shared_ptr<net::GrpcChannel>(std::move(**dialed));
  channel_leader_ = leader;
  channel_address_ = address;
  co_return channel_;
}

void LeaseService::DropChannel(const std::shared_ptr<net::GrpcChannel>& channel) {
  if (channel_ == channel) channel_.reset();
}

Task<void> LeaseService::Backoff(TimePoint until) {
  std::vector<Task<void>> race;
  race.push_back(WaitOn(parts_.raft.leader_changed()));
  race.push_back(SleepUntil(parts_.env.clock(), until));
  co_await WhenAny(std::move(race));
}

void RegisterLeaseService(net::GrpcServer& grpc, LeaseService& service) {
  using namespace etcdserverpb;
  grpc.AddUnary<LeaseGrantRequest, LeaseGrantResponse>(
      "/etcdserverpb.Lease/LeaseGrant",
      [&service](net::CallContext& ctx, LeaseGrantRequest request)
          -> Task<absl::StatusOr<LeaseGrantResponse>> {
        co_return co_await service.Grant(ctx, std::move(request));
      });
  grpc.AddUnary<LeaseRevokeRequest, LeaseRevokeResponse>(
      "/etcdserverpb.Lease/LeaseRevoke",
      [&service](net::CallContext& ctx, LeaseRevokeRequest request)
          -> Task<absl::StatusOr<LeaseRevokeResponse>> {
        co_return co_await service.Revoke(ctx, std::move(request));
      });
  grpc.AddStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(
      std::string(kKeepAlivePath),
      [&service](net::CallContext& ctx,
                 LeaseService::KeepAliveStream& stream) -> Task<absl::Status> {
        co_return co_await service.KeepAlive(ctx, stream);
      });
  grpc.AddUnary<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>(
      std::string(kTimeToLivePath),
      [&service](net::CallContext& ctx, LeaseTimeToLiveRequest request)
          -> Task<absl::StatusOr<LeaseTimeToLiveResponse>> {
        co_return co_await service.TimeToLive(ctx, std::move(request));
      });
  grpc.AddUnary<LeaseLeasesRequest, LeaseLeasesResponse>(
      "/etcdserverpb.Lease/LeaseLeases",
      [&service](net::CallContext& ctx, LeaseLeasesRequest request)
          -> Task<absl::StatusOr<LeaseLeasesResponse>> {
        co_return co_await service.Leases(ctx, std::move(request));
      });
}

}  // namespace keel::node
