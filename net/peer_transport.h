// PeerTransport: raft messages between the members of one keel cluster, over
// their peer URLs (the protocol is doc/peer_protocol.md).
//
// Outbound, one PeerPipeline per peer keeps a message connection up (dial,
// handshake, reconnect with backoff) and writes what Send() queued, in order
// and in batches; Send itself never suspends. MsgSnap goes on a connection of
// its own per snapshot, its data streamed in checksummed chunks from a
// SnapshotSource. Inbound, a listener accepts connections, checks each
// handshake (protocol version, cluster id, that the sender is a current
// member, or one not removed that says where it listens, and that the target
// is this member) and delivers what arrives: messages at once, snapshots
// once complete, verified and synced.
//
// A sender that is not a member yet (a member added after this one's last
// known configuration: the leader of a learner that just joined, say) is
// accepted if it is not known to be removed and its handshake names its
// addresses; the transport then keeps a *remote* for it, an outbound
// pipeline that carries this member's answers back until the sender becomes
// a member (AddPeer) or is removed. This is etcd's rafthttp AddRemote, fed
// by its X-PeerURLs header; raft itself decides what the messages are worth.
//
// The server builds one transport per member in its process, adds the other
// members, calls Send() with every Ready's messages, and feeds what the
// callbacks report into its RawNode:
//
//   PeerTransportOptions options;
//   options.local_id = id; options.cluster_id = cid;
//   options.listen_address = "10.0.0.1:2380";
//   options.snapshot_dir = "member/snap/peer";
//   PeerTransport transport(env, options, callbacks);
//   KEEL_RETURN_IF_ERROR(transport.Start());
//   transport.AddPeer(2, {"10.0.0.2:2380"});
//   transport.Send(std::move(ready.messages));
//
// Everything runs on the Env's loop and through its clock, random, network
// and files, so the transport runs unchanged in the simulator.
#ifndef KEEL_NET_PEER_TRANSPORT_H_
#define KEEL_NET_PEER_TRANSPORT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/peer_context.h"
#include "net/peer_pipeline.h"
#include "net/peer_types.h"
#include "net/task_group.h"
#include "proto/raft.pb.h"
#include "runtime/env.h"
#include "runtime/network.h"
#include "runtime/task.h"

namespace keel::net {

// "http://10.0.0.1:2380" or "10.0.0.1:2380" -> "10.0.0.1:2380".
// InvalidArgument for another scheme, a path, or a bad host:port.
absl::StatusOr<std::string> PeerUrlToAddress(std::string_view url);

class PeerTransport {
 public:
  // Nothing happens until Start(). The transport must live in frames of
  // `env`'s process, and Start, AddPeer, Send and SendSnapshot must be called
  // from that process's coroutines (they start coroutines charged to it).
  PeerTransport(Env& env, PeerTransportOptions options,
                PeerTransportCallbacks callbacks);
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;
  // Abrupt: closes every connection and destroys every coroutine; snapshots
  // in flight are neither delivered nor reported.
  ~PeerTransport();

  // Prepares the snapshot directory (creating it, removing partial files a
  // crash left) and starts listening if options.listen_address is set.
  // AlreadyExists / InvalidArgument from Listen, file errors from the
  // directory. Call once. Does not suspend.
  absl::Status Start();
  // The bound listen address (with the real port); empty without listener.
  const std::string& listen_address() const { return listen_address_; }

  // Adds member `id` at `addresses` ("host:port", tried in turn) and starts
  // dialing it; a remote kept for `id` gives way to it. AlreadyExists if
  // present; InvalidArgument for id 0, the local id or no addresses. Does
  // not suspend.
  absl::Status AddPeer(uint64_t id, std::vector<std::string> addresses);
  // Replaces a member's addresses (its live connection stays). NotFound if
  // absent; InvalidArgument for no addresses.
  absl::Status UpdatePeer(uint64_t id, std::vector<std::string> addresses);
  // Removes member `id` (a member or a remote): its outbound connection and
  // snapshots close, its inbound connections are cut, and later connections
  // from it are refused as removed (etcd's "rejected stream from remote peer
  // because it was removed"). An id the transport does not know is recorded
  // as removed all the same (a restarted member learns its removed members
  // before they call). InvalidArgument for id 0 or the local id. Does not
  // suspend.
  absl::Status RemovePeer(uint64_t id);
  bool HasPeer(uint64_t id) const { return peers_.count(id) != 0; }
  // Whether a remote is kept for `id` (a sender not yet a member).
  bool HasRemote(uint64_t id) const { return remotes_.count(id) != 0; }
  bool IsRemoved(uint64_t id) const { return removed_.count(id) != 0; }
  // Member ids, ascending.
  std::vector<uint64_t> peer_ids() const;

