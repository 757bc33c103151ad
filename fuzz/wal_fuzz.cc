// fuzz_wal: WAL recovery (store/wal.h) from arbitrary segment bytes.
//
// The input becomes the WAL directory of a simulated disk, then Wal::Open
// recovers it. Recovery must never crash, and whatever it accepts must be
// what raft can rely on (fuzz/fuzz_checks.h CheckWalState): contiguous
// entries after the snapshot, terms that never go down, the commit index
// within the log. An accepted WAL must also stay usable: an entry appended
// after recovery and synced is recovered again, with everything else equal.
//
// Input: the first byte picks the mode.
//  - even: the rest is one segment file, byte for byte (CRCs must match,
//    so this mode mostly exercises the framing checks and torn tails);
//  - odd: the rest is a program (WalProgram below) the harness turns into
//    correctly framed records, so the fuzzer reaches the decoding and
//    replay of record payloads despite the checksums.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/recycled.h"
#include "fuzz/wal_program.h"
#include "runtime/assert.h"
#include "sim/sim_testing.h"
#include "store/wal.h"

namespace keel::fuzz {
namespace {

constexpr char kDir[] = "data/wal";

struct Machine {
  Machine() : h(/*seed=*/1) {}
  sim::SimHarness h;
};

// One simulated machine for many inputs (fuzz/recycled.h); call once per
// input.
sim::SimHarness& Harness() { return Recycled<Machine>(2000).h; }

void CheckWalState(const store::WalState& state) {
  const uint64_t snapshot_index = state.snapshot.index();
  uint64_t previous_term = state.snapshot.term();
  for (size_t i = 0; i < state.entries.size(); i++) {
    const raftpb::Entry& entry = state.entries[i];
    KEEL_ASSERT_MSG(entry.index() == snapshot_index + 1 + i,
                    "recovered entries are not contiguous after the snapshot");
    KEEL_ASSERT_MSG(entry.term() >= previous_term, "recovered terms go down");
    previous_term = entry.term();
  }
  const uint64_t last_index = snapshot_index + state.entries.size();
  KEEL_ASSERT_MSG(state.hard_state.commit() <= last_index,
                  "recovered commit index is past the log");
  KEEL_ASSERT_MSG(state.hard_state.commit() >= snapshot_index,
                  "recovered commit index is below the snapshot");
}

void WriteSegments(Env& env, const std::vector<WalSegmentFile>& segments) {
  absl::Status removed = RemoveTree(env.fs(), "data");
  KEEL_ASSERT(removed.ok() || absl::IsNotFound(removed));
  KEEL_ASSERT(CreateDirs(env.fs(), kDir).ok());
  for (const WalSegmentFile& segment : segments) {
    auto file = env.fs().Open(JoinPath(kDir, segment.name), {.create = true});
    KEEL_ASSERT(file.ok());
    KEEL_ASSERT((*file)->WriteAt(0, segment.bytes).ok());
  }
}

void Recover(const std::vector<WalSegmentFile>& segments) {
  sim::SimHarness& h = Harness();
  WriteSegments(h.env(), segments);
  const store::WalOptions options{.dir = kDir};
  store::WalState state;
  auto wal = h.Run(store::Wal::Open(h.env(), options, kFuzzWalIdentity, &state));
  if (Verbose()) {
    std::fprintf(stderr, "wal: %zu segments: %s, %zu entries\n", segments.size(),
                 wal.status().ToString().c_str(), state.entries.size());
  }
  if (!wal.ok()) {
    const absl::StatusCode code = wal.status().code();
    KEEL_ASSERT_MSG(code == absl::StatusCode::kDataLoss ||
                        code == absl::StatusCode::kFailedPrecondition ||
                        code == absl::StatusCode::kNotFound,
                    wal.status().ToString().c_str());
    return;
  }
  CheckWalState(state);
  KEEL_ASSERT((*wal)->last_index() == state.snapshot.index() + state.entries.size());

  // Recovery left a WAL that takes appends: one more entry survives a
  // reopen, and nothing else changes.
  raftpb::Entry next;
  next.set_index((*wal)->last_index() + 1);
  uint64_t term = std::max(state.snapshot.term(), state.hard_state.term());
  if (!state.entries.empty()) term = std::max(term, state.entries.back().term());
  next.set_term(term);
  next.set_data("appended after recovery");
  KEEL_ASSERT((*wal)->AppendEntries({next}).ok());
  absl::Status synced = h.Run((*wal)->Sync());
  KEEL_ASSERT_MSG(synced.ok(), synced.ToString().c_str());
  wal->reset();

  store::WalState again;
  auto reopened = h.Run(store::Wal::Open(h.env(), options, kFuzzWalIdentity, &again));
  KEEL_ASSERT_MSG(reopened.ok(), reopened.status().ToString().c_str());
  CheckWalState(again);
  state.entries.push_back(next);
  KEEL_ASSERT(again.entries.size() == state.entries.size());
  for (size_t i = 0; i < state.entries.size(); i++) {
    KEEL_ASSERT(again.entries[i].SerializeAsString() ==
                state.entries[i].SerializeAsString());
  }
  KEEL_ASSERT(again.snapshot.SerializeAsString() == state.snapshot.SerializeAsString());
  KEEL_ASSERT(again.hard_state.SerializeAsString() ==
              state.hard_state.SerializeAsString());
}

}  // namespace
}  // namespace keel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel::fuzz;
  FuzzInput input(data, size);
  const uint8_t mode = input.Byte();
  std::vector<WalSegmentFile> segments;
  if (mode % 2 == 0) {
    segments.push_back({.name = keel::store::WalSegmentName(0, 1),
                        .bytes = std::string(input.Rest())});
  } else {
    segments = BuildWalProgram(input);
  }
  Recover(segments);
  return 0;
}
