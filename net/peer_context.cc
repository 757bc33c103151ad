// PeerContext's guarded callbacks and backoff, and dialing a peer: connect,
// handshake, and the dialer's side of the rejections etcd logs.
#include "net/peer_context.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::net::peer {

std::string IdText(uint64_t id) { return absl::StrCat(absl::Hex(id)); }

// Counts a callback in progress for the re-entry assertions.
class PeerContext::CallbackScope {
 public:
  explicit CallbackScope(PeerContext* context) : context_(context) {
    context_->callback_depth_++;
  }
  ~CallbackScope() {
    KEEL_ASSERT(context_->callback_depth_ > 0);
    context_->callback_depth_--;
  }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  PeerContext* context_;
};

PeerContext::PeerContext(Env& env, PeerTransportOptions options,
                         PeerTransportCallbacks callbacks)
    : env_(env),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      local_id_text_(IdText(options_.local_id)) {
  KEEL_ASSERT(options_.local_id != 0);
  KEEL_ASSERT(static_cast<bool>(callbacks_.on_message));
  KEEL_ASSERT(options_.queue_capacity_messages > 0);
  KEEL_ASSERT(options_.snapshot_chunk_bytes > 0 &&
              options_.snapshot_chunk_bytes <= kMaxSnapshotChunkBytes);
  KEEL_ASSERT(options_.backoff_initial > Duration::zero());
  KEEL_ASSERT(options_.backoff_initial <= options_.backoff_max);
}

void PeerContext::DeliverMessage(raftpb::Message message) {
  CallbackScope scope(this);
  callbacks_.on_message(std::move(message));
}

absl::Status PeerContext::DeliverSnapshot(ReceivedSnapshot snapshot) {
  KEEL_ASSERT(can_deliver_snapshots());
  CallbackScope scope(this);
  return callbacks_.on_snapshot(std::move(snapshot));
}

void PeerContext::ReportUnreachable(uint64_t peer_id) {
  if (!callbacks_.on_unreachable) return;
  CallbackScope scope(this);
  callbacks_.on_unreachable(peer_id);
}

void PeerContext::ReportSnapshot(uint64_t peer_id, bool ok) {
  if (!callbacks_.on_snapshot_status) return;
  CallbackScope scope(this);
  callbacks_.on_snapshot_status(peer_id, ok);
}

void PeerContext::ReportRemoved(uint64_t peer_id) {
  if (!callbacks_.on_removed) return;
  CallbackScope scope(this);
  callbacks_.on_removed(peer_id);
}

absl::StatusOr<std::unique_ptr<SnapshotSource>> PeerContext::OpenSnapshot(
    raftpb::Message& message) {
  KEEL_ASSERT(message.type() == raftpb::MsgSnap);
  if (!callbacks_.open_snapshot) {
    // The MsgSnap carries its own data: send that, and the message without.
    std::string data = std::move(*message.mutable_snapshot()->mutable_data());
    message.mutable_snapshot()->clear_data();
    return NewStringSnapshotSource(std::move(data));
  }
  CallbackScope scope(this);
  absl::StatusOr<std::unique_ptr<SnapshotSource>> source =
      callbacks_.open_snapshot(message);
  message.mutable_snapshot()->clear_data();
  return source;
}

Duration PeerContext::Backoff(int failures) {
  KEEL_ASSERT(failures >= 0);
  Duration delay = options_.backoff_initial;
  for (int i = 0; i < failures && delay < options_.backoff_max; i++) delay *= 2;
  delay = std::min(delay, options_.backoff_max);
  // "Equal jitter": at least half the delay, so retries neither synchronise
  // across members nor collapse to zero.
  const int64_t half = delay.count() / 2;
  // Buggify: the shortest delay the jitter allows, so reconnects race the
  // peer's own restarts.
  if (Buggify()) return Duration(half);
  return Duration(half + static_cast<int64_t>(env_.random().Uniform(
                             static_cast<uint64_t>(delay.count() - half) + 1)));
}

