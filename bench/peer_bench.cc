// Peer transport throughput: MsgApp frames encoded and decoded per second
// (the codec alone), and MsgApp messages per second between two
// PeerTransports over loopback TCP on the POSIX Env (the whole path: Send,
// queue, batched writes, kernel, frame reader, delivery callback).
//
//   build/bench/peer_bench
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "net/peer_frame.h"
#include "net/peer_transport.h"
#include "runtime/posix_env.h"
#include "runtime/sync.h"

namespace keel::net {
namespace {

// A MsgApp as a leader sends it: one entry of `entry_bytes`.
raftpb::Message MakeAppend(uint64_t index, size_t entry_bytes) {
  raftpb::Message message;
  message.set_type(raftpb::MsgApp);
  message.set_from(1);
  message.set_to(2);
  message.set_term(5);
  message.set_log_term(5);
  message.set_index(index);
  message.set_commit(index);
  raftpb::Entry* entry = message.add_entries();
  entry->set_term(5);
  entry->set_index(index + 1);
  entry->set_data(std::string(entry_bytes, 'v'));
  return message;
}

void BM_EncodeMsgApp(benchmark::State& state) {
  const raftpb::Message message = MakeAppend(1000, state.range(0));
  std::string buffer;
  for (auto _ : state) {
    buffer.clear();
    for (int i = 0; i < 100; i++) {
      if (!peer::AppendMessageFrame(&buffer, message).ok()) state.SkipWithError("encode");
    }
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(buffer.size()));
}
BENCHMARK(BM_EncodeMsgApp)->Arg(128)->Arg(1024)->Arg(16 << 10);

void BM_DecodeMsgApp(benchmark::State& state) {
  std::string buffer;
  for (int i = 0; i < 100; i++) {
    (void)peer::AppendMessageFrame(&buffer, MakeAppend(1000 + i, state.range(0)));
  }
  for (auto _ : state) {
    std::string_view rest(buffer);
    while (!rest.empty()) {
      absl::StatusOr<peer::FrameHeader> header = peer::DecodeFrameHeader(rest);
      const std::string_view payload = rest.substr(peer::kFrameHeaderBytes, header->length);
      if (!peer::VerifyFramePayload(*header, payload).ok()) state.SkipWithError("crc");
      absl::StatusOr<raftpb::Message> message = peer::ParseMessagePayload(payload);
      benchmark::DoNotOptimize(message->index());
      rest.remove_prefix(peer::kFrameHeaderBytes + header->length);
    }
  }
  state.SetItemsProcessed(state.iterations() * 100);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(buffer.size()));
}
BENCHMARK(BM_DecodeMsgApp)->Arg(128)->Arg(1024)->Arg(16 << 10);

struct Receiver {
  uint64_t received = 0;
  uint64_t target = 0;
  Event reached;
};

Task<int> LoopbackMain(Env& env, benchmark::State* state, Receiver* receiver) {
  PeerTransportOptions sender_options;
  sender_options.local_id = 1;
  sender_options.cluster_id = 7;
  PeerTransportOptions receiver_options = sender_options;
  receiver_options.local_id = 2;
  receiver_options.listen_address = "127.0.0.1:0";
  PeerTransportCallbacks callbacks;
  callbacks.on_message = [receiver](raftpb::Message) {
    if (++receiver->received == receiver->target) receiver->reached.Set();
  };
  PeerTransport sink(env, receiver_options, callbacks);
  PeerTransportCallbacks sender_callbacks;
  sender_callbacks.on_message = [](raftpb::Message) {};
  PeerTransport source(env, sender_options, sender_callbacks);
  if (!sink.Start().ok() || !source.Start().ok()) co_return 1;
  if (!sink.AddPeer(1, {"127.0.0.1:1"}).ok()) co_return 1;
  if (!source.AddPeer(2, {sink.listen_address()}).ok()) co_return 1;
  const raftpb::Message message = MakeAppend(1000, state->range(0));
  constexpr int kPerReady = 64;
  constexpr int kReadies = 16;
  for (auto _ : *state) {
    receiver->reached.Reset();
    receiver->target += kPerReady * kReadies;
    for (int ready = 0; ready < kReadies; ready++) {
      std::vector<raftpb::Message> batch(kPerReady, message);
      source.Send(std::move(batch));
    }
    const bool done = co_await env.clock().WithTimeout(Seconds(30), receiver->reached.Wait());
    if (!done) {
      state->SkipWithError("messages did not arrive");
      break;
    }
  }
  state->SetItemsProcessed(state->iterations() * kPerReady * kReadies);
  state->counters["dropped"] = static_cast<double>(source.stats(2).messages_dropped);
  state->counters["writes"] = static_cast<double>(source.stats(2).batches_written);
  co_return 0;
}

void BM_LoopbackMsgApp(benchmark::State& state) {
  PosixEnvOptions options;
  options.process_name = "peer-bench";
  options.handle_signals = false;
  options.log_level = LogLevel::kWarn;
  PosixEnv env(options);
  Receiver receiver;
  if (env.RunMain(LoopbackMain(env, &state, &receiver)) != 0) {
    state.SkipWithError("transport did not start");
  }
}
BENCHMARK(BM_LoopbackMsgApp)->Arg(128)->Arg(1024)->Arg(16 << 10)->UseRealTime();

}  // namespace
}  // namespace keel::net

BENCHMARK_MAIN();
