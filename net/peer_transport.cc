// PeerTransport: the member set, Send, the acceptor (handshake checks in
// etcd's order, inbound message streams) and snapshot sender bookkeeping.
#include "net/peer_transport.h"

#include <algorithm>
#include <utility>

#include "net/http1_connection.h"
#include "net/peer_snapshot.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::net {

using peer::FrameType;
using peer::HandshakeStatus;
using peer::IdText;
using peer::StreamKind;

namespace {

// Inbound connections served at once; more are closed on arrival. Members
// each hold one message connection and a few snapshot connections, so this
// only bounds a flood.
constexpr size_t kMaxInboundConnections = 1024;

}  // namespace

absl::StatusOr<std::string> PeerUrlToAddress(std::string_view url) {
  std::string_view rest = url;
  const size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string_view scheme = rest.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https") {
      return absl::InvalidArgumentError(StrCat("unsupported peer URL scheme in ", url));
    }
    rest.remove_prefix(scheme_end + 3);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("peer URL has a path: ", url));
  }
  std::string host;
  uint16_t port = 0;
  KEEL_RETURN_IF_ERROR(SplitHostPort(rest, &host, &port));
  return std::string(rest);
}

// Keeps inbound_ in step with the frame serving a connection.
class PeerTransport::InboundRegistration {
 public:
  InboundRegistration(PeerTransport* transport, uint64_t number)
      : transport_(transport), number_(number) {}
  ~InboundRegistration() { transport_->inbound_.erase(number_); }
  InboundRegistration(const InboundRegistration&) = delete;
  InboundRegistration& operator=(const InboundRegistration&) = delete;

 private:
  PeerTransport* transport_;
  uint64_t number_;
};

// Keeps snapshot_senders_ in step with a sender's frame.
class PeerTransport::SenderRegistration {
 public:
  SenderRegistration(PeerTransport* transport, uint64_t peer_id)
      : transport_(transport), peer_id_(peer_id) {}
  ~SenderRegistration() { Release(); }
  SenderRegistration(const SenderRegistration&) = delete;
  SenderRegistration& operator=(const SenderRegistration&) = delete;
  void Release() {
    if (transport_ != nullptr) transport_->snapshot_senders_.erase(peer_id_);
    transport_ = nullptr;
  }

 private:
  PeerTransport* transport_;
  uint64_t peer_id_;
};

PeerTransport::PeerTransport(Env& env, PeerTransportOptions options,
                             PeerTransportCallbacks callbacks)
    : env_(env),
      context_(env, std::move(options), std::move(callbacks)),
      tasks_(env.process().executor()) {}

PeerTransport::~PeerTransport() {
  KEEL_ASSERT(!context_.in_callback());
  tasks_.CancelAll();
  peers_.clear();
  remotes_.clear();
}

void PeerTransport::AssertInProcess() const {
  // The coroutines this starts are charged to the caller's process, which
  // must be the one whose frames own the transport.
  KEEL_ASSERT(env_.process().executor().current_process() == &env_.process());
}

absl::Status PeerTransport::Start() {
  AssertInProcess();
  KEEL_ASSERT(!started_);
  started_ = true;
  const PeerTransportOptions& options = context_.options();
  if (!options.snapshot_dir.empty()) {
    KEEL_RETURN_IF_ERROR(peer::PrepareSnapshotDir(context_));
  }
  if (options.listen_address.empty()) return absl::OkStatus();
  KEEL_ASSIGN_OR_RETURN(listener_, context_.network().Listen(options.listen_address));
  listen_address_ = listener_->address();
  tasks_.Start(AcceptLoop());
  context_.log().Info("started peer transport",
                      {{"local-member-id", context_.local_id_text()},
                       {"cluster-id", IdText(context_.cluster_id())},
                       {"listen-peer-address", listen_address_}});
  return absl::OkStatus();
}

