// Tests of the snapshot file: round trips of records and metadata, and a
// reader that refuses a flipped bit, reordered chunks and a truncated file
// (the last two unless the hash check is skipped), on the simulated disk.
#include "store/snapshot_file.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/sim_testing.h"
#include "store/snapshot_envelope.h"

namespace keel::store {
namespace {

using sim::SimHarness;

constexpr char kPath[] = "backup/snapshot.db";
const SnapshotFileMetadata kMetadata{.revision = 1234,
                                     .compact_revision = 1000,
                                     .consistent_index = 5678,
                                     .consistent_term = 9,
                                     .member_id = 0x8e9e05c52164694d,
                                     .cluster_id = 0xcdf818194e3a8c32};

std::string Value(int i) { return std::string(i % 300, static_cast<char>('a' + i % 26)); }

class SnapshotFileTest : public ::testing::Test {
 protected:
  SnapshotFileTest() : h_(5) { KEEL_ASSERT(CreateDirs(fs(), "backup").ok()); }

  FileSystem& fs() { return h_.env().fs(); }

  SnapshotFileSummary Write(int records, size_t chunk_bytes = 4096) {
    auto writer = SnapshotFileWriter::Create(fs(), kPath, kMetadata, chunk_bytes);
    KEEL_ASSERT(writer.ok());
    for (int i = 0; i < records; i++) {
      KEEL_ASSERT((*writer)->Add("key/" + std::to_string(i), Value(i)).ok());
    }
    auto summary = h_.Run((*writer)->Finish());
    KEEL_ASSERT(summary.ok());
    return *summary;
  }

  std::string Contents() {
    auto file = fs().Open(kPath, {});
    return *(*file)->ReadAt(0, *(*file)->Size());
  }

  void Replace(const std::string& contents) {
    auto file = fs().Open(kPath, {.truncate = true});
    ASSERT_TRUE((*file)->WriteAt(0, contents).ok());
  }

  SimHarness h_;
};

TEST_F(SnapshotFileTest, RecordsAndMetadataRoundTrip) {
  const SnapshotFileSummary written = Write(5000);
  EXPECT_EQ(written.records, 5000u);
  EXPECT_GT(written.chunks, 100u);
  EXPECT_EQ(written.hash_hex.size(), 40u);
  auto reader = SnapshotFileReader::Open(fs(), kPath);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->metadata(), kMetadata);
  EXPECT_TRUE((*reader)->hash_verified());
  EXPECT_EQ((*reader)->summary().hash_hex, written.hash_hex);
  EXPECT_EQ((*reader)->summary().records, 5000u);
  std::string key, value;
  int i = 0;
  while (true) {
    auto more = (*reader)->Next(&key, &value);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    ASSERT_EQ(key, "key/" + std::to_string(i));
    ASSERT_EQ(value, Value(i));
    i++;
  }
  EXPECT_EQ(i, 5000);
}

TEST_F(SnapshotFileTest, EmptyKeySpaceRoundTrips) {
  Write(0);
  auto reader = SnapshotFileReader::Open(fs(), kPath);
  ASSERT_TRUE(reader.ok());
  std::string key, value;
  EXPECT_FALSE(*(*reader)->Next(&key, &value));
}

TEST_F(SnapshotFileTest, FlippedBitIsRefusedEvenWhenSkippingTheHash) {
  Write(2000);
  std::string contents = Contents();
  const uint64_t offset = contents.size() / 2;
  contents[offset] ^= 0x04;
  Replace(contents);
  auto reader = SnapshotFileReader::Open(fs(), kPath);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reader.status().message().find(kPath), absl::string_view::npos);
  EXPECT_NE(reader.status().message().find("offset"), absl::string_view::npos);
  auto skipped = SnapshotFileReader::Open(fs(), kPath, {.skip_hash_check = true});
  EXPECT_EQ(skipped.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(SnapshotFileTest, ReorderedChunksFailTheHashUnlessSkipped) {
  // Two records per chunk of equal size, so chunks can be swapped whole.
  auto writer = SnapshotFileWriter::Create(fs(), kPath, kMetadata, 64);
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 10; i++) {
    ASSERT_TRUE((*writer)->Add("k" + std::to_string(i), std::string(20, 'v')).ok());
  }
  ASSERT_TRUE(h_.Run((*writer)->Finish()).ok());
  std::string contents = Contents();
  const size_t chunk = 16 + 2 * (4 + 2 + 4 + 20);
  const size_t first = 68;
  std::string a = contents.substr(first, chunk);
  std::string b = contents.substr(first + chunk, chunk);
  ASSERT_EQ(a[0], 'C');
  ASSERT_EQ(b[0], 'C');
  contents.replace(first, chunk, b);
  contents.replace(first + chunk, chunk, a);
  Replace(contents);
  auto reader = SnapshotFileReader::Open(fs(), kPath);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reader.status().message().find("hash mismatch"), absl::string_view::npos);
  auto skipped = SnapshotFileReader::Open(fs(), kPath, {.skip_hash_check = true});
  ASSERT_TRUE(skipped.ok());
  EXPECT_FALSE((*skipped)->hash_verified());
  std::string key, value;
  ASSERT_TRUE(*(*skipped)->Next(&key, &value));
  EXPECT_EQ(key, "k2");
}

