// Tests of keel-bench's workloads against a real member (node::Node on a
// simulated machine) from a client machine over SimNetwork: every request
// is issued and counted once, keys and values have the sizes asked for, a
// rate spaces the requests, and the watch fan-out delivers every event to
// every watcher and counts each once.
#include "tools/bench_workloads.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/etcd_client.h"
#include "gtest/gtest.h"
#include "node/testing/sim_members.h"

namespace keel::tools {
namespace {

constexpr char kMemberAddress[] = "10.0.0.1:2379";

class BenchWorkloadsTest : public ::testing::Test {
 protected:
  BenchWorkloadsTest()
      : c_({.kind = node::testing::MemberKind::kNode, .world = {.seed = 7}}),
        started_(c_.StartAll()) {
    c_.WaitLeader(Seconds(10));
  }

  void SetUp() override {
    ASSERT_TRUE(started_.ok()) << started_;
    ASSERT_TRUE(c_.up(0));
  }

  BenchConfig Config(BenchCommand command) {
    BenchConfig config;
    config.command = command;
    config.endpoints = {kMemberAddress};
    return config;
  }

  // Runs `task` in the client's process; it must finish within 600 s.
  template <typename T>
  T Run(Task<T> task) {
    return c_.Run(std::move(task), Seconds(600));
  }

  std::vector<Stats> Bench(BenchConfig config) {
    auto stats = Run(RunBench(c_.client_env(), std::move(config), progress()));
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : std::vector<Stats>{};
  }

  Progress& progress() {
    if (progress_ == nullptr) progress_ = std::make_unique<Progress>(c_.client_env(), false);
    return *progress_;
  }

  // Every key in the member's key space.
  etcdserverpb::RangeResponse All() {
    client::ClientOptions options;
    options.endpoints = {kMemberAddress};
    auto client = std::make_unique<client::EtcdClient>(c_.client_env(), std::move(options));
    etcdserverpb::RangeRequest request;
    request.set_key(std::string(1, '\0'));
    request.set_range_end(std::string(1, '\0'));
    auto response = Run(client->Range(std::move(request)));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : etcdserverpb::RangeResponse();
  }

  node::testing::SimMembers c_;
  const absl::Status started_;
  std::unique_ptr<Progress> progress_;
};

TEST_F(BenchWorkloadsTest, PutIssuesEveryRequestOnceWithTheSizesAskedFor) {
  BenchConfig config = Config(BenchCommand::kPut);
  config.conns = 2;
  config.clients = 4;
  config.total = 50;
  config.key_size = 8;
  config.val_size = 256;
  config.key_space_size = 10;
  config.sequential_keys = true;
  std::vector<Stats> stats = Bench(config);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].name, "put");
  EXPECT_EQ(stats[0].successes, 50);
  EXPECT_EQ(stats[0].failures, 0);
  EXPECT_GT(stats[0].requests_per_second, 0);
  etcdserverpb::RangeResponse all = All();
  ASSERT_EQ(all.kvs_size(), 10) << "sequential keys cover the key space";
  for (const auto& kv : all.kvs()) {
    EXPECT_EQ(kv.key().size(), 8u);
    EXPECT_EQ(kv.value().size(), 256u);
    EXPECT_EQ(kv.version(), 5) << "50 puts over 10 keys";
  }
  EXPECT_EQ(all.kvs(0).key(), BenchKey(0, 8));
  EXPECT_NE(all.kvs(0).value(), all.kvs(1).value()) << "values are random bytes";
}

TEST_F(BenchWorkloadsTest, RangeAndTxnPutCountTheirRequests) {
  BenchConfig range = Config(BenchCommand::kRange);
  range.clients = 3;
  range.total = 30;
  range.range_key = "k";
  std::vector<Stats> reads = Bench(range);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].successes, 30);
  range.serializable = true;
  EXPECT_EQ(Bench(range)[0].successes, 30);

  BenchConfig txn = Config(BenchCommand::kTxnPut);
  txn.clients = 2;
  txn.total = 20;
  txn.key_space_size = 1000;
  txn.val_size = 16;
  std::vector<Stats> txns = Bench(txn);
  ASSERT_EQ(txns.size(), 1u);
  EXPECT_EQ(txns[0].name, "txn-put");
  EXPECT_EQ(txns[0].successes + txns[0].failures, 20);
  EXPECT_GE(All().header().revision(), 1 + txns[0].successes);
}

TEST_F(BenchWorkloadsTest, ARateSpacesTheRequests) {
  BenchConfig config = Config(BenchCommand::kPut);
  config.clients = 4;
  config.total = 21;
  config.rate = 10;
  std::vector<Stats> stats = Bench(config);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].successes, 21);
  // Request 20 may not start before 2 s.
  EXPECT_GE(stats[0].total_seconds, 2.0);
  EXPECT_LT(stats[0].total_seconds, 3.0);
}

TEST_F(BenchWorkloadsTest, WatchFanOutDeliversEveryEventToEveryWatcher) {
  BenchConfig config = Config(BenchCommand::kWatch);
  config.conns = 2;
  config.clients = 3;
  config.streams = 2;
  config.watch_per_stream = 3;
  config.key_space_size = 2;
  config.sequential_keys = true;
  config.put_total = 10;
  std::vector<Stats> stats = Bench(config);
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].name, "watch-create");
  EXPECT_EQ(stats[0].successes, 6);
  EXPECT_EQ(stats[1].name, "watch-put");
  EXPECT_EQ(stats[1].successes, 10);
  EXPECT_EQ(stats[2].name, "watch-events");
  // Watchers 0..5 watch keys 0,1,0,1,0,1: each put reaches 3 of them.
  EXPECT_EQ(stats[2].successes, 30);
  EXPECT_GT(stats[2].requests_per_second, 0);
  EXPECT_GT(stats[2].fastest_seconds, 0) << "latency runs from the put's start";
}

TEST_F(BenchWorkloadsTest, WatchLatencyMeasuresEveryWatcherOfEveryPut) {
  BenchConfig config = Config(BenchCommand::kWatchLatency);
  config.clients = 3;
  config.put_total = 5;
  config.put_rate = 100;
  std::vector<Stats> stats = Bench(config);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].name, "watch-latency");
  EXPECT_EQ(stats[0].successes, 15);
  EXPECT_EQ(stats[0].failures, 0);
}

TEST_F(BenchWorkloadsTest, TheTextReportTitlesEachWatchSummary) {
  BenchConfig config = Config(BenchCommand::kWatch);
  config.streams = 1;
  config.watch_per_stream = 2;
  config.put_total = 3;
  const std::string text = FormatBenchText(Bench(config), /*precise=*/false);
  EXPECT_NE(text.find("Watch creation summary:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Put summary:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Watch events received summary:\n"), std::string::npos) << text;
  const std::string json = FormatBenchJson(BenchCommand::kWatch, Bench(config));
  EXPECT_EQ(json.rfind("{\"command\":\"watch\",\"summaries\":[{\"name\":\"watch-create\"", 0),
            0u)
      << json;
}

}  // namespace
}  // namespace keel::tools