absl::Status PeerTransport::AddPeer(uint64_t id,
                                    std::vector<std::string> addresses) {
  AssertInProcess();
  KEEL_ASSERT(!context_.in_callback());
  if (id == 0 || id == context_.local_id()) {
    return absl::InvalidArgumentError(StrCat("cannot add peer ", IdText(id)));
  }
  if (addresses.empty()) return absl::InvalidArgumentError("peer without addresses");
  if (peers_.count(id) != 0) {
    return absl::AlreadyExistsError(StrCat("peer ", IdText(id), " exists"));
  }
  removed_.erase(id);
  // The member's own pipeline takes over from a remote kept for it.
  remotes_.erase(id);
  std::string shown;
  for (const std::string& address : addresses) StrAppend(&shown, shown.empty() ? "" : ",", address);
  auto pipeline = std::make_unique<peer::PeerPipeline>(context_, id, std::move(addresses));
  pipeline->Start();
  peers_.emplace(id, std::move(pipeline));
  context_.log().Info("added remote peer",
                      {{"local-member-id", context_.local_id_text()},
                       {"remote-peer-id", IdText(id)},
                       {"remote-peer-urls", shown}});
  return absl::OkStatus();
}

absl::Status PeerTransport::UpdatePeer(uint64_t id,
                                       std::vector<std::string> addresses) {
  KEEL_ASSERT(!context_.in_callback());
  auto it = peers_.find(id);
  if (it == peers_.end()) return absl::NotFoundError(StrCat("no peer ", IdText(id)));
  if (addresses.empty()) return absl::InvalidArgumentError("peer without addresses");
  it->second->SetAddresses(std::move(addresses));
  context_.log().Info("updated remote peer",
                      {{"local-member-id", context_.local_id_text()},
                       {"updated-remote-peer-id", IdText(id)},
                       {"updated-remote-peer-url", it->second->current_address()}});
  return absl::OkStatus();
}

absl::Status PeerTransport::RemovePeer(uint64_t id) {
  KEEL_ASSERT(!context_.in_callback());
  if (id == 0 || id == context_.local_id()) {
    return absl::InvalidArgumentError(StrCat("cannot remove peer ", IdText(id)));
  }
  // Erasing a pipeline closes its message connection.
  const bool known = peers_.erase(id) + remotes_.erase(id) > 0;
  removed_.insert(id);
  if (!known) return absl::OkStatus();
  auto sender = snapshot_senders_.find(id);
  if (sender != snapshot_senders_.end()) {
    const uint64_t task = sender->second;
    snapshot_senders_.erase(sender);
    tasks_.Cancel(task);
  }
  CutInbound(id, std::nullopt, 0);
  context_.log().Info("removed remote peer",
                      {{"local-member-id", context_.local_id_text()},
                       {"removed-remote-peer-id", IdText(id)}});
  return absl::OkStatus();
}

std::vector<uint64_t> PeerTransport::peer_ids() const {
  std::vector<uint64_t> ids;
  for (const auto& [id, pipeline] : peers_) ids.push_back(id);
  return ids;
}

PeerStatus PeerTransport::status(uint64_t id) const {
  PeerStatus status;
  auto it = peers_.find(id);
  if (it == peers_.end()) return status;
  status.known = true;
  status.active = it->second->active();
  status.active_since = it->second->active_since();
  return status;
}

PeerStats PeerTransport::stats(uint64_t id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? PeerStats{} : it->second->stats();
}

uint64_t PeerTransport::received_bytes(uint64_t id) const {
  auto it = received_bytes_.find(id);
  return it == received_bytes_.end() ? 0 : it->second;
}

peer::PeerPipeline* PeerTransport::PipelineTo(uint64_t id, bool snapshot) {
  if (auto it = peers_.find(id); it != peers_.end()) return it->second.get();
  // A sender not yet a member is answered through its remote; snapshots go
  // to members only.
  if (auto it = remotes_.find(id); !snapshot && it != remotes_.end()) return it->second.get();
  return nullptr;
}