TEST_F(SnapshotFileTest, TruncatedFileIsRefusedUnlessSkipped) {
  Write(300);
  std::string contents = Contents();
  contents.resize(contents.size() - 40);  // the trailer is gone
  Replace(contents);
  EXPECT_EQ(SnapshotFileReader::Open(fs(), kPath).status().code(),
            absl::StatusCode::kDataLoss);
  auto skipped = SnapshotFileReader::Open(fs(), kPath, {.skip_hash_check = true});
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ((*skipped)->summary().records, 300u);
}

TEST_F(SnapshotFileTest, NotASnapshotIsFailedPrecondition) {
  auto file = fs().Open(kPath, {.create = true});
  ASSERT_TRUE((*file)->Append(std::string(200, 'x')).ok());
  EXPECT_EQ(SnapshotFileReader::Open(fs(), kPath).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SnapshotFileTest, UnfinishedFileNeverAppearsUnderItsName) {
  {
    auto writer = SnapshotFileWriter::Create(fs(), kPath, kMetadata);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Add("k", "v").ok());
    EXPECT_FALSE(fs().Stat(kPath).ok());
  }
  EXPECT_FALSE(fs().Stat(kPath).ok());
  EXPECT_FALSE(fs().Stat(std::string(kPath) + ".part").ok());
  EXPECT_EQ(SnapshotFileReader::Open(fs(), kPath).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SnapshotFileTest, FinishedFileSurvivesACrash) {
  const SnapshotFileSummary written = Write(1000);
  h_.CrashAndRestart();
  auto reader = SnapshotFileReader::Open(h_.env().fs(), kPath);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->summary().hash_hex, written.hash_hex);
}

// What Maintenance.Snapshot streams: the keel file in etcd's envelope, which
// etcdctl accepts (size = 512k + 32) and the reader reads through.
class SnapshotEnvelopeTest : public SnapshotFileTest {
 protected:
  std::string Enveloped(const std::string& bare) {
    Sha256 hash;
    hash.Update(bare);
    return bare + EnvelopeTail(bare.size(), std::move(hash));
  }
};

TEST_F(SnapshotEnvelopeTest, AnEnvelopedFileHasEtcdsSizeAndReadsLikeTheBareOne) {
  for (int records : {0, 1, 17, 900}) {
    (void)fs().Remove(kPath);
    const SnapshotFileSummary written = Write(records);
    const std::string bare = Contents();
    const std::string wrapped = Enveloped(bare);
    EXPECT_EQ(wrapped.size() % 512, 32u) << records;
    Replace(wrapped);
    auto reader = SnapshotFileReader::Open(fs(), kPath);
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_EQ((*reader)->summary().records, static_cast<uint64_t>(records));
    EXPECT_EQ((*reader)->summary().hash_hex, written.hash_hex);
    EXPECT_EQ((*reader)->summary().file_bytes, wrapped.size());
    EXPECT_TRUE((*reader)->hash_verified());
  }
}

TEST_F(SnapshotEnvelopeTest, ADamagedEnvelopeDigestIsRefusedUnlessTheCheckIsSkipped) {
  Write(50);
  std::string wrapped = Enveloped(Contents());
  wrapped[wrapped.size() - 1] ^= 1;
  Replace(wrapped);
  auto refused = SnapshotFileReader::Open(fs(), kPath);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("SHA-256"), std::string_view::npos);
  auto skipped = SnapshotFileReader::Open(fs(), kPath, {.skip_hash_check = true});
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ((*skipped)->summary().records, 50u);
}

TEST_F(SnapshotEnvelopeTest, AFlippedBitInsideAnEnvelopedFileIsStillCaught) {
  Write(50);
  std::string wrapped = Enveloped(Contents());
  wrapped[200] ^= 4;
  Replace(wrapped);
  // The envelope's digest no longer matches; skipping it, the chunk CRC
  // still refuses the damaged chunk.
  EXPECT_FALSE(SnapshotFileReader::Open(fs(), kPath).ok());
  EXPECT_FALSE(SnapshotFileReader::Open(fs(), kPath, {.skip_hash_check = true}).ok());
}

}  // namespace
}  // namespace keel::store
