// Tests of the bbolt reader and writer: trees of nested buckets (inline and
// paged, values larger than a page, thousands of keys) written and read
// back equal and passing Check(); and damage (a flipped bit in a leaf, a
// branch, a page header, a meta page, a freelist; a truncated file) that
// the reader refuses or Check() reports, naming the page.
#include <map>
#include "runtime/random.h"
#include <string>

#include "gtest/gtest.h"
#include "runtime/assert.h"
#include "store/bbolt_reader.h"
#include "store/bbolt_writer.h"
#include "store/string_file.h"

namespace keel::store {
namespace {

// A bucket's contents: plain keys and nested buckets (names never clash).
struct Tree {
  std::map<std::string, std::string> values;
  std::map<std::string, Tree> buckets;
  bool operator==(const Tree&) const = default;
};

void WriteTree(BboltWriter& writer, const Tree& tree) {
  auto value = tree.values.begin();
  auto bucket = tree.buckets.begin();
  while (value != tree.values.end() || bucket != tree.buckets.end()) {
    if (bucket == tree.buckets.end() ||
        (value != tree.values.end() && value->first < bucket->first)) {
      ASSERT_TRUE(writer.Put(value->first, value->second).ok());
      ++value;
    } else {
      ASSERT_TRUE(writer.BeginBucket(bucket->first).ok());
      WriteTree(writer, bucket->second);
      ASSERT_TRUE(writer.EndBucket().ok());
      ++bucket;
    }
  }
}

absl::StatusOr<Tree> ReadTree(const BboltReader& reader, const BboltBucket& bucket) {
  Tree tree;
  absl::Status status = reader.ForEach(bucket, [&](const BboltItem& item) -> absl::Status {
    if (!item.is_bucket) {
      tree.values.emplace(item.key, item.value);
      return absl::OkStatus();
    }
    absl::StatusOr<BboltBucket> child = DecodeBboltBucket(item.value);
    if (!child.ok()) return child.status();
    absl::StatusOr<Tree> sub = ReadTree(reader, *child);
    if (!sub.ok()) return sub.status();
    tree.buckets.emplace(item.key, std::move(*sub));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return tree;
}

std::string Key(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "k%08d", i);
  return buf;
}

// Root buckets: "big" (5000 keys, several branch levels at 512-byte pages),
// "huge" (values of several pages), "small" (inline), "empty" (inline,
// no keys), "nest" (buckets in buckets, some inline, some not).
Tree SampleTree() {
  Tree root;
  Tree& big = root.buckets["big"];
  for (int i = 0; i < 5000; i++) big.values[Key(i)] = std::string(i % 50, 'v');
  Tree& huge = root.buckets["huge"];
  huge.values["a"] = std::string(20000, 'x');
  huge.values["b"] = "small";
  huge.values["c"] = std::string(9000, 'y');
  root.buckets["small"].values["only"] = "one";
  root.buckets["empty"];
  Tree& nest = root.buckets["nest"];
  nest.values["plain"] = "value";
  nest.buckets["inner-inline"].values["x"] = "y";
  for (int i = 0; i < 300; i++) nest.buckets["inner-paged"].values[Key(i)] = "zz";
  nest.buckets["inner-paged"].buckets["deeper"].values["leaf"] = "!";
  return root;
}

class BboltTest : public ::testing::Test {
 protected:
  BboltWriteSummary Write(const Tree& tree, uint32_t page_bytes = 512) {
    file_ = StringFile();
    BboltWriter writer(file_, {.page_bytes = page_bytes});
    WriteTree(writer, tree);
    auto summary = writer.Finish();
    KEEL_ASSERT(summary.ok());
    return *summary;
  }

  absl::StatusOr<std::unique_ptr<BboltReader>> Open() {
    return BboltReader::Open(file_, file_.data().size(), "test.db");
  }

  std::vector<std::string> Problems() {
    auto reader = Open();
    KEEL_ASSERT(reader.ok());
    auto problems = (*reader)->Check();
    KEEL_ASSERT(problems.ok());
    return *problems;
  }

  // The page id and offset within the file of the first page of `flags`.
  uint64_t FindPage(uint16_t flags, uint32_t page_bytes = 512) {
    for (uint64_t id = 3; (id + 1) * page_bytes <= file_.data().size(); id++) {
      BboltPageHeader h =
          DecodeBboltPageHeader(std::string_view(file_.data()).substr(id * page_bytes));
      if (h.id == id && h.flags == flags) return id;
    }
    KEEL_ASSERT(false);
    return 0;
  }

  StringFile file_;
};

TEST_F(BboltTest, NestedBucketsRoundTrip) {
  const Tree tree = SampleTree();
  const BboltWriteSummary summary = Write(tree);
  EXPECT_EQ(summary.file_bytes, file_.data().size());
  EXPECT_EQ(summary.file_bytes, summary.pages * 512);
  auto reader = Open();
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->size_bytes(), summary.file_bytes);
  auto read = ReadTree(**reader, (*reader)->root());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == tree);
  EXPECT_EQ(Problems(), std::vector<std::string>());
}

TEST_F(BboltTest, SmallBucketsAreInlineAndLargeOnesArePaged) {
  Write(SampleTree());
  auto reader = Open();
  ASSERT_TRUE(reader.ok());
  const BboltBucket root = (*reader)->root();
  auto small = (*reader)->OpenBucket(root, "small");
  ASSERT_TRUE(small.ok() && small->has_value());
  EXPECT_EQ((*small)->root, 0u);
  auto empty = (*reader)->OpenBucket(root, "empty");
  ASSERT_TRUE(empty.ok() && empty->has_value());
  EXPECT_EQ((*empty)->root, 0u);
  auto big = (*reader)->OpenBucket(root, "big");
  ASSERT_TRUE(big.ok() && big->has_value());
  EXPECT_GE((*big)->root, 3u);
  // A nested bucket that holds a bucket is never inline, however small.
  auto nest = (*reader)->OpenBucket(root, "nest");
  ASSERT_TRUE(nest.ok() && nest->has_value());
  EXPECT_GE((*nest)->root, 3u);
}

TEST_F(BboltTest, GetFindsEveryKeyThroughTheBranches) {
  const Tree tree = SampleTree();
  Write(tree);
  auto reader = Open();
  ASSERT_TRUE(reader.ok());
  auto big = (*reader)->OpenBucket((*reader)->root(), "big");
  ASSERT_TRUE(big.ok() && big->has_value());
  for (const auto& [key, value] : tree.buckets.at("big").values) {
    auto got = (*reader)->Get(**big, key);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->has_value()) << key;
    ASSERT_EQ(**got, value);
  }
  auto missing = (*reader)->Get(**big, "k0000123x");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto before = (*reader)->Get(**big, "a");
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value());
  EXPECT_TRUE(absl::IsFailedPrecondition((*reader)->Get((*reader)->root(), "big").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      (*reader)->OpenBucket(**(*reader)->OpenBucket((*reader)->root(), "nest"), "plain")
          .status()));
}

