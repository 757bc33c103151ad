// PeerPipeline: the outbound message connection to one peer.
//
// Send() encodes each message into the pipeline's bounded queue at once
// (never suspending the raft loop) and wakes the writer coroutine, which
// writes the queued frames to the peer's connection in batches of up to
// batch_bytes_max per Connection::Write. One coroutine dials, streams and
// reconnects: connect and handshake; on success the peer is active and the
// writer and a reader of the peer's link heartbeats run until either fails;
// then the peer is inactive, whatever was queued is dropped and reported
// unreachable, and the next dial waits an exponential backoff with jitter
// (rotating through the peer's addresses). While it waits, Send drops at
// once and reports the peer unreachable, as etcd does for a peer whose
// connection is down.
#ifndef KEEL_NET_PEER_PIPELINE_H_
#define KEEL_NET_PEER_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "net/peer_context.h"
#include "net/peer_types.h"
#include "net/task_group.h"
#include "proto/raft.pb.h"
#include "runtime/executor.h"
#include "runtime/task.h"

namespace keel::net::peer {

class PeerPipeline {
 public:
  // `context` must outlive the pipeline. `addresses` are "host:port", at
  // least one.
  PeerPipeline(PeerContext& context, uint64_t peer_id,
               std::vector<std::string> addresses);
  PeerPipeline(const PeerPipeline&) = delete;
  PeerPipeline& operator=(const PeerPipeline&) = delete;
  // Destroys the pipeline's coroutine: the connection closes, queued
  // messages are dropped without a report.
  ~PeerPipeline();

  // Starts dialing, charged to the calling process. Call once.
  void Start();

  // Queues `message` for the peer. False if it was dropped (queue full, or
  // the peer is down and backing off); the caller reports it unreachable.
  // Does not suspend.
  bool Enqueue(const raftpb::Message& message);

  // Replaces the peer's addresses; the current connection stays up, the next
  // dial uses the new list.
  void SetAddresses(std::vector<std::string> addresses);
  const std::vector<std::string>& addresses() const { return addresses_; }
  // The address the next dial (or the current connection) uses.
  const std::string& current_address() const;

  uint64_t peer_id() const { return peer_id_; }
  bool active() const { return active_; }
  TimePoint active_since() const { return active_since_; }
  const PeerStats& stats() const { return stats_; }
  PeerStats& mutable_stats() { return stats_; }
  size_t queued_messages() const { return queued_messages_; }

 private:
  enum class State { kConnecting, kStreaming, kBackoff };

  // Frames waiting for the writer; one Batch is one Connection::Write.
  struct Batch {
    std::string bytes;
    size_t messages = 0;
  };

  Task<void> Run();
  // Writes queued batches (or an idle link heartbeat) until a write fails.
  Task<absl::Status> WriteLoop(Connection* connection);
  // Reads the peer's link heartbeats until the link fails or goes silent.
  Task<absl::Status> ReadLoop(FrameReader* reader);
  Task<void> WaitForBatch();
  void Activate();
  void Deactivate(const absl::Status& why);
  // Drops every queued message; returns how many there were.
  size_t DropQueue();

  PeerContext& context_;
  const uint64_t peer_id_;
  const std::string peer_text_;
  std::vector<std::string> addresses_;
  // options.queue_capacity_messages, or a small bound under Buggify().
  const size_t queue_capacity_messages_;
  size_t address_index_ = 0;
  State state_ = State::kConnecting;
  bool active_ = false;
  TimePoint active_since_{};
  std::deque<Batch> batches_;
  size_t queued_messages_ = 0;
  size_t queued_bytes_ = 0;
  WaitQueue batch_waiters_;
  PeerStats stats_;
  // Declared last: the run coroutine goes before the state it uses.
  TaskGroup tasks_;
};

}  // namespace keel::net::peer

#endif  // KEEL_NET_PEER_PIPELINE_H_
