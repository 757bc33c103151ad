// Tests that keel's server flags are honest: every flag of etcd 3.5 has a row
// in tools/server_flag_table.cc, doc/flags.md is that table, every flag the
// table calls implemented reaches the config, and every other flag refuses
// any value but etcd's default, by name. The walk is over the table, so a
// row flipped to implemented without binding its flag fails here.
#include <fstream>  // lint-determinism: allow (test reads doc/ and testdata/)
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/strings.h"
#include "tools/server_flag_table.h"
#include "tools/server_flags.h"

namespace keel::tools {
namespace {

constexpr std::string_view kDocPath = KEEL_SOURCE_DIR "/doc/flags.md";
constexpr std::string_view kEtcdFlagsPath = KEEL_SOURCE_DIR "/tools/testdata/etcd_3_5_flags.txt";
constexpr std::string_view kBegin =
    "<!-- BEGIN flag table: rendered from tools/server_flag_table.cc by "
    "tools_flags_test (KEEL_REWRITE=1 rewrites it) -->\n";
constexpr std::string_view kEnd = "<!-- END flag table -->\n";

std::string ReadFile(std::string_view path) {
  std::ifstream in{std::string(path)};  // lint-determinism: allow (test reads its inputs)
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

using Environment = std::map<std::string, std::string>;

// The files --config-file may name in these tests: path -> YAML text. The
// flag table's example names etcd.conf.yml.
using Files = std::map<std::string, std::string>;
const Files kExampleFiles = {{"etcd.conf.yml", "name: from-file\n"}};

absl::StatusOr<ServerCommandLine> Parse(const std::vector<std::string>& args,
                                        const Environment& env = {},
                                        const Files& files = kExampleFiles) {
  return ParseServerCommandLine(
      args,
      [&env](const std::string& name) {
        auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
      },
      [&files](const std::string& path) -> absl::StatusOr<std::string> {
        auto it = files.find(path);
        if (it == files.end()) return absl::NotFoundError(StrCat(path, ": No such file"));
        return it->second;
      });
}

// Whether the command line asked for anything the defaults do not.
bool ChangesSomething(const ServerCommandLine& parsed) {
  return parsed.show_help || parsed.show_version || !(parsed.config == node::ServerConfig());
}

std::string Code(std::string_view text) {
  return text.empty() ? "`''`" : StrCat("`", text, "`");
}

// The table of doc/flags.md, one section per heading of etcd's --help.
std::string RenderTable() {
  std::string out;
  std::string_view section;
  for (const ServerFlag& row : ServerFlagTable()) {
    if (row.section != section) {
      section = row.section;
      StrAppend(&out, out.empty() ? "" : "\n", "### ", section, "\n\n",
                "| flag | environment | etcd's default | status | in keel |\n",
                "| --- | --- | --- | --- | --- |\n");
    }
    std::string status(FlagStatusText(row.status));
    if (!row.also_accepted.empty()) StrAppend(&status, "; also accepts ", Code(row.also_accepted));
    StrAppend(&out, "| `--", row.name, "` | `", EnvironmentVariableFor(row.name), "` | ",
              Code(row.etcd_default), " | ", status, " | ", row.note, " |\n");
  }
  return out;
}

TEST(ServerFlagTableTest, DocFlagsMdIsTheTable) {
  const std::string doc = ReadFile(kDocPath);
  const size_t begin = doc.find(kBegin);
  const size_t end = doc.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << kDocPath << " lacks: " << kBegin;
  ASSERT_NE(end, std::string::npos) << kDocPath << " lacks: " << kEnd;
  ASSERT_LT(begin, end);
  const size_t body = begin + kBegin.size();
  const std::string rendered = RenderTable();
  if (const char* rewrite = std::getenv("KEEL_REWRITE"); rewrite && std::string(rewrite) == "1") {
    std::ofstream out{std::string(kDocPath)};  // lint-determinism: allow (rewrites the doc)
    out << doc.substr(0, body) << rendered << doc.substr(end);
    return;
  }
  EXPECT_EQ(doc.substr(body, end - body), rendered)
      << "doc/flags.md is stale: run KEEL_REWRITE=1 build/tools/tools_flags_test";
}

TEST(ServerFlagTableTest, EveryEtcdFlagHasARowWithEtcdsDefault) {
  std::map<std::string, std::optional<std::string>> etcd;  // flag -> default
  std::istringstream lines(ReadFile(kEtcdFlagsPath));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    ASSERT_TRUE(line.starts_with("--")) << line;
    const size_t space = line.find(' ');
    std::optional<std::string> value;
    if (space != std::string::npos) {
      value = line.substr(space + 1);
      if (value->size() >= 2 && value->front() == '\'' && value->back() == '\'') {
        value = value->substr(1, value->size() - 2);
      }
    }
    etcd[line.substr(2, space == std::string::npos ? std::string::npos : space - 2)] = value;
  }
  ASSERT_GT(etcd.size(), 80u) << "read " << kEtcdFlagsPath;
  for (const auto& [name, value] : etcd) {
    const ServerFlag* row = FindServerFlag(name);
    ASSERT_NE(row, nullptr) << "--" << name << " has no row in tools/server_flag_table.cc";
    if (value.has_value()) {
      EXPECT_EQ(row->etcd_default, *value) << "--" << name;
    }
  }
  // The rows beyond etcd's listing are deliberate.
  std::vector<std::string> extra;
  for (const ServerFlag& row : ServerFlagTable()) {
    if (!etcd.contains(std::string(row.name))) extra.emplace_back(row.name);
    EXPECT_EQ(FindServerFlag(row.name), &row) << row.name << " has two rows";
  }
  EXPECT_EQ(extra, (std::vector<std::string>{"enable-grpc-gateway", "tls-min-version",
                                             "tls-max-version", "log-format",
                                             "experimental-snapshot-catchup-entries"}));
}

TEST(ServerFlagTableTest, ImplementedFlagsReachTheConfig) {
  for (const ServerFlag& row : ServerFlagTable()) {
    if (row.status != FlagStatus::kImplemented) continue;
    SCOPED_TRACE(row.name);
    ASSERT_NE(row.example, row.etcd_default);
    auto parsed = Parse({StrCat("--", row.name, "=", row.example)});
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(ChangesSomething(*parsed)) << "--" << row.name << " is parsed but lands nowhere";
    if (row.name == "help" || row.name == "version") continue;  // Not read from the environment.
    auto from_env = Parse({}, {{EnvironmentVariableFor(row.name), std::string(row.example)}});
    ASSERT_TRUE(from_env.ok()) << from_env.status();
    EXPECT_TRUE(parsed->config == from_env->config);
  }
}

TEST(ServerFlagTableTest, RefusedFlagsAcceptOnlyEtcdsDefault) {
  for (const ServerFlag& row : ServerFlagTable()) {
    if (row.status == FlagStatus::kImplemented) continue;
    SCOPED_TRACE(row.name);
    auto with_default = Parse({StrCat("--", row.name, "=", row.etcd_default)});
    ASSERT_TRUE(with_default.ok()) << with_default.status();
    EXPECT_FALSE(ChangesSomething(*with_default));
    if (!row.also_accepted.empty()) {
      auto also = Parse({StrCat("--", row.name, "=", row.also_accepted)});
      EXPECT_TRUE(also.ok()) << also.status();
    }
    if (row.example.empty()) {
      // Only a bool whose both values are accepted has nothing to refuse.
      EXPECT_EQ(row.etcd_default, "false");
      EXPECT_EQ(row.also_accepted, "true");
      continue;
    }
    ASSERT_NE(row.example, row.etcd_default);
    const std::string refusal =
        StrCat("--", row.name, row.status == FlagStatus::kNotYet ? " is not supported yet"
                                                                 : " is not supported: ");
    auto refused = Parse({StrCat("--", row.name, "=", row.example)});
    ASSERT_FALSE(refused.ok());
    EXPECT_TRUE(std::string(refused.status().message()).starts_with(refusal))
        << refused.status().message();
    const std::string variable = EnvironmentVariableFor(row.name);
    auto from_env = Parse({}, {{variable, std::string(row.example)}});
    ASSERT_FALSE(from_env.ok());
    EXPECT_NE(from_env.status().message().find(StrCat("--", row.name, " (set by ", variable, ")")),
              std::string::npos)
        << from_env.status().message();
  }
}

TEST(ServerFlagsTest, ARefusedFlagIsRefusedNotIgnored) {
  auto parsed = Parse({"--enable-log-rotation"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "--enable-log-rotation is not supported yet (keel accepts only 'false'; "
            "see doc/flags.md)");
  auto v2 = Parse({"--enable-v2"});
  ASSERT_FALSE(v2.ok());
  EXPECT_EQ(v2.status().message(),
            "--enable-v2 is not supported: keel serves the v3 API only (keel accepts only "
            "'false'; see doc/flags.md)");
  EXPECT_TRUE(Parse({"--enable-log-rotation=false", "--enable-v2=false"}).ok());
}

TEST(ServerFlagsTest, UnknownFlagsKeepGosWording) {
  auto parsed = Parse({"--no-such-flag"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "flag provided but not defined: -no-such-flag");
}

TEST(ServerFlagsTest, AFlagGivenBothWaysIsRefusedAsEtcdDoes) {
  auto parsed = Parse({"--name", "m1"}, {{"ETCD_NAME", "m2"}});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "conflicting environment variable \"ETCD_NAME\" is shadowed by corresponding "
            "command-line flag (either unset environment variable or disable flag)");
  auto other = Parse({"--name", "m1"}, {{"ETCD_DATA_DIR", "d"}});
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->config.name, "m1");
  EXPECT_EQ(other->config.data_dir, "d");
}

// etcd answers --help and --version before reading the environment, and
// ETCD_VERSION=true starts the server.
TEST(ServerFlagsTest, HelpAndVersionComeBeforeTheEnvironment) {
  auto version = Parse({"--version"}, {{"ETCD_VERSION", "v3.4.0"}, {"ETCD_NAME", "m1"}});
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_TRUE(version->show_version);
  auto from_env = Parse({}, {{"ETCD_VERSION", "true"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_FALSE(from_env->show_version);
  EXPECT_FALSE(Parse({}, {{"ETCD_VERSION", "v3.4.0"}}).ok());
}

TEST(ServerFlagsTest, HelpSaysWhichFlagsAreRefused) {
  auto parsed = Parse({"-h"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->show_help);
  EXPECT_NE(parsed->usage.find("--enable-log-rotation\n\tNot supported yet; only 'false' is "
                               "accepted."),
            std::string::npos)
      << parsed->usage;
}

TEST(ServerFlagsTest, ValidateRefusesUrlsKeelCannotServe) {
  struct Case {
    std::vector<std::string> args;
    absl::StatusCode code;
    std::string message;
  } cases[] = {
      {{"--listen-peer-urls=http://localhost:2380,http://127.0.0.1:2381"},
       absl::StatusCode::kUnimplemented,
       "--listen-peer-urls: keel listens on one peer URL; more are not supported yet"},
      {{"--listen-client-urls=https://localhost:2379"},
       absl::StatusCode::kInvalidArgument,
       "TLS key/cert (--cert-file, --key-file) must be provided for --listen-client-urls "
       "https://localhost:2379 with HTTPS scheme"},
      {{"--initial-advertise-peer-urls=https://localhost:2380",
        "--initial-cluster=default=https://localhost:2380"},
       absl::StatusCode::kInvalidArgument,
       "TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for "
       "--initial-advertise-peer-urls https://localhost:2380 with HTTPS scheme"},
      {{"--initial-cluster=default=http://localhost:2380,b=https://10.0.0.2:2380"},
       absl::StatusCode::kInvalidArgument,
       "TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for "
       "--initial-cluster https://10.0.0.2:2380 with HTTPS scheme"},
      {{"--peer-auto-tls"},
       absl::StatusCode::kInvalidArgument,
       "--listen-peer-urls http://localhost:2380: peer TLS is configured, so peer URLs must "
       "be https"},
  };
  for (const Case& c : cases) {
    auto parsed = Parse(c.args);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::Status valid = parsed->config.Validate();
    EXPECT_EQ(valid.code(), c.code) << valid;
    EXPECT_EQ(valid.message(), c.message);
  }
}

TEST(ServerFlagsTest, HttpsUrlsAreAcceptedWithTheirSidesTls) {
  auto parsed = Parse({"--listen-client-urls=https://localhost:2379,http://localhost:22379",
                       "--cert-file=s.crt", "--key-file=s.key",
                       "--listen-peer-urls=https://localhost:2380",
                       "--initial-advertise-peer-urls=https://localhost:2380",
                       "--initial-cluster=default=https://localhost:2380", "--peer-auto-tls"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->config.Validate().ok()) << parsed->config.Validate();
  EXPECT_TRUE(parsed->config.client_tls.enabled());
  EXPECT_TRUE(parsed->config.peer_tls.auto_tls);
}

}  // namespace
}  // namespace keel::tools