TEST_F(BboltTest, EmptyDatabaseHasAnEmptyRootLeaf) {
  const BboltWriteSummary summary = Write(Tree(), 4096);
  EXPECT_EQ(summary.pages, 4u);  // two metas, the freelist, the root leaf
  auto reader = Open();
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto read = ReadTree(**reader, (*reader)->root());
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(*read == Tree());
  EXPECT_EQ(Problems(), std::vector<std::string>());
}

TEST_F(BboltTest, RandomTreesRoundTrip) {
  Random rng(7);
  for (int round = 0; round < 30; round++) {
    Tree root;
    const int buckets = 1 + static_cast<int>(rng.Next() % 6);
    for (int b = 0; b < buckets; b++) {
      Tree& t = root.buckets["b" + std::to_string(rng.Next() % 100)];
      const int keys = static_cast<int>(rng.Next() % 400);
      for (int k = 0; k < keys; k++) {
        std::string key(1 + rng.Next() % 40, 'a');
        for (char& c : key) c = static_cast<char>(rng.Next());
        t.values[key] = std::string(rng.Next() % 3 == 0 ? rng.Next() % 3000 : rng.Next() % 30, 'q');
      }
      if (rng.Next() % 2) t.buckets["\xff" + std::to_string(b)].values["k"] = "v";
    }
    const uint32_t page_bytes = rng.Next() % 2 ? 512 : 4096;
    Write(root, page_bytes);
    auto reader = Open();
    ASSERT_TRUE(reader.ok()) << reader.status();
    auto read = ReadTree(**reader, (*reader)->root());
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_TRUE(*read == root) << "round " << round;
    ASSERT_EQ(Problems(), std::vector<std::string>()) << "round " << round;
  }
}

// Keys larger than half a page: every node holds two of them on overflow
// pages, and the branch levels still narrow to one root.
TEST_F(BboltTest, KeysLargerThanHalfAPageMakeATree) {
  Tree tree;
  for (int i = 0; i < 100; i++) tree.buckets["big-keys"].values[Key(i) + std::string(1000, 'k')] = "v";
  Write(tree);
  auto reader = Open();
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto read = ReadTree(**reader, (*reader)->root());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == tree);
  EXPECT_EQ(Problems(), std::vector<std::string>());
}

TEST_F(BboltTest, KeysOutOfOrderAreRefused) {
  BboltWriter writer(file_);
  ASSERT_TRUE(writer.BeginBucket("b").ok());
  ASSERT_TRUE(writer.Put("k2", "v").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(writer.Put("k1", "v")));
  BboltWriter again(file_);
  ASSERT_TRUE(again.BeginBucket("b").ok());
  ASSERT_TRUE(again.EndBucket().ok());
  EXPECT_TRUE(absl::IsInvalidArgument(again.BeginBucket("a")));
  BboltWriter empty_key(file_);
  EXPECT_TRUE(absl::IsInvalidArgument(empty_key.BeginBucket("")));
}

TEST_F(BboltTest, ADamagedMetaPageFallsBackToTheOther) {
  Write(SampleTree());  // 512-byte pages: meta 1 is found by probing
  file_.data()[16 + 20] ^= 0x04;  // meta 0's root page id
  auto reader = Open();
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->meta().txid, 0u);  // meta 1's
  EXPECT_EQ(Problems(), std::vector<std::string>());
}

