// Tests of `snapshot restore`: a member's key space saved to a file comes
// back under a new cluster identity with every key and revision, serves
// and takes writes, also into an existing empty data directory; bad flags,
// a non-empty data directory, a damaged file and (without
// --skip-hash-check) a file whose integrity hash fails are refused without
// leaving anything behind; `snapshot status` reports the file. On a
// simulated machine.
#include "node/snapshot_restore.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "node/membership.h"
#include "node/server.h"
#include "node/snapshot_bbolt.h"
#include "node/snapshot_io.h"
#include "node/testing/sim_members.h"
#include "runtime/crc32c.h"
#include "runtime/sha256.h"
#include "store/snapshot_envelope.h"

namespace keel::node {
namespace {

constexpr char kPeerUrl[] = "http://10.0.0.1:2380";
constexpr char kBackup[] = "backup.snap";

ServerConfig ConfigFor(const std::string& name, const std::string& token) {
  ServerConfig config;
  config.name = name;
  config.data_dir = name + ".keel";
  config.initial_advertise_peer_urls = {kPeerUrl};
  config.listen_peer_urls = {kPeerUrl};
  config.initial_cluster = name + "=" + kPeerUrl;
  config.initial_cluster_token = token;
  return config;
}

class SnapshotRestoreTest : public ::testing::Test {
 protected:
  // Starts a member with `config` on the machine and waits for it to lead;
  // the member, or nullptr if it did not start.
  Server* Boot(ServerConfig config) {
    c_.config(0) = std::move(config);
    const absl::Status started = c_.Start(0);
    EXPECT_TRUE(started.ok()) << started;
    if (!started.ok()) return nullptr;
    c_.WaitLeader(Seconds(10));
    return &c_.server(0);
  }

  void Put(Server* server, const std::string& key, const std::string& value) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    auto response = c_.Run(server->kv().Put(request));
    ASSERT_TRUE(response.ok()) << response.status();
  }

  etcdserverpb::RangeResponse GetAll(Server* server) {
    etcdserverpb::RangeRequest request;
    request.set_key(std::string(1, '\0'));
    request.set_range_end(std::string(1, '\0'));
    auto response = c_.Run(server->kv().Range(request));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : etcdserverpb::RangeResponse{};
  }

  // A member with some history, saved to kBackup (in keel's format, or as
  // etcd's bbolt snapshot); the member is then killed (its data stays on
  // the disk).
  void SaveBackup(bool etcd_format = false) {
    Server* source = Boot(ConfigFor("old", "etcd-cluster"));
    ASSERT_NE(source, nullptr);
    for (int i = 0; i < 40; i++) Put(source, "key" + std::to_string(i % 25), "v" + std::to_string(i));
    etcdserverpb::DeleteRangeRequest del;
    del.set_key("key3");
    ASSERT_TRUE(c_.Run(source->kv().DeleteRange(del)).ok());
    old_id_ = source->id();
    old_cluster_id_ = source->cluster_id();
    old_revision_ = source->key_space().mvcc().current_revision();
    old_kv_hash_ = source->key_space().mvcc().HashKV(0)->hash;
    old_range_ = GetAll(source).SerializeAsString();
    if (etcd_format) {
      auto written = c_.RunOn(0, WriteEtcdSnapshotFile(c_.env(0), source->key_space().mvcc(),
                                                       source->key_space().members().members(),
                                                       source->key_space().auth().Records(),
                                                       kBackup));
      ASSERT_TRUE(written.ok()) << written.status();
      etcd_saved_ = *written;
    } else {
      auto written = c_.RunOn(0, WriteSnapshotFile(c_.env(0), source->key_space().mvcc(),
                                                   kBackup, old_id_, old_cluster_id_));
      ASSERT_TRUE(written.ok()) << written.status();
      saved_ = *written;
    }
    c_.Kill(0);
  }

  // `server` serves what the saved member served: revision, HashKV and
  // every key (24 of them) with its revisions.
  void ExpectTheSavedKeySpace(Server* server) {
    EXPECT_EQ(server->key_space().mvcc().current_revision(), old_revision_);
    EXPECT_EQ(server->key_space().mvcc().HashKV(0)->hash, old_kv_hash_);
    etcdserverpb::RangeResponse all = GetAll(server);
    all.clear_header();
    etcdserverpb::RangeResponse before;
    ASSERT_TRUE(before.ParseFromString(old_range_));
    before.clear_header();
    EXPECT_EQ(all.SerializeAsString(), before.SerializeAsString());
    EXPECT_EQ(all.count(), 24);
  }

