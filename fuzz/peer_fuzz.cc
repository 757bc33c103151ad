// fuzz_peer: the peer transport's framing (net/peer_frame.h,
// net/peer_transport.h) from the accepting side.
//
// Member 1 runs a PeerTransport on a simulated machine (net/peer_test_util.h)
// that knows member 2; a dialer machine at member 2's address connects to
// it, writes the input in slices, reads whatever comes back, and closes.
// The transport must never crash, must let the connection go once the
// dialer has closed it, and must hand raft only messages and snapshots the
// dialer really framed.
//
// Input: byte 0 picks the mode; byte 1 the write slice size.
//  - even mode: the rest goes onto the connection byte for byte;
//  - odd mode: the rest is a program (below) the harness turns into a
//    handshake and correctly checksummed frames, so the fuzzer reaches what
//    lies behind the CRCs. Ops (byte % 7): 0 a kMessage frame of a
//    raftpb::Message parsed from String(); 1 a link heartbeat; 2 a frame of
//    type 1 + byte % 6 with payload String(); 3 String() unframed; 4 a
//    snapshot header (MsgSnap with index/term bytes, total from 2 bytes);
//    5 a snapshot chunk String(); 6 a snapshot end (total from 2 bytes, CRC
//    of the chunks so far, or a wrong one).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/recycled.h"
#include "fuzz/sim_dialer.h"
#include "net/peer_frame.h"
#include "net/peer_test_util.h"
#include "runtime/assert.h"
#include "runtime/crc32c.h"