TEST_F(BboltTest, BothMetaPagesDamagedIsDataLoss) {
  Write(SampleTree());
  file_.data()[16 + 20] ^= 0x04;
  file_.data()[512 + 16 + 20] ^= 0x04;
  auto reader = Open();
  ASSERT_TRUE(absl::IsDataLoss(reader.status())) << reader.status();
  EXPECT_NE(reader.status().message().find("checksum error"), std::string::npos);
}

TEST_F(BboltTest, NotABboltFileIsFailedPrecondition) {
  file_ = StringFile(std::string(8192, 'x'));
  EXPECT_TRUE(absl::IsFailedPrecondition(Open().status()));
}

TEST_F(BboltTest, TruncatedFileIsDataLoss) {
  Write(SampleTree());
  file_.data().resize(file_.data().size() - 512);
  auto reader = Open();
  ASSERT_TRUE(absl::IsDataLoss(reader.status())) << reader.status();
}

// bbolt checksums only its meta pages, so a flipped bit inside a key or a
// value, or one that only moves where a value starts, reads back as other
// data (the snapshot's SHA-256 is what catches those). Every bit of a leaf
// flipped one at a time never crashes the reader, and every flip in the
// page header is refused by the walk or reported by Check().
TEST_F(BboltTest, FlippedBitsInALeafNeverCrashAndHeaderFlipsAreCaught) {
  Tree tree;
  for (int i = 0; i < 200; i++) tree.buckets["b"].values[Key(i)] = "val";
  Write(tree);
  const uint64_t leaf = FindPage(kBboltLeafPage);
  const std::string original = file_.data();
  int refused = 0;
  for (size_t byte = 0; byte < 512; byte++) {
    for (int bit = 0; bit < 8; bit++) {
      file_.data() = original;
      file_.data()[leaf * 512 + byte] ^= static_cast<char>(1 << bit);
      auto reader = Open();
      ASSERT_TRUE(reader.ok());
      auto read = ReadTree(**reader, (*reader)->root());
      const bool caught = !read.ok() || !Problems().empty();
      if (!read.ok()) {
        EXPECT_TRUE(absl::IsDataLoss(read.status())) << read.status();
      }
      if (byte < kBboltPageHeaderBytes) {
        EXPECT_TRUE(caught) << "header byte " << byte << " bit " << bit;
      }
      refused += caught ? 1 : 0;
    }
  }
  EXPECT_GE(refused, static_cast<int>(kBboltPageHeaderBytes * 8));
}

TEST_F(BboltTest, DamagedBranchIsReportedWithItsPage) {
  Write(SampleTree());
  const uint64_t branch = FindPage(kBboltBranchPage);
  // The first element's child page id.
  file_.data()[branch * 512 + kBboltPageHeaderBytes + 8] ^= 0x40;
  auto reader = Open();
  ASSERT_TRUE(reader.ok());
  auto read = ReadTree(**reader, (*reader)->root());
  ASSERT_TRUE(absl::IsDataLoss(read.status())) << read.status();
  auto problems = Problems();
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("page"), std::string::npos) << problems[0];
}

TEST_F(BboltTest, PageHeaderNamingAnotherPageIsRefused) {
  Write(SampleTree());
  const uint64_t leaf = FindPage(kBboltLeafPage);
  file_.data()[leaf * 512] ^= 0x01;
  auto reader = Open();
  ASSERT_TRUE(reader.ok());
  auto read = ReadTree(**reader, (*reader)->root());
  ASSERT_TRUE(absl::IsDataLoss(read.status()));
  EXPECT_NE(read.status().message().find("page " + std::to_string(leaf) + ": header names"),
            std::string::npos)
      << read.status();
}

TEST_F(BboltTest, CheckReportsAPageBothFreeAndReachable) {
  Write(SampleTree());
  const uint64_t leaf = FindPage(kBboltLeafPage);
  // Free the leaf in the freelist page (page 2).
  std::string page = file_.data().substr(2 * 512, 512);
  BboltStore(&page, 10, 2, 1);
  BboltStore(&page, 16, 8, leaf);
  file_.data().replace(2 * 512, 512, page);
  auto problems = Problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "page " + std::to_string(leaf) + ": reachable freed");
}

TEST_F(BboltTest, CheckReportsAnUnreachablePage) {
  Write(SampleTree());
  // One more page below the high-water mark that nothing references.
  auto reader = Open();
  ASSERT_TRUE(reader.ok());
  BboltMeta meta = (*reader)->meta();
  const uint64_t extra = meta.high_water;
  meta.high_water++;
  file_.data().append(512, '\0');
  file_.data().replace(0, 512, EncodeBboltMetaPage(meta, 0));
  meta.txid = 0;
  file_.data().replace(512, 512, EncodeBboltMetaPage(meta, 1));
  auto problems = Problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "page " + std::to_string(extra) + ": unreachable unfreed");
}

}  // namespace
}  // namespace keel::store
