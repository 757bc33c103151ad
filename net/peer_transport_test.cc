// Tests of PeerTransport's message path over the simulated network: order
// per peer and batching, a peer that is down and comes back (backoff, then
// delivery resumes), a partition that heals, a full queue, the handshake's
// refusals (another cluster, an unknown member, a removed member, each with
// etcd's log line on the side that says it), an unknown sender answered
// through a remote, a corrupted frame, and changes to the member set at
// runtime. Each test builds a PeerCluster (members that
// run only a transport) and drives it in virtual time.
#include "net/peer_transport.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/peer_frame.h"
#include "net/peer_test_util.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

using testing::Inbox;
using testing::MakeMessage;
using testing::MemberConfig;
using testing::PeerCluster;

std::vector<uint64_t> Indexes(const std::vector<raftpb::Message>& messages) {
  std::vector<uint64_t> out;
  for (const raftpb::Message& m : messages) out.push_back(m.index());
  return out;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t i = first; i <= last; i++) out.push_back(i);
  return out;
}

bool IsStrictlyIncreasing(const std::vector<uint64_t>& v) {
  return std::adjacent_find(v.begin(), v.end(), std::greater_equal<uint64_t>()) ==
         v.end();
}

class PeerTransportTest : public ::testing::Test {
 protected:
  // Sends messages [first, last] from `from` to `to` in calls of `per_call`.
  void SendRange(uint64_t from, uint64_t to, uint64_t first, uint64_t last,
                 size_t per_call = 1, size_t payload = 0) {
    std::vector<raftpb::Message> batch;
    for (uint64_t i = first; i <= last; i++) {
      batch.push_back(MakeMessage(from, to, i, payload));
      if (batch.size() == per_call || i == last) {
        cluster_.Send(from, std::move(batch));
        batch.clear();
      }
    }
  }

  bool Active(uint64_t member, uint64_t peer) {
    return cluster_.transport(member).status(peer).active;
  }

  PeerCluster cluster_{7};
};

TEST(PeerUrlTest, PeerUrlsBecomeAddresses) {
  EXPECT_EQ(PeerUrlToAddress("http://10.0.0.1:2380").value(), "10.0.0.1:2380");
  EXPECT_EQ(PeerUrlToAddress("https://127.0.0.1:2380/").value(), "127.0.0.1:2380");
  EXPECT_EQ(PeerUrlToAddress("10.0.0.1:2380").value(), "10.0.0.1:2380");
  EXPECT_FALSE(PeerUrlToAddress("unix://x:1").ok());
  EXPECT_FALSE(PeerUrlToAddress("http://10.0.0.1:2380/raft").ok());
  EXPECT_FALSE(PeerUrlToAddress("http://10.0.0.1").ok());
}

TEST_F(PeerTransportTest, MessagesArriveInOrderPerPeerInFewWrites) {
  for (uint64_t id : {1, 2, 3}) cluster_.Add(id);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2) && Active(1, 3) && Active(2, 1); },
                                Seconds(2)));
  // Interleaved sends to two peers, some calls of one message and some of many.
  std::vector<raftpb::Message> mixed;
  for (uint64_t i = 1; i <= 300; i++) {
    mixed.push_back(MakeMessage(1, 2, i, i % 50));
    mixed.push_back(MakeMessage(1, 3, i, 10));
    if (i % 100 == 0) {
      cluster_.Send(1, std::move(mixed));
      mixed.clear();
    }
  }
  SendRange(1, 2, 301, 400, 1, 100);
  SendRange(2, 1, 1, 200, 7);
  ASSERT_TRUE(cluster_.RunUntil([&] {
    return cluster_.inbox(2).messages.size() == 400 &&
           cluster_.inbox(3).messages.size() == 300 &&
           cluster_.inbox(1).messages.size() == 200;
  }, Seconds(2)));
  EXPECT_EQ(Indexes(cluster_.inbox(2).From(1)), Range(1, 400));
  EXPECT_EQ(Indexes(cluster_.inbox(3).From(1)), Range(1, 300));
  EXPECT_EQ(Indexes(cluster_.inbox(1).From(2)), Range(1, 200));
  // Contents survive the trip.
  const raftpb::Message& m = cluster_.inbox(2).messages[98];
  EXPECT_EQ(m.SerializeAsString(), MakeMessage(1, 2, 99, 49).SerializeAsString());
  // Each call's messages went out in one write, not one write per message.
  const PeerStats stats = cluster_.transport(1).stats(2);
  EXPECT_EQ(stats.messages_sent, 400u);
  EXPECT_EQ(stats.messages_dropped, 0u);
  EXPECT_LE(stats.batches_written, 3u + 100u);
  EXPECT_TRUE(cluster_.inbox(1).unreachable.empty());
}

