// RaftTransport: the `raft` scenario's peer transport, raft messages as
// checksummed protobuf frames over keel's Network (a stand-in for the real
// peer transport in net/).
//
// Frame (little endian):
//   payload length u32 | masked crc32c u32 of kind and payload | kind u8 |
//   payload
// kind kHello opens every connection: the sender's member id (u64) and the
// address it listens on, so a member can answer peers it has not yet
// learned about from the log (a member restarted before it replayed the
// configuration change that added its leader). kMessage carries one
// raftpb::Message.
//
// Each peer has one outgoing connection, fed by a bounded queue and a
// sender task; messages are written in batches. A message that cannot be
// delivered (no address, a failed connect or write, a full queue) is
// dropped and reported with `unreachable`, as raft expects: it tolerates
// loss and retries itself. A MsgSnap's outcome is reported as etcd's
// transport reports it: `snapshot_status(to, true)` once its batch was
// written to the connection, false if it was dropped or the write failed
// (raft then retries after a heartbeat). Incoming connections each get a reader task that
// hands every message to `deliver`. All tasks run on the owner's process,
// capture the transport, and so must die with it: the transport must be
// owned by the process's oldest frame (its boot task).
#ifndef KEEL_SIM_SCENARIOS_RAFT_TRANSPORT_H_
#define KEEL_SIM_SCENARIOS_RAFT_TRANSPORT_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/raft.pb.h"
#include "runtime/env.h"
#include "runtime/sync.h"
#include "runtime/task.h"

namespace keel::sim {

inline constexpr size_t kRaftFrameHeaderBytes = 9;
inline constexpr size_t kMaxRaftFrameBytes = 8 << 20;
// Messages queued for one peer before new ones are dropped.
inline constexpr size_t kMaxQueuedMessages = 4096;
// Bytes of frames written to a connection at once.
inline constexpr size_t kMaxWriteBatchBytes = 256 << 10;
inline constexpr Duration kConnectTimeout = Seconds(1);
inline constexpr Duration kReconnectBackoff = Milliseconds(100);

enum class RaftFrameKind : uint8_t { kHello = 1, kMessage = 2 };

std::string EncodeHelloFrame(uint64_t id, std::string_view address);
std::string EncodeMessageFrame(const raftpb::Message& message);

// A frame taken off a stream.
struct RaftFrame {
  RaftFrameKind kind;
  uint64_t hello_id = 0;         // kHello
  std::string hello_address;     // kHello
  raftpb::Message message;       // kMessage
};

// Splits a byte stream into frames.
class RaftFrameReader {
 public:
  void Append(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame, nullopt if more bytes are needed, DataLoss for a
  // frame that fails its checksum or does not decode (the stream is then
  // useless: close it).
  absl::StatusOr<std::optional<RaftFrame>> Next();

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

class RaftTransport {
 public:
  struct Callbacks {
    // A message arrived for this member.
    std::function<void(raftpb::Message)> deliver;
    // A message to `id` was dropped.
    std::function<void(uint64_t id)> unreachable;
    // A MsgSnap to `id` was written (ok) or dropped; may be null.
    std::function<void(uint64_t id, bool ok)> snapshot_status;
  };

  RaftTransport(Env& env, uint64_t self, Callbacks callbacks);
  RaftTransport(const RaftTransport&) = delete;
  RaftTransport& operator=(const RaftTransport&) = delete;

  // Listens on `address` and starts accepting. Errors from Listen.
  absl::Status Listen(std::string address);

  // Records (or replaces) where member `id` listens.
  void SetPeer(uint64_t id, std::string address);
  // Forgets `id`: queued messages are dropped and its connection closed.
  void RemovePeer(uint64_t id);

  // Queues `message` for message.to(). Never suspends.
  void Send(raftpb::Message message);

  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Peer {
    uint64_t id = 0;
    std::string address;
    std::deque<raftpb::Message> queue;
    Event wake;
    uint64_t generation = 0;  // bumped by RemovePeer and address changes
  };

  Peer& PeerFor(uint64_t id);
  void DropQueue(Peer& peer);
  // Reports every MsgSnap in `messages` as failed.
  void FailSnapshots(uint64_t id, const std::deque<raftpb::Message>& messages);
  void ReportSnapshots(uint64_t id, size_t count, bool ok);
  Task<void> SendLoop(Peer* peer);
  Task<void> AcceptLoop(std::unique_ptr<Listener> listener);
  Task<void> ReadLoop(std::unique_ptr<Connection> conn);

  Env& env_;
  const uint64_t self_;
  Callbacks callbacks_;
  std::string address_;
  // Peers are never erased, so their sender tasks may hold pointers.
  absl::btree_map<uint64_t, std::unique_ptr<Peer>> peers_;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RAFT_TRANSPORT_H_
