// Tests that keel's binaries accept the flag spellings etcd's do.
#include "tools/flags.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tools/server_flags.h"

namespace keel::tools {
namespace {

struct Fixture {
  std::string name = "default";
  int64_t count = 100000;
  bool pre_vote = true;
  std::vector<std::string> urls = {"http://localhost:2379"};
  std::string output = "simple";
  FlagSet flags{"keel"};
  Fixture() {
    flags.String("name", &name, "member name");
    flags.Int("snapshot-count", &count, "entries between snapshots");
    flags.Bool("pre-vote", &pre_vote, "pre-vote");
    flags.List("listen-client-urls", &urls, "client URLs");
    flags.String("write-out", &output, "output format", "w");
  }
};

TEST(FlagsTest, AcceptsGoAndPflagSpellings) {
  Fixture f;
  ASSERT_TRUE(f.flags.Parse({"--name", "n1", "-snapshot-count=5", "--pre-vote=false",
                             "--listen-client-urls=http://a:1,http://b:2", "-w", "json",
                             "get", "foo"}).ok());
  EXPECT_EQ(f.name, "n1");
  EXPECT_EQ(f.count, 5);
  EXPECT_FALSE(f.pre_vote);
  EXPECT_EQ(f.urls, (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_EQ(f.output, "json");
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"get", "foo"}));
  EXPECT_TRUE(f.flags.Changed("name"));
}

TEST(FlagsTest, BareBooleanMeansTrue) {
  Fixture f;
  f.pre_vote = false;
  ASSERT_TRUE(f.flags.Parse({"--pre-vote"}).ok());
  EXPECT_TRUE(f.pre_vote);
}

TEST(FlagsTest, UnknownFlagUsesGosWording) {
  Fixture f;
  absl::Status s = f.flags.Parse({"--nope"});
  EXPECT_EQ(s.message(), "flag provided but not defined: -nope");
}

TEST(FlagsTest, BadValueIsAnError) {
  Fixture f;
  EXPECT_FALSE(f.flags.Parse({"--snapshot-count", "lots"}).ok());
  EXPECT_FALSE(f.flags.Parse({"--name"}).ok()) << "a missing value is an error";
}

TEST(FlagsTest, EnvironmentFillsWhatTheCommandLineDidNot) {
  Fixture f;
  std::map<std::string, std::string> env = {{"ETCD_NAME", "from-env"},
                                            {"ETCD_SNAPSHOT_COUNT", "7"}};
  ASSERT_TRUE(f.flags.Parse({"--snapshot-count", "9"}).ok());
  ASSERT_TRUE(f.flags
                  .ApplyEnvironment("ETCD_",
                                    [&](const std::string& k) -> std::optional<std::string> {
                                      auto it = env.find(k);
                                      if (it == env.end()) return std::nullopt;
                                      return it->second;
                                    })
                  .ok());
  EXPECT_EQ(f.name, "from-env");
  EXPECT_EQ(f.count, 9) << "the command line wins";
}

TEST(FlagsTest, DoubleDashEndsFlags) {
  Fixture f;
  ASSERT_TRUE(f.flags.Parse({"put", "--", "-key-", "v"}).ok());
  EXPECT_EQ(f.flags.args(), (std::vector<std::string>{"put", "-key-", "v"}));
}

// keel-sim's deliberate defects (node::failpoints::ServerBugs) exist only in
// the failpoint build (runtime/failpoints.h) that tools never link; keel's
// command line and environment have no way to name one either.
TEST(ServerFlagsTest, NothingSetsTheSimulatorsDeliberateDefects) {
  for (const char* flag : {"--sim-bugs", "--ack-before-sync", "--lease-early-expiry",
                           "--sim-bugs-ack-before-sync", "--inject-bug"}) {
    auto parsed = ParseServerCommandLine({flag}, [](const std::string&) {
      return std::optional<std::string>();
    });
    EXPECT_FALSE(parsed.ok()) << flag << " must not be a flag";
  }
  // The environment variables keel reads (one per flag) name none of them.
  std::vector<std::string> asked;
  auto parsed = ParseServerCommandLine({"--name", "m1"}, [&asked](const std::string& name) {
    asked.push_back(name);
    return std::optional<std::string>();
  });
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(asked.empty());
  for (const std::string& name : asked) {
    for (const char* word : {"SIM", "BUG", "ACK_BEFORE", "EARLY_EXPIRY"}) {
      EXPECT_EQ(name.find(word), std::string::npos) << name;
    }
  }
  for (const char* word : {"--sim", "--inject", "ack-before", "early-expiry"}) {
    EXPECT_EQ(parsed->usage.find(word), std::string::npos) << parsed->usage;
  }
}

}  // namespace
}  // namespace keel::tools