TEST_F(PeerTransportTest, AnIdleConnectionStaysUpOnLinkHeartbeats) {
  for (uint64_t id : {1, 2}) cluster_.Add(id);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2) && Active(2, 1); }, Seconds(2)));
  const TimePoint since = cluster_.transport(1).status(2).active_since;
  cluster_.RunFor(Seconds(60));
  EXPECT_TRUE(Active(1, 2));
  EXPECT_EQ(cluster_.transport(1).status(2).active_since, since);
  EXPECT_EQ(cluster_.transport(1).stats(2).connects, 1u);
  EXPECT_EQ(cluster_.transport(2).inbound_connection_count(), 1u);
}

TEST_F(PeerTransportTest, APeerThatIsDownIsRedialedWithBackoffAndDeliveryResumes) {
  for (uint64_t id : {1, 2}) cluster_.Add(id);
  cluster_.Start(1);
  SendRange(1, 2, 1, 5);
  cluster_.RunFor(Seconds(30));
  const PeerStats down = cluster_.transport(1).stats(2);
  EXPECT_FALSE(Active(1, 2));
  // Doubling from 100ms to the 5s cap with [d/2, d] jitter: about ten
  // attempts in 30s, far fewer than a fixed 100ms retry would make.
  EXPECT_GE(down.dials, 6u);
  EXPECT_LE(down.dials, 16u);
  EXPECT_EQ(down.connects, 0u);
  EXPECT_EQ(down.messages_dropped, 5u);
  EXPECT_FALSE(cluster_.inbox(1).unreachable.empty());
  EXPECT_EQ(cluster_.inbox(1).unreachable[0], 2u);

  // While it backs off, Send drops at once and reports the peer.
  const size_t reports = cluster_.inbox(1).unreachable.size();
  SendRange(1, 2, 6, 6);
  EXPECT_EQ(cluster_.inbox(1).unreachable.size(), reports + 1);

  cluster_.Start(2);
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2); }, Seconds(6)));
  EXPECT_TRUE(cluster_.Logged(1, {"peer became active", "\"peer-id\":\"2\""}));
  SendRange(1, 2, 100, 199, 10);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(2).messages.size() == 100; },
                                Seconds(1)));
  EXPECT_EQ(Indexes(cluster_.inbox(2).messages), Range(100, 199));

  // Killed again: the connection breaks, the peer turns inactive, and a
  // restarted peer is reached again.
  cluster_.machine(2).Kill();
  ASSERT_TRUE(cluster_.RunUntil([&] { return !Active(1, 2); }, Seconds(1)));
  EXPECT_TRUE(cluster_.Logged(1, {"lost TCP streaming connection with remote peer"}));
  cluster_.Start(2);
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2); }, Seconds(6)));
  SendRange(1, 2, 200, 209);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(2).messages.size() == 110; },
                                Seconds(1)));
}

TEST_F(PeerTransportTest, APartitionDropsWhatIsSentAcrossItAndHealingReconnects) {
  for (uint64_t id : {1, 2}) cluster_.Add(id);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2) && Active(2, 1); }, Seconds(2)));
  SendRange(1, 2, 1, 10);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(2).messages.size() == 10; },
                                Seconds(1)));

  cluster_.world().net().Partition({PeerCluster::Host(1)}, {PeerCluster::Host(2)});
  // Sent into the partition: held, then lost with the connection.
  SendRange(1, 2, 11, 20);
  ASSERT_TRUE(cluster_.RunUntil([&] { return !Active(1, 2) && !Active(2, 1); }, Seconds(8)));
  EXPECT_FALSE(cluster_.inbox(1).unreachable.empty());
  SendRange(1, 2, 21, 30);  // dropped at once while backing off, or queued and lost
  cluster_.RunFor(Seconds(10));
  EXPECT_FALSE(Active(1, 2));

  cluster_.world().net().HealAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2) && Active(2, 1); }, Seconds(8)));
  SendRange(1, 2, 31, 40);
  ASSERT_TRUE(cluster_.RunUntil([&] {
    const std::vector<raftpb::Message>& got = cluster_.inbox(2).messages;
    return !got.empty() && got.back().index() == 40;
  }, Seconds(1)));
  const std::vector<uint64_t> got = Indexes(cluster_.inbox(2).messages);
  EXPECT_TRUE(IsStrictlyIncreasing(got));
  // Everything after the heal arrived; nothing sent into the partition after
  // the connection died did.
  EXPECT_EQ(std::vector<uint64_t>(got.end() - 10, got.end()), Range(31, 40));
  EXPECT_EQ(std::count_if(got.begin(), got.end(), [](uint64_t i) { return i >= 21 && i <= 30; }),
            0);
}

