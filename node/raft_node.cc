// RaftNode: creating the RawNode, the ticker, the Ready loop and the inputs
// it drains. Snapshots and log compaction are in raft_node_snapshot.cc.
#include "node/raft_node.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "net/grpc_wire.h"
#include "node/errors.h"
#include "node/membership.h"
#include "raft/confchange.h"
#include "raft/errors.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

constexpr size_t kReadContextBytes = 24;

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>(v >> (56 - 8 * i)));
}

uint64_t GetBigEndian64(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

}  // namespace

// The leader keeps pending ReadIndex requests by their context, one per
// context, and answers may arrive long after they were asked for (a
// partition, a pause): a context another member could use too, or this
// member before a restart, would let one read take another's older index.
// So it names the member and this run of it, as etcd's request ids do.
std::string RaftNode::ReadContext(uint64_t read_id) const {
  std::string context;
  context.reserve(kReadContextBytes);
  PutBigEndian64(&context, config_.id);
  PutBigEndian64(&context, read_nonce_);
  PutBigEndian64(&context, read_id);
  return context;
}

std::optional<uint64_t> RaftNode::ParseReadContext(std::string_view context) const {
  if (context.size() != kReadContextBytes) return std::nullopt;
  if (GetBigEndian64(context) != config_.id) return std::nullopt;
  if (GetBigEndian64(context.substr(8)) != read_nonce_) return std::nullopt;
  return GetBigEndian64(context.substr(16));
}

RaftNode::RaftNode(Env& env, RaftNodeConfig config, std::unique_ptr<LogStore> log,
                   RaftNodeHost& host, MemberLife& life)
    : env_(env),
      config_(std::move(config)),
      log_(std::move(log)),
      host_(host),
      life_(life),
      read_nonce_(env.random().Next()),
      snapshot_sends_(env.process().executor()) {}

RaftNode::~RaftNode() { Shutdown(); }

absl::StatusOr<std::unique_ptr<RaftNode>> RaftNode::Create(
    Env& env, RaftNodeConfig config, std::unique_ptr<LogStore> log, RaftNodeHost& host,
    MemberLife& life) {
  KEEL_ASSERT(config.id != 0);
  KEEL_ASSERT(log != nullptr);
  if (config.heartbeat_interval_ms <= 0 ||
      config.election_timeout_ms < config.heartbeat_interval_ms) {
    return absl::InvalidArgumentError("raft node: bad heartbeat or election timeout");
  }
  std::unique_ptr<RaftNode> node(
      new RaftNode(env, std::move(config), std::move(log), host, life));
  raft::Storage& storage = node->log_->storage();
  KEEL_ASSIGN_OR_RETURN(raft::InitialState initial, storage.GetInitialState());
  KEEL_ASSIGN_OR_RETURN(uint64_t first_index, storage.FirstIndex());
  KEEL_ASSIGN_OR_RETURN(node->persisted_index_, storage.LastIndex());
  node->conf_state_ = initial.conf_state;
  node->snapshot_conf_state_ = initial.conf_state;
  node->snapshot_index_ = first_index - 1;
  node->applied_index_ = node->snapshot_index_;
  node->term_ = initial.hard_state.term();
  node->commit_index_ = initial.hard_state.commit();

  const RaftNodeConfig& c = node->config_;
  raft::Config raft_config{.id = c.id, .storage = storage, .random = env.random()};
  raft_config.election_ticks =
      static_cast<int>(c.election_timeout_ms / c.heartbeat_interval_ms);
  raft_config.heartbeat_ticks = 1;
  // Entries at or below the snapshot are in the state machine; everything
  // after is handed out again and the applier skips what it holds (conf
  // changes are re-applied to raft, which rebuilt its configuration from
  // the snapshot).
  raft_config.applied = node->snapshot_index_;
  raft_config.max_size_per_msg = c.max_size_per_msg;
  raft_config.max_inflight_msgs = c.max_inflight_msgs;
  raft_config.max_inflight_bytes = c.max_inflight_bytes;
  raft_config.max_uncommitted_entries_size = 1u << 30;
  raft_config.pre_vote = c.pre_vote;
  raft_config.check_quorum = true;
#if KEEL_FAILPOINTS
  raft_config.bugs = c.raft_bugs;
#endif
  KEEL_ASSIGN_OR_RETURN(node->raw_, raft::RawNode::Create(raft_config));
  KEEL_ASSERT(node->commit_index_ <= node->persisted_index_);
  return node;
}

