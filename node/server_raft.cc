// The raft loop: feed raft its inputs, persist each Ready, send its
// messages, queue its committed entries for the applier, and answer
// linearizable read batches. See doc/node.md.
#include <utility>

#include "net/grpc_wire.h"
#include "node/errors.h"
#include "node/server.h"
#include "raft/errors.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

std::string ReadContext(uint64_t id) {
  std::string context(8, '\0');
  for (int i = 0; i < 8; i++) context[i] = static_cast<char>(id >> (56 - 8 * i));
  return context;
}

std::optional<uint64_t> ParseReadContext(std::string_view context) {
  if (context.size() != 8) return std::nullopt;
  uint64_t id = 0;
  for (char c : context) id = (id << 8) | static_cast<uint8_t>(c);
  return id;
}

}  // namespace

Task<void> Server::TickLoop() {
  LoopGuard guard(*this);
  const Duration interval = Milliseconds(config_.heartbeat_interval_ms);
  TimePoint next = env_.clock().Now() + interval;
  while (!stopping_) {
    co_await env_.clock().SleepUntil(next);
    // Ticks missed while the loop was held up are delivered, not skipped:
    // raft's timeouts are counted in ticks.
    const TimePoint now = env_.clock().Now();
    while (next <= now) {
      pending_ticks_++;
      next += interval;
    }
    work_.Set();
  }
}

Task<void> Server::RaftLoop() {
  LoopGuard guard(*this);
  while (!stopping_) {
    if (!work_.is_set()) co_await work_.Wait();
    work_.Reset();
    if (stopping_) break;
    FeedRaft();
    while (!stopping_ && raw_->HasReady()) {
      absl::Status status = co_await HandleReady(raw_->Ready());
      if (!status.ok()) {
        Fail(status);
        co_return;
      }
    }
  }
}

void Server::FeedRaft() {
  const bool ticked = pending_ticks_ > 0;
  for (; pending_ticks_ > 0; pending_ticks_--) raw_->Tick();
  while (!inbox_.empty()) {
    raft::Message message = std::move(inbox_.front());
    inbox_.pop_front();
    absl::Status status = raw_->Step(std::move(message));
    if (!status.ok() && !raft::IsError(status, raft::Error::kStepPeerNotFound)) {
      env_.log().Debug("raft refused a message", {{"error", status.ToString()}});
    }
  }
  // Proposals raft dropped (no leader yet) are retried on each tick until
  // their deadline, like a client retrying, so a leaderless moment does not
  // fail every write at once.
  const TimePoint now = env_.clock().Now();
  if (ticked) {
    while (!dropped_.empty()) {
      proposals_.push_front(std::move(dropped_.back()));
      dropped_.pop_back();
    }
  }
  while (!proposals_.empty()) {
    Proposal proposal = std::move(proposals_.front());
    proposals_.pop_front();
    // A caller that gave up (its gRPC deadline passed, or it went away) has
    // its proposal withdrawn, as etcd's waits on the caller's context.
    if (!waiters_.Waiting(proposal.id)) continue;
    if (proposal.deadline <= now) {
      // Still queued: raft never took it.
      waiters_.Deliver(proposal.id, ApplyResult{net::ContextDeadlineExceeded()});
      continue;
    }
    absl::Status status = raw_->Propose(proposal.data);
    if (raft::IsError(status, raft::Error::kProposalDropped)) {
      dropped_.push_back(std::move(proposal));
    } else if (!status.ok()) {
      waiters_.Deliver(proposal.id, ApplyResult{status});
    } else if (config_.sim_bugs.ack_before_sync) {
      NoteEarlyAck(proposal);  // a deliberate defect (server_sim_bugs.cc)
    }
  }
  AckEarly();  // nothing unless SimBugs::ack_before_sync
  IssueReads();
}