TEST_F(PeerTransportTest, AFullQueueDropsAndReportsThePeerUnreachable) {
  MemberConfig small;
  small.tweak = [](PeerTransportOptions& options) { options.queue_capacity_messages = 16; };
  cluster_.Add(1, small);
  cluster_.Add(2);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2); }, Seconds(2)));
  // A stalled receiver: its socket buffer and then member 1's queue fill.
  cluster_.machine(2).Pause();
  SendRange(1, 2, 1, 600, 1, 8 << 10);
  const PeerStats stats = cluster_.transport(1).stats(2);
  EXPECT_GT(stats.messages_dropped, 0u);
  EXPECT_LE(cluster_.transport(1).stats(2).messages_sent + 16, 600u);
  EXPECT_FALSE(cluster_.inbox(1).unreachable.empty());
  EXPECT_TRUE(cluster_.Logged(1, {"dropped internal Raft message since sending buffer is full",
                                  "\"remote-peer-active\":true"}));
  cluster_.RunFor(Milliseconds(500));
  cluster_.machine(2).Resume();
  cluster_.RunFor(Seconds(1));
  // What was not dropped arrived, in order, exactly once.
  const std::vector<uint64_t> got = Indexes(cluster_.inbox(2).messages);
  EXPECT_TRUE(IsStrictlyIncreasing(got));
  const PeerStats after = cluster_.transport(1).stats(2);
  EXPECT_EQ(got.size(), after.messages_sent);
  EXPECT_EQ(got.size() + after.messages_dropped, 600u);
  EXPECT_TRUE(Active(1, 2));
}

TEST_F(PeerTransportTest, AnotherClustersMemberIsRejectedOnBothSidesWithEtcdsLogLines) {
  MemberConfig other;
  other.cluster_id = 0xbad;
  cluster_.Add(1);
  cluster_.Add(2, other);
  cluster_.StartAll();
  SendRange(1, 2, 1, 3);
  SendRange(2, 1, 1, 3);
  cluster_.RunFor(Seconds(3));
  EXPECT_FALSE(Active(1, 2));
  EXPECT_FALSE(Active(2, 1));
  EXPECT_TRUE(cluster_.inbox(1).messages.empty());
  EXPECT_TRUE(cluster_.inbox(2).messages.empty());
  // The acceptor says why it refused; the dialer says it was ignored.
  EXPECT_TRUE(cluster_.Logged(2, {"request cluster ID mismatch",
                                  "\"remote-peer-cluster-id\":\"c1\"",
                                  "\"local-member-cluster-id\":\"bad\""}));
  EXPECT_TRUE(cluster_.Logged(1, {"request sent was ignored by remote peer due to cluster ID mismatch",
                                  "\"remote-peer-cluster-id\":\"bad\""}));
  EXPECT_TRUE(cluster_.Logged(1, {"request cluster ID mismatch"}));
  EXPECT_TRUE(cluster_.Logged(2, {"request sent was ignored by remote peer due to cluster ID mismatch"}));
  EXPECT_FALSE(cluster_.inbox(1).unreachable.empty());
}

TEST_F(PeerTransportTest, AMemberOutsideTheMemberSetIsRefused) {
  MemberConfig lonely;
  lonely.Only({});
  cluster_.Add(1, lonely);
  cluster_.Add(3);
  cluster_.StartAll();
  SendRange(3, 1, 1, 3);
  cluster_.RunFor(Seconds(3));
  EXPECT_FALSE(Active(3, 1));
  EXPECT_TRUE(cluster_.inbox(1).messages.empty());
  EXPECT_TRUE(cluster_.Logged(1, {"failed to find remote peer in cluster",
                                  "\"remote-peer-id-from\":\"3\""}));
  EXPECT_TRUE(cluster_.Logged(3, {"request sent was ignored by remote peer", "unknown member"}));
  EXPECT_EQ(cluster_.transport(1).inbound_connection_count(), 0u);
}

