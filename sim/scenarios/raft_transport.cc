// RaftTransport: frame codec, per-peer sender tasks and connection readers.
#include "sim/scenarios/raft_transport.h"

#include <span>
#include <utility>

#include "runtime/assert.h"
#include "runtime/crc32c.h"
#include "runtime/strings.h"

namespace keel::sim {
namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string EncodeFrame(RaftFrameKind kind, std::string_view payload) {
  KEEL_ASSERT(payload.size() + 1 <= kMaxRaftFrameBytes);
  std::string out;
  out.reserve(kRaftFrameHeaderBytes + payload.size());
  PutU32(&out, static_cast<uint32_t>(payload.size()));
  PutU32(&out, 0);  // the CRC, filled in below
  out.push_back(static_cast<char>(kind));
  out.append(payload);
  const uint32_t crc = crc32c::Mask(crc32c::Value(out.data() + 8, out.size() - 8));
  for (int i = 0; i < 4; i++) out[4 + i] = static_cast<char>(crc >> (8 * i));
  return out;
}

}  // namespace

std::string EncodeHelloFrame(uint64_t id, std::string_view address) {
  std::string payload;
  PutU64(&payload, id);
  payload.append(address);
  return EncodeFrame(RaftFrameKind::kHello, payload);
}

std::string EncodeMessageFrame(const raftpb::Message& message) {
  return EncodeFrame(RaftFrameKind::kMessage, message.SerializeAsString());
}

absl::StatusOr<std::optional<RaftFrame>> RaftFrameReader::Next() {
  const size_t available = buffer_.size() - offset_;
  if (available < kRaftFrameHeaderBytes) return std::nullopt;
  const char* header = buffer_.data() + offset_;
  const uint32_t length = GetU32(header);
  if (length + 1 > kMaxRaftFrameBytes) {
    return absl::DataLossError(StrCat("raft frame of ", length, " bytes"));
  }
  if (available < kRaftFrameHeaderBytes + length) return std::nullopt;
  const uint32_t crc = crc32c::Value(header + 8, 1 + length);
  if (crc32c::Mask(crc) != GetU32(header + 4)) {
    return absl::DataLossError("raft frame fails its checksum");
  }
  RaftFrame frame;
  frame.kind = static_cast<RaftFrameKind>(header[8]);
  const std::string_view payload(header + kRaftFrameHeaderBytes, length);
  switch (frame.kind) {
    case RaftFrameKind::kHello:
      if (payload.size() < 8) return absl::DataLossError("short hello frame");
      frame.hello_id = GetU64(payload.data());
      frame.hello_address = std::string(payload.substr(8));
      break;
    case RaftFrameKind::kMessage:
      if (!frame.message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return absl::DataLossError("undecodable raft message");
      }
      break;
    default:
      return absl::DataLossError(StrCat("unknown raft frame kind ", int{header[8]}));
  }
  offset_ += kRaftFrameHeaderBytes + length;
  // Drop consumed bytes once they dominate the buffer.
  if (offset_ > (64u << 10) && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return frame;
}

RaftTransport::RaftTransport(Env& env, uint64_t self, Callbacks callbacks)
    : env_(env), self_(self), callbacks_(std::move(callbacks)) {
  KEEL_ASSERT(self_ != 0);
  KEEL_ASSERT(callbacks_.deliver != nullptr && callbacks_.unreachable != nullptr);
}

absl::Status RaftTransport::Listen(std::string address) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = env_.net().Listen(address);
  if (!listener.ok()) return listener.status();
  address_ = std::move(address);
  env_.Spawn(AcceptLoop(std::move(*listener)));
  return absl::OkStatus();
}

RaftTransport::Peer& RaftTransport::PeerFor(uint64_t id) {
  auto [it, inserted] = peers_.try_emplace(id);
  if (inserted) {
    it->second = std::make_unique<Peer>();
    it->second->id = id;
    env_.Spawn(SendLoop(it->second.get()));
  }
  return *it->second;
}

void RaftTransport::SetPeer(uint64_t id, std::string address) {
  if (id == self_ || address.empty()) return;
  Peer& peer = PeerFor(id);
  if (peer.address == address) return;
  peer.address = std::move(address);
  peer.generation++;
}

void RaftTransport::RemovePeer(uint64_t id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& peer = *it->second;
  peer.address.clear();
  peer.generation++;
  FailSnapshots(peer.id, peer.queue);
  peer.queue.clear();
  peer.wake.Set();  // the sender closes its connection
}