void Server::IssueReads() {
  const TimePoint now = env_.clock().Now();
  if (open_read_ != nullptr) {
    std::shared_ptr<ReadBatch> batch = std::move(open_read_);
    batch->id = next_read_id_++;
    batch->sent_at = now;
    raw_->ReadIndex(ReadContext(batch->id));
    reads_in_flight_[batch->id] = std::move(batch);
  }
  // Batches with no answer yet are asked again (the request was dropped
  // because there was no leader, or the leader changed).
  for (auto& [id, batch] : reads_in_flight_) {
    if (now - batch->sent_at < kReadIndexRetry) continue;
    batch->sent_at = now;
    raw_->ReadIndex(ReadContext(id));
  }
}

Task<absl::Status> Server::HandleReady(raft::Ready ready) {
  if (ready.soft_state.has_value()) {
    const uint64_t lead = ready.soft_state->lead;
    if (lead != leader_) {
      env_.log().Info("leader changed", {{"local-member-id", FormatId(id_)},
                                         {"leader", FormatId(lead)},
                                         {"term", raw_->Status().hard_state.term()}});
      leader_ = lead;
      if (lead != 0) {
        leader_elected_at_ = env_.clock().Now();
      } else {
        leaderless_since_ = env_.clock().Now();
      }
      leader_changed_.WakeAll();
    }
  }
  if (ready.hard_state.has_value()) {
    term_ = ready.hard_state->term();
    commit_index_ = ready.hard_state->commit();
  }
  // Persist before anything leaves (raft's Ready contract), with etcd's one
  // exception: a leader sends its appends and heartbeats first, so its own
  // fsync overlaps the followers'. That is safe because raft counts the
  // leader's entries at append but tells no one they are committed until a
  // later Ready, which comes only after this Save; the term and vote the
  // messages carry were made durable before the candidate asked for votes.
  std::vector<raft::Message> after_save;
  if (raw_->raft().state() == raft::StateType::kLeader) {
    std::vector<raft::Message> early;
    for (raft::Message& message : ready.messages) {
      if (message.type() == raftpb::MsgApp || message.type() == raftpb::MsgHeartbeat) {
        early.push_back(std::move(message));
      } else {
        after_save.push_back(std::move(message));
      }
    }
    SendMessages(std::move(early));
  } else {
    after_save = std::move(ready.messages);
  }
  absl::Status saved = co_await log_store_->Save(ready);
  if (!saved.ok()) co_return saved;
  if (stopping_) co_return absl::OkStatus();
  SendMessages(std::move(after_save));
  HandleReadStates(ready.read_states);
  if (ready.snapshot.has_value() || !ready.committed_entries.empty()) {
    apply_queue_.push_back(ApplyWork{std::move(ready.snapshot),
                                     std::move(ready.committed_entries)});
    apply_work_.Set();
  }
  raw_->Advance();
  co_return absl::OkStatus();
}

void Server::SendMessages(std::vector<raft::Message> messages) {
  if (messages.empty()) return;
  KEEL_ASSERT(transport_ != nullptr);
  // A snapshot carries the whole key space: it is written to a file and
  // streamed on a connection of its own (server_snapshot.cc).
  std::vector<raft::Message> plain;
  plain.reserve(messages.size());
  for (raft::Message& message : messages) {
    if (message.type() == raftpb::MsgSnap) {
      snapshot_sends_.Start(SendRaftSnapshot(std::move(message)));
    } else {
      plain.push_back(std::move(message));
    }
  }
  if (!plain.empty()) transport_->Send(std::move(plain));
}

void Server::HandleReadStates(const std::vector<raft::ReadState>& states) {
  for (const raft::ReadState& state : states) {
    std::optional<uint64_t> id = ParseReadContext(state.request_context);
    if (!id.has_value()) continue;
    auto it = reads_in_flight_.find(*id);
    if (it == reads_in_flight_.end()) continue;
    it->second->index = state.index;
    it->second->done.Set();
    reads_in_flight_.erase(it);
  }
}

}  // namespace keel::node
