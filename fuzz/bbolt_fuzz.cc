// fuzz_bbolt: the bbolt reader (store/bbolt_reader.h) and what reads etcd's
// schema through it (store/etcd_import.h, store/etcd_snapshot.h), on bytes
// held in memory.
//
// Input: the first byte picks the mode (value % 3).
//  0: the rest is a database file: opened, every bucket walked (nested ones
//     too), bbolt's Check() run, and read as an etcd database by the
//     importer (into a sink that checks each record is one of keel's
//     tables). Nothing may crash; every refusal is DataLoss or
//     FailedPrecondition, and a walk must agree with itself when repeated.
//  1: the rest is a `snapshot save` file: etcdctl's status of it, and the
//     SHA-256 trailer check.
//  2: a round trip: buckets (some nested), keys and values from the input,
//     written by BboltWriter at a page size from the input, then damaged
//     by a list of byte flips. Unchanged, the file must read back exactly
//     and pass Check(); damaged, it must not crash the reader (bbolt
//     checksums only its meta pages, so damage inside a value can read
//     back as other data: the snapshot's SHA-256 is what catches that).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "fuzz/fuzz_input.h"
#include "runtime/assert.h"
#include "store/bbolt_reader.h"
#include "store/bbolt_writer.h"
#include "store/etcd_import.h"
#include "store/etcd_snapshot.h"
#include "store/string_file.h"