absl::Status RaftNode::Bootstrap(std::span<const raft::Peer> peers) {
  KEEL_ASSERT(persisted_index_ == 0);
  KEEL_ASSERT(!peers.empty());
  return raw_->Bootstrap(peers);
}

absl::Status RaftNode::Start() {
  KEEL_ASSERT(transport_ == nullptr);
  KEEL_ASSERT(!life_.stopping());
  net::PeerTransportOptions options;
  options.local_id = config_.id;
  options.cluster_id = config_.cluster_id;
  options.listen_address = config_.listen_address;
  options.network = config_.peer_network;
  options.http_router = config_.peer_http_router;
  options.snapshot_dir = JoinPath(config_.snap_dir, "incoming");
  for (const std::string& url : config_.advertise_peer_urls) {
    KEEL_ASSIGN_OR_RETURN(std::string address, net::PeerUrlToAddress(url));
    options.advertise_addresses.push_back(std::move(address));
  }
  if (config_.snapshot_chunk_bytes != 0) {
    options.snapshot_chunk_bytes = config_.snapshot_chunk_bytes;
  }
  net::PeerTransportCallbacks callbacks;
  callbacks.on_message = [this](raft::Message m) { Receive(std::move(m)); };
  callbacks.on_unreachable = [this](uint64_t peer) {
    raw_->ReportUnreachable(peer);
    Wake();
  };
  callbacks.on_snapshot_status = [this](uint64_t peer, bool ok) {
    raw_->ReportSnapshot(peer, ok);
    Wake();
  };
  callbacks.on_snapshot = [this](net::ReceivedSnapshot snapshot) {
    return AcceptSnapshot(std::move(snapshot));
  };
  callbacks.on_removed = [this](uint64_t peer) {
    life_.Fail(MemberRemovedError());
  };
  transport_ = std::make_unique<net::PeerTransport>(env_, std::move(options),
                                                    std::move(callbacks));
  KEEL_RETURN_IF_ERROR(transport_->Start());
  if (config_.initial_election_tick_advance) {
    const int64_t ticks = config_.election_timeout_ms / config_.heartbeat_interval_ms;
    const int64_t advance = conf_state_.voters_size() <= 1 ? ticks - 1 : ticks - 2;
    for (int64_t i = 0; i < advance; i++) raw_->Tick();
  }
  env_.Spawn(TickLoop());
  env_.Spawn(ReadyLoop());
  Wake();
  return absl::OkStatus();
}

void RaftNode::Interrupt() {
  KEEL_ASSERT(life_.stopping());
  work_.Set();
  apply_work_.Set();
}

void RaftNode::Shutdown() {
  snapshot_sends_.CancelAll();
  transport_.reset();
}

// ---- inputs ----

absl::Status RaftNode::Propose(uint64_t id, std::string data, TimePoint deadline) {
  KEEL_ASSERT(id != 0);
  if (proposals_.size() + dropped_.size() >= kMaxPendingProposals) {
    return MakeError(EtcdError::kTooManyRequests);
  }
  proposals_.push_back(Proposal{id, std::move(data), deadline});
  Wake();
  return absl::OkStatus();
}

absl::Status RaftNode::ProposeConfChange(const raft::ConfChange& change) {
  absl::Status status = raw_->ProposeConfChange(change);
  if (observer_ != nullptr) observer_->OnStepped(raw_->raft());
  Wake();
  return status;
}

void RaftNode::TransferLeadership(uint64_t transferee) {
  raw_->TransferLeader(transferee);
  if (observer_ != nullptr) observer_->OnStepped(raw_->raft());
  Wake();
}

