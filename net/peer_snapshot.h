// Snapshots over the peer protocol: each MsgSnap travels on a connection of
// its own, so that its data (the whole key space) neither blocks the
// message connection's heartbeats nor has to fit in one frame.
//
// The sender writes a header frame (the MsgSnap without its data, and the
// data's length), the data in chunk frames of snapshot_chunk_bytes read from
// a SnapshotSource (each frame checksummed), and an end frame with the
// length and crc32c of all the data; then it waits for the receiver's result
// frame. The receiver writes the chunks to "<dir>/<index>-<term>-<nonce>
// .peer-snap.part" through env.fs(), checks the length and the whole-data
// checksum, syncs the file, renames it to drop ".part", syncs the directory,
// and only then delivers the MsgSnap (on_snapshot) and answers. Anything
// short of that removes the file, delivers nothing and answers failure (if
// the connection still works).
#ifndef KEEL_NET_PEER_SNAPSHOT_H_
#define KEEL_NET_PEER_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "net/peer_context.h"
#include "net/peer_types.h"
#include "proto/raft.pb.h"
#include "runtime/task.h"

namespace keel::net::peer {

// The suffixes of received snapshot files.
inline constexpr std::string_view kSnapshotFileSuffix = ".peer-snap";
inline constexpr std::string_view kPartialSnapshotSuffix = ".peer-snap.part";

// Sends `message` (a MsgSnap whose data has been taken out) and the data of
// `source` to `peer_id` at `address` on a new connection. OK once the
// receiver has verified the data and accepted the snapshot; Aborted with the
// receiver's reason if it refused; otherwise the dial, write, source or
// timeout error. Suspends for the whole transfer. Once the data is written,
// sets *chunks_sent (if given) to the number of chunk frames it took.
Task<absl::Status> SendSnapshot(PeerContext& context, uint64_t peer_id,
                                std::string address, raftpb::Message message,
                                std::unique_ptr<SnapshotSource> source,
                                uint64_t* chunks_sent = nullptr);

// Serves an accepted snapshot connection from `peer_id` (the handshake is
// done): receives, verifies, stores and delivers one snapshot, then writes
// the result frame. Returns what it told the sender. Suspends.
Task<absl::Status> ReceiveSnapshot(PeerContext& context, uint64_t peer_id,
                                   PeerLink* link);

// Removes "*.peer-snap.part" files left in the snapshot directory by a
// receiver that died mid-transfer, and creates the directory if missing.
absl::Status PrepareSnapshotDir(PeerContext& context);

}  // namespace keel::net::peer

#endif  // KEEL_NET_PEER_SNAPSHOT_H_
