// Tests of snapshot transfer between PeerTransports over the simulated
// network: a 20 MB snapshot streams in 1 MiB chunks from an abstract source
// while heartbeats keep flowing on the message connection; a reset in the
// middle fails the send and leaves nothing behind at the receiver; data
// whose whole checksum does not match is refused; a receiver that refuses
// makes the sender report failure; partial files from a crash are removed
// at start; Send() routes a MsgSnap through open_snapshot or its own data;
// one snapshot per peer at a time.
#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/peer_frame.h"
#include "net/peer_snapshot.h"
#include "net/peer_test_util.h"
#include "net/peer_transport.h"
#include "runtime/crc32c.h"
#include "runtime/filesystem.h"

namespace keel::net {
namespace {

using testing::MakeMessage;
using testing::MemberConfig;
using testing::PatternBytes;
using testing::PatternSnapshotSource;
using testing::PeerCluster;

constexpr uint64_t kSnapshotSeed = 42;

raftpb::Message MakeSnap(uint64_t from, uint64_t to, uint64_t index) {
  raftpb::Message message;
  message.set_type(raftpb::MsgSnap);
  message.set_from(from);
  message.set_to(to);
  message.set_term(2);
  raftpb::SnapshotMetadata* meta = message.mutable_snapshot()->mutable_metadata();
  meta->set_index(index);
  meta->set_term(2);
  meta->mutable_conf_state()->add_voters(from);
  meta->mutable_conf_state()->add_voters(to);
  return message;
}

class PeerSnapshotTest : public ::testing::Test {
 protected:
  void StartPair(MemberConfig first = MemberConfig(), MemberConfig second = MemberConfig()) {
    cluster_.Add(1, std::move(first));
    cluster_.Add(2, std::move(second));
    cluster_.StartAll();
    ASSERT_TRUE(cluster_.RunUntil([&] {
      return cluster_.transport(1).status(2).active && cluster_.transport(2).status(1).active;
    }, Seconds(2)));
  }

  void SendPatternSnapshot(uint64_t size, uint64_t index = 100) {
    cluster_.Do(1, [&](PeerTransport& t) {
      t.SendSnapshot(MakeSnap(1, 2, index),
                     std::make_unique<PatternSnapshotSource>(kSnapshotSeed, size, &counters_));
    });
  }

  // The files in member `id`'s snapshot directory.
  std::vector<std::string> SnapshotFiles(uint64_t id) {
    return cluster_.env(id).fs().List("snap").value();
  }

  std::string ReadFile(uint64_t id, const std::string& path) {
    std::unique_ptr<File> file = cluster_.env(id).fs().Open(path, OpenOptions{.read_only = true}).value();
    return file->ReadAt(0, file->Size().value()).value();
  }

  // Slows the link so that a 20 MB snapshot takes a while (100 MB/s).
  void SlowLinks() {
    sim::LinkOptions link;
    link.bandwidth_bytes_per_second = 100'000'000;
    link.tail_probability = 0;
    cluster_.world().net().SetDefaultLink(link);
  }