void RaftTransport::Send(raftpb::Message message) {
  KEEL_ASSERT(message.to() != self_);
  Peer& peer = PeerFor(message.to());
  if (peer.address.empty() || peer.queue.size() >= kMaxQueuedMessages) {
    dropped_++;
    callbacks_.unreachable(peer.id);
    if (message.type() == raftpb::MsgSnap) ReportSnapshots(peer.id, 1, false);
    return;
  }
  peer.queue.push_back(std::move(message));
  peer.wake.Set();
}

void RaftTransport::DropQueue(Peer& peer) {
  if (peer.queue.empty()) return;
  dropped_ += peer.queue.size();
  // Taken first: the reports may call back into Send.
  std::deque<raftpb::Message> lost = std::move(peer.queue);
  peer.queue.clear();
  callbacks_.unreachable(peer.id);
  FailSnapshots(peer.id, lost);
}

void RaftTransport::FailSnapshots(uint64_t id,
                                  const std::deque<raftpb::Message>& messages) {
  size_t count = 0;
  for (const raftpb::Message& message : messages) {
    if (message.type() == raftpb::MsgSnap) count++;
  }
  ReportSnapshots(id, count, false);
}

void RaftTransport::ReportSnapshots(uint64_t id, size_t count, bool ok) {
  if (callbacks_.snapshot_status == nullptr) return;
  for (size_t i = 0; i < count; i++) callbacks_.snapshot_status(id, ok);
}

Task<void> RaftTransport::SendLoop(Peer* peer) {
  std::unique_ptr<Connection> conn;
  uint64_t conn_generation = 0;
  while (true) {
    if (conn != nullptr && conn_generation != peer->generation) conn.reset();
    if (peer->queue.empty()) {
      peer->wake.Reset();
      co_await peer->wake.Wait();
      continue;
    }
    if (conn == nullptr) {
      if (peer->address.empty()) {
        DropQueue(*peer);
        continue;
      }
      const uint64_t generation = peer->generation;
      const std::string address = peer->address;
      auto connected = co_await env_.clock().WithTimeout(
          kConnectTimeout, env_.net().Connect(address));
      if (!connected.has_value() || !connected->ok()) {
        DropQueue(*peer);
        co_await env_.clock().Sleep(kReconnectBackoff);
        continue;
      }
      conn = std::move(**connected);
      conn_generation = generation;
      const std::string hello = EncodeHelloFrame(self_, address_);
      const absl::Status greeted = co_await conn->Write(hello);
      if (!greeted.ok()) {
        conn.reset();
        DropQueue(*peer);
        continue;
      }
    }
    std::string batch;
    size_t snapshots = 0;
    while (!peer->queue.empty() && batch.size() < kMaxWriteBatchBytes) {
      if (peer->queue.front().type() == raftpb::MsgSnap) snapshots++;
      batch += EncodeMessageFrame(peer->queue.front());
      peer->queue.pop_front();
      sent_++;
    }
    const absl::Status written = co_await conn->Write(batch);
    if (!written.ok()) {
      conn.reset();
      callbacks_.unreachable(peer->id);
    }
    ReportSnapshots(peer->id, snapshots, written.ok());
  }
}

Task<void> RaftTransport::AcceptLoop(std::unique_ptr<Listener> listener) {
  while (true) {
    absl::StatusOr<std::unique_ptr<Connection>> conn = co_await listener->Accept();
    if (!conn.ok()) co_return;
    env_.Spawn(ReadLoop(std::move(*conn)));
  }
}

Task<void> RaftTransport::ReadLoop(std::unique_ptr<Connection> conn) {
  RaftFrameReader reader;
  std::string buffer(64 << 10, '\0');
  while (true) {
    absl::StatusOr<size_t> n =
        co_await conn->Read(std::span<char>(buffer.data(), buffer.size()));
    if (!n.ok() || *n == 0) co_return;
    reader.Append(std::string_view(buffer.data(), *n));
    while (true) {
      absl::StatusOr<std::optional<RaftFrame>> frame = reader.Next();
      if (!frame.ok()) {
        env_.log().Warn("closing a peer connection",
                        {{"error", frame.status().ToString()}});
        co_return;
      }
      if (!frame->has_value()) break;
      RaftFrame& f = **frame;
      if (f.kind == RaftFrameKind::kHello) {
        SetPeer(f.hello_id, std::move(f.hello_address));
      } else {
        callbacks_.deliver(std::move(f.message));
      }
    }
  }
}

}  // namespace keel::sim