void RaftNode::ReadIndex(uint64_t read_id) {
  reads_to_issue_.push_back(read_id);
  Wake();
}

void RaftNode::Receive(raft::Message message) {
  if (life_.stopping()) return;
  inbox_.push_back(std::move(message));
  Wake();
}

// ---- peers ----

void RaftNode::SetPeer(uint64_t id, const std::vector<std::string>& peer_urls) {
  KEEL_ASSERT(transport_ != nullptr);
  KEEL_ASSERT(id != config_.id);
  std::vector<std::string> addresses;
  for (const std::string& url : peer_urls) {
    auto address = net::PeerUrlToAddress(url);
    if (address.ok()) addresses.push_back(*address);
  }
  absl::Status status = transport_->HasPeer(id) ? transport_->UpdatePeer(id, addresses)
                                                : transport_->AddPeer(id, addresses);
  if (!status.ok()) {
    env_.log().Warn("cannot reach a member",
                    {{"member-id", FormatId(id)}, {"error", status.ToString()}});
  }
}

absl::Status RaftNode::RemovePeer(uint64_t id) {
  if (transport_ == nullptr || id == config_.id) return absl::OkStatus();
  return transport_->RemovePeer(id);
}

bool RaftNode::HasPeer(uint64_t id) const {
  return transport_ != nullptr && transport_->HasPeer(id);
}

net::PeerStatus RaftNode::PeerStatus(uint64_t id) const {
  if (transport_ == nullptr) return net::PeerStatus{};
  return transport_->status(id);
}

// ---- the loops ----

Task<void> RaftNode::TickLoop() {
  MemberLife::LoopGuard guard(life_);
  const Duration interval = Milliseconds(config_.heartbeat_interval_ms);
  TimePoint next = env_.clock().Now() + interval;
  while (!life_.stopping()) {
    co_await env_.clock().SleepUntil(next);
    // Ticks missed while the loop was held up are delivered, not skipped:
    // raft's timeouts are counted in ticks.
    const TimePoint now = env_.clock().Now();
    while (next <= now) {
      pending_ticks_++;
      next += interval;
    }
    Wake();
  }
}

Task<void> RaftNode::ReadyLoop() {
  MemberLife::LoopGuard guard(life_);
  while (!life_.stopping()) {
    if (!work_.is_set()) co_await work_.Wait();
    work_.Reset();
    if (life_.stopping()) break;
    // Buggify: let more messages, ticks and proposals arrive before raft
    // is fed, so Readies batch more (or differently) than usual.
    if (Buggify()) {
      co_await Yield();
      if (life_.stopping()) break;
    }
    FeedRaft();
    while (!life_.stopping() && raw_->HasReady()) {
      absl::Status status = co_await HandleReady(raw_->Ready());
      if (!status.ok()) {
        life_.Fail(status);
        co_return;
      }
    }
  }
  apply_work_.Set();  // the applier sees the stop
}

void RaftNode::FeedRaft() {
  const bool ticked = pending_ticks_ > 0;
  for (; pending_ticks_ > 0; pending_ticks_--) raw_->Tick();
  while (!inbox_.empty()) {
    raft::Message message = std::move(inbox_.front());
    inbox_.pop_front();
    if (message.type() == raftpb::MsgHeartbeatResp) NoteHeartbeatAnswered(message.from());
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
    if (!host_.ProposalWanted(proposal.id)) continue;
    if (proposal.deadline <= now) {
      // Still queued: raft never took it.
      host_.ProposalFailed(proposal.id, net::ContextDeadlineExceeded());
      continue;
    }
    absl::Status status = raw_->Propose(proposal.data);
    if (raft::IsError(status, raft::Error::kProposalDropped)) {
      dropped_.push_back(std::move(proposal));
    } else if (!status.ok()) {
      host_.ProposalFailed(proposal.id, status);
    } else if (observer_ != nullptr) {
      observer_->OnProposed(proposal.id, proposal.data, raw_->raft());
    }
  }
  IssueReads();
  if (observer_ != nullptr) observer_->OnStepped(raw_->raft());
}

