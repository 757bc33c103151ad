// Tests of keel-bench's command line: etcd's benchmark flags and defaults,
// global flags on either side of the command, and what is refused.
#include "tools/bench_config.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace keel::tools {
namespace {

BenchConfig Parse(std::vector<std::string> args) {
  auto line = ParseBenchCommandLine(args);
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? line->config : BenchConfig();
}

absl::Status Error(std::vector<std::string> args) {
  return ParseBenchCommandLine(args).status();
}

TEST(BenchConfigTest, PutTakesEtcdsFlagsAndDefaults) {
  BenchConfig c = Parse({"put"});
  EXPECT_EQ(c.command, BenchCommand::kPut);
  EXPECT_EQ(c.endpoints, std::vector<std::string>{"127.0.0.1:2379"});
  EXPECT_EQ(c.conns, 1);
  EXPECT_EQ(c.clients, 1);
  EXPECT_EQ(c.total, 10000);
  EXPECT_EQ(c.key_size, 8);
  EXPECT_EQ(c.val_size, 8);
  EXPECT_EQ(c.key_space_size, 1);
  EXPECT_FALSE(c.sequential_keys);
  EXPECT_FALSE(c.json);

  c = Parse({"--endpoints=127.0.0.1:2379,127.0.0.1:22379", "--conns=10", "--clients", "256",
             "put", "--key-size=8", "--val-size", "256", "--total=100000", "--rate", "500",
             "--key-space-size=100000", "--sequential-keys", "-o", "json"});
  EXPECT_EQ(c.endpoints.size(), 2u);
  EXPECT_EQ(c.conns, 10);
  EXPECT_EQ(c.clients, 256);
  EXPECT_EQ(c.val_size, 256);
  EXPECT_EQ(c.total, 100000);
  EXPECT_EQ(c.rate, 500);
  EXPECT_EQ(c.key_space_size, 100000);
  EXPECT_TRUE(c.sequential_keys);
  EXPECT_TRUE(c.json) << "global flags may follow the command";
}

TEST(BenchConfigTest, RangeTakesAKeyAnOptionalEndAndAConsistency) {
  BenchConfig c = Parse({"range", "foo", "--consistency=s", "--total", "5"});
  EXPECT_EQ(c.command, BenchCommand::kRange);
  EXPECT_EQ(c.range_key, "foo");
  EXPECT_EQ(c.range_end, "");
  EXPECT_TRUE(c.serializable);
  EXPECT_EQ(c.total, 5);
  c = Parse({"range", "a", "z"});
  EXPECT_EQ(c.range_end, "z");
  EXPECT_FALSE(c.serializable) << "linearizable by default";
  EXPECT_EQ(Error({"range"}).message(), "range: expected KEY [END]");
  EXPECT_EQ(Error({"range", "k", "--consistency=x"}).message(),
            "unknown consistency flag \"x\"");
}

TEST(BenchConfigTest, WatchCommandsHaveTheirOwnDefaults) {
  BenchConfig w = Parse({"watch"});
  EXPECT_EQ(w.command, BenchCommand::kWatch);
  EXPECT_EQ(w.streams, 10);
  EXPECT_EQ(w.watch_per_stream, 100);
  EXPECT_EQ(w.put_total, 1000);
  EXPECT_EQ(w.put_rate, 0);
  EXPECT_EQ(w.key_size, 32);
  w = Parse({"watch", "--streams=10", "--watch-per-stream=100", "--put-total=10000",
             "--prevkv"});
  EXPECT_EQ(w.put_total, 10000);
  EXPECT_TRUE(w.prev_kv);
  BenchConfig l = Parse({"--clients=4", "watch-latency", "--total=50"});
  EXPECT_EQ(l.command, BenchCommand::kWatchLatency);
  EXPECT_EQ(l.put_total, 50) << "watch-latency's --total counts puts";
  EXPECT_EQ(l.put_rate, 100);
  EXPECT_EQ(l.clients, 4);
  EXPECT_FALSE(Error({"watch", "--val-size=4"}).ok()) << "values carry a sequence number";
}

TEST(BenchConfigTest, TxnPutAndLeaseKeepAliveParse) {
  BenchConfig t = Parse({"txn-put", "--txn-ops=4", "--key-space-size=1000"});
  EXPECT_EQ(t.command, BenchCommand::kTxnPut);
  EXPECT_EQ(t.txn_ops, 4);
  BenchConfig k = Parse({"lease-keepalive", "--total=7", "--target-leader"});
  EXPECT_EQ(k.command, BenchCommand::kLeaseKeepAlive);
  EXPECT_EQ(k.total, 7);
  EXPECT_TRUE(k.target_leader);
  EXPECT_FALSE(Error({"lease-keepalive", "--key-size=3"}).ok())
      << "flags of other commands are unknown";
}

TEST(BenchConfigTest, RefusesWhatCannotRun) {
  EXPECT_NE(Error({}).message().find("missing command"), absl::string_view::npos);
  EXPECT_EQ(Error({"nope"}).message(), "unknown command \"nope\" for \"keel-bench\"");
  EXPECT_EQ(Error({"put", "--nope"}).message(), "flag provided but not defined: -nope");
  EXPECT_FALSE(Error({"--clients=0", "put"}).ok());
  EXPECT_FALSE(Error({"put", "--total=0"}).ok());
  EXPECT_FALSE(Error({"put", "-o", "yaml"}).ok());
  EXPECT_FALSE(Error({"put", "extra"}).ok());
  // 200 needs two varint bytes (zig-zag 400).
  EXPECT_FALSE(Error({"put", "--key-size=1", "--key-space-size=200"}).ok());
  EXPECT_TRUE(Error({"put", "--key-size=1", "--key-space-size=64"}).ok());
}

TEST(BenchConfigTest, HelpIsNotAnError) {
  auto root = ParseBenchCommandLine({"--help"});
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->show_help);
  EXPECT_NE(root->usage.find("watch-latency"), std::string::npos);
  auto put = ParseBenchCommandLine({"put", "-h"});
  ASSERT_TRUE(put.ok());
  EXPECT_NE(put->usage.find("--sequential-keys"), std::string::npos) << put->usage;
}

TEST(BenchConfigTest, DialTimeoutIsAGoDuration) {
  EXPECT_EQ(Parse({"--dial-timeout=500ms", "put"}).dial_timeout, Milliseconds(500));
  EXPECT_EQ(*ParseGoDuration("1m30s"), Seconds(90));
  EXPECT_EQ(*ParseGoDuration("1.5s"), Milliseconds(1500));
  EXPECT_EQ(*ParseGoDuration("0"), Duration::zero());
  EXPECT_FALSE(ParseGoDuration("5").ok());
  EXPECT_FALSE(ParseGoDuration("5 parsecs").ok());
  EXPECT_FALSE(ParseGoDuration("").ok());
}

TEST(BenchConfigTest, KeysAreEtcdsZigZagVarints) {
  EXPECT_EQ(BenchKey(0, 8), std::string(8, '\0'));
  EXPECT_EQ(BenchKey(1, 3), std::string("\x02\0\0", 3));
  EXPECT_EQ(BenchKey(64, 4), std::string("\x80\x01\0\0", 4));
  EXPECT_EQ(VarintLength(63), 1);
  EXPECT_EQ(VarintLength(64), 2);
  EXPECT_EQ(VarintLength(99999), 3);
}

}  // namespace
}  // namespace keel::tools
