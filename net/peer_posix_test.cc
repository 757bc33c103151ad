// The real-socket check: two PeerTransports on the production PosixEnv talk
// over loopback TCP. Each sends 2,000 messages to the other; member 1 then
// sends a 3 MiB snapshot, which member 2 stores in a real directory. The
// loop runs until the scenario returns (bounded by a timeout); the waits are
// on events the callbacks set, never on sleeps.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/peer_transport.h"
#include "runtime/posix_env.h"
#include "runtime/strings.h"
#include "runtime/sync.h"

namespace keel::net {
namespace {

constexpr uint64_t kCluster = 0x5eed;
constexpr int kMessages = 2000;

struct Member {
  std::vector<raftpb::Message> messages;
  std::vector<ReceivedSnapshot> snapshots;
  std::vector<std::pair<uint64_t, bool>> snapshot_status;
  Event all_messages;
  Event snapshot_done;
};

PeerTransportCallbacks CallbacksFor(Member* member) {
  PeerTransportCallbacks callbacks;
  callbacks.on_message = [member](raftpb::Message message) {
    member->messages.push_back(std::move(message));
    if (member->messages.size() == kMessages) member->all_messages.Set();
  };
  callbacks.on_snapshot = [member](ReceivedSnapshot snapshot) {
    member->snapshots.push_back(std::move(snapshot));
    return absl::OkStatus();
  };
  callbacks.on_snapshot_status = [member](uint64_t peer, bool ok) {
    member->snapshot_status.emplace_back(peer, ok);
    member->snapshot_done.Set();
  };
  return callbacks;
}

PeerTransportOptions OptionsFor(uint64_t id, const std::string& dir) {
  PeerTransportOptions options;
  options.local_id = id;
  options.cluster_id = kCluster;
  options.listen_address = "127.0.0.1:0";
  options.snapshot_dir = JoinPath(dir, StrCat("member", id));
  return options;
}

void SendMany(PeerTransport& transport, uint64_t from, uint64_t to) {
  for (int call = 0; call < kMessages / 100; call++) {
    std::vector<raftpb::Message> batch;
    for (int i = 0; i < 100; i++) {
      raftpb::Message m;
      m.set_type(raftpb::MsgApp);
      m.set_from(from);
      m.set_to(to);
      m.set_index(static_cast<uint64_t>(call * 100 + i + 1));
      m.add_entries()->set_data(std::string(200, 'e'));
      batch.push_back(std::move(m));
    }
    transport.Send(std::move(batch));
  }
}

Task<void> Exchange(PeerTransport* a, PeerTransport* b, Member* one, Member* two) {
  SendMany(*a, 1, 2);
  SendMany(*b, 2, 1);
  co_await one->all_messages.Wait();
  co_await two->all_messages.Wait();
  raftpb::Message snap;
  snap.set_type(raftpb::MsgSnap);
  snap.set_from(1);
  snap.set_to(2);
  snap.mutable_snapshot()->mutable_metadata()->set_index(77);
  a->SendSnapshot(snap, NewStringSnapshotSource(std::string(3 << 20, 's')));
  co_await one->snapshot_done.Wait();
}

Task<int> Main(Env& env, std::string dir, Member* one, Member* two) {
  PeerTransport a(env, OptionsFor(1, dir), CallbacksFor(one));
  PeerTransport b(env, OptionsFor(2, dir), CallbacksFor(two));
  if (!a.Start().ok() || !b.Start().ok()) co_return 2;
  if (!a.AddPeer(2, {b.listen_address()}).ok()) co_return 3;
  if (!b.AddPeer(1, {a.listen_address()}).ok()) co_return 4;
  const bool finished =
      co_await env.clock().WithTimeout(Seconds(60), Exchange(&a, &b, one, two));
  if (!finished) co_return 5;
  co_return a.status(2).active && b.status(1).active ? 0 : 6;
}

TEST(PeerPosixTest, TwoMembersExchangeMessagesAndASnapshotOverLoopback) {
  PosixEnvOptions options;
  options.process_name = "peer-test";
  options.handle_signals = false;
  PosixEnv env(options);
  const std::string dir =
      JoinPath(::testing::TempDir(), StrCat("keel_peer_posix_", env.random().Next()));
  ASSERT_TRUE(CreateDirs(env.fs(), dir).ok());
  Member one;
  Member two;
  EXPECT_EQ(env.RunMain(Main(env, dir, &one, &two)), 0);
  ASSERT_EQ(one.messages.size(), static_cast<size_t>(kMessages));
  ASSERT_EQ(two.messages.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; i++) {
    EXPECT_EQ(one.messages[i].index(), static_cast<uint64_t>(i + 1));
    EXPECT_EQ(two.messages[i].index(), static_cast<uint64_t>(i + 1));
  }
  ASSERT_EQ(one.snapshot_status.size(), 1u);
  EXPECT_TRUE(one.snapshot_status[0].second);
  ASSERT_EQ(two.snapshots.size(), 1u);
  EXPECT_EQ(two.snapshots[0].message.snapshot().metadata().index(), 77u);
  std::unique_ptr<File> file =
      env.fs().Open(two.snapshots[0].path, OpenOptions{.read_only = true}).value();
  EXPECT_EQ(file->Size().value(), 3u << 20);
  EXPECT_EQ(file->ReadAt(0, 3 << 20).value(), std::string(3 << 20, 's'));
  file.reset();
  // Clean up the real directory.
  EXPECT_TRUE(env.fs().Remove(two.snapshots[0].path).ok());
  for (const char* member : {"member1", "member2"}) {
    EXPECT_TRUE(env.fs().RemoveDir(JoinPath(dir, member)).ok());
  }
  EXPECT_TRUE(env.fs().RemoveDir(dir).ok());
}

}  // namespace
}  // namespace keel::net