void RaftNode::IssueReads() {
  const TimePoint now = env_.clock().Now();
  while (!reads_to_issue_.empty()) {
    const uint64_t id = reads_to_issue_.front();
    reads_to_issue_.pop_front();
    raw_->ReadIndex(ReadContext(id));
    reads_in_flight_[id] = now;
  }
  // Requests with no answer yet are asked again (dropped for want of a
  // leader, or the leader changed).
  for (auto& [id, sent_at] : reads_in_flight_) {
    if (now - sent_at < kReadIndexRetry) continue;
    sent_at = now;
    raw_->ReadIndex(ReadContext(id));
  }
}

void RaftNode::NoteSoftState(const raft::SoftState& soft_state) {
  const uint64_t lead = soft_state.lead;
  if (lead == leader_) return;
  // etcd's raft.node lines, word for word: operators grep for "elected
  // leader" and "lost leader".
  const uint64_t term = raw_->Status().hard_state.term();
  std::string message;
  if (leader_ == 0) {
    message = absl::StrFormat("raft.node: %x elected leader %x at term %d", config_.id, lead, term);
  } else if (lead == 0) {
    message = absl::StrFormat("raft.node: %x lost leader %x at term %d", config_.id, leader_, term);
  } else {
    message = absl::StrFormat("raft.node: %x changed leader from %x to %x at term %d", config_.id,
                              leader_, lead, term);
  }
  env_.log().Info(message, {{"local-member-id", FormatId(config_.id)},
                            {"leader", FormatId(lead)},
                            {"term", term}});
  leader_ = lead;
  // A new term of leadership starts the detector afresh (etcd's td.Reset).
  last_heartbeat_sent_.clear();
  if (lead != 0) {
    metrics_.leader_changes_seen.Inc();
    leader_elected_at_ = env_.clock().Now();
  } else {
    leaderless_since_ = env_.clock().Now();
  }
  leader_changed_.WakeAll();
}