namespace keel::fuzz {
namespace {

void ExpectRefusal(const absl::Status& status) {
  if (status.ok()) return;
  const absl::StatusCode code = status.code();
  KEEL_ASSERT_MSG(code == absl::StatusCode::kDataLoss ||
                      code == absl::StatusCode::kFailedPrecondition,
                  status.ToString().c_str());
}

// A path component that cannot be confused with another: its length, then
// the bytes.
std::string Component(std::string_view key) { return std::to_string(key.size()) + ":" + std::string(key); }

// Nested buckets this deep are not followed: a damaged file can nest
// inline buckets, or point a bucket at an ancestor's page, without end.
constexpr int kMaxDepth = 8;

// Every item of every bucket; a bucket as its path plus "{".
absl::Status Walk(const store::BboltReader& db, const store::BboltBucket& bucket,
                  const std::string& prefix, std::map<std::string, std::string>* out,
                  int depth = 0) {
  return db.ForEach(bucket, [&](const store::BboltItem& item) -> absl::Status {
    const std::string path = prefix + Component(item.key);
    if (!item.is_bucket) {
      (*out)[path] = std::string(item.value);
      return absl::OkStatus();
    }
    (*out)[path + "{"] = "";
    absl::StatusOr<store::BboltBucket> child = store::DecodeBboltBucket(item.value);
    if (!child.ok()) return child.status();
    if (depth + 1 >= kMaxDepth) return absl::OkStatus();
    return Walk(db, *child, path + "{", out, depth + 1);
  });
}

void ReadDatabase(std::string_view bytes) {
  store::StringFile file{std::string(bytes)};
  auto db = store::BboltReader::Open(file, bytes.size(), "fuzz.db");
  ExpectRefusal(db.status());
  if (!db.ok()) return;
  std::map<std::string, std::string> first, second;
  const absl::Status walked = Walk(**db, (*db)->root(), "", &first);
  ExpectRefusal(walked);
  // Reads of an unchanged file agree with themselves.
  const absl::Status again = Walk(**db, (*db)->root(), "", &second);
  KEEL_ASSERT(walked.ok() == again.ok());
  if (walked.ok()) KEEL_ASSERT(first == second);
  auto problems = (*db)->Check(16);
  KEEL_ASSERT(problems.ok());
  for (const char* name : {"key", "meta", "lease"}) {
    auto bucket = (*db)->OpenBucket((*db)->root(), name);
    ExpectRefusal(bucket.status());
    if (bucket.ok() && bucket->has_value()) ExpectRefusal((*db)->Get(**bucket, "x").status());
  }
  uint64_t records = 0;
  auto imported = store::ImportEtcdDatabase(**db, [&](std::string_view key, std::string_view) {
    KEEL_ASSERT(!key.empty());
    KEEL_ASSERT(std::string_view("lhraem").find(key[0]) != std::string_view::npos);
    records++;
    return absl::OkStatus();
  });
  ExpectRefusal(imported.status());
  if (Verbose()) {
    std::fprintf(stderr, "bbolt: walk %d (%zu items), %zu problems, import %d (%llu records)\n",
                 walked.ok(), first.size(), problems->size(), imported.ok(),
                 static_cast<unsigned long long>(records));
  }
}

void ReadSnapshot(std::string_view bytes) {
  store::StringFile file{std::string(bytes)};
  auto db_bytes = store::EtcdSnapshotDatabaseBytes(file, bytes.size(), false, "fuzz.db");
  ExpectRefusal(db_bytes.status());
  const uint64_t size = store::HasEtcdSnapshotHash(bytes.size())
                            ? bytes.size() - Sha256::kDigestBytes
                            : bytes.size();
  auto db = store::BboltReader::Open(file, size, "fuzz.db");
  ExpectRefusal(db.status());
  if (!db.ok()) return;
  ExpectRefusal(store::ReadEtcdDatabaseStatus(**db).status());
}

// A tree of buckets from the input: up to 4 root buckets of up to 48 keys,
// each possibly holding a nested bucket.
struct Tree {
  std::map<std::string, std::string> values;
  std::map<std::string, Tree> buckets;
};

Tree TreeFrom(FuzzInput& input, int depth) {
  Tree tree;
  const size_t keys = input.Byte() % 48;
  for (size_t i = 0; i < keys; i++) {
    std::string key(input.String());
    std::string value(input.String());
    // Values over a page make overflow pages.
    if (input.Byte() % 8 == 0) value.append(input.Number(2) % 9000, 'v');
    if (!key.empty()) tree.values[key] = value;
  }
  const size_t buckets = depth == 0 ? 1 + input.Byte() % 4 : input.Byte() % 2;
  for (size_t i = 0; i < buckets && depth < 2; i++) {
    std::string name(input.String());
    if (name.empty() || tree.values.contains(name)) continue;
    tree.buckets[name] = TreeFrom(input, depth + 1);
  }
  return tree;
}

void WriteTree(store::BboltWriter& writer, const Tree& tree) {
  auto value = tree.values.begin();
  auto bucket = tree.buckets.begin();
  while (value != tree.values.end() || bucket != tree.buckets.end()) {
    if (bucket == tree.buckets.end() ||
        (value != tree.values.end() && value->first < bucket->first)) {
      KEEL_ASSERT(writer.Put(value->first, value->second).ok());
      ++value;
    } else {
      KEEL_ASSERT(writer.BeginBucket(bucket->first).ok());
      WriteTree(writer, bucket->second);
      KEEL_ASSERT(writer.EndBucket().ok());
      ++bucket;
    }
  }
}

void Flatten(const Tree& tree, const std::string& prefix,
             std::map<std::string, std::string>* out) {
  for (const auto& [key, value] : tree.values) (*out)[prefix + Component(key)] = value;
  for (const auto& [name, child] : tree.buckets) {
    (*out)[prefix + Component(name) + "{"] = "";
    Flatten(child, prefix + Component(name) + "{", out);
  }
}

void RoundTrip(FuzzInput& input) {
  const uint32_t page_bytes = input.Byte() % 2 == 0 ? 512 : 4096;
  const Tree tree = TreeFrom(input, 0);
  store::StringFile file;
  store::BboltWriter writer(file, {.page_bytes = page_bytes});
  WriteTree(writer, tree);
  auto summary = writer.Finish();
  KEEL_ASSERT_MSG(summary.ok(), summary.status().ToString().c_str());
  KEEL_ASSERT(summary->file_bytes == file.data().size());
  const std::string original = file.data();
  const size_t flips = input.Byte() % 4;
  for (size_t i = 0; i < flips; i++) {
    const size_t at = input.Number(4) % file.data().size();
    file.data()[at] = static_cast<char>(file.data()[at] ^ (input.Byte() | 1));
  }
  const bool damaged = file.data() != original;
  auto db = store::BboltReader::Open(file, file.data().size(), "fuzz.db");
  if (!damaged) KEEL_ASSERT_MSG(db.ok(), db.status().ToString().c_str());
  ExpectRefusal(db.status());
  if (!db.ok()) return;
  std::map<std::string, std::string> read;
  const absl::Status walked = Walk(**db, (*db)->root(), "", &read);
  ExpectRefusal(walked);
  auto problems = (*db)->Check(16);
  KEEL_ASSERT(problems.ok());
  if (Verbose()) {
    std::fprintf(stderr, "bbolt round trip: %llu pages, damaged %d, walk %d, %zu problems\n",
                 static_cast<unsigned long long>(summary->pages), damaged, walked.ok(),
                 problems->size());
  }
  if (damaged) return;
  KEEL_ASSERT_MSG(walked.ok(), walked.ToString().c_str());
  KEEL_ASSERT_MSG(problems->empty(), problems->front().c_str());
  std::map<std::string, std::string> expected;
  Flatten(tree, "", &expected);
  KEEL_ASSERT_MSG(read == expected, "a written database read back differently");
}

}  // namespace
}  // namespace keel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel::fuzz;
  FuzzInput input(data, size);
  switch (input.Byte() % 3) {
    case 0:
      ReadDatabase(input.Rest());
      break;
    case 1:
      ReadSnapshot(input.Rest());
      break;
    default:
      RoundTrip(input);
  }
  return 0;
}