namespace keel::fuzz {
namespace {

namespace peer = net::peer;

struct World {
  World() : cluster(/*seed=*/1), dialer(cluster.world(), "10.0.0.2") {
    net::testing::MemberConfig config;
    config.Only({2});
    cluster.Add(1, config);
    cluster.Start(1);
    dialer.Start();
  }
  net::testing::PeerCluster cluster;
  SimDialer dialer;
};

// Rebuilt every 1000 inputs (fuzz/recycled.h); call once per input.
World& TheWorld() { return Recycled<World>(1000); }

// What a program framed: the messages and snapshot contents raft may get.
// Unframed bytes may happen to hold a valid frame (the fuzzer learns CRCs
// from comparisons), so only a program without them is checked.
struct Framed {
  bool exact = true;
  std::set<std::string> messages;
  std::set<std::string> snapshots;
};

std::string BuildProgram(FuzzInput& input, Framed* framed) {
  peer::Handshake handshake;
  const uint8_t flags = input.Byte();
  handshake.kind = (flags & 1) ? peer::StreamKind::kSnapshot : peer::StreamKind::kMessage;
  handshake.sender_id = (flags & 2) ? 3 : 2;
  handshake.target_id = (flags & 4) ? 9 : 1;
  handshake.cluster_id = (flags & 8) ? 0xbad : net::testing::kClusterId;
  if (flags & 16) handshake.version = peer::kProtocolVersion + 1;
  std::string out = peer::EncodeHandshake(handshake);
  std::string snapshot_data;
  for (int ops = 0; !input.empty() && ops < 256; ops++) {
    switch (input.Byte() % 7) {
      case 0: {
        raftpb::Message message;
        if (!message.ParseFromString(std::string(input.String()))) break;
        if (peer::AppendMessageFrame(&out, message).ok()) {
          framed->messages.insert(message.SerializeAsString());
        }
        break;
      }
      case 1:
        peer::AppendFrame(&out, peer::FrameType::kLinkHeartbeat, "");
        break;
      case 2: {
        const auto type = static_cast<peer::FrameType>(1 + input.Byte() % 6);
        std::string_view payload = input.String();
        payload = payload.substr(0, peer::MaxFramePayloadBytes(type));
        peer::AppendFrame(&out, type, payload);
        raftpb::Message message;
        if (type == peer::FrameType::kMessage &&
            message.ParseFromString(std::string(payload))) {
          framed->messages.insert(message.SerializeAsString());
        }
        break;
      }
      case 3:
        out.append(input.String());
        framed->exact = false;
        break;
      case 4: {
        raftpb::Message message;
        message.set_type(raftpb::MsgSnap);
        message.set_from(2);
        message.set_to(1);
        message.set_term(1 + input.Byte());
        message.mutable_snapshot()->mutable_metadata()->set_index(input.Number(2));
        message.mutable_snapshot()->mutable_metadata()->set_term(1 + input.Byte());
        peer::AppendFrame(&out, peer::FrameType::kSnapshotHeader,
                          peer::EncodeSnapshotHeader(input.Number(2), message));
        snapshot_data.clear();
        break;
      }
      case 5: {
        std::string_view chunk = input.String();
        snapshot_data.append(chunk);
        peer::AppendFrame(&out, peer::FrameType::kSnapshotChunk, chunk);
        break;
      }
      default: {
        peer::SnapshotEnd end;
        end.total_bytes = input.Number(2);
        end.data_crc = crc32c::Value(snapshot_data);
        if (input.Byte() % 4 == 0) end.data_crc ^= 1;
        peer::AppendFrame(&out, peer::FrameType::kSnapshotEnd, peer::EncodeSnapshotEnd(end));
        if (end.total_bytes == snapshot_data.size()) framed->snapshots.insert(snapshot_data);
        break;
      }
    }
  }
  return out;
}

std::string ReadFileBytes(FileSystem& fs, const std::string& path) {
  auto file = fs.Open(path, {.read_only = true});
  KEEL_ASSERT(file.ok());
  auto size = (*file)->Size();
  KEEL_ASSERT(size.ok());
  auto bytes = (*file)->ReadAt(0, *size);
  KEEL_ASSERT(bytes.ok());
  return std::move(*bytes);
}

void Run(FuzzInput& input) {
  World& world = TheWorld();
  const uint8_t mode = input.Byte();
  const size_t slice_bytes = 1 + input.Byte() * 8;
  Framed framed;
  std::string wire;
  if (mode % 2 == 0) {
    wire = std::string(input.Rest());
  } else {
    wire = BuildProgram(input, &framed);
  }
  net::testing::Inbox& inbox = world.cluster.inbox(1);
  inbox.messages.clear();
  inbox.message_times.clear();
  inbox.snapshots.clear();

  world.dialer.Exchange("10.0.0.1:2380", wire, slice_bytes);
  // The transport lets go of a connection its dialer closed.
  world.cluster.RunUntil(
      [&] { return world.cluster.transport(1).inbound_connection_count() == 0; },
      Seconds(60));
  KEEL_ASSERT_MSG(world.cluster.transport(1).inbound_connection_count() == 0,
                  "the transport kept a connection its dialer closed");

  if (Verbose()) {
    std::fprintf(stderr, "peer: %zu messages, %zu snapshots delivered\n",
                 inbox.messages.size(), inbox.snapshots.size());
  }
  if (mode % 2 == 1 && framed.exact) {
    for (const raftpb::Message& message : inbox.messages) {
      if (Verbose() && framed.messages.count(message.SerializeAsString()) == 0) {
        std::fprintf(stderr, "peer: unframed message %s\n", message.ShortDebugString().c_str());
        for (const std::string& m : framed.messages) {
          raftpb::Message f;
          (void)f.ParseFromString(m);
          std::fprintf(stderr, "peer: framed %s\n", f.ShortDebugString().c_str());
        }
      }
      KEEL_ASSERT_MSG(framed.messages.count(message.SerializeAsString()) == 1,
                      "the transport delivered a message nobody framed");
    }
    for (const net::ReceivedSnapshot& snapshot : inbox.snapshots) {
      const std::string data =
          ReadFileBytes(world.cluster.env(1).fs(), snapshot.path);
      KEEL_ASSERT(data.size() == snapshot.size_bytes);
      KEEL_ASSERT_MSG(framed.snapshots.count(data) == 1,
                      "the transport delivered snapshot data nobody framed");
    }
  }
  for (const net::ReceivedSnapshot& snapshot : inbox.snapshots) {
    (void)world.cluster.env(1).fs().Remove(snapshot.path);
  }
}

}  // namespace
}  // namespace keel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  keel::fuzz::FuzzInput input(data, size);
  keel::fuzz::Run(input);
  return 0;
}