void PeerTransport::Send(std::vector<raftpb::Message> messages) {
  // Peers that dropped something in this call, ascending, each reported once.
  std::vector<uint64_t> dropped;
  for (raftpb::Message& message : messages) {
    const uint64_t to = message.to();
    if (to == 0) continue;
    peer::PeerPipeline* pipeline = PipelineTo(to, message.type() == raftpb::MsgSnap);
    if (pipeline == nullptr) {
      if (removed_.count(to) == 0) {
        context_.log().Debug("ignored message send request; unknown remote peer target",
                             {{"type", raftpb::MessageType_Name(message.type())},
                              {"unknown-target-peer-id", IdText(to)}});
      }
      continue;
    }
    if (message.type() == raftpb::MsgSnap) {
      absl::StatusOr<std::unique_ptr<SnapshotSource>> source =
          context_.OpenSnapshot(message);
      if (!source.ok()) {
        FailSnapshot(to, source.status().ToString());
        continue;
      }
      SendSnapshot(std::move(message), std::move(*source));
      continue;
    }
    if (!pipeline->Enqueue(message) &&
        std::find(dropped.begin(), dropped.end(), to) == dropped.end()) {
      dropped.push_back(to);
    }
  }
  std::sort(dropped.begin(), dropped.end());
  for (uint64_t to : dropped) {
    peer::PeerPipeline* pipeline = PipelineTo(to, false);
    KEEL_ASSERT(pipeline != nullptr);
    const bool active = pipeline->active();
    context_.log().Log(active ? LogLevel::kWarn : LogLevel::kDebug,
                       "dropped internal Raft message since sending buffer is full "
                       "(overloaded network)",
                       {{"local-member-id", context_.local_id_text()},
                        {"remote-peer-id", IdText(to)},
                        {"remote-peer-active", active}});
    context_.ReportUnreachable(to);
  }
}

void PeerTransport::FailSnapshot(uint64_t peer_id, std::string_view why) {
  context_.log().Warn("failed to send database snapshot",
                      {{"remote-peer-id", IdText(peer_id)}, {"error", why}});
  context_.ReportUnreachable(peer_id);
  context_.ReportSnapshot(peer_id, false);
}

void PeerTransport::SendSnapshot(raftpb::Message message,
                                 std::unique_ptr<SnapshotSource> source) {
  AssertInProcess();
  KEEL_ASSERT(message.type() == raftpb::MsgSnap);
  KEEL_ASSERT(source != nullptr);
  const uint64_t to = message.to();
  auto it = peers_.find(to);
  if (it == peers_.end()) {
    FailSnapshot(to, "unknown remote peer");
    return;
  }
  if (snapshot_senders_.count(to) != 0) {
    it->second->mutable_stats().snapshots_failed++;
    FailSnapshot(to, "a snapshot to this peer is already in flight");
    return;
  }
  message.mutable_snapshot()->clear_data();
  const uint64_t task = tasks_.Start(RunSnapshotSender(
      to, it->second->current_address(), std::move(message), std::move(source)));
  snapshot_senders_[to] = task;
}

Task<void> PeerTransport::RunSnapshotSender(uint64_t peer_id, std::string address,
                                            raftpb::Message message,
                                            std::unique_ptr<SnapshotSource> source) {
  SenderRegistration registration(this, peer_id);
  const uint64_t index = message.snapshot().metadata().index();
  const uint64_t size = source->size_bytes();
  context_.log().Info("sending database snapshot",
                      {{"local-member-id", context_.local_id_text()},
                       {"remote-peer-id", IdText(peer_id)},
                       {"snapshot-index", index},
                       {"snapshot-size-bytes", size}});
  uint64_t chunks = 0;
  absl::Status sent = co_await peer::SendSnapshot(context_, peer_id, std::move(address),
                                                  std::move(message), std::move(source), &chunks);
  // Released before the callbacks, which may start the next snapshot.
  registration.Release();
  auto it = peers_.find(peer_id);
  KEEL_ASSERT(it != peers_.end());  // RemovePeer cancels this frame
  PeerStats& stats = it->second->mutable_stats();
  if (sent.ok()) {
    stats.snapshots_sent++;
    stats.snapshot_chunks_sent += chunks;
    if (chunks > 1) stats.snapshots_sent_in_chunks++;
    context_.log().Info("sent database snapshot",
                        {{"remote-peer-id", IdText(peer_id)},
                         {"snapshot-index", index},
                         {"snapshot-size-bytes", size}});
    context_.ReportSnapshot(peer_id, true);
    co_return;
  }
  stats.snapshots_failed++;
  FailSnapshot(peer_id, sent.ToString());
}