// etcd's rafthttp AddRemote: a sender that is not a member yet but says
// where it listens (the leader of a learner that knows no member) is
// accepted, and the answers go back to it through a remote, until it
// becomes a member or is removed.
TEST_F(PeerTransportTest, AnUnknownSenderThatGivesItsAddressIsAnsweredThroughARemote) {
  MemberConfig learner;
  learner.Only({});
  learner.tweak = [](PeerTransportOptions& o) { o.advertise_addresses = {"10.0.0.1:2380"}; };
  MemberConfig leader;
  leader.Only({1});
  leader.tweak = [](PeerTransportOptions& o) { o.advertise_addresses = {"10.0.0.3:2380"}; };
  cluster_.Add(1, learner);
  cluster_.Add(3, leader);
  cluster_.StartAll();
  SendRange(3, 1, 1, 3);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(1).From(3).size() == 3; },
                                Seconds(3)));
  EXPECT_TRUE(cluster_.transport(1).HasRemote(3));
  EXPECT_FALSE(cluster_.transport(1).HasPeer(3));
  EXPECT_TRUE(cluster_.Logged(1, {"added new remote peer", "\"remote-peer-id\":\"3\"",
                                  "10.0.0.3:2380"}));
  // The answers reach the sender.
  SendRange(1, 3, 10, 12);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(3).From(1).size() == 3; },
                                Seconds(3)));
  EXPECT_EQ(Indexes(cluster_.inbox(3).From(1)), Range(10, 12));
  // The sender becomes a member: its own pipeline takes over.
  cluster_.Do(1, [&](PeerTransport& t) { EXPECT_TRUE(t.AddPeer(3, {cluster_.Address(3)}).ok()); });
  EXPECT_FALSE(cluster_.transport(1).HasRemote(3));
  SendRange(1, 3, 13, 14);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(3).From(1).size() == 5; },
                                Seconds(3)));
  // Removed, it is refused like any removed member.
  cluster_.Do(1, [](PeerTransport& t) { EXPECT_TRUE(t.RemovePeer(3).ok()); });
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(3).removed.empty(); }, Seconds(8)));
}

TEST_F(PeerTransportTest, ARemovedSenderIsRefusedEvenIfTheTransportNeverKnewIt) {
  MemberConfig restarted;
  restarted.Only({});
  cluster_.Add(1, restarted);
  MemberConfig removed;
  removed.Only({1});
  removed.tweak = [](PeerTransportOptions& o) { o.advertise_addresses = {"10.0.0.3:2380"}; };
  cluster_.Add(3, removed);
  cluster_.Start(1);
  // A restarted member learns its removed members before they call.
  cluster_.Do(1, [](PeerTransport& t) { EXPECT_TRUE(t.RemovePeer(3).ok()); });
  EXPECT_TRUE(cluster_.transport(1).IsRemoved(3));
  cluster_.Start(3);
  SendRange(3, 1, 1, 3);
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(3).removed.empty(); }, Seconds(3)));
  EXPECT_TRUE(cluster_.inbox(1).messages.empty());
  EXPECT_FALSE(cluster_.transport(1).HasRemote(3));
}

// Speaks the protocol by hand from machine "raw" (10.0.0.9) to member 1.
struct RawSession {
  peer::HandshakeReply reply;
  bool replied = false;
  absl::Status end = absl::UnknownError("not run");
  bool finished = false;
};

peer::Handshake RawHandshake() {
  peer::Handshake handshake;
  handshake.sender_id = 9;
  handshake.target_id = 1;
  handshake.cluster_id = testing::kClusterId;
  return handshake;
}

Task<void> RawPeer(Env& env, std::string target, std::string frames, RawSession* session,
                   peer::Handshake handshake = RawHandshake()) {
  absl::StatusOr<std::unique_ptr<Connection>> connection = co_await env.net().Connect(target);
  if (!connection.ok()) {
    session->end = connection.status();
    session->finished = true;
    co_return;
  }
  std::string hello = peer::EncodeHandshake(handshake);
  (void)co_await (*connection)->Write(hello);
  peer::FrameReader reader(connection->get());
  absl::StatusOr<std::string_view> reply = co_await reader.ReadExact(peer::kHandshakeReplyBytes);
  if (reply.ok()) {
    session->reply = peer::DecodeHandshakeReply(*reply).value();
    session->replied = true;
  }
  (void)co_await (*connection)->Write(frames);
  // Reads until the acceptor closes: only link heartbeats may come.
  while (true) {
    absl::StatusOr<peer::Frame> frame = co_await reader.ReadFrame();
    if (!frame.ok()) {
      session->end = frame.status();
      break;
    }
  }
  session->finished = true;
  co_await env.clock().Sleep(Seconds(1000));
}

