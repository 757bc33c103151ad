// etcd's start-up checks, applied by ServerConfig::Validate.
#include "node/server_config.h"

#include "gtest/gtest.h"

namespace keel::node {
namespace {

// The release build has no way to switch on keel-sim's server defects: the
// field does not exist (node::failpoints, runtime/failpoints.h).
template <typename Config>
concept HasFailpointSwitches = requires(Config c) { c.failpoints; };
static_assert(!HasFailpointSwitches<ServerConfig>);

TEST(ServerConfigTest, DefaultsAreValidAndNameTheDataDir) {
  ServerConfig config;
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_EQ(config.DataDir(), "default.keel");
  EXPECT_EQ(config.WalDir(), "default.keel/member/wal");
}

TEST(ServerConfigTest, ElectionTimeoutMustBeFiveHeartbeats) {
  ServerConfig config;
  config.election_timeout_ms = 400;
  EXPECT_EQ(config.Validate().message(),
            "--election-timeout[400ms] should be at least as 5 times as "
            "--heartbeat-interval[100ms]");
}

TEST(ServerConfigTest, NameMustBeInTheInitialCluster) {
  ServerConfig config;
  config.name = "infra9";
  EXPECT_FALSE(config.Validate().ok());
}

TEST(ServerConfigTest, AdvertisedPeerUrlsMustMatchTheInitialCluster) {
  ServerConfig config;
  config.initial_advertise_peer_urls = {"http://127.0.0.1:2380"};
  EXPECT_FALSE(config.Validate().ok());
  config.initial_cluster = "default=http://127.0.0.1:2380";
  EXPECT_TRUE(config.Validate().ok());
}

TEST(ServerConfigTest, UrlsAreParsedStrictly) {
  EXPECT_TRUE(ParseUrl("http://127.0.0.1:2379").ok());
  EXPECT_EQ(ParseUrl("http://[::1]:2379")->HostPort(), "[::1]:2379");
  EXPECT_FALSE(ParseUrl("127.0.0.1:2379").ok());
  EXPECT_FALSE(ParseUrl("http://127.0.0.1").ok());
  EXPECT_FALSE(ParseUrl("ftp://127.0.0.1:21").ok());
  EXPECT_FALSE(ParseUrl("http://127.0.0.1:2379/path").ok());
}

TEST(ServerConfigTest, InitialClusterAllowsSeveralUrlsPerName) {
  auto cluster = ParseInitialCluster(
      "a=http://127.0.0.1:2380,b=http://127.0.0.1:22380,a=http://10.0.0.1:2380");
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(cluster->at("a").size(), 2u);
  EXPECT_FALSE(ParseInitialCluster("a").ok());
  EXPECT_FALSE(ParseInitialCluster("a=notaurl").ok());
}

TEST(ServerConfigTest, UnknownClusterStateIsRefused) {
  ServerConfig config;
  config.initial_cluster_state = "old";
  EXPECT_FALSE(config.Validate().ok());
}

TEST(ServerConfigTest, FlowControlAndSnapshotChunksAreBounded) {
  struct Case {
    uint64_t max_inflight_msgs, max_inflight_bytes, snapshot_chunk_bytes;
    bool ok;
  } cases[] = {
      {512, 8u << 20, 1u << 20, true},  // the defaults
      {512, 0, 1u << 20, true},         // no byte limit
      {1, 1, 1, true},
      {512, 8u << 20, kMaxSnapshotChunkBytes, true},
      {0, 8u << 20, 1u << 20, false},
      {512, 8u << 20, 0, false},
      {512, 8u << 20, kMaxSnapshotChunkBytes + 1, false},
  };
  const ServerConfig defaults;
  EXPECT_EQ(defaults.max_inflight_msgs, 512u);
  EXPECT_EQ(defaults.max_inflight_bytes, 8u << 20);
  EXPECT_EQ(defaults.snapshot_chunk_bytes, 1u << 20);
  for (const Case& c : cases) {
    ServerConfig config;
    config.max_inflight_msgs = c.max_inflight_msgs;
    config.max_inflight_bytes = c.max_inflight_bytes;
    config.snapshot_chunk_bytes = c.snapshot_chunk_bytes;
    EXPECT_EQ(config.Validate().ok(), c.ok)
        << c.max_inflight_msgs << " " << c.max_inflight_bytes << " " << c.snapshot_chunk_bytes;
  }
}

}  // namespace
}  // namespace keel::node