Task<absl::Status> PeerContext::Within(Duration timeout, std::string_view what,
                                       Task<absl::Status> task) {
  const std::string label(what);
  std::optional<absl::Status> result =
      co_await env_.clock().WithTimeout(timeout, std::move(task));
  if (!result.has_value()) {
    co_return absl::DeadlineExceededError(StrCat(label, " timed out"));
  }
  co_return *result;
}

namespace {

// Logs a rejection the way etcd's stream dialer does and turns it into a
// Status for the caller.
absl::Status Rejected(PeerContext& context, uint64_t peer_id,
                      const HandshakeReply& reply) {
  const std::string peer = IdText(peer_id);
  switch (reply.status) {
    case HandshakeStatus::kClusterIdMismatch:
      context.log().Warn(
          "request sent was ignored by remote peer due to cluster ID mismatch",
          {{"remote-peer-id", peer},
           {"remote-peer-cluster-id", IdText(reply.cluster_id)},
           {"local-member-id", context.local_id_text()},
           {"local-member-cluster-id", IdText(context.cluster_id())},
           {"error", "cluster ID mismatch"}});
      break;
    case HandshakeStatus::kRemovedMember:
      context.log().Warn(
          "the member has been permanently removed from the cluster",
          {{"remote-peer-id", peer},
           {"local-member-id", context.local_id_text()}});
      context.ReportRemoved(peer_id);
      break;
    case HandshakeStatus::kIncompatibleVersion:
      context.log().Warn(
          "request sent was ignored by remote peer due to server version "
          "incompatibility",
          {{"remote-peer-id", peer},
           {"local-member-id", context.local_id_text()},
           {"remote-peer-version", static_cast<int64_t>(reply.version)}});
      break;
    default:
      context.log().Warn("request sent was ignored by remote peer",
                         {{"remote-peer-id", peer},
                          {"local-member-id", context.local_id_text()},
                          {"reason", HandshakeStatusText(reply.status)}});
      break;
  }
  return absl::FailedPreconditionError(
      StrCat("peer ", peer, " refused the connection: ",
             HandshakeStatusText(reply.status)));
}

}  // namespace

Task<absl::StatusOr<std::unique_ptr<PeerLink>>> DialPeer(PeerContext& context,
                                                         uint64_t peer_id,
                                                         std::string address,
                                                         StreamKind kind) {
  KEEL_ASSERT(peer_id != 0 && peer_id != context.local_id());
  KEEL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<Connection> connection,
      co_await context.Within(context.options().dial_timeout, "dial",
                              context.network().Connect(address)));
  auto link = std::make_unique<PeerLink>(std::move(connection));
  Handshake handshake;
  handshake.kind = kind;
  handshake.sender_id = context.local_id();
  handshake.target_id = peer_id;
  handshake.cluster_id = context.cluster_id();
  handshake.addresses = context.options().advertise_addresses;
  const std::string hello = EncodeHandshake(handshake);
  KEEL_CO_RETURN_IF_ERROR(co_await WriteWithin(context, *link->connection, hello));
  absl::StatusOr<std::string_view> bytes = co_await context.Within(
      context.options().read_timeout, "handshake reply",
      link->reader->ReadExact(kHandshakeReplyBytes));
  if (!bytes.ok()) co_return bytes.status();
  KEEL_CO_ASSIGN_OR_RETURN(HandshakeReply reply, DecodeHandshakeReply(*bytes));
  if (reply.status != HandshakeStatus::kAccepted) {
    co_return Rejected(context, peer_id, reply);
  }
  if (reply.responder_id != peer_id || reply.cluster_id != context.cluster_id()) {
    // An acceptor that accepted must have checked both; this one is broken.
    co_return absl::DataLossError(
        StrCat("peer at ", address, " accepted as member ",
               IdText(reply.responder_id), " of cluster ",
               IdText(reply.cluster_id)));
  }
  co_return link;
}

Task<absl::Status> WriteWithin(PeerContext& context, Connection& connection,
                               std::string_view data) {
  return context.Within(context.options().write_timeout, "write",
                        connection.Write(data));
}

Task<absl::StatusOr<Frame>> ReadFrameWithin(PeerContext& context,
                                            FrameReader& reader) {
  return context.Within(context.options().read_timeout, "read",
                        reader.ReadFrame());
}

}  // namespace keel::net::peer