  PeerCluster cluster_{11};
  PatternSnapshotSource::Counters counters_;
};

TEST_F(PeerSnapshotTest, A20MbSnapshotStreamsInChunksWhileHeartbeatsKeepFlowing) {
  SlowLinks();
  StartPair();
  constexpr uint64_t kSize = 20u << 20;
  // A heartbeat from 1 to 2 every 10ms, for the whole test.
  bool beating = true;
  cluster_.env(1).Spawn([](PeerCluster* c, bool* on) -> Task<void> {
    for (uint64_t i = 1; *on; i++) {
      std::vector<raftpb::Message> beat;
      beat.push_back(MakeMessage(1, 2, i, 0, raftpb::MsgHeartbeat));
      beat.back().set_commit(static_cast<uint64_t>(ToNanoseconds(c->world().now())));
      c->transport(1).Send(std::move(beat));
      co_await c->env(1).clock().Sleep(Milliseconds(10));
    }
  }(&cluster_, &beating));
  cluster_.RunFor(Milliseconds(100));
  const TimePoint started = cluster_.world().now();
  SendPatternSnapshot(kSize);
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(1).snapshot_status.empty(); },
                                Seconds(10)));
  const TimePoint finished = cluster_.inbox(1).snapshot_status_times[0];
  beating = false;
  EXPECT_EQ(cluster_.inbox(1).snapshot_status[0], std::make_pair(uint64_t{2}, true));
  // The data was read from the source in 1 MiB chunks, never all at once.
  EXPECT_EQ(counters_.max_request, peer::kSnapshotChunkBytes);
  EXPECT_EQ(counters_.reads, 21);
  // It took a while on this link...
  EXPECT_GT(finished - started, Milliseconds(150));
  // ... and heartbeats kept arriving during it, each within a few ms.
  const testing::Inbox& inbox = cluster_.inbox(2);
  int during = 0;
  Duration worst{};
  for (size_t i = 0; i < inbox.messages.size(); i++) {
    const TimePoint sent = FromNanoseconds(static_cast<int64_t>(inbox.messages[i].commit()));
    if (sent < started || sent > finished) continue;
    during++;
    worst = std::max(worst, inbox.message_times[i] - sent);
  }
  EXPECT_GE(during, 15);
  EXPECT_LT(worst, Milliseconds(30));
  // Delivered once, verified, with the data in a synced file of its own.
  ASSERT_EQ(inbox.snapshots.size(), 1u);
  const ReceivedSnapshot& got = inbox.snapshots[0];
  EXPECT_EQ(got.size_bytes, kSize);
  EXPECT_EQ(got.message.type(), raftpb::MsgSnap);
  EXPECT_EQ(got.message.snapshot().metadata().index(), 100u);
  EXPECT_TRUE(got.message.snapshot().data().empty());
  EXPECT_EQ(ReadFile(2, got.path), PatternBytes(kSnapshotSeed, 0, kSize));
  EXPECT_EQ(SnapshotFiles(2).size(), 1u);
  EXPECT_TRUE(cluster_.Logged(2, {"received and saved database snapshot"}));
  EXPECT_TRUE(cluster_.Logged(1, {"sent database snapshot"}));
  EXPECT_EQ(cluster_.transport(1).stats(2).snapshots_sent, 1u);
  // 20 MiB in 1 MiB chunks.
  EXPECT_EQ(cluster_.transport(1).stats(2).snapshot_chunks_sent, kSize / peer::kSnapshotChunkBytes);
  EXPECT_EQ(cluster_.transport(1).stats(2).snapshots_sent_in_chunks, 1u);
  EXPECT_EQ(cluster_.transport(1).outbound_snapshot_count(), 0u);
}

TEST_F(PeerSnapshotTest, ASnapshotCutByAResetFailsAndLeavesNothingBehind) {
  SlowLinks();
  StartPair();
  SendPatternSnapshot(20u << 20);
  cluster_.RunFor(Milliseconds(60));
  ASSERT_TRUE(cluster_.inbox(1).snapshot_status.empty());
  // Every segment from 1 to 2 resets its connection for a moment.
  sim::LinkOptions resetting = cluster_.world().net().options().default_link;
  resetting.bandwidth_bytes_per_second = 100'000'000;
  resetting.tail_probability = 0;
  sim::LinkOptions normal = resetting;
  resetting.reset_probability = 1;
  cluster_.world().net().SetLink(PeerCluster::Host(1), PeerCluster::Host(2), resetting);
  cluster_.RunFor(Milliseconds(5));
  cluster_.world().net().SetLink(PeerCluster::Host(1), PeerCluster::Host(2), normal);
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(1).snapshot_status.empty(); },
                                Seconds(10)));
  EXPECT_EQ(cluster_.inbox(1).snapshot_status[0], std::make_pair(uint64_t{2}, false));
  EXPECT_FALSE(cluster_.inbox(1).unreachable.empty());
  EXPECT_TRUE(cluster_.Logged(1, {"failed to send database snapshot"}));
  cluster_.RunFor(Seconds(6));
  EXPECT_TRUE(cluster_.inbox(2).snapshots.empty());
  EXPECT_TRUE(SnapshotFiles(2).empty());
  EXPECT_TRUE(cluster_.Logged(2, {"failed to receive database snapshot"}));

  // The leader tries again, and this time it arrives.
  SendPatternSnapshot(3u << 20, 101);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(1).snapshot_status.size() == 2; },
                                Seconds(10)));
  EXPECT_TRUE(cluster_.inbox(1).snapshot_status[1].second);
  ASSERT_EQ(cluster_.inbox(2).snapshots.size(), 1u);
  EXPECT_EQ(cluster_.inbox(2).snapshots[0].message.snapshot().metadata().index(), 101u);
}