void PeerTransport::CutInbound(uint64_t peer_id,
                               std::optional<StreamKind> kind, uint64_t keep) {
  std::vector<uint64_t> victims;
  for (const auto& [number, inbound] : inbound_) {
    if (inbound.peer_id != peer_id || number == keep) continue;
    if (kind.has_value() && inbound.kind != *kind) continue;
    victims.push_back(number);
  }
  for (uint64_t number : victims) {
    auto it = inbound_.find(number);
    if (it == inbound_.end()) continue;
    const uint64_t task = it->second.task_id;
    inbound_.erase(it);
    tasks_.Cancel(task);
  }
}

Task<void> PeerTransport::AcceptLoop() {
  while (true) {
    absl::StatusOr<std::unique_ptr<Connection>> connection = co_await listener_->Accept();
    if (!connection.ok()) {
      context_.log().Warn("stopped accepting peer connections",
                          {{"error", connection.status().ToString()}});
      co_return;
    }
    if (inbound_.size() >= kMaxInboundConnections) {
      context_.log().Warn("refused a peer connection: too many inbound connections",
                          {{"remote-address", (*connection)->peer_address()}});
      continue;  // destroying the connection closes it
    }
    const uint64_t number = next_inbound_++;
    inbound_[number] = Inbound{};
    inbound_[number].task_id = tasks_.Start(ServeInbound(std::move(*connection), number));
  }
}

HandshakeStatus PeerTransport::CheckHandshake(const peer::Handshake& handshake) {
  const std::string from = IdText(handshake.sender_id);
  if (handshake.version != peer::kProtocolVersion) {
    context_.log().Warn("failed to check version compatibility",
                        {{"local-member-id", context_.local_id_text()},
                         {"remote-peer-id", from},
                         {"remote-peer-protocol-version", static_cast<int64_t>(handshake.version)}});
    return HandshakeStatus::kIncompatibleVersion;
  }
  if (handshake.cluster_id != context_.cluster_id()) {
    context_.log().Warn("request cluster ID mismatch",
                        {{"local-member-id", context_.local_id_text()},
                         {"local-member-cluster-id", IdText(context_.cluster_id())},
                         {"remote-peer-id", from},
                         {"remote-peer-cluster-id", IdText(handshake.cluster_id)}});
    return HandshakeStatus::kClusterIdMismatch;
  }
  if (removed_.count(handshake.sender_id) != 0) {
    context_.log().Warn("rejected stream from remote peer because it was removed",
                        {{"local-member-id", context_.local_id_text()},
                         {"remote-peer-id-from", from}});
    return HandshakeStatus::kRemovedMember;
  }
  const bool member = peers_.count(handshake.sender_id) != 0;
  const bool answerable =
      !handshake.addresses.empty() &&
      (remotes_.count(handshake.sender_id) != 0 || remotes_.size() < kMaxRemotes);
  if (!member && !answerable) {
    context_.log().Error("failed to find remote peer in cluster",
                         {{"local-member-id", context_.local_id_text()},
                          {"remote-peer-id-from", from},
                          {"cluster-id", IdText(context_.cluster_id())}});
    return HandshakeStatus::kUnknownMember;
  }
  if (handshake.target_id != context_.local_id()) {
    context_.log().Warn("ignored streaming request; ID mismatch",
                        {{"local-member-id", context_.local_id_text()},
                         {"remote-peer-id-from", from},
                         {"remote-peer-id-header", IdText(handshake.target_id)}});
    return HandshakeStatus::kTargetMismatch;
  }
  if (!member) KeepRemote(handshake.sender_id, handshake.addresses);
  return HandshakeStatus::kAccepted;
}