TEST_F(PeerTransportTest, ACorruptedFrameClosesTheConnectionWithoutDeliveringIt) {
  MemberConfig knows_raw;
  knows_raw.Only({9});
  cluster_.Add(1, knows_raw);
  cluster_.Start(1);
  std::string frames;
  ASSERT_TRUE(peer::AppendMessageFrame(&frames, MakeMessage(9, 1, 1, 64)).ok());
  const size_t corrupt_at = frames.size() + peer::kFrameHeaderBytes + 10;
  ASSERT_TRUE(peer::AppendMessageFrame(&frames, MakeMessage(9, 1, 2, 64)).ok());
  ASSERT_TRUE(peer::AppendMessageFrame(&frames, MakeMessage(9, 1, 3, 64)).ok());
  frames[corrupt_at] ^= 0x20;
  RawSession session;
  sim::SimMachineOptions raw;
  raw.name = "raw";
  raw.host = PeerCluster::Host(9);
  raw.boot = [&](Env& env) {
    return RawPeer(env, cluster_.Address(1), frames, &session);
  };
  cluster_.world().AddMachine(std::move(raw)).Start();
  ASSERT_TRUE(cluster_.RunUntil([&] { return session.finished; }, Seconds(2)));
  ASSERT_TRUE(session.replied);
  EXPECT_EQ(session.reply.status, peer::HandshakeStatus::kAccepted);
  // The acceptor closed the connection after the bad frame.
  EXPECT_TRUE(absl::IsOutOfRange(session.end)) << session.end;
  ASSERT_EQ(cluster_.inbox(1).messages.size(), 1u);
  EXPECT_EQ(cluster_.inbox(1).messages[0].index(), 1u);
  EXPECT_TRUE(cluster_.Logged(1, {"lost TCP streaming connection with remote peer",
                                  "peer frame checksum mismatch"}));
  EXPECT_EQ(cluster_.transport(1).inbound_connection_count(), 0u);
}

TEST_F(PeerTransportTest, AMessageNotFromTheHandshakesSenderClosesTheConnection) {
  MemberConfig knows_raw;
  knows_raw.Only({9});
  cluster_.Add(1, knows_raw);
  cluster_.Start(1);
  std::string frames;
  ASSERT_TRUE(peer::AppendMessageFrame(&frames, MakeMessage(9, 1, 1)).ok());
  ASSERT_TRUE(peer::AppendMessageFrame(&frames, MakeMessage(4, 1, 2)).ok());
  ASSERT_TRUE(peer::AppendMessageFrame(&frames, MakeMessage(9, 1, 3)).ok());
  RawSession session;
  sim::SimMachineOptions raw;
  raw.name = "raw";
  raw.host = PeerCluster::Host(9);
  raw.boot = [&](Env& env) { return RawPeer(env, cluster_.Address(1), frames, &session); };
  cluster_.world().AddMachine(std::move(raw)).Start();
  ASSERT_TRUE(cluster_.RunUntil([&] { return session.finished; }, Seconds(2)));
  EXPECT_EQ(Indexes(cluster_.inbox(1).messages), Range(1, 1));
}