TEST_F(PeerSnapshotTest, ARefusingReceiverMakesTheSenderReportFailure) {
  StartPair();
  cluster_.inbox(2).snapshot_verdict = absl::FailedPreconditionError("applying another one");
  SendPatternSnapshot(2u << 20);
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(1).snapshot_status.empty(); },
                                Seconds(5)));
  EXPECT_FALSE(cluster_.inbox(1).snapshot_status[0].second);
  EXPECT_TRUE(cluster_.Logged(1, {"failed to send database snapshot", "applying another one"}));
  EXPECT_TRUE(SnapshotFiles(2).empty());
}

TEST_F(PeerSnapshotTest, SendRoutesAMsgSnapThroughOpenSnapshotOrItsOwnData) {
  MemberConfig with_source;
  std::vector<uint64_t> opened;
  with_source.open_snapshot = [&](const raftpb::Message& m)
      -> absl::StatusOr<std::unique_ptr<SnapshotSource>> {
    opened.push_back(m.snapshot().metadata().index());
    return NewStringSnapshotSource(std::string(3'000'000, 'k'));
  };
  StartPair(with_source);
  raftpb::Message snap = MakeSnap(1, 2, 7);
  snap.mutable_snapshot()->set_data("inline data the source replaces");
  std::vector<raftpb::Message> messages;
  messages.push_back(MakeMessage(1, 2, 1));
  messages.push_back(snap);
  messages.push_back(MakeMessage(1, 2, 2));
  cluster_.Send(1, std::move(messages));
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(2).snapshots.empty(); },
                                Seconds(5)));
  EXPECT_EQ(opened, (std::vector<uint64_t>{7}));
  EXPECT_EQ(cluster_.inbox(2).snapshots[0].size_bytes, 3'000'000u);
  EXPECT_EQ(ReadFile(2, cluster_.inbox(2).snapshots[0].path), std::string(3'000'000, 'k'));
  // The other messages went on the message connection.
  EXPECT_EQ(cluster_.inbox(2).messages.size(), 2u);

  // Member 2 has no open_snapshot: its MsgSnap's own data is sent.
  raftpb::Message back = MakeSnap(2, 1, 8);
  back.mutable_snapshot()->set_data("the data itself");
  std::vector<raftpb::Message> reply;
  reply.push_back(back);
  cluster_.Send(2, std::move(reply));
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(1).snapshots.empty(); },
                                Seconds(5)));
  EXPECT_EQ(ReadFile(1, cluster_.inbox(1).snapshots[0].path), "the data itself");
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(2).snapshot_status.empty(); },
                                Seconds(1)));
  EXPECT_EQ(cluster_.inbox(2).snapshot_status[0], std::make_pair(uint64_t{1}, true));
}

TEST_F(PeerSnapshotTest, OneSnapshotPerPeerIsInFlightAtATime) {
  SlowLinks();
  StartPair();
  SendPatternSnapshot(10u << 20);
  SendPatternSnapshot(10u << 20);
  // The second failed at once.
  ASSERT_EQ(cluster_.inbox(1).snapshot_status.size(), 1u);
  EXPECT_FALSE(cluster_.inbox(1).snapshot_status[0].second);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(1).snapshot_status.size() == 2; },
                                Seconds(10)));
  EXPECT_TRUE(cluster_.inbox(1).snapshot_status[1].second);
  EXPECT_EQ(cluster_.inbox(2).snapshots.size(), 1u);
}

TEST_F(PeerSnapshotTest, AReceiverAtItsSnapshotLimitRefusesTheNextOne) {
  SlowLinks();
  MemberConfig limited;
  limited.tweak = [](PeerTransportOptions& options) { options.inbound_snapshots_max = 1; };
  cluster_.Add(1);
  cluster_.Add(2, limited);
  cluster_.Add(3);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] {
    return cluster_.transport(1).status(2).active && cluster_.transport(3).status(2).active;
  }, Seconds(2)));
  SendPatternSnapshot(10u << 20);
  cluster_.RunFor(Milliseconds(20));
  PatternSnapshotSource::Counters other;
  cluster_.Do(3, [&](PeerTransport& t) {
    t.SendSnapshot(MakeSnap(3, 2, 100),
                   std::make_unique<PatternSnapshotSource>(kSnapshotSeed, 1u << 20, &other));
  });
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(3).snapshot_status.empty(); },
                                Seconds(2)));
  EXPECT_FALSE(cluster_.inbox(3).snapshot_status[0].second);
  EXPECT_TRUE(cluster_.Logged(3, {"request sent was ignored by remote peer",
                                  "too many snapshots in flight"}));
  EXPECT_TRUE(cluster_.inbox(1).snapshot_status.empty());
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(1).snapshot_status.empty(); },
                                Seconds(5)));
  EXPECT_TRUE(cluster_.inbox(1).snapshot_status[0].second);
  EXPECT_EQ(cluster_.inbox(2).snapshots.size(), 1u);
}

