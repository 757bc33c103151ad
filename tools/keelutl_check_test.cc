// Tests of `keelutl check`: a member's data directory, built by a real
// (simulated) member that wrote its WAL, its LevelDB key space (log,
// MANIFEST, CURRENT and a table) and a raft snapshot file, checks clean;
// then a copy of each kind of file with one bit flipped, at positions
// spread over the whole file, is reported as damaged, naming the file.
#include "tools/keelutl_check.h"

#include <map>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/server.h"
#include "node/snapshot_io.h"
#include "node/testing/sim_members.h"

namespace keel::tools {
namespace {

constexpr char kPeerUrl[] = "http://10.0.0.1:2380";

node::ServerConfig Config() {
  node::ServerConfig config;
  config.name = "a";
  config.data_dir = "a.keel";
  config.initial_advertise_peer_urls = {kPeerUrl};
  config.listen_peer_urls = {kPeerUrl};
  config.initial_cluster = std::string("a=") + kPeerUrl;
  return config;
}

class KeelutlCheckTest : public ::testing::Test {
 protected:
  node::Server* Boot() {
    c_.config(0) = Config();
    const absl::Status started = c_.Start(0);
    EXPECT_TRUE(started.ok()) << started;
    if (!started.ok()) return nullptr;
    c_.WaitLeader(Seconds(10));
    return &c_.server(0);
  }

  void Put(node::Server* server, int from, int to) {
    for (int i = from; i < to; i++) {
      etcdserverpb::PutRequest request;
      request.set_key("key" + std::to_string(i % 40));
      request.set_value(std::string(i % 60, 'v'));
      ASSERT_TRUE(c_.Run(server->kv().Put(request)).ok());
    }
  }

  // Two incarnations (the second start turns the first's LevelDB log into
  // a table), and a raft snapshot file as a follower would keep it.
  void MakeDataDir() {
    node::Server* server = Boot();
    ASSERT_NE(server, nullptr);
    Put(server, 0, 150);
    c_.Kill(0);
    server = Boot();
    ASSERT_NE(server, nullptr);
    Put(server, 150, 200);
    auto written = c_.RunOn(0, node::WriteSnapshotFile(
        c_.env(0), server->key_space().mvcc(), "a.keel/member/snap/0000000000000002-0000000000000100.snap",
        server->id(), server->cluster_id()));
    ASSERT_TRUE(written.ok()) << written.status();
    c_.Kill(0);
  }

  DataDirCheck Check() {
    auto checked = CheckDataDir(c_.env(0).fs(), MemberDirsOf("a.keel"));
    KEEL_ASSERT(checked.ok());
    return *checked;
  }

  // Every file of the data directory by path.
  std::map<std::string, std::string> Files() {
    std::map<std::string, std::string> files;
    for (const char* dir : {"a.keel/member/wal", "a.keel/member/snap", "a.keel/member/kv"}) {
      absl::StatusOr<std::vector<std::string>> names = c_.env(0).fs().List(dir);
      KEEL_ASSERT(names.ok());
      for (const std::string& name : *names) {
        const std::string path = JoinPath(dir, name);
        if (c_.env(0).fs().Stat(path)->is_directory) continue;
        auto file = c_.env(0).fs().Open(path, {.read_only = true});
        files[path] = *(*file)->ReadAt(0, *(*file)->Size());
      }
    }
    return files;
  }

  void Write(const std::string& path, const std::string& bytes) {
    auto file = c_.env(0).fs().Open(path, {});
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->WriteAt(0, bytes).ok());
  }

  node::testing::SimMembers c_;
};

TEST_F(KeelutlCheckTest, AMembersDataDirChecksClean) {
  MakeDataDir();
  const DataDirCheck checked = Check();
  EXPECT_TRUE(checked.problems.empty()) << checked.problems[0];
  std::string all;
  for (const std::string& line : checked.checked) all += line + "\n";
  EXPECT_NE(all.find("member/wal: "), std::string::npos) << all;
  EXPECT_NE(all.find(".snap: "), std::string::npos) << all;
  EXPECT_NE(all.find(".ldb: "), std::string::npos) << all;
  EXPECT_NE(all.find(".log: "), std::string::npos) << all;
  EXPECT_NE(all.find("MANIFEST-"), std::string::npos) << all;
  EXPECT_NE(all.find("CURRENT: names MANIFEST-"), std::string::npos) << all;
}

// The kinds of file, by how their names end (or begin).
std::string KindOf(const std::string& path) {
  for (const char* kind : {".wal", ".snap", ".ldb", ".log", "CURRENT"}) {
    if (absl::EndsWith(path, kind)) return kind;
  }
  if (path.find("MANIFEST-") != std::string::npos) return "MANIFEST";
  return "";
}

TEST_F(KeelutlCheckTest, AFlippedBitInEachKindOfFileIsFound) {
  MakeDataDir();
  const std::map<std::string, std::string> files = Files();
  std::map<std::string, int> flipped;  // by kind
  for (const auto& [path, bytes] : files) {
    const std::string kind = KindOf(path);
    if (kind.empty() || bytes.empty()) continue;
    // Up to 64 positions spread over the file, each with another bit.
    const size_t step = std::max<size_t>(1, bytes.size() / 64);
    for (size_t at = 0; at < bytes.size(); at += step) {
      std::string damaged = bytes;
      damaged[at] ^= static_cast<char>(1 << (at % 8));
      Write(path, damaged);
      const DataDirCheck checked = Check();
      Write(path, bytes);
      ASSERT_FALSE(checked.problems.empty())
          << path << " byte " << at << " of " << bytes.size() << " went unnoticed; notes: "
          << (checked.notes.empty() ? "" : checked.notes.back());
      const std::string dir = path.substr(0, path.find_last_of('/'));
      EXPECT_TRUE(checked.problems[0].find(path) != std::string::npos ||
                  (kind == ".wal" && checked.problems[0].find(dir) != std::string::npos))
          << checked.problems[0];
      flipped[kind]++;
    }
  }
  for (const char* kind : {".wal", ".snap", ".ldb", ".log", "CURRENT", "MANIFEST"}) {
    EXPECT_GT(flipped[kind], 0) << "no " << kind << " file to damage";
  }
  EXPECT_TRUE(Check().problems.empty());
}

}  // namespace
}  // namespace keel::tools