  // Queues each message for its peer (or remote), in order per peer, and
  // returns at once. A MsgSnap starts a snapshot send (SendSnapshot with the
  // source from callbacks.open_snapshot, or its own data) to members only.
  // Messages to 0, to unknown or removed members are dropped; messages that
  // do not fit a peer's queue, or
  // meet a peer whose connection is down, are dropped and the peer is
  // reported through on_unreachable (once per call per peer). Never
  // suspends.
  void Send(std::vector<raftpb::Message> messages);

  // Sends `message` (a MsgSnap) with the data of `source` on a connection of
  // its own, and reports the outcome through on_snapshot_status (and
  // on_unreachable on failure). One snapshot per peer at a time: another one
  // for the same peer fails at once. Never suspends.
  void SendSnapshot(raftpb::Message message,
                    std::unique_ptr<SnapshotSource> source);

  // Whether the message connection to `id` is up, and since when (etcd's
  // ActiveSince, used for the leader's quorum check and /health).
  PeerStatus status(uint64_t id) const;
  // Counters for `id` (zero for an unknown id).
  PeerStats stats(uint64_t id) const;
  // Message payload bytes received from `id` on message connections
  // (etcd_network_peer_received_bytes_total), since this transport started.
  uint64_t received_bytes(uint64_t id) const;
  // Inbound connections being served (message and snapshot).
  size_t inbound_connection_count() const { return inbound_.size(); }
  // Snapshots being sent.
  size_t outbound_snapshot_count() const { return snapshot_senders_.size(); }

 private:
  // A served inbound connection, registered by its serving frame.
  struct Inbound {
    uint64_t peer_id = 0;  // 0 until the handshake names the sender
    peer::StreamKind kind = peer::StreamKind::kMessage;
    uint64_t task_id = 0;
  };
  class InboundRegistration;
  class SenderRegistration;

  void AssertInProcess() const;
  // The pipeline that carries messages to `id`: its member's, else (not
  // for a snapshot) its remote's; null if neither.
  peer::PeerPipeline* PipelineTo(uint64_t id, bool snapshot);

  Task<void> AcceptLoop();
  Task<void> ServeInbound(std::unique_ptr<Connection> connection, uint64_t number);
  // The acceptor's checks, in etcd's order; logs a refusal. Keeps a remote
  // for an unknown sender it accepts.
  peer::HandshakeStatus CheckHandshake(const peer::Handshake& handshake);
  // Reads the address block after an accepted version's fixed handshake.
  Task<absl::Status> ReadHandshakeAddresses(peer::FrameReader& reader,
                                            peer::Handshake* handshake);
  // Starts (or re-aims) the remote for `id` at `addresses`.
  void KeepRemote(uint64_t id, const std::vector<std::string>& addresses);
  // Serves the accepted message connection `number` from `peer_id`.
  Task<absl::Status> ServeMessages(uint64_t peer_id, uint64_t number,
                                   peer::PeerLink* link);
  Task<absl::Status> ReadMessages(uint64_t peer_id, peer::FrameReader* reader);
  Task<absl::Status> WriteHeartbeats(Connection* connection);
  Task<void> RunSnapshotSender(uint64_t peer_id, std::string address,
                               raftpb::Message message,
                               std::unique_ptr<SnapshotSource> source);
  // Cancels the tasks serving inbound connections from `peer_id` (every
  // kind, or only `kind`), except `keep`.
  void CutInbound(uint64_t peer_id, std::optional<peer::StreamKind> kind,
                  uint64_t keep);
  void FailSnapshot(uint64_t peer_id, std::string_view why);

  Env& env_;
  peer::PeerContext context_;
  std::unique_ptr<Listener> listener_;
  std::string listen_address_;
  bool started_ = false;
  std::map<uint64_t, std::unique_ptr<peer::PeerPipeline>> peers_;
  // Senders accepted before they are members: their answers go here.
  std::map<uint64_t, std::unique_ptr<peer::PeerPipeline>> remotes_;
  std::set<uint64_t> removed_;
  // Inbound connections by arrival number.
  std::map<uint64_t, Inbound> inbound_;
  uint64_t next_inbound_ = 1;
  // Snapshot senders by peer: the task id.
  std::map<uint64_t, uint64_t> snapshot_senders_;
  // received_bytes() by peer (stable entries: a reader keeps a reference).
  std::map<uint64_t, uint64_t> received_bytes_;
  // Declared last: connection frames go before the state they use.
  TaskGroup tasks_;
};

// Remotes kept at once (senders not yet members); beyond it an unknown
// sender is refused as before. A cluster adds members one at a time, so a
// handful is plenty; this only bounds a flood.
inline constexpr size_t kMaxRemotes = 16;
// Bytes the listener reads to tell a handshake from an HTTP request.
inline constexpr size_t kHttpSniffBytes = 4;

}  // namespace keel::net

#endif  // KEEL_NET_PEER_TRANSPORT_H_