void PeerTransport::KeepRemote(uint64_t id, const std::vector<std::string>& addresses) {
  KEEL_ASSERT(peers_.count(id) == 0);
  KEEL_ASSERT(!addresses.empty());
  auto it = remotes_.find(id);
  if (it != remotes_.end()) {
    if (it->second->addresses() != addresses) it->second->SetAddresses(addresses);
    return;
  }
  KEEL_ASSERT(remotes_.size() < kMaxRemotes);
  std::string shown;
  for (const std::string& address : addresses) StrAppend(&shown, shown.empty() ? "" : ",", address);
  auto pipeline = std::make_unique<peer::PeerPipeline>(context_, id, addresses);
  pipeline->Start();
  remotes_.emplace(id, std::move(pipeline));
  context_.log().Info("added new remote peer",
                      {{"local-member-id", context_.local_id_text()},
                       {"remote-peer-id", IdText(id)},
                       {"remote-peer-urls", shown}});
}

Task<absl::Status> PeerTransport::ReadHandshakeAddresses(peer::FrameReader& reader,
                                                         peer::Handshake* handshake) {
  std::string block;
  absl::StatusOr<std::string_view> length = co_await context_.Within(
      context_.options().read_timeout, "handshake",
      reader.ReadExact(peer::kHandshakeAddressesLengthBytes));
  if (!length.ok()) co_return length.status();
  block.assign(*length);
  KEEL_CO_ASSIGN_OR_RETURN(const size_t remainder, peer::HandshakeAddressesRemainder(block));
  absl::StatusOr<std::string_view> rest = co_await context_.Within(
      context_.options().read_timeout, "handshake", reader.ReadExact(remainder));
  if (!rest.ok()) co_return rest.status();
  block.append(*rest);
  co_return peer::DecodeHandshakeAddresses(block, handshake);
}

Task<void> PeerTransport::ServeInbound(std::unique_ptr<Connection> connection,
                                       uint64_t number) {
  InboundRegistration registration(this, number);
  peer::PeerLink link(std::move(connection));
  if (const HttpRouter* router = context_.options().http_router; router != nullptr) {
    // A keel peer opens with the handshake magic; anything else may be an
    // HTTP request for the peer handlers (shorter than a handshake, so only
    // the magic's first bytes are awaited).
    absl::StatusOr<std::string_view> head = co_await context_.Within(
        context_.options().read_timeout, "handshake", link.reader->Peek(kHttpSniffBytes));
    if (!head.ok()) {
      context_.log().Debug("peer connection ended before its handshake",
                           {{"error", head.status().ToString()}});
      co_return;
    }
    if (*head != peer::kHandshakeMagic.substr(0, kHttpSniffBytes)) {
      Http1Connection http(*link.connection, *router, context_.env().clock());
      co_await http.Run(link.reader->TakeBuffered());
      co_return;
    }
  }
  absl::StatusOr<std::string_view> bytes = co_await context_.Within(
      context_.options().read_timeout, "handshake",
      link.reader->ReadExact(peer::kHandshakeBytes));
  if (!bytes.ok()) {
    context_.log().Debug("peer connection ended before its handshake",
                         {{"error", bytes.status().ToString()}});
    co_return;
  }
  absl::StatusOr<peer::Handshake> handshake = peer::DecodeHandshake(*bytes);
  if (handshake.ok() && handshake->version == peer::kProtocolVersion) {
    // Another version's layout past the fixed part is not this one's: it is
    // refused below without reading further.
    absl::Status addresses = co_await ReadHandshakeAddresses(*link.reader, &*handshake);
    if (!addresses.ok()) handshake = addresses;
  }
  if (!handshake.ok()) {
    context_.log().Warn("rejected a peer connection with a malformed handshake",
                        {{"remote-address", link.connection->peer_address()},
                         {"error", handshake.status().ToString()}});
    co_return;
  }
  HandshakeStatus verdict = CheckHandshake(*handshake);
  if (verdict == HandshakeStatus::kAccepted && handshake->kind == StreamKind::kSnapshot) {
    size_t receiving = 0;
    for (const auto& [n, inbound] : inbound_) {
      if (inbound.peer_id != 0 && inbound.kind == StreamKind::kSnapshot) receiving++;
    }
    if (receiving >= context_.options().inbound_snapshots_max) {
      context_.log().Warn("rejected snapshot: too many snapshots in flight",
                          {{"remote-peer-id", IdText(handshake->sender_id)}});
      verdict = HandshakeStatus::kTooManySnapshots;
    }
  }
  peer::HandshakeReply reply;
  reply.status = verdict;
  reply.responder_id = context_.local_id();
  reply.cluster_id = context_.cluster_id();
  const std::string answer = peer::EncodeHandshakeReply(reply);
  absl::Status written = co_await peer::WriteWithin(context_, *link.connection, answer);
  if (!written.ok() || verdict != HandshakeStatus::kAccepted) {
    link.connection->Close();
    co_return;
  }
  const uint64_t from = handshake->sender_id;
  auto self = inbound_.find(number);
  KEEL_ASSERT(self != inbound_.end());
  self->second.peer_id = from;
  self->second.kind = handshake->kind;
  if (handshake->kind == StreamKind::kMessage) {
    (void)co_await ServeMessages(from, number, &link);
    co_return;
  }
  if (!context_.can_deliver_snapshots()) {
    std::string refusal;
    peer::AppendFrame(&refusal, FrameType::kSnapshotResult,
                      peer::EncodeSnapshotResult(false, "this member does not accept snapshots"));
    (void)co_await peer::WriteWithin(context_, *link.connection, refusal);
    co_return;
  }
  (void)co_await peer::ReceiveSnapshot(context_, from, &link);
}

