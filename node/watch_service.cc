// The Watch RPC: one ServerWatchStream per call, running a receiver, a
// writer, a progress ticker and (for hasleader calls) a leader check until
// the first of them ends the call.
#include "node/watch_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "google/protobuf/io/coded_stream.h"
#include "runtime/status_macros.h"
#include "node/errors.h"
#include "runtime/assert.h"
#include "runtime/sync.h"
#include "runtime/when.h"
#include "store/mvcc_proto.h"

namespace keel::node {

using etcdserverpb::WatchCreateRequest;

// grpc-go's Error() of etcd's ErrGRPCPermissionDenied.
constexpr std::string_view kWatchPermissionDenied =
    "rpc error: code = PermissionDenied desc = etcdserver: permission denied";
using etcdserverpb::WatchRequest;

class ServerWatchStream {
 public:
  ServerWatchStream(WatchService* service, const net::CallContext* context,
                    net::ServerStream* raw)
      : service_(service),
        context_(context),
        raw_(raw),
        typed_(*raw),
        watches_(service->hub_.NewStream()) {
    service_->open_streams_++;
  }
  ~ServerWatchStream() {
    KEEL_ASSERT(service_->open_streams_ > 0);
    service_->open_streams_--;
  }
  ServerWatchStream(const ServerWatchStream&) = delete;
  ServerWatchStream& operator=(const ServerWatchStream&) = delete;

  // Reads requests until the client half-closes, then waits to be
  // cancelled. Returns the request stream's error, if any.
  Task<absl::Status> ReceiveLoop();
  // Writes queued responses in order. Returns the first write error.
  Task<absl::Status> SendLoop();
  // Ticks progress_notify once some watcher asked for it. Never returns.
  Task<absl::Status> ProgressLoop();
  // Ends the call with "no leader" after kMaxNoLeaderChecks checks in a
  // row find none.
  Task<absl::Status> LeaderLoop();

 private:
  void Handle(const WatchRequest& request);
  void HandleCreate(const WatchCreateRequest& request);
  // Without `with_events`, the response's other fields only (its events'
  // bytes come from the service's shared encoding).
  etcdserverpb::WatchResponse ToProto(const WatchResponse& response,
                                      bool with_events = true) const;
  // Writes one response, in fragments if the watcher allows and it is
  // large (etcd's sendFragments). Suspends under flow control.
  Task<absl::Status> Send(WatchResponse response);

