// The types the server hands to and gets from the peer transport
// (net/peer_transport.h): its options, its callbacks, the snapshot source a
// sender reads and the received snapshot a receiver delivers.
#ifndef KEEL_NET_PEER_TYPES_H_
#define KEEL_NET_PEER_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/http_message.h"
#include "net/peer_format.h"
#include "runtime/network.h"
#include "proto/raft.pb.h"
#include "runtime/task.h"
#include "runtime/time.h"

namespace keel::net {

// The data of a snapshot being sent, read front to back once. The server
// implements it over an Mvcc point-in-time iterator; the transport owns it
// for the duration of one send and destroys it when the send ends (or is
// cancelled, possibly while ReadChunk is suspended).
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;

  // The exact number of bytes ReadChunk will produce in total.
  virtual uint64_t size_bytes() const = 0;

  // Returns the next 1..max_bytes bytes, or an empty string once all
  // size_bytes() have been read. Any error aborts the send (the receiver
  // discards what it got). May suspend.
  virtual Task<absl::StatusOr<std::string>> ReadChunk(size_t max_bytes) = 0;
};

// A source over bytes held in memory (a MsgSnap's own snapshot.data, tests).
std::unique_ptr<SnapshotSource> NewStringSnapshotSource(std::string data);

// A snapshot received completely and verified (every chunk's checksum, the
// total length and the checksum of all the data), its data synced to a file.
struct ReceivedSnapshot {
  // The MsgSnap as the leader sent it, except that snapshot.data is empty:
  // the data is in `path`.
  raftpb::Message message;
  // The file in PeerTransportOptions::snapshot_dir holding the data. From
  // the moment it is delivered the file belongs to the server, which renames
  // or removes it once it has applied the snapshot.
  std::string path;
  uint64_t size_bytes = 0;
};

// What the transport tells the server. Every callback runs on the loop inside
// one of the transport's coroutines, must not suspend, and must not call
// AddPeer, UpdatePeer, RemovePeer or destroy the transport (asserted): queue
// such work for the server's own loop. Send and SendSnapshot are fine.
struct PeerTransportCallbacks {
  // A message from a member, in the order that member sent it. The server
  // steps it into raft (RawNode::Step). Required.
  std::function<void(raftpb::Message message)> on_message;
  // A complete, verified snapshot (see ReceivedSnapshot). The server steps
  // the MsgSnap into raft and applies the file. OK tells the sender the
  // snapshot arrived; an error tells it the snapshot failed (and the
  // transport then removes the file). Required to receive snapshots; without
  // it every snapshot is refused.
  std::function<absl::Status(ReceivedSnapshot snapshot)> on_snapshot;
  // The transport could not deliver to `peer_id`: a message was dropped
  // (queue full, connection lost, peer down). The server calls
  // RawNode::ReportUnreachable(peer_id).
  std::function<void(uint64_t peer_id)> on_unreachable;
  // A snapshot send ended: ok if the receiver verified and accepted it. The
  // server calls RawNode::ReportSnapshot(peer_id, ok).
  std::function<void(uint64_t peer_id, bool ok)> on_snapshot_status;
  // Send() met a MsgSnap for `message.to()`: returns the source of its data
  // (an Mvcc point-in-time reader). Optional: without it the MsgSnap's own
  // snapshot.data is sent. An error fails the snapshot
  // (on_snapshot_status(peer, false)).
  std::function<absl::StatusOr<std::unique_ptr<SnapshotSource>>(
      const raftpb::Message& message)>
      open_snapshot;
  // Member `peer_id` refused this member because it was removed from the
  // cluster (etcd treats this as fatal: the server stops). Optional.
  std::function<void(uint64_t peer_id)> on_removed;
};

// Bounds and timing. The defaults are etcd's where etcd has one.
struct PeerTransportOptions {
  uint64_t local_id = 0;
  uint64_t cluster_id = 0;
  // "host:port" to accept peers on (the listen-peer-url's host and port);
  // port 0 picks one. Empty: no listener (this member only dials).
  std::string listen_address;
  // Where this member accepts peers ("host:port", its advertised peer URLs),
  // sent in every handshake so that a member that does not know this one
  // yet can answer it (etcd's X-PeerURLs header). May be empty.
  std::vector<std::string> advertise_addresses;
  // Where received snapshots are written; created if missing. Required to
  // receive snapshots.
  std::string snapshot_dir;
  // Messages queued for one peer before Send drops (etcd's streamBufSize).
  size_t queue_capacity_messages = 4096;
  // Encoded bytes queued for one peer before Send drops.
  size_t queue_capacity_bytes = 64u << 20;
  // A writer closes a batch (one Connection::Write) at this many bytes.
  size_t batch_bytes_max = 1u << 20;
  // Reconnect delay after the n-th consecutive failure: uniform in
  // [d/2, d] for d = min(backoff_initial * 2^n, backoff_max).
  Duration backoff_initial = Milliseconds(100);
  Duration backoff_max = Seconds(5);
  Duration dial_timeout = peer::kDialTimeout;
  Duration read_timeout = peer::kConnReadTimeout;
  Duration write_timeout = peer::kConnWriteTimeout;
  Duration heartbeat_interval = peer::kLinkHeartbeatInterval;
  Duration snapshot_result_timeout = peer::kSnapshotResultTimeout;
  // Snapshot data per chunk frame.
  size_t snapshot_chunk_bytes = peer::kSnapshotChunkBytes;
  // Snapshots received at once; more are refused (kTooManySnapshots).
  size_t inbound_snapshots_max = 4;
  // Where to listen and dial; null means env.net(). A TlsNetwork here makes
  // the transport speak TLS (net/tls_network.h). Must outlive the transport.
  Network* network = nullptr;
  // Serves plain HTTP/1.1 on the peer listener (etcd's peer handlers, such
  // as the /members a joining member asks): a connection whose first bytes
  // are not the handshake magic goes to it. Null: such a connection is a
  // malformed handshake. Must outlive the transport.
  const HttpRouter* http_router = nullptr;
};

// Whether the outbound connection to a peer is up, and since when.
struct PeerStatus {
  bool known = false;   // the peer is in the member set
  bool active = false;  // its message connection is established
  TimePoint active_since{};  // meaningful when active
};

// Counters for one peer, for metrics and tests.
struct PeerStats {
  uint64_t dials = 0;             // connection attempts
  uint64_t connects = 0;          // handshakes accepted by the peer
  uint64_t messages_sent = 0;     // written to a connection
  uint64_t messages_dropped = 0;  // dropped: queue full, backoff, lost
  uint64_t batches_written = 0;   // Connection::Write calls with messages
  uint64_t bytes_written = 0;
  uint64_t snapshots_sent = 0;
  uint64_t snapshots_failed = 0;
  // Chunk frames of the snapshots sent, and how many of those snapshots
  // took more than one.
  uint64_t snapshot_chunks_sent = 0;
  uint64_t snapshots_sent_in_chunks = 0;
};

}  // namespace keel::net

#endif  // KEEL_NET_PEER_TYPES_H_