  // Replaces kBackup's bytes by what `change` makes of them.
  void RewriteBackup(const std::function<void(std::string&)>& change) {
    auto file = c_.env(0).fs().Open(kBackup, {});
    ASSERT_TRUE(file.ok());
    auto contents = (*file)->ReadAt(0, *(*file)->Size());
    ASSERT_TRUE(contents.ok());
    std::string bytes = *contents;
    change(bytes);
    ASSERT_TRUE((*file)->Truncate(0).ok());
    ASSERT_TRUE((*file)->WriteAt(0, bytes).ok());
  }

  absl::StatusOr<RestoreResult> Restore(const std::string& name, const std::string& token,
                                        bool skip_hash_check = false) {
    RestoreOptions options;
    options.snapshot_path = kBackup;
    options.name = name;
    options.initial_cluster = name + "=" + kPeerUrl;
    options.initial_cluster_token = token;
    options.initial_advertise_peer_urls = {kPeerUrl};
    options.skip_hash_check = skip_hash_check;
    return c_.RunOn(0, RestoreSnapshot(c_.env(0), options));
  }

  // kBackup's integrity hash fails: a restore is refused (DataLoss naming
  // `why`) and leaves nothing behind; with --skip-hash-check it restores,
  // and the restored member starts (returned, or nullptr).
  Server* RestoredOnlyWithSkipHashCheck(const char* why) {
    auto refused = Restore("fresh", "restored-cluster");
    EXPECT_FALSE(refused.ok());
    if (refused.ok()) return nullptr;
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
    EXPECT_NE(refused.status().message().find(why), std::string::npos) << refused.status();
    EXPECT_FALSE(c_.env(0).fs().Stat("fresh.keel").ok());

    auto restored = Restore("fresh", "restored-cluster", /*skip_hash_check=*/true);
    EXPECT_TRUE(restored.ok()) << restored.status();
    if (!restored.ok()) return nullptr;
    EXPECT_EQ(restored->revision, old_revision_);
    return Boot(ConfigFor("fresh", "restored-cluster"));
  }

  testing::SimMembers c_{{.world = {.seed = 3}}};
  uint64_t old_id_ = 0, old_cluster_id_ = 0;
  int64_t old_revision_ = 0;
  uint32_t old_kv_hash_ = 0;
  std::string old_range_;
  store::SnapshotFileSummary saved_;
  EtcdSnapshotFileSummary etcd_saved_;
};

TEST_F(SnapshotRestoreTest, ARestoredMemberServesTheSavedKeySpaceUnderANewIdentity) {
  SaveBackup();
  auto restored = Restore("fresh", "restored-cluster");
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->member_id, ComputeMemberId({kPeerUrl}, "restored-cluster"));
  EXPECT_NE(restored->member_id, old_id_);
  EXPECT_EQ(restored->revision, old_revision_);

  Server* server = Boot(ConfigFor("fresh", "restored-cluster"));
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->id(), restored->member_id);
  EXPECT_EQ(server->cluster_id(), restored->cluster_id);
  EXPECT_NE(server->cluster_id(), old_cluster_id_);
  ExpectTheSavedKeySpace(server);
  // Only the new member: the old cluster's membership is gone.
  ASSERT_EQ(server->key_space().members().members().size(), 1u);
  EXPECT_EQ(server->key_space().members().members().begin()->second.name, "fresh");
  // It takes writes, at the next revision.
  Put(server, "after", "restore");
  EXPECT_EQ(server->key_space().mvcc().current_revision(), old_revision_ + 1);
}

TEST_F(SnapshotRestoreTest, ANonEmptyDataDirIsRefusedAndLeftAlone) {
  SaveBackup();
  auto before = c_.env(0).fs().List("old.keel");
  ASSERT_TRUE(before.ok());
  ASSERT_FALSE(before->empty());
  auto refused = Restore("old", "etcd-cluster");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "data-dir \"old.keel\" not empty or could not be read");
  EXPECT_EQ(*c_.env(0).fs().List("old.keel"), *before);
  // The old member still starts on it.
  Server* server = Boot(ConfigFor("old", "etcd-cluster"));
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->id(), old_id_);
  EXPECT_EQ(server->key_space().mvcc().current_revision(), old_revision_);
}

