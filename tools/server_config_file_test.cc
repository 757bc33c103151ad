// Tests of --config-file: etcd's YAML keys become the same flags the
// command line sets (lists, the TLS maps, durations in nanoseconds), a file
// is the whole configuration (flags and ETCD_* beside it are refused by
// name), and a key keel does not know or refuses is an error naming it.
#include "tools/server_config_file.h"

#include <fstream>  // lint-determinism: allow (test reads packaging/)
#include <map>
#include <sstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/strings.h"
#include "tools/server_flags.h"

namespace keel::tools {
namespace {

using Environment = std::map<std::string, std::string>;

absl::StatusOr<ServerCommandLine> ParseWithFile(const std::string& yaml,
                                                std::vector<std::string> args = {},
                                                const Environment& env = {}) {
  args.insert(args.begin(), "--config-file=/etc/keel/keel.conf.yml");
  return ParseServerCommandLine(
      args,
      [&env](const std::string& name) {
        auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
      },
      [&yaml](const std::string& path) -> absl::StatusOr<std::string> {
        if (path != "/etc/keel/keel.conf.yml") return absl::NotFoundError(path);
        return yaml;
      });
}

std::vector<std::pair<std::string, std::string>> Pairs(std::string_view yaml) {
  auto values = ParseServerConfigFile(yaml);
  EXPECT_TRUE(values.ok()) << values.status();
  std::vector<std::pair<std::string, std::string>> out;
  if (values.ok()) {
    for (const ConfigFileValue& v : *values) out.emplace_back(v.flag, v.value);
  }
  return out;
}

// A file in the shape of etcd's etcd.conf.yml.sample.
constexpr std::string_view kSample = R"(# This is the configuration file for the etcd server.
name: 'm1'
data-dir: /var/lib/keel/m1
wal-dir:
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
quota-backend-bytes: 0
listen-peer-urls: http://127.0.0.1:12380
listen-client-urls: http://127.0.0.1:12379,http://127.0.0.1:22379
max-snapshots: 5
max-wals: 5
initial-advertise-peer-urls: http://127.0.0.1:12380
advertise-client-urls: http://127.0.0.1:12379
discovery:
initial-cluster: m1=http://127.0.0.1:12380
initial-cluster-token: 'etcd-cluster'
initial-cluster-state: 'new'
strict-reconfig-check: true
enable-v2: false
client-transport-security:
  cert-file:
  client-cert-auth: false
peer-transport-security:
  auto-tls: false
log-level: debug
log-outputs: [stdout, /var/log/keel/m1.log]
)";

TEST(ServerConfigFileTest, EtcdsSampleSetsTheFlags) {
  auto parsed = ParseWithFile(std::string(kSample));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const node::ServerConfig& c = parsed->config;
  EXPECT_EQ(c.config_file, "/etc/keel/keel.conf.yml");
  EXPECT_EQ(c.name, "m1");
  EXPECT_EQ(c.data_dir, "/var/lib/keel/m1");
  EXPECT_EQ(c.wal_dir, "");  // Left empty: the default.
  EXPECT_EQ(c.snapshot_count, 10000u);
  EXPECT_EQ(c.listen_client_urls,
            (std::vector<std::string>{"http://127.0.0.1:12379", "http://127.0.0.1:22379"}));
  EXPECT_EQ(c.initial_cluster, "m1=http://127.0.0.1:12380");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_outputs, (std::vector<std::string>{"stdout", "/var/log/keel/m1.log"}));
}

TEST(ServerConfigFileTest, ShapesBeyondAScalar) {
  EXPECT_EQ(Pairs("client-transport-security:\n  cert-file: /c.pem\n  auto-tls: true\n"
                  "peer-transport-security:\n  cert-file: /p.pem\n  client-cert-auth: true\n"
                  "  trusted-ca-file: /ca.pem\n"),
            (std::vector<std::pair<std::string, std::string>>{
                {"cert-file", "/c.pem"},
                {"auto-tls", "true"},
                {"peer-cert-file", "/p.pem"},
                {"peer-client-cert-auth", "true"},
                {"peer-trusted-ca-file", "/ca.pem"}}));
  // time.Duration through JSON: nanoseconds.
  EXPECT_EQ(Pairs("experimental-corrupt-check-time: 300000000000\n"
                  "experimental-warning-apply-duration: 100000000\n"
                  "grpc-keepalive-timeout: 0\n"
                  "backend-batch-interval: 1500\n"),
            (std::vector<std::pair<std::string, std::string>>{
                {"experimental-corrupt-check-time", "5m"},
                {"experimental-warning-apply-duration", "100ms"},
                {"grpc-keepalive-timeout", "0s"},
                {"backend-batch-interval", "1500ns"}}));
  EXPECT_EQ(Pairs("cipher-suites:\n  - TLS_A\n  - TLS_B\n"),
            (std::vector<std::pair<std::string, std::string>>{{"cipher-suites", "TLS_A,TLS_B"}}));
  EXPECT_TRUE(Pairs("").empty());
  EXPECT_TRUE(Pairs("# only a comment\n").empty());
}