Task<absl::Status> RaftNode::HandleReady(raft::Ready ready) {
  if (ready.soft_state.has_value()) NoteSoftState(*ready.soft_state);
  if (ready.hard_state.has_value()) {
    KEEL_ASSERT(ready.hard_state->term() >= term_);
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
  const uint64_t term_before_save = term_;
  absl::Status saved = co_await log_->Save(ready);
  if (!saved.ok()) co_return saved;
  if (life_.stopping()) co_return absl::OkStatus();
  // Nothing else steps raft while a Ready is out.
  KEEL_ASSERT(term_ == term_before_save);
  // A leader's snapshot replaces the log; entries then follow it (or,
  // conflicting, replace a suffix).
  if (ready.snapshot.has_value()) persisted_index_ = ready.snapshot->metadata().index();
  if (!ready.entries.empty()) persisted_index_ = ready.entries.back().index();
  if (observer_ != nullptr) observer_->OnPersisted(ready);
  SendMessages(std::move(after_save));
  HandleReadStates(ready.read_states);
  if (ready.snapshot.has_value() || !ready.committed_entries.empty()) {
    // Raft hands out as committed only what this member holds durably.
    if (!ready.committed_entries.empty()) {
      KEEL_ASSERT(ready.committed_entries.back().index() <= persisted_index_);
      KEEL_ASSERT(ready.committed_entries.back().index() <= commit_index_);
    }
    apply_queue_.push_back(ApplyWork{std::move(ready.snapshot),
                                     std::move(ready.committed_entries)});
    apply_work_.Set();
  }
  raw_->Advance();
  co_return absl::OkStatus();
}

void RaftNode::SendMessages(std::vector<raft::Message> messages) {
  if (messages.empty()) return;
  KEEL_ASSERT(transport_ != nullptr);
  if (observer_ != nullptr) observer_->OnSending(messages);
  // A snapshot carries the whole state machine: it is written to a file and
  // streamed on a connection of its own (raft_node_snapshot.cc).
  std::vector<raft::Message> plain;
  plain.reserve(messages.size());
  for (raft::Message& message : messages) {
    if (message.type() == raftpb::MsgHeartbeat) NoteHeartbeatSent(message.to());
    if (message.type() == raftpb::MsgSnap) {
      snapshot_sends_.Start(SendSnapshot(std::move(message)));
    } else {
      plain.push_back(std::move(message));
    }
  }
  if (!plain.empty()) transport_->Send(std::move(plain));
}

void RaftNode::NoteHeartbeatAnswered(uint64_t from) {
  auto sent = last_heartbeat_sent_.find(from);
  if (sent == last_heartbeat_sent_.end()) return;
  auto [it, first] = metrics_.peer_round_trip_seconds.try_emplace(
      from, metrics::PeerRoundTripBuckets());
  it->second.ObserveDuration(env_.clock().Now() - sent->second);
}

void RaftNode::NoteHeartbeatSent(uint64_t to) {
  const TimePoint now = env_.clock().Now();
  auto [it, first] = last_heartbeat_sent_.try_emplace(to, now);
  if (first) return;
  const Duration since = now - it->second;
  it->second = now;
  const Duration allowed = Milliseconds(2 * config_.heartbeat_interval_ms);
  if (since <= allowed) return;
  metrics_.heartbeat_send_failures.Inc();
  auto text = [](Duration d) { return absl::FormatDuration(absl::Nanoseconds(d.count())); };
  // etcd's warning, word for word.
  env_.log().Warn("leader failed to send out heartbeat on time; took too long, leader is "
                  "overloaded likely from slow disk",
                  {{"to", FormatId(to)},
                   {"heartbeat-interval", text(Milliseconds(config_.heartbeat_interval_ms))},
                   {"expected-duration", text(allowed)},
                   {"exceeded-duration", text(since - allowed)}});
}

void RaftNode::HandleReadStates(const std::vector<raft::ReadState>& states) {
  for (const raft::ReadState& state : states) {
    std::optional<uint64_t> id = ParseReadContext(state.request_context);
    if (!id.has_value()) continue;
    auto it = reads_in_flight_.find(*id);
    if (it == reads_in_flight_.end()) continue;
    reads_in_flight_.erase(it);
    host_.ReadIndexAnswered(*id, state.index);
  }
}

// ---- the applier's side ----

Task<std::optional<ApplyWork>> RaftNode::NextApplyWork() {
  while (apply_queue_.empty()) {
    if (life_.stopping()) co_return std::nullopt;
    co_await apply_work_.Wait();
    apply_work_.Reset();
  }
  if (life_.stopping()) co_return std::nullopt;
  ApplyWork work = std::move(apply_queue_.front());
  apply_queue_.pop_front();
  co_return work;
}

void RaftNode::Applied(uint64_t index) {
  KEEL_ASSERT(index >= applied_index_);
  KEEL_ASSERT(index <= commit_index_);
  applied_index_ = index;
}

absl::StatusOr<raft::ConfState> RaftNode::ApplyConfChange(const raft::ConfChange& change,
                                                          uint64_t index) {
  return ApplyConfChange(raft::AsV2(change), index);
}

absl::StatusOr<raft::ConfState> RaftNode::ApplyConfChange(const raftpb::ConfChangeV2& change,
                                                          uint64_t index) {
  KEEL_ASSERT(index > applied_index_);
  absl::StatusOr<raft::ConfState> state = raw_->ApplyConfChange(change);
  if (state.ok()) NoteConfState(*state, index);
  Applied(index);
  return state;
}

void RaftNode::NoteConfState(const raft::ConfState& state, uint64_t index) {
  KEEL_ASSERT(index > snapshot_index_);
  conf_state_ = state;
  conf_history_[index] = state;
  Wake();
}

void RaftNode::SnapshotInstalled(const raftpb::SnapshotMetadata& metadata) {
  KEEL_ASSERT(metadata.index() >= snapshot_index_);
  KEEL_ASSERT(metadata.index() > applied_index_);
  conf_state_ = metadata.conf_state();
  conf_history_.clear();
  snapshot_conf_state_ = metadata.conf_state();
  snapshot_index_ = metadata.index();
  applied_index_ = metadata.index();
}

}  // namespace keel::node