TEST_F(SnapshotRestoreTest, AnExistingEmptyDataDirIsTaken) {
  SaveBackup();
  ASSERT_TRUE(c_.env(0).fs().CreateDir("fresh.keel").ok());
  auto restored = Restore("fresh", "restored-cluster");
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->data_dir, "fresh.keel");
  Server* server = Boot(ConfigFor("fresh", "restored-cluster"));
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->id(), restored->member_id);
  EXPECT_EQ(server->key_space().mvcc().current_revision(), old_revision_);
  EXPECT_EQ(server->key_space().mvcc().HashKV(0)->hash, old_kv_hash_);
}

TEST_F(SnapshotRestoreTest, AFailedRestoreIntoAnEmptyDataDirLeavesItEmpty) {
  SaveBackup();
  RewriteBackup([](std::string& bytes) { bytes[bytes.size() / 2] ^= 0x10; });
  ASSERT_TRUE(c_.env(0).fs().CreateDir("fresh.keel").ok());
  auto refused = Restore("fresh", "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  auto left = c_.env(0).fs().List("fresh.keel");
  ASSERT_TRUE(left.ok()) << "the operator's directory was removed";
  EXPECT_TRUE(left->empty());
}

// The file's own hash (in its trailer) is wrong, the trailer's CRC made to
// match: every chunk is intact, so the content is readable and only the
// integrity hash fails.
TEST_F(SnapshotRestoreTest, AFileWhoseHashFailsIsRestoredOnlyWithSkipHashCheck) {
  SaveBackup();
  RewriteBackup([](std::string& bytes) {
    const size_t trailer = bytes.size() - 40;
    ASSERT_EQ(bytes[trailer], 'E');
    bytes[trailer + 16] ^= 0x01;  // the first byte of the file hash
    const uint32_t crc =
        crc32c::Mask(crc32c::Value(std::string_view(bytes).substr(trailer, 36)));
    for (int b = 0; b < 4; b++) bytes[trailer + 36 + b] = static_cast<char>(crc >> (8 * b));
  });
  EXPECT_FALSE(ReadSnapshotStatus(c_.env(0).fs(), kBackup).ok());
  Server* server = RestoredOnlyWithSkipHashCheck("hash mismatch");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->key_space().mvcc().HashKV(0)->hash, old_kv_hash_);
}

// The same for a file in etcd's envelope (what Maintenance.Snapshot
// streams) whose SHA-256 does not match.
TEST_F(SnapshotRestoreTest, AnEnvelopeWhoseSha256FailsIsRestoredOnlyWithSkipHashCheck) {
  SaveBackup();
  RewriteBackup([](std::string& bytes) {
    Sha256 sha;
    sha.Update(bytes);
    bytes += store::EnvelopeTail(bytes.size(), std::move(sha));
    bytes.back() ^= 0x40;  // the SHA-256's last byte
  });
  Server* server = RestoredOnlyWithSkipHashCheck("SHA-256");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->key_space().mvcc().current_revision(), old_revision_);
  EXPECT_EQ(server->key_space().mvcc().HashKV(0)->hash, old_kv_hash_);
}

// `snapshot status`: the first 32 bits of the file hash, the revision, the
// records and the bytes of the file.
TEST_F(SnapshotRestoreTest, StatusReportsHashRevisionKeysAndSize) {
  SaveBackup();
  auto status = ReadSnapshotStatus(c_.env(0).fs(), kBackup);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->revision, old_revision_);
  EXPECT_EQ(status->total_keys, saved_.records);
  // 40 puts and a delete are 41 revisions, each a record, plus metadata.
  EXPECT_GT(status->total_keys, 41u);
  EXPECT_EQ(status->total_size, saved_.file_bytes);
  EXPECT_EQ(status->total_size, c_.env(0).fs().Stat(kBackup)->size);
  ASSERT_EQ(saved_.hash_hex.size(), 40u);
  EXPECT_EQ(status->hash, std::stoul(saved_.hash_hex.substr(0, 8), nullptr, 16));

  // A damaged file has no status.
  RewriteBackup([](std::string& bytes) { bytes[bytes.size() / 2] ^= 0x10; });
  auto damaged = ReadSnapshotStatus(c_.env(0).fs(), kBackup);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(SnapshotRestoreTest, ANameMissingFromTheInitialClusterIsRefused) {
  SaveBackup();
  RestoreOptions options;
  options.snapshot_path = kBackup;
  options.name = "x";
  options.data_dir = "x.keel";
  auto refused = c_.RunOn(0, RestoreSnapshot(c_.env(0), options));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "couldn't find local name \"x\" in the initial cluster configuration");
  EXPECT_FALSE(c_.env(0).fs().Stat("x.keel").ok());
}