Task<absl::Status> PeerTransport::ServeMessages(uint64_t peer_id, uint64_t number,
                                                peer::PeerLink* link) {
  // A peer that reconnects replaces its older stream, as etcd's stream
  // writer closes the existing connection when a new one arrives.
  CutInbound(peer_id, StreamKind::kMessage, number);
  const std::string peer = IdText(peer_id);
  context_.log().Info("established TCP streaming connection with remote peer",
                      {{"stream-reader-type", "message"},
                       {"local-member-id", context_.local_id_text()},
                       {"remote-peer-id", peer}});
  std::vector<Task<absl::Status>> race;
  race.push_back(ReadMessages(peer_id, link->reader.get()));
  race.push_back(WriteHeartbeats(link->connection.get()));
  AnyResult<absl::Status> ended = co_await WhenAny(std::move(race));
  context_.log().Warn("lost TCP streaming connection with remote peer",
                      {{"stream-reader-type", "message"},
                       {"local-member-id", context_.local_id_text()},
                       {"remote-peer-id", peer},
                       {"error", ended.value.ToString()}});
  link->connection->Close();
  co_return ended.value;
}

Task<absl::Status> PeerTransport::ReadMessages(uint64_t peer_id,
                                               peer::FrameReader* reader) {
  uint64_t& received = received_bytes_[peer_id];
  while (true) {
    KEEL_CO_ASSIGN_OR_RETURN(peer::Frame frame, co_await peer::ReadFrameWithin(context_, *reader));
    if (frame.type == FrameType::kLinkHeartbeat) continue;
    received += frame.payload.size();
    if (frame.type != FrameType::kMessage) {
      co_return absl::InvalidArgumentError(
          StrCat("unexpected frame type ", static_cast<int>(frame.type),
                 " on an inbound message connection"));
    }
    KEEL_CO_ASSIGN_OR_RETURN(raftpb::Message message, peer::ParseMessagePayload(frame.payload));
    if (message.from() != peer_id || message.to() != context_.local_id()) {
      co_return absl::InvalidArgumentError(
          StrCat("message from ", IdText(message.from()), " to ", IdText(message.to()),
                 " on the stream from ", IdText(peer_id)));
    }
    if (message.type() == raftpb::MsgSnap) {
      co_return absl::InvalidArgumentError("MsgSnap on a message connection");
    }
    context_.DeliverMessage(std::move(message));
  }
}

Task<absl::Status> PeerTransport::WriteHeartbeats(Connection* connection) {
  std::string heartbeat;
  peer::AppendFrame(&heartbeat, FrameType::kLinkHeartbeat, {});
  while (true) {
    // Buggify: a heartbeat sooner than due (more are legal).
    co_await env_.clock().Sleep(context_.options().heartbeat_interval / (Buggify() ? 8 : 1));
    KEEL_CO_RETURN_IF_ERROR(co_await peer::WriteWithin(context_, *connection, heartbeat));
  }
}

}  // namespace keel::net
