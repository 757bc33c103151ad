// The peer protocol's constants: how members of one keel cluster talk raft to
// each other over their peer URLs. See doc/peer_protocol.md for the prose.
//
// A connection starts with a handshake from the dialer (a fixed-size,
// checksummed part, then the dialer's own peer addresses, checksummed) and a
// reply from the acceptor; after an accepted handshake both sides exchange
// frames:
//
//   frame  = length:u32 | masked crc32c(type, payload):u32 | type:u8 | payload
//
// All integers are little-endian. A message connection carries kMessage and
// kLinkHeartbeat frames from dialer to acceptor and kLinkHeartbeat frames
// back; a snapshot connection carries one snapshot, dialer to acceptor, and
// one kSnapshotResult frame back.
#ifndef KEEL_NET_PEER_FORMAT_H_
#define KEEL_NET_PEER_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/time.h"

namespace keel::net::peer {

// The first bytes of every handshake; anything else is not a keel peer.
inline constexpr std::string_view kHandshakeMagic = "KEELPEER";
// The first bytes of every handshake reply.
inline constexpr std::string_view kReplyMagic = "KEELPACK";
// Bumped on any incompatible change. An acceptor refuses other versions.
// Version 2 added the dialer's addresses after the fixed handshake.
inline constexpr uint16_t kProtocolVersion = 2;

// magic(8) version(2) kind(1) reserved(1) sender(8) target(8) cluster(8)
// crc(4).
inline constexpr size_t kHandshakeBytes = 40;
// Then the addresses the dialer accepts peers on, as etcd's X-PeerURLs
// header carries them: length(2) | "host:port,host:port" | crc(4) over the
// length and the addresses. An acceptor that does not know the dialer yet
// answers it there (a member added after the acceptor's last known
// configuration, such as the leader of a learner that just joined).
inline constexpr size_t kHandshakeAddressesLengthBytes = 2;
inline constexpr size_t kMaxHandshakeAddressesBytes = 4096;
// magic(8) version(2) status(1) reserved(1) responder(8) cluster(8) crc(4).
inline constexpr size_t kHandshakeReplyBytes = 32;

// What a connection is for, chosen by the dialer.
enum class StreamKind : uint8_t {
  kMessage = 1,   // raft messages, one connection per peer, long-lived
  kSnapshot = 2,  // one MsgSnap and its data, one connection per snapshot
};

// The acceptor's answer to a handshake. Anything but kAccepted is followed by
// the acceptor closing the connection.
enum class HandshakeStatus : uint8_t {
  kAccepted = 0,
  kClusterIdMismatch = 1,    // the dialer belongs to another cluster
  kRemovedMember = 2,        // the dialer was removed from the cluster
  kUnknownMember = 3,        // the dialer is neither a member nor gave addresses
  kTargetMismatch = 4,       // the dialer wanted another member
  kIncompatibleVersion = 5,  // the acceptor does not speak this version
  kTooManySnapshots = 6,     // the acceptor is receiving its limit already
};
inline constexpr uint8_t kMaxHandshakeStatus = 6;

enum class FrameType : uint8_t {
  kMessage = 1,          // a serialized keel.raftpb.Message
  kLinkHeartbeat = 2,    // empty; keeps an idle connection provably alive
  kSnapshotHeader = 3,   // total_bytes:u64 | the MsgSnap without its data
  kSnapshotChunk = 4,    // the next bytes of the snapshot data
  kSnapshotEnd = 5,      // total_bytes:u64 | masked crc32c of all data:u32
  kSnapshotResult = 6,   // ok:u8 | reason (UTF-8), receiver to sender
};
inline constexpr uint8_t kMaxFrameType = 6;

// length(4) crc(4) type(1).
inline constexpr size_t kFrameHeaderBytes = 9;

// Bounds a receiver enforces before it allocates anything. A raft message
// carries at most MaxSizePerMsg of entries (1 MiB in etcd) but one entry may
// be as large as a request (--max-request-bytes, 1.5 MiB by default, and
// operators raise it), so the bound is generous.
inline constexpr size_t kMaxMessageFrameBytes = 64u << 20;
// The sender cuts snapshot data into chunks of this size.
inline constexpr size_t kSnapshotChunkBytes = 1u << 20;
// A receiver refuses larger chunks (a sender may use smaller ones).
inline constexpr size_t kMaxSnapshotChunkBytes = 4u << 20;
// Header, end and result frames are small.
inline constexpr size_t kMaxControlFrameBytes = 64u << 10;
// The largest snapshot a receiver accepts (etcd's largest backend quota is
// 8 GiB; this leaves room).
inline constexpr uint64_t kMaxSnapshotBytes = uint64_t{64} << 30;
inline constexpr size_t kSnapshotHeaderFixedBytes = 8;
inline constexpr size_t kSnapshotEndBytes = 12;

static_assert(kSnapshotChunkBytes <= kMaxSnapshotChunkBytes);
static_assert(kMaxMessageFrameBytes < (uint64_t{1} << 32));
static_assert(kSnapshotEndBytes <= kMaxControlFrameBytes);

// Timing, from etcd's rafthttp: a connection that has shown no sign of life
// for kConnReadTimeout is dead; an idle writer sends a link heartbeat every
// third of that so a live one never looks dead.
inline constexpr Duration kDialTimeout = Seconds(1);
inline constexpr Duration kConnReadTimeout = Seconds(5);
inline constexpr Duration kConnWriteTimeout = Seconds(5);
inline constexpr Duration kLinkHeartbeatInterval = kConnReadTimeout / 3;
// How long a snapshot sender waits for the receiver's verdict after the last
// byte: the receiver syncs the whole file first.
inline constexpr Duration kSnapshotResultTimeout = Seconds(30);

static_assert(kLinkHeartbeatInterval < kConnReadTimeout);

}  // namespace keel::net::peer

#endif  // KEEL_NET_PEER_FORMAT_H_