TEST(ServerConfigFileTest, WhatItRefusesIsNamed) {
  struct Case {
    std::string yaml;
    std::string message;
  } cases[] = {
      {"name: m1\nno-such-key: 1\n",
       "/etc/keel/keel.conf.yml: config file key \"no-such-key\": not a key etcd's "
       "configuration file has"},
      {"peer-transport-security:\n  allowed-cn: x\n",
       "/etc/keel/keel.conf.yml: config file key \"peer-transport-security.allowed-cn\": not "
       "a key etcd's configuration file has"},
      {"config-file: other.yml\n",
       "/etc/keel/keel.conf.yml: config file key \"config-file\": not a key etcd's "
       "configuration file has"},
      {"name:\n  first: m1\n",
       "/etc/keel/keel.conf.yml: config file key \"name\": a map is not a value of this key"},
      {"- name\n", "/etc/keel/keel.conf.yml: config file is not a YAML map of keys"},
      {"snapshot-count: many\n",
       "/etc/keel/keel.conf.yml: invalid value \"many\" for flag --snapshot-count"},
      {"enable-v2: true\n",
       "--enable-v2 (set by enable-v2 in /etc/keel/keel.conf.yml) is not supported: keel "
       "serves the v3 API only (keel accepts only 'false'; see doc/flags.md)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto parsed = ParseWithFile(c.yaml);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(parsed.status().message()), c.message);
  }
  auto bad_yaml = ParseWithFile("name: [m1\n");
  ASSERT_FALSE(bad_yaml.ok());
  EXPECT_TRUE(absl::StrContains(bad_yaml.status().message(),
                                "/etc/keel/keel.conf.yml: config file is not valid YAML: yaml-cpp: "
                                "error at line"))
      << bad_yaml.status();
}

// The sample `make install` ships is one keel reads.
TEST(ServerConfigFileTest, TheInstalledSampleParses) {
  std::ifstream in(KEEL_SOURCE_DIR "/packaging/keel.conf.yml.sample");  // lint-determinism: allow (test input)
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_FALSE(text.str().empty());
  auto parsed = ParseWithFile(text.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.name, "host1");
  EXPECT_TRUE(parsed->config.Validate().ok()) << parsed->config.Validate();
}

// etcd ignores flags and variables beside a config file; keel refuses them.
TEST(ServerConfigFileTest, AFileIsTheWholeConfiguration) {
  auto flag = ParseWithFile("name: m1\n", {"--data-dir=/tmp/d"});
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.status().message(),
            "--data-dir may not be given with --config-file /etc/keel/keel.conf.yml (etcd "
            "ignores flags beside a config file; set data-dir in the file instead)");
  auto variable = ParseWithFile("name: m1\n", {}, {{"ETCD_DATA_DIR", "/tmp/d"}});
  ASSERT_FALSE(variable.ok());
  EXPECT_EQ(variable.status().message(),
            "ETCD_DATA_DIR may not be set with --config-file /etc/keel/keel.conf.yml (etcd "
            "ignores environment variables beside a config file; set data-dir in the file "
            "instead)");
  // The file named by ETCD_CONFIG_FILE works as the flag does.
  auto by_env = ParseServerCommandLine(
      {}, [](const std::string& name) -> std::optional<std::string> {
        if (name == "ETCD_CONFIG_FILE") return "/k.yml";
        return std::nullopt;
      },
      [](const std::string&) -> absl::StatusOr<std::string> { return "name: m9\n"; });
  ASSERT_TRUE(by_env.ok()) << by_env.status();
  EXPECT_EQ(by_env->config.name, "m9");
  EXPECT_EQ(by_env->config.config_file, "/k.yml");
  // A file that cannot be read is named with the reason.
  auto missing = ParseServerCommandLine(
      {"--config-file=/nowhere.yml"}, [](const std::string&) { return std::nullopt; },
      [](const std::string& path) -> absl::StatusOr<std::string> {
        return absl::NotFoundError(StrCat(path, ": No such file or directory"));
      });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "cannot read --config-file /nowhere.yml: /nowhere.yml: No such file or directory");
}

}  // namespace
}  // namespace keel::tools