TEST_F(PeerSnapshotTest, PartialFilesLeftByACrashAreRemovedAtStart) {
  StartPair();
  ASSERT_TRUE(cluster_.env(2).fs().Open("snap/0000000000000064-0000000000000002-00000000000000aa.peer-snap.part",
                                        OpenOptions{.create = true}).ok());
  ASSERT_TRUE(cluster_.env(2).fs().Open("snap/kept.peer-snap", OpenOptions{.create = true}).ok());
  cluster_.machine(2).Kill();
  cluster_.Start(2);
  EXPECT_EQ(SnapshotFiles(2), (std::vector<std::string>{"kept.peer-snap"}));
}

// Sends a snapshot by hand whose chunks are intact but whose end frame
// carries a wrong checksum of the whole; returns the result frame.
Task<void> ForgedSnapshot(Env& env, std::string target, uint32_t crc_delta,
                          peer::SnapshotResult* result, bool* done) {
  absl::StatusOr<std::unique_ptr<Connection>> connection = co_await env.net().Connect(target);
  KEEL_ASSERT(connection.ok());
  peer::Handshake handshake;
  handshake.kind = peer::StreamKind::kSnapshot;
  handshake.sender_id = 9;
  handshake.target_id = 1;
  handshake.cluster_id = testing::kClusterId;
  std::string bytes = peer::EncodeHandshake(handshake);
  const std::string data = PatternBytes(3, 0, 100'000);
  peer::AppendFrame(&bytes, peer::FrameType::kSnapshotHeader,
                    peer::EncodeSnapshotHeader(data.size(), MakeSnap(9, 1, 5)));
  peer::AppendFrame(&bytes, peer::FrameType::kSnapshotChunk, data.substr(0, 60'000));
  peer::AppendFrame(&bytes, peer::FrameType::kSnapshotChunk, data.substr(60'000));
  peer::SnapshotEnd end;
  end.total_bytes = data.size();
  end.data_crc = crc32c::Value(data) + crc_delta;
  peer::AppendFrame(&bytes, peer::FrameType::kSnapshotEnd, peer::EncodeSnapshotEnd(end));
  (void)co_await (*connection)->Write(bytes);
  peer::FrameReader reader(connection->get());
  (void)co_await reader.ReadExact(peer::kHandshakeReplyBytes);
  absl::StatusOr<peer::Frame> frame = co_await reader.ReadFrame();
  if (frame.ok() && frame->type == peer::FrameType::kSnapshotResult) {
    *result = peer::DecodeSnapshotResult(frame->payload).value();
  }
  *done = true;
  co_await env.clock().Sleep(Seconds(1000));
}

TEST_F(PeerSnapshotTest, DataWhoseWholeChecksumIsWrongIsRefusedAndNotDelivered) {
  MemberConfig knows_raw;
  knows_raw.Only({9});
  cluster_.Add(1, knows_raw);
  cluster_.Start(1);
  for (uint32_t delta : {1u, 0u}) {
    peer::SnapshotResult result;
    bool done = false;
    sim::SimMachineOptions raw;
    raw.name = delta == 1 ? "forger" : "honest";
    raw.host = delta == 1 ? PeerCluster::Host(9) : "10.0.0.19";
    raw.boot = [&, delta](Env& env) {
      return ForgedSnapshot(env, cluster_.Address(1), delta, &result, &done);
    };
    cluster_.world().AddMachine(std::move(raw)).Start();
    ASSERT_TRUE(cluster_.RunUntil([&] { return done; }, Seconds(2)));
    if (delta == 1) {
      EXPECT_FALSE(result.ok);
      EXPECT_EQ(result.reason, "snapshot data checksum mismatch");
      EXPECT_TRUE(cluster_.inbox(1).snapshots.empty());
      EXPECT_TRUE(SnapshotFiles(1).empty());
    } else {
      EXPECT_TRUE(result.ok) << result.reason;
      ASSERT_EQ(cluster_.inbox(1).snapshots.size(), 1u);
      EXPECT_EQ(ReadFile(1, cluster_.inbox(1).snapshots[0].path), PatternBytes(3, 0, 100'000));
    }
  }
}

}  // namespace
}  // namespace keel::net