  WatchService* service_;
  const net::CallContext* context_;
  net::ServerStream* raw_;
  net::TypedServerStream<WatchRequest, etcdserverpb::WatchResponse> typed_;
  std::unique_ptr<WatchStream> watches_;
  Event progress_wanted_;
  Event never_;  // never set: what a half-closed receiver waits on
};

Task<absl::Status> ServerWatchStream::ReceiveLoop() {
  while (true) {
    absl::StatusOr<std::optional<WatchRequest>> request = co_await typed_.Read();
    if (!request.ok()) co_return request.status();
    if (!request->has_value()) break;
    // Control responses share the writer's queue: do not let a client that
    // never reads pile them up.
    co_await watches_->WaitForRoom();
    Handle(**request);
  }
  // etcd keeps sending events after the client's half-close; the call ends
  // when the client cancels it.
  co_await never_.Wait();
  co_return absl::OkStatus();
}

void ServerWatchStream::Handle(const WatchRequest& request) {
  switch (request.request_union_case()) {
    case WatchRequest::kCreateRequest:
      HandleCreate(request.create_request());
      break;
    case WatchRequest::kCancelRequest: {
      const int64_t id = request.cancel_request().watch_id();
      if (watches_->Cancel(id).ok()) {
        WatchResponse response;
        response.watch_id = id;
        response.revision = watches_->current_revision();
        response.canceled = true;
        watches_->Enqueue(std::move(response));
      }
      break;
    }
    case WatchRequest::kProgressRequest:
      watches_->RequestProgressAll();
      break;
    default:
      // etcd ignores requests it does not know rather than end the stream.
      break;
  }
}

void ServerWatchStream::HandleCreate(const WatchCreateRequest& request) {
  if (service_->permission_ &&
      !service_->permission_(*context_, request.key(), request.range_end())) {
    // etcd's answer: the watch is created and canceled at once, under the
    // id the client asked for, with gRPC's text of the error.
    WatchResponse response;
    response.created = true;
    response.canceled = true;
    response.watch_id = request.watch_id();
    response.revision = watches_->current_revision();
    response.cancel_reason = std::string(kWatchPermissionDenied);
    watches_->Enqueue(std::move(response));
    return;
  }
  WatchOptions options;
  options.id = request.watch_id();
  options.key = request.key();
  options.range_end = request.range_end();
  options.start_revision = request.start_revision();
  for (int filter : request.filters()) {
    if (filter == WatchCreateRequest::NOPUT) options.no_put = true;
    if (filter == WatchCreateRequest::NODELETE) options.no_delete = true;
  }
  options.prev_kv = request.prev_kv();
  options.fragment = request.fragment();
  options.progress_notify = request.progress_notify();
  // etcd's created response carries the revision before the watch starts.
  const int64_t revision = watches_->current_revision();
  absl::StatusOr<int64_t> id = watches_->Watch(std::move(options));
  WatchResponse response;
  response.created = true;
  response.revision = revision;
  if (id.ok()) {
    response.watch_id = *id;
    if (request.progress_notify()) progress_wanted_.Set();
  } else {
    response.watch_id = kInvalidWatchId;
    response.canceled = true;
    response.cancel_reason = std::string(id.status().message());
  }
  watches_->Enqueue(std::move(response));
}

etcdserverpb::WatchResponse ServerWatchStream::ToProto(const WatchResponse& response,
                                                       bool with_events) const {
  etcdserverpb::WatchResponse proto;
  *proto.mutable_header() = service_->header_source_();
  proto.mutable_header()->set_revision(response.revision);
  proto.set_watch_id(response.watch_id);
  proto.set_created(response.created);
  proto.set_canceled(response.canceled);
  proto.set_compact_revision(response.compact_revision);
  proto.set_cancel_reason(response.cancel_reason);
  if (with_events && response.events != nullptr) {
    proto.mutable_events()->Reserve(static_cast<int>(response.events->size()));
    for (const store::Event& event : *response.events) {
      store::ToProto(event, response.prev_kv, proto.add_events());
    }
    for (const WatchEvents& more : response.more_events) {
      for (const store::Event& event : *more) {
        store::ToProto(event, response.prev_kv, proto.add_events());
      }
    }
  }
  return proto;
}

Task<absl::Status> ServerWatchStream::SendLoop() {
  while (true) {
    WatchResponse response = co_await watches_->Next();
    absl::Status status = co_await Send(std::move(response));
    if (!status.ok()) co_return status;
  }
}

Task<absl::Status> ServerWatchStream::Send(WatchResponse response) {
  const size_t limit = service_->options_.max_response_bytes;
  const bool has_events = response.events != nullptr && !response.events->empty();
  // The common case: the response's own fields, then its events' bytes as
  // encoded once for every watcher that receives them.
  std::string bytes = ToProto(response, /*with_events=*/false).SerializeAsString();
  if (has_events) {
    const std::string& encoded = service_->EncodedEvents(response.events, response.prev_kv);
    if (!response.fragment || response.events->size() < 2 ||
        bytes.size() + encoded.size() < limit) {
      bytes += encoded;
      // Merged revisions (never for fragmenting watchers) follow in order.
      for (const WatchEvents& more : response.more_events) {
        bytes += service_->EncodedEvents(more, response.prev_kv);
      }
      co_return co_await raw_->Write(std::move(bytes));
    }
  } else {
    co_return co_await raw_->Write(std::move(bytes));
  }
  etcdserverpb::WatchResponse full = ToProto(response);
  // Fill each fragment until the next event would reach the limit (every
  // fragment holds at least one event); all but the last say fragment.
  etcdserverpb::WatchResponse base = full;
  base.clear_events();
  base.set_fragment(true);
  const size_t base_bytes = base.ByteSizeLong();
  const int count = full.events_size();
  int next = 0;
  while (true) {
    etcdserverpb::WatchResponse piece = base;
    size_t bytes = base_bytes;
    while (next < count) {
      const size_t event_bytes = full.events(next).ByteSizeLong();
      const size_t field_bytes =
          1 + google::protobuf::io::CodedOutputStream::VarintSize64(
                  event_bytes) +
          event_bytes;
      if (piece.events_size() > 0 && bytes + field_bytes >= limit) break;
      piece.add_events()->Swap(full.mutable_events(next));
      bytes += field_bytes;
      next++;
    }
    KEEL_ASSERT(piece.events_size() > 0);
    const bool last = next == count;
    if (last) piece.set_fragment(false);
    KEEL_CO_RETURN_IF_ERROR(co_await raw_->Write(piece.SerializeAsString()));
    if (last) co_return absl::OkStatus();
  }
}

const std::string& WatchService::EncodedEvents(const WatchEvents& events, bool prev_kv) {
  for (const EncodedEventsEntry& entry : encoded_events_) {
    if (entry.events == events && entry.prev_kv == prev_kv) {
      encoded_events_reused_++;
      return entry.bytes;
    }
  }
  EncodedEventsEntry& slot = encoded_events_[next_encoded_slot_];
  next_encoded_slot_ = (next_encoded_slot_ + 1) % kEncodedEventsCacheSize;
  etcdserverpb::WatchResponse only_events;
  only_events.mutable_events()->Reserve(static_cast<int>(events->size()));
  for (const store::Event& event : *events) {
    store::ToProto(event, prev_kv, only_events.add_events());
  }
  slot.events = events;
  slot.prev_kv = prev_kv;
  slot.bytes = only_events.SerializeAsString();
  return slot.bytes;
}

Task<absl::Status> ServerWatchStream::ProgressLoop() {
  co_await progress_wanted_.Wait();
  // One interval per stream, as etcd's ticker, with up to a tenth of
  // jitter so that streams opened together do not tick together.
  Duration interval = std::max(service_->options_.progress_notify_interval,
                               kMinProgressNotifyInterval);
  interval += Nanoseconds(static_cast<int64_t>(service_->random_.Uniform(
      static_cast<uint64_t>(interval.count() / 10))));
  while (true) {
    co_await service_->clock_.Sleep(interval);
    watches_->ProgressTick();
  }
}

Task<absl::Status> ServerWatchStream::LeaderLoop() {
  int misses = 0;
  while (true) {
    co_await service_->clock_.Sleep(service_->options_.leader_check_interval);
    misses = service_->has_leader_() ? 0 : misses + 1;
    if (misses >= kMaxNoLeaderChecks) co_return MakeError(EtcdError::kNoLeader);
  }
}

WatchService::WatchService(WatchHub& hub, Clock& clock, Random& random,
                           HeaderSource header_source, LeaderCheck has_leader,
                           WatchServiceOptions options)
    : hub_(hub),
      clock_(clock),
      random_(random),
      header_source_(std::move(header_source)),
      has_leader_(std::move(has_leader)),
      options_(options) {
  KEEL_ASSERT(header_source_ != nullptr);
  KEEL_ASSERT(has_leader_ != nullptr);
  KEEL_ASSERT(options_.leader_check_interval > Duration::zero());
}

Task<absl::Status> WatchService::Serve(net::CallContext& context,
                                       net::ServerStream& stream) {
  const std::optional<std::string_view> require = context.Get("hasleader");
  const bool require_leader = require.has_value() && *require == "true";
  if (require_leader && !has_leader_()) {
    co_return MakeError(EtcdError::kNoLeader);
  }
  ServerWatchStream call(this, &context, &stream);
  std::vector<Task<absl::Status>> tasks;
  tasks.push_back(call.ReceiveLoop());
  tasks.push_back(call.SendLoop());
  tasks.push_back(call.ProgressLoop());
  if (require_leader) tasks.push_back(call.LeaderLoop());
  AnyResult<absl::Status> ended = co_await WhenAny(std::move(tasks));
  co_return ended.value;
}

void RegisterWatchService(net::GrpcServer& server, WatchService& service) {
  // Raw bytes (the service encodes its own responses), behind the same
  // interceptor chain as every typed method.
  server.RegisterStream(
      "/etcdserverpb.Watch/Watch",
      [&server, &service](net::CallContext& context,
                          net::ServerStream& stream) -> Task<absl::Status> {
        KEEL_CO_RETURN_IF_ERROR(server.Intercept(context, nullptr));
        co_return co_await service.Serve(context, stream);
      });
}

}  // namespace keel::node
