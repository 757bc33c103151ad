// fuzz_snapshot_file: the `snapshot save` file reader (store/snapshot_file.h)
// and its etcd envelope (store/snapshot_envelope.h).
//
// Input: the first byte picks the mode (value % 3).
//  0, 1: the rest is a file on a simulated disk, read with the whole-file
//        hash checked (0) or skipped (1). The reader must never crash, and
//        after a successful Open every Next() must succeed or fail cleanly.
//  2:    a round trip: metadata, records and a chunk size from the input are
//        written with SnapshotFileWriter (optionally wrapped in the envelope
//        Maintenance.Snapshot streams), then damaged by a list of byte flips
//        and an optional truncation. Unchanged, it must read back exactly;
//        damaged, with the hash checked, it must be refused (every byte is
//        covered by a CRC or the hash), never read back as other records.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/recycled.h"
#include "runtime/assert.h"
#include "runtime/sha256.h"
#include "sim/sim_testing.h"
#include "store/snapshot_envelope.h"
#include "store/snapshot_file.h"

namespace keel::fuzz {
namespace {

constexpr char kPath[] = "snap/file.db";

struct Machine {
  Machine() : h(/*seed=*/1) {}
  sim::SimHarness h;
};

// One simulated machine for many inputs (fuzz/recycled.h); call once per
// input.
sim::SimHarness& Harness() { return Recycled<Machine>(2000).h; }

using Records = std::vector<std::pair<std::string, std::string>>;

void WriteFile(FileSystem& fs, std::string_view bytes) {
  absl::Status removed = RemoveTree(fs, "snap");
  KEEL_ASSERT(removed.ok() || absl::IsNotFound(removed));
  KEEL_ASSERT(fs.CreateDir("snap").ok());
  auto file = fs.Open(kPath, {.create = true});
  KEEL_ASSERT(file.ok());
  KEEL_ASSERT((*file)->WriteAt(0, bytes).ok());
}

std::string ReadWholeFile(FileSystem& fs) {
  auto file = fs.Open(kPath, {.read_only = true});
  KEEL_ASSERT(file.ok());
  auto size = (*file)->Size();
  KEEL_ASSERT(size.ok());
  auto bytes = (*file)->ReadAt(0, *size);
  KEEL_ASSERT(bytes.ok() && bytes->size() == *size);
  return std::move(*bytes);
}

// Opens and reads every record. nullopt-like failure: returns false.
bool ReadAll(FileSystem& fs, bool skip_hash, store::SnapshotFileMetadata* metadata,
             Records* records) {
  store::SnapshotFileReadOptions options;
  options.skip_hash_check = skip_hash;
  auto reader = store::SnapshotFileReader::Open(fs, kPath, options);
  if (!reader.ok()) {
    const absl::StatusCode code = reader.status().code();
    KEEL_ASSERT_MSG(code == absl::StatusCode::kDataLoss ||
                        code == absl::StatusCode::kFailedPrecondition,
                    reader.status().ToString().c_str());
    return false;
  }
  if (!skip_hash) KEEL_ASSERT((*reader)->hash_verified());
  *metadata = (*reader)->metadata();
  uint64_t count = 0;
  while (true) {
    std::string key, value;
    auto more = (*reader)->Next(&key, &value);
    // The file does not change after Open here, so reading cannot fail.
    KEEL_ASSERT_MSG(more.ok(), more.status().ToString().c_str());
    if (!*more) break;
    records->emplace_back(std::move(key), std::move(value));
    count++;
  }
  KEEL_ASSERT(count == (*reader)->summary().records);
  return true;
}

void RoundTrip(sim::SimHarness& h, FuzzInput& input) {
  FileSystem& fs = h.env().fs();
  store::SnapshotFileMetadata metadata;
  metadata.revision = static_cast<int64_t>(input.Number(8));
  metadata.compact_revision = static_cast<int64_t>(input.Number(2));
  metadata.consistent_index = input.Number(8);
  metadata.consistent_term = input.Number(1);
  metadata.member_id = input.Number(8);
  metadata.cluster_id = input.Number(8);
  const size_t chunk_bytes = 1 + input.Byte() * 4;
  const bool envelope = input.Byte() % 2 == 1;
  Records records;
  const size_t count = input.Byte() % 64;
  for (size_t i = 0; i < count; i++) {
    std::string key(input.String());
    std::string value(input.String());
    records.emplace_back(std::move(key), std::move(value));
  }

  absl::Status removed = RemoveTree(fs, "snap");
  KEEL_ASSERT(removed.ok() || absl::IsNotFound(removed));
  KEEL_ASSERT(fs.CreateDir("snap").ok());
  auto writer = store::SnapshotFileWriter::Create(fs, kPath, metadata, chunk_bytes);
  KEEL_ASSERT_MSG(writer.ok(), writer.status().ToString().c_str());
  for (const auto& [key, value] : records) KEEL_ASSERT((*writer)->Add(key, value).ok());
  auto summary = h.Run((*writer)->Finish());
  KEEL_ASSERT_MSG(summary.ok(), summary.status().ToString().c_str());
  KEEL_ASSERT(summary->records == records.size());
  writer->reset();

  std::string bytes = ReadWholeFile(fs);
  // A bare file is a valid snapshot too, so cutting the envelope off
  // exactly is not damage.
  const std::string bare = bytes;
  if (envelope) {
    Sha256 hash;
    hash.Update(bytes);
    bytes += store::EnvelopeTail(bytes.size(), hash);
  }
  const std::string original = bytes;
  const size_t flips = input.Byte() % 4;
  for (size_t i = 0; i < flips && !bytes.empty(); i++) {
    const size_t at = input.Number(2) % bytes.size();
    bytes[at] = static_cast<char>(bytes[at] ^ (input.Byte() | 1));
  }
  if (input.Byte() % 4 == 0 && !bytes.empty()) bytes.resize(input.Number(2) % bytes.size());
  WriteFile(fs, bytes);

  store::SnapshotFileMetadata read_metadata;
  Records read_records;
  const bool ok = ReadAll(fs, /*skip_hash=*/false, &read_metadata, &read_records);
  if (Verbose()) {
    std::fprintf(stderr, "snapshot_file: %zu records, damaged %d, read %d\n",
                 records.size(), bytes != original, ok);
  }
  if (bytes == original || bytes == bare) {
    KEEL_ASSERT_MSG(ok, "an intact snapshot file was refused");
  } else {
    KEEL_ASSERT_MSG(!ok, "a damaged snapshot file was accepted with its hash checked");
  }
  if (ok) {
    KEEL_ASSERT(read_metadata == metadata);
    KEEL_ASSERT(read_records == records);
  }
}

}  // namespace
}  // namespace keel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel::fuzz;
  FuzzInput input(data, size);
  keel::sim::SimHarness& h = Harness();
  keel::FileSystem& fs = h.env().fs();
  const uint8_t mode = input.Byte() % 3;
  if (mode == 2) {
    RoundTrip(h, input);
    return 0;
  }
  WriteFile(fs, input.Rest());
  keel::store::SnapshotFileMetadata metadata;
  Records records;
  ReadAll(fs, /*skip_hash=*/mode == 1, &metadata, &records);
  return 0;
}