TEST_F(PeerTransportTest, AWrongVersionOrTargetIsRefusedWithItsReason) {
  MemberConfig knows_raw;
  knows_raw.Only({9});
  cluster_.Add(1, knows_raw);
  cluster_.Start(1);
  peer::Handshake old_version = RawHandshake();
  old_version.version = peer::kProtocolVersion + 1;
  peer::Handshake wrong_target = RawHandshake();
  wrong_target.target_id = 4;
  const std::vector<std::pair<peer::Handshake, peer::HandshakeStatus>> cases = {
      {old_version, peer::HandshakeStatus::kIncompatibleVersion},
      {wrong_target, peer::HandshakeStatus::kTargetMismatch},
  };
  std::string frames;
  ASSERT_TRUE(peer::AppendMessageFrame(&frames, MakeMessage(9, 1, 1)).ok());
  int n = 0;
  for (const auto& [handshake, expected] : cases) {
    RawSession session;
    sim::SimMachineOptions raw;
    raw.name = StrCat("raw", n);
    raw.host = StrCat("10.0.0.", 20 + n++);
    raw.boot = [&, handshake](Env& env) {
      return RawPeer(env, cluster_.Address(1), frames, &session, handshake);
    };
    cluster_.world().AddMachine(std::move(raw)).Start();
    ASSERT_TRUE(cluster_.RunUntil([&] { return session.finished; }, Seconds(2)));
    ASSERT_TRUE(session.replied);
    EXPECT_EQ(session.reply.status, expected);
    EXPECT_EQ(session.reply.responder_id, 1u);
  }
  EXPECT_TRUE(cluster_.inbox(1).messages.empty());
  EXPECT_TRUE(cluster_.Logged(1, {"failed to check version compatibility"}));
  EXPECT_TRUE(cluster_.Logged(1, {"ignored streaming request; ID mismatch",
                                  "\"remote-peer-id-header\":\"4\""}));
}

TEST_F(PeerTransportTest, PeersAddedAtRuntimeConnectAndRemovedOnesAreCutAndRefused) {
  MemberConfig pair;
  pair.Only({1, 2});
  MemberConfig one = pair;
  one.Only({2});
  MemberConfig two = pair;
  two.Only({1});
  cluster_.Add(1, one);
  cluster_.Add(2, two);
  cluster_.Add(3, pair);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2) && Active(2, 1); }, Seconds(2)));
  cluster_.RunFor(Seconds(1));
  EXPECT_FALSE(Active(3, 1));  // 1 does not know 3 yet

  // Add member 3 on both.
  for (uint64_t id : {1, 2}) {
    cluster_.Do(id, [&](PeerTransport& t) {
      EXPECT_TRUE(t.AddPeer(3, {cluster_.Address(3)}).ok());
      EXPECT_TRUE(absl::IsAlreadyExists(t.AddPeer(3, {cluster_.Address(3)})));
    });
  }
  ASSERT_TRUE(cluster_.RunUntil([&] {
    return Active(1, 3) && Active(2, 3) && Active(3, 1) && Active(3, 2);
  }, Seconds(8)));
  SendRange(1, 3, 1, 5);
  SendRange(3, 1, 1, 5);
  ASSERT_TRUE(cluster_.RunUntil([&] {
    return cluster_.inbox(3).From(1).size() == 5 && cluster_.inbox(1).From(3).size() == 5;
  }, Seconds(1)));

  // Member 1 removes member 2: both directions close, 2 is refused as
  // removed and told so, and sends to 2 are dropped silently.
  cluster_.Do(1, [](PeerTransport& t) {
    EXPECT_TRUE(t.RemovePeer(2).ok());
    EXPECT_TRUE(t.RemovePeer(2).ok());  // already removed: nothing more
    EXPECT_TRUE(absl::IsInvalidArgument(t.RemovePeer(1)));
  });
  EXPECT_FALSE(cluster_.transport(1).status(2).known);
  EXPECT_TRUE(cluster_.transport(1).IsRemoved(2));
  ASSERT_TRUE(cluster_.RunUntil([&] { return !Active(2, 1); }, Seconds(1)));
  ASSERT_TRUE(cluster_.RunUntil([&] { return !cluster_.inbox(2).removed.empty(); }, Seconds(8)));
  EXPECT_EQ(cluster_.inbox(2).removed[0], 1u);
  EXPECT_TRUE(cluster_.Logged(1, {"rejected stream from remote peer because it was removed",
                                  "\"remote-peer-id-from\":\"2\""}));
  EXPECT_TRUE(cluster_.Logged(2, {"the member has been permanently removed from the cluster"}));
  EXPECT_TRUE(cluster_.Logged(2, {"lost TCP streaming connection with remote peer",
                                  "\"stream-reader-type\":\"message\""}));
  const size_t unreachable = cluster_.inbox(1).unreachable.size();
  SendRange(1, 2, 100, 105);
  EXPECT_EQ(cluster_.inbox(1).unreachable.size(), unreachable);
  // Member 1 keeps serving 3 only.
  cluster_.RunFor(Seconds(2));
  EXPECT_EQ(cluster_.transport(1).inbound_connection_count(), 1u);
  EXPECT_EQ(cluster_.transport(1).peer_ids(), (std::vector<uint64_t>{3}));
  EXPECT_TRUE(Active(1, 3));
}