TEST_F(SnapshotRestoreTest, ADamagedFileIsRefusedAndLeavesNoDataDir) {
  SaveBackup();
  RewriteBackup([](std::string& bytes) { bytes[bytes.size() / 2] ^= 0x10; });
  auto refused = Restore("fresh", "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_FALSE(c_.env(0).fs().Stat("fresh.keel").ok());
}

// etcd's snapshot format (what a real etcd's `snapshot save` downloads and
// what Maintenance.Snapshot serves): status as etcdctl computes it, and a
// restore with every key and revision.
TEST_F(SnapshotRestoreTest, AnEtcdSnapshotRestoresWithEveryRevision) {
  SaveBackup(/*etcd_format=*/true);
  EXPECT_EQ(etcd_saved_.file_bytes, c_.env(0).fs().Stat(kBackup)->size);
  EXPECT_EQ(etcd_saved_.file_bytes % 512, 32u);
  auto status = ReadSnapshotStatus(c_.env(0).fs(), kBackup);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->revision, old_revision_);
  EXPECT_EQ(status->total_size, etcd_saved_.file_bytes - 32);
  // 41 revisions in the key bucket, plus the other buckets' keys.
  EXPECT_GT(status->total_keys, 41u);

  auto restored = Restore("fresh", "restored-cluster");
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->revision, old_revision_);
  EXPECT_TRUE(restored->not_carried.empty());
  Server* server = Boot(ConfigFor("fresh", "restored-cluster"));
  ASSERT_NE(server, nullptr);
  ExpectTheSavedKeySpace(server);
  ASSERT_EQ(server->key_space().members().members().size(), 1u);
  Put(server, "after", "restore");
  EXPECT_EQ(server->key_space().mvcc().current_revision(), old_revision_ + 1);
}

TEST_F(SnapshotRestoreTest, AnEtcdSnapshotWhoseSha256FailsIsRestoredOnlyWithSkipHashCheck) {
  SaveBackup(/*etcd_format=*/true);
  RewriteBackup([](std::string& bytes) { bytes.back() ^= 0x40; });
  Server* server = RestoredOnlyWithSkipHashCheck("SHA-256");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->key_space().mvcc().HashKV(0)->hash, old_kv_hash_);
}

// A database copied out of an etcd data directory has no hash: etcd's
// restore wants --skip-hash-check for it, and so does keel's.
TEST_F(SnapshotRestoreTest, AnEtcdDatabaseWithoutHashNeedsSkipHashCheck) {
  SaveBackup(/*etcd_format=*/true);
  RewriteBackup([](std::string& bytes) { bytes.resize(bytes.size() - 32); });
  auto refused = Restore("fresh", "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("snapshot missing hash but --skip-hash-check=false"),
            std::string::npos)
      << refused.status();
  EXPECT_FALSE(c_.env(0).fs().Stat("fresh.keel").ok());
  auto restored = Restore("fresh", "t", /*skip_hash_check=*/true);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->revision, old_revision_);
}

// A damaged page that the SHA-256 check is told to skip is still refused
// by bbolt's structure checks, before anything is written.
TEST_F(SnapshotRestoreTest, AnEtcdSnapshotWithADamagedPageIsRefusedEvenSkippingTheHash) {
  SaveBackup(/*etcd_format=*/true);
  RewriteBackup([](std::string& bytes) { bytes[3 * 4096] ^= 0x01; });  // page 3's id
  auto refused = Restore("fresh", "t", /*skip_hash_check=*/true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_NE(refused.status().message().find("page 3"), std::string::npos) << refused.status();
  EXPECT_FALSE(c_.env(0).fs().Stat("fresh.keel").ok());
}

}  // namespace
}  // namespace keel::node
