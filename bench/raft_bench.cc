// Micro benchmarks of raft's hot paths: a follower stepping MsgApp and a
// leader stepping MsgAppResp, with realistic batch sizes (1 to 256 entries
// of 256 bytes, roughly etcd's put requests). The Ready cycle (persisting
// to MemoryStorage, applying) runs outside the timed region, and logs are
// compacted periodically so memory stays bounded.
//
//   build/bench/raft_bench --benchmark_filter=Raft
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "raft/raw_node.h"
#include "raft/storage.h"

namespace keel::raft {
namespace {

constexpr size_t kPayloadBytes = 256;
constexpr uint64_t kCompactEvery = 4096;

ConfState Voters(std::initializer_list<uint64_t> ids) {
  ConfState state;
  for (uint64_t id : ids) state.add_voters(id);
  return state;
}

struct Member {
  explicit Member(uint64_t id) : storage(Voters({1, 2, 3})), random(id) {
    node = *RawNode::Create(Config{.id = id,
                                   .storage = storage,
                                   .random = random,
                                   .election_ticks = 10,
                                   .heartbeat_ticks = 1,
                                   .max_size_per_msg = 4 << 20,
                                   .max_inflight_msgs = 1 << 20});
  }

  // Persists and applies everything pending; drops the messages.
  void Drain() {
    while (node->HasReady()) {
      Ready rd = node->Ready();
      (void)storage.Append(rd.entries);
      if (rd.hard_state.has_value()) storage.SetHardState(*rd.hard_state);
      node->Advance();
    }
  }

  // Drops log entries the state machine has applied, keeping some.
  void MaybeCompact() {
    const uint64_t applied = node->Status().applied;
    const uint64_t first = *storage.FirstIndex();
    if (applied > first + kCompactEvery) (void)storage.Compact(applied - 64);
  }

  MemoryStorage storage;
  Random random;
  std::unique_ptr<RawNode> node;
};

Message Append(uint64_t index, uint64_t term, uint64_t commit, size_t batch,
               const std::string& payload) {
  Message m;
  m.set_type(raftpb::MsgApp);
  m.set_from(1);
  m.set_to(2);
  m.set_term(term);
  m.set_index(index);
  m.set_log_term(index == 0 ? 0 : term);
  m.set_commit(commit);
  for (size_t i = 0; i < batch; i++) {
    Entry* entry = m.add_entries();
    entry->set_index(index + 1 + i);
    entry->set_term(term);
    entry->set_data(payload);
  }
  return m;
}

// Messages are prepared, and Readies handled, outside the timed region once
// every kRound steps, so the timer is paused rarely.
constexpr size_t kRound = 64;

// A follower accepting appends of `batch` entries each.
void BM_RaftFollowerStepMsgApp(benchmark::State& state) {
  const size_t batch = state.range(0);
  const std::string payload(kPayloadBytes, 'x');
  Member follower(2);
  uint64_t last = 0;
  std::vector<Message> pending;
  size_t next = 0;
  for (auto _ : state) {
    if (next == pending.size()) {
      state.PauseTiming();
      follower.Drain();
      follower.MaybeCompact();
      pending.clear();
      for (size_t i = 0; i < kRound; i++) {
        pending.push_back(Append(last, 1, last, batch, payload));
        last += batch;
      }
      next = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(follower.node->Step(std::move(pending[next++])));
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * kPayloadBytes);
}
BENCHMARK(BM_RaftFollowerStepMsgApp)->Arg(1)->Arg(16)->Arg(64)->Arg(256);

// A leader of three receiving a follower's acknowledgement of a batch it
// replicated: progress and the in-flight window move, and every second
// acknowledgement (the other follower's) commits the batch and sends the
// new commit index to both followers.
void BM_RaftLeaderStepMsgAppResp(benchmark::State& state) {
  const size_t batch = state.range(0);
  const std::string payload(kPayloadBytes, 'x');
  Member leader(1);
  (void)leader.node->Campaign();
  for (uint64_t id : {2, 3}) {
    Message vote;
    vote.set_type(raftpb::MsgVoteResp);
    vote.set_from(id);
    vote.set_to(1);
    vote.set_term(1);
    (void)leader.node->Step(vote);
  }
  leader.Drain();
  std::vector<Message> pending;
  size_t next = 0;
  for (auto _ : state) {
    if (next == pending.size()) {
      state.PauseTiming();
      leader.Drain();
      leader.MaybeCompact();
      pending.clear();
      // Replicate kRound / 2 batches; both followers acknowledge each.
      uint64_t index = leader.node->raft().log().LastIndex();
      for (size_t round = 0; round < kRound / 2; round++) {
        for (size_t i = 0; i < batch; i++) (void)leader.node->Propose(payload);
        index += batch;
        for (uint64_t from : {2, 3}) {
          Message m;
          m.set_type(raftpb::MsgAppResp);
          m.set_from(from);
          m.set_to(1);
          m.set_term(1);
          m.set_index(index);
          pending.push_back(std::move(m));
        }
      }
      leader.Drain();
      next = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(leader.node->Step(std::move(pending[next++])));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["entries/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * batch / 2),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RaftLeaderStepMsgAppResp)->Arg(1)->Arg(16)->Arg(64)->Arg(256);

}  // namespace
}  // namespace keel::raft