TEST_F(PeerTransportTest, UpdatingAPeersAddressRedialsTheNewOne) {
  for (uint64_t id : {1, 2}) cluster_.Add(id);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2); }, Seconds(2)));
  // Member 2 moves to another port.
  cluster_.machine(2).Kill();
  cluster_.config(2).port = 2390;
  cluster_.Start(2);
  cluster_.RunFor(Seconds(5));
  EXPECT_FALSE(Active(1, 2));
  cluster_.Do(1, [&](PeerTransport& t) {
    EXPECT_TRUE(t.UpdatePeer(2, {cluster_.Address(2)}).ok());
    EXPECT_TRUE(absl::IsNotFound(t.UpdatePeer(7, {"10.0.0.7:1"})));
  });
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2); }, Seconds(6)));
  SendRange(1, 2, 1, 3);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(2).messages.size() == 3; },
                                Seconds(1)));
}

TEST_F(PeerTransportTest, SendSkipsMessagesToNobodyAndToUnknownMembers) {
  for (uint64_t id : {1, 2}) cluster_.Add(id);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2); }, Seconds(2)));
  std::vector<raftpb::Message> messages;
  messages.push_back(MakeMessage(1, 0, 1));
  messages.push_back(MakeMessage(1, 5, 2));
  messages.push_back(MakeMessage(1, 2, 3));
  cluster_.Send(1, std::move(messages));
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(2).messages.size() == 1; },
                                Seconds(1)));
  EXPECT_EQ(cluster_.inbox(2).messages[0].index(), 3u);
  EXPECT_TRUE(cluster_.inbox(1).unreachable.empty());
}

TEST_F(PeerTransportTest, AReconnectingPeerReplacesItsOlderInboundStream) {
  for (uint64_t id : {1, 2}) cluster_.Add(id);
  cluster_.StartAll();
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2) && Active(2, 1); }, Seconds(2)));
  // Member 1 restarts: member 2 sees the old stream reset and a new one.
  cluster_.machine(1).Kill();
  cluster_.Start(1);
  ASSERT_TRUE(cluster_.RunUntil([&] { return Active(1, 2) && Active(2, 1); }, Seconds(8)));
  cluster_.RunFor(Seconds(1));
  EXPECT_EQ(cluster_.transport(2).inbound_connection_count(), 1u);
  SendRange(1, 2, 1, 3);
  ASSERT_TRUE(cluster_.RunUntil([&] { return cluster_.inbox(2).messages.size() == 3; },
                                Seconds(1)));
}

}  // namespace
}  // namespace keel::net

namespace keel::net {
namespace {

// Runs a small story (three members, traffic, a kill, a partition, a
// snapshot) and returns the world's trace hash.
uint64_t RunStory(uint64_t seed) {
  PeerCluster cluster(seed);
  for (uint64_t id : {1, 2, 3}) cluster.Add(id);
  cluster.StartAll();
  for (uint64_t round = 0; round < 20; round++) {
    std::vector<raftpb::Message> messages;
    for (uint64_t to : {2, 3}) messages.push_back(MakeMessage(1, to, round, round * 10));
    cluster.Send(1, std::move(messages));
    cluster.RunFor(Milliseconds(50));
    if (round == 5) cluster.machine(3).Kill();
    if (round == 8) cluster.world().net().Isolate(PeerCluster::Host(2));
    if (round == 12) cluster.world().net().HealAll();
    if (round == 14) cluster.Start(3);
  }
  cluster.Do(1, [](PeerTransport& t) {
    raftpb::Message snap;
    snap.set_type(raftpb::MsgSnap);
    snap.set_from(1);
    snap.set_to(2);
    snap.mutable_snapshot()->set_data(std::string(3 << 20, 'd'));
    t.Send({snap});
  });
  cluster.RunFor(Seconds(10));
  return cluster.world().trace().hash();
}

TEST(PeerTransportDeterminismTest, ARunIsAFunctionOfItsSeed) {
  const uint64_t first = RunStory(3);
  EXPECT_EQ(RunStory(3), first);
  EXPECT_NE(RunStory(4), first);
}

}  // namespace
}  // namespace keel::net
