// RaftMember: recovery, the Ready loop, ticks, the client and applying.
#include "sim/scenarios/raft_member.h"

#include <algorithm>
#include <utility>


#include "raft/describe.h"
#include "runtime/assert.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::sim {
namespace {

constexpr std::string_view kLogDir = "raft";
constexpr std::string_view kStateMagic = "keel-raft-state v1";
// A snapshot's data is a few lines per member; a MsgSnap frame carries it
// whole, so it must stay far below the transport's frame limit.
constexpr size_t kMaxSnapshotDataBytes = 64 << 10;
static_assert(2 * kMaxSnapshotDataBytes < kMaxRaftFrameBytes);

// A state machine decoded from snapshot data.
struct MemberState {
  uint64_t applied = 0;
  uint64_t hash = 0;
  std::map<uint64_t, std::string> peers;
  std::set<uint64_t> removed;
};

// `text` cut at each `separator`, empty pieces left out.
std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t end = std::min(text.find(separator), text.size());
    if (end > 0) out.push_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return out;
}

// Parses EncodeState's lines; false if they do not make one.
bool DecodeState(std::string_view data, MemberState* out) {
  const std::vector<std::string_view> lines = Split(data, '\n');
  if (lines.empty() || lines[0] != kStateMagic) return false;
  bool applied = false;
  bool hash = false;
  for (size_t i = 1; i < lines.size(); i++) {
    const std::vector<std::string_view> words = Split(lines[i], ' ');
    uint64_t value = 0;
    if (words.size() < 2 || !ParseInt(words[1], &value)) return false;
    if (words[0] == "applied") {
      out->applied = value;
      applied = true;
    } else if (words[0] == "hash") {
      out->hash = value;
      hash = true;
    } else if (words[0] == "peer" && words.size() == 3) {
      out->peers[value] = std::string(words[2]);
    } else if (words[0] == "removed") {
      out->removed.insert(value);
    } else {
      return false;
    }
  }
  return applied && hash;
}

Duration Between(Random& random, Duration min, Duration max) {
  if (max <= min) return min;
  return min + Duration(static_cast<int64_t>(
                   random.Uniform(static_cast<uint64_t>((max - min).count()) + 1)));
}

}  // namespace

RaftMember::RaftMember(Env& env, RaftCluster& cluster, std::string name,
                       uint64_t incarnation, RaftMemberFlags flags)
    : env_(env),
      cluster_(cluster),
      name_(std::move(name)),
      incarnation_(incarnation),
      flags_(std::move(flags)),
      random_(env.random().Next()),
      raft_sink_(env.log()),
      raft_logger_(&raft_sink_, LogLevel::kInfo) {
  KEEL_ASSERT(flags_.id != raft::kNone);
  KEEL_ASSERT(!flags_.address.empty());
}

void RaftMember::RaftLogSink::Write(const LogRecord& record) {
  if (record.message.find("ignored a Msg") != std::string_view::npos ||
      record.message.find("dropping proposal") != std::string_view::npos) {
    return;
  }
  out_.Log(record.level, record.message, {}, record.location);
}

RaftMember::~RaftMember() {
  if (node_ != nullptr) cluster_.checker.Detach(flags_.id);
}

Task<void> RaftMember::Run() {
  const absl::Status started = co_await Start();
  if (!started.ok()) {
    stop_reason_ = started.ToString();
    env_.log().Error("member cannot start", {{"error", stop_reason_}});
    co_return;
  }
  env_.Spawn(Ticker());
  env_.Spawn(Client());
  co_await ReadyLoop();
}

Task<absl::Status> RaftMember::Start() {
  RecoveredRaftLog recovered;
  absl::StatusOr<std::unique_ptr<RaftLogFile>> log =
      co_await RaftLogFile::Open(env_, std::string(kLogDir), &recovered);
  if (!log.ok()) {
    refused_ = absl::IsDataLoss(log.status());
    co_return log.status();
  }
  log_ = std::move(*log);
  cluster_.stats.recoveries++;
  if (recovered.torn_tail()) cluster_.stats.torn_tails++;
  env_.log().Info("raft log recovered",
                  {{"entries", recovered.entries.size()},
                   {"hard_state", raft::DescribeHardState(recovered.hard_state)},
                   {"torn_bytes", recovered.file_bytes - recovered.valid_bytes}});
  if (recovered.member_id != 0 && recovered.member_id != flags_.id) {
    refused_ = true;
    co_return absl::FailedPreconditionError(
        StrCat("the log belongs to member ", recovered.member_id, ", not ", flags_.id));
  }
  cluster_.checker.OnRecovered(flags_.id, recovered);
  member_id_written_ = recovered.member_id != 0;
  const raftpb::Snapshot& snapshot = recovered.snapshot;
  if (snapshot.metadata().index() != 0) {
    const absl::Status restored = storage_.ApplySnapshot(snapshot);
    KEEL_ASSERT_MSG(restored.ok(), "a recovered snapshot on an empty storage");
  }
  const absl::Status loaded = storage_.Append(recovered.entries);
  KEEL_ASSERT_MSG(loaded.ok(), "recovered entries follow the recovered snapshot");
  storage_.SetHardState(recovered.hard_state);
  const RaftTuning& tuning = cluster_.tuning;
  config_ = std::make_unique<raft::Config>(raft::Config{
      .id = flags_.id,
      .storage = storage_,
      .random = random_,
      .election_ticks = tuning.election_ticks,
      .heartbeat_ticks = tuning.heartbeat_ticks,
      .max_size_per_msg = tuning.max_size_per_msg,
      .max_inflight_msgs = tuning.max_inflight_msgs,
      .max_inflight_bytes = tuning.max_inflight_bytes,
      .pre_vote = tuning.pre_vote,
      .check_quorum = tuning.check_quorum,
      .logger = &raft_logger_,
      .bugs = tuning.bugs,
  });
  absl::StatusOr<std::unique_ptr<raft::RawNode>> node = raft::RawNode::Create(*config_);
  KEEL_ASSERT(node.ok());
  node_ = std::move(*node);
  const bool empty = snapshot.metadata().index() == 0 && recovered.entries.empty() &&
                     raft::IsEmptyHardState(recovered.hard_state);
  if (flags_.initial && empty) {
    const absl::Status bootstrapped = node_->Bootstrap(flags_.initial_peers);
    KEEL_ASSERT_MSG(bootstrapped.ok(), "bootstrap of an empty log");
    env_.log().Info("bootstrapped", {{"peers", flags_.initial_peers.size()}});
  }
  cluster_.checker.Attach(flags_.id, node_.get());
  transport_ = std::make_unique<RaftTransport>(
      env_, flags_.id,
      RaftTransport::Callbacks{
          .deliver = [this](raftpb::Message m) { Deliver(std::move(m)); },
          .unreachable = [this](uint64_t id) { node_->ReportUnreachable(id); },
          .snapshot_status =
              [this](uint64_t id, bool ok) {
                if (ok) cluster_.stats.snapshots_sent++;
                node_->ReportSnapshot(id, ok);
                Poke();
              }});
  for (const raft::Peer& peer : flags_.initial_peers) {
    peer_addresses_[peer.id] = peer.context;
    transport_->SetPeer(peer.id, peer.context);
  }
  // The state machine starts from the newest snapshot; raft hands out the
  // entries after it.
  if (snapshot.metadata().index() != 0) InstallSnapshot(snapshot);
  co_return transport_->Listen(flags_.address);
}

void RaftMember::Poke() {
  const raft::Raft& raft = node_->raft();
  cluster_.checker.ObserveRole(flags_.id, raft);
  ready_.Set();
  if (raft.state() == raft::StateType::kLeader && raft.term() != led_term_) {
    led_term_ = raft.term();
    if (cluster_.on_elected) cluster_.on_elected(*this);
  }
}

void RaftMember::Deliver(raftpb::Message message) {
  // etcd's transport rejects messages from removed members.
  if (removed_ids_.contains(message.from())) return;
  (void)node_->Step(std::move(message));
  Poke();
}

Task<void> RaftMember::ReadyLoop() {
  while (true) {
    if (!node_->HasReady()) {
      ready_.Reset();
      co_await ready_.Wait();
      continue;
    }
    raft::Ready rd = node_->Ready();
    cluster_.checker.ObserveRole(flags_.id, node_->raft());
    // 0. A leader sends its appends and heartbeats before it persists (as
    //    keel's server and etcd do), so its fsync overlaps its followers'.
    std::vector<raftpb::Message> after_persist;
    if (node_->raft().state() == raft::StateType::kLeader) {
      std::vector<raftpb::Message> early;
      for (raftpb::Message& message : rd.messages) {
        const bool append = message.type() == raftpb::MsgApp ||
                            message.type() == raftpb::MsgHeartbeat;
        (append ? early : after_persist).push_back(std::move(message));
      }
      cluster_.checker.OnSending(flags_.id, early);
      for (raftpb::Message& message : early) transport_->Send(std::move(message));
      for (const auto& [id, pr] : node_->raft().tracker().progress) {
        const raft::Inflights& window = pr.inflights;
        if (window.max_bytes() != 0 && window.bytes() >= window.max_bytes() &&
            window.Count() < window.max_count()) {
          cluster_.stats.byte_pauses++;
          break;
        }
      }
    } else {
      after_persist = std::move(rd.messages);
    }
    // 1. Persist.
    const absl::Status persisted = co_await Persist(rd);
    if (!persisted.ok()) {
      stop_reason_ = std::string(persisted.message());
      break;
    }
    const raftpb::Snapshot* snapshot = rd.snapshot.has_value() ? &*rd.snapshot : nullptr;
    // 2. Send the rest, only now that what they promise is durable.
    cluster_.checker.OnSending(flags_.id, after_persist);
    for (raftpb::Message& message : after_persist) transport_->Send(std::move(message));
    // 3. Apply.
    if (!rd.committed_entries.empty() && Buggify()) {
      co_await env_.clock().Sleep(Microseconds(random_.Uniform(50'000)));
    }
    if (snapshot != nullptr) {
      InstallSnapshot(*snapshot);
      cluster_.stats.snapshots_installed++;
    }
    for (const raftpb::Entry& entry : rd.committed_entries) Apply(entry);
    for (raft::ReadState& read : rd.read_states) waiting_reads_.push_back(std::move(read));
    ServeReads();
    const absl::Status snapshotted = co_await MaybeSnapshot();
    if (!snapshotted.ok()) {
      stop_reason_ = StrCat("raft log snapshot failed: ", snapshotted.ToString());
      break;
    }
    // 4. Advance.
    node_->Advance();
    Poke();
    if (removed_) {
      stop_reason_ = "removed from the cluster";
      cluster_.stats.removed_stops++;
      break;
    }
  }
  if (!removed_) {
    cluster_.stats.disk_stops++;
    env_.log().Error("member stops", {{"reason", stop_reason_}});
  }
}

Task<absl::Status> RaftMember::Persist(const raft::Ready& rd) {
  const raftpb::HardState* hard_state = rd.hard_state.has_value() ? &*rd.hard_state : nullptr;
  const raftpb::Snapshot* snapshot = rd.snapshot.has_value() ? &*rd.snapshot : nullptr;
  auto failed = [](std::string_view what, const absl::Status& status) {
    return absl::Status(status.code(), StrCat("raft log ", what, " failed: ", status.ToString()));
  };
  if (snapshot != nullptr) {
    const absl::Status written = log_->WriteSnapshot(*snapshot);
    if (!written.ok()) co_return failed("write", written);
  }
  if (!rd.entries.empty() || hard_state != nullptr) {
    const absl::Status written =
        log_->Write(member_id_written_ ? 0 : flags_.id, rd.entries, hard_state);
    if (!written.ok()) co_return failed("write", written);
    member_id_written_ = true;
    if (Buggify()) {
      co_await env_.clock().Sleep(Microseconds(random_.Uniform(20'000)));
    }
  }
  const bool sync = rd.must_sync || snapshot != nullptr;
  if (sync) {
    const absl::Status synced = co_await log_->Sync();
    if (!synced.ok()) co_return failed("fsync", synced);
  }
  if (snapshot != nullptr) {
    cluster_.checker.OnSnapshotPersisted(flags_.id, snapshot->metadata());
    const absl::Status stored = storage_.ApplySnapshot(*snapshot);
    KEEL_ASSERT_MSG(stored.ok(), "raft hands out only snapshots newer than the log's");
  }
  cluster_.checker.OnPersisted(flags_.id, rd.entries, hard_state, sync);
  if (!rd.entries.empty()) {
    const absl::Status stored = storage_.Append(rd.entries);
    KEEL_ASSERT_MSG(stored.ok(), "Ready entries follow the stored log");
  }
  if (hard_state != nullptr) storage_.SetHardState(*hard_state);
  co_return absl::OkStatus();
}

void RaftMember::Apply(const raftpb::Entry& entry) {
  cluster_.checker.OnApplied(flags_.id, incarnation_, entry);
  KEEL_ASSERT(entry.index() == applied_ + 1);
  applied_ = entry.index();
  previous_state_hash_ = state_hash_;
  state_hash_ = MixRaftState(state_hash_, entry);
  if (entry.type() == raftpb::EntryConfChange ||
      entry.type() == raftpb::EntryConfChangeV2) {
    ApplyConfChange(entry);
    return;
  }
  KEEL_ASSERT(entry.type() == raftpb::EntryNormal);
  // A proposal of this incarnation's client: "p/<name>/<incarnation>/<seq>/".
  const std::string prefix = StrCat("p/", name_, "/", incarnation_, "/");
  const std::string_view data = entry.data();
  if (data.substr(0, prefix.size()) != prefix) return;
  const std::string_view rest = data.substr(prefix.size());
  uint64_t seq = 0;
  if (!ParseInt(rest.substr(0, rest.find('/')), &seq)) return;
  if (outstanding_.erase(seq) > 0) {
    cluster_.stats.acknowledged++;
    cluster_.checker.OnAcknowledged(entry.index());
  }
}

void RaftMember::ServeReads() {
  std::erase_if(waiting_reads_, [this](const raft::ReadState& read) {
    if (read.index > applied_) return false;
    cluster_.checker.OnReadAnswered(flags_.id, read.request_context, read.index);
    return true;
  });
}

void RaftMember::ApplyConfChange(const raftpb::Entry& entry) {
  // The operator proposes single changes (ConfChange, carrying the new
  // member's address as etcd does); raft itself may append a V2 change to
  // leave a joint configuration.
  raft::ConfChangeV2 change;
  absl::StatusOr<raft::ConfState> state;
  if (entry.type() == raftpb::EntryConfChange) {
    raft::ConfChange single;
    const bool parsed = single.ParseFromString(entry.data());
    KEEL_ASSERT_MSG(parsed, "a committed ConfChange decodes");
    state = node_->ApplyConfChange(single);
    raft::ConfChangeSingle* only = change.add_changes();
    only->set_type(single.type());
    only->set_node_id(single.node_id());
    change.set_context(single.context());
  } else {
    const bool parsed = change.ParseFromString(entry.data());
    KEEL_ASSERT_MSG(parsed, "a committed ConfChangeV2 decodes");
    state = node_->ApplyConfChange(change);
  }
  if (!state.ok()) {
    // Every member reaches the same verdict: the entry is a no-op.
    env_.log().Info("configuration change refused",
                    {{"index", entry.index()}, {"error", state.status().ToString()}});
    return;
  }
  cluster_.stats.conf_changes_applied++;
  conf_state_ = *state;
  // raft refuses a snapshot whose configuration lacks the member it is
  // sent to, so a member added after the last snapshot could never catch
  // up by one: the next snapshot is taken now, with it.
  snapshot_due_ = true;
  for (const raft::ConfChangeSingle& single : change.changes()) {
    const uint64_t id = single.node_id();
    switch (single.type()) {
      case raftpb::ConfChangeAddNode:
      case raftpb::ConfChangeAddLearnerNode:
        if (!change.context().empty()) peer_addresses_[id] = change.context();
        if (id != flags_.id) transport_->SetPeer(id, change.context());
        break;
      case raftpb::ConfChangeRemoveNode:
        removed_ids_.insert(id);
        peer_addresses_.erase(id);
        transport_->RemovePeer(id);
        if (id == flags_.id) removed_ = true;
        break;
      default:
        break;
    }
  }
}

std::string RaftMember::EncodeState(uint64_t index, uint64_t hash) const {
  std::string out = StrCat(kStateMagic, "\napplied ", index, "\nhash ", hash, "\n");
  for (const auto& [id, address] : peer_addresses_) {
    StrAppend(&out, "peer ", id, " ", address, "\n");
  }
  for (uint64_t id : removed_ids_) StrAppend(&out, "removed ", id, "\n");
  return out;
}

void RaftMember::InstallSnapshot(const raftpb::Snapshot& snapshot) {
  MemberState state;
  const bool decoded = DecodeState(snapshot.data(), &state);
  KEEL_ASSERT_MSG(decoded, "snapshot data is a member's state");
  const raftpb::SnapshotMetadata& metadata = snapshot.metadata();
  cluster_.checker.OnSnapshotInstalled(flags_.id, incarnation_, metadata, state.applied,
                                       state.hash);
  KEEL_ASSERT(metadata.index() > applied_);
  // Raft applies from the metadata's index on, whatever the data says.
  applied_ = metadata.index();
  state_hash_ = state.hash;
  previous_state_hash_ = state.hash;
  snapshot_index_ = metadata.index();
  conf_state_ = metadata.conf_state();
  peer_addresses_ = std::move(state.peers);
  for (const auto& [id, address] : peer_addresses_) transport_->SetPeer(id, address);
  for (uint64_t id : state.removed) {
    removed_ids_.insert(id);
    transport_->RemovePeer(id);
    if (id == flags_.id) removed_ = true;
  }
}

Task<absl::Status> RaftMember::MaybeSnapshot() {
  const RaftTuning& tuning = cluster_.tuning;
  if (tuning.snapshot_every == 0 || applied_ == snapshot_index_) co_return absl::OkStatus();
  if (!snapshot_due_ && applied_ < snapshot_index_ + tuning.snapshot_every) {
    co_return absl::OkStatus();
  }
  snapshot_due_ = false;
  // The deliberate bug: the data holds the state one entry short of the
  // index the metadata claims.
  const bool stale = tuning.stale_snapshot && applied_ > 1;
  const uint64_t state_index = stale ? applied_ - 1 : applied_;
  const uint64_t state_hash = stale ? previous_state_hash_ : state_hash_;
  std::string data = EncodeState(state_index, state_hash);
  KEEL_ASSERT(data.size() <= kMaxSnapshotDataBytes);
  absl::StatusOr<raftpb::Snapshot> snapshot =
      storage_.CreateSnapshot(applied_, &conf_state_, std::move(data));
  KEEL_ASSERT_MSG(snapshot.ok(), "the applied index is stored and newer than the snapshot");
  cluster_.checker.OnSnapshotTaken(flags_.id, snapshot->metadata(), state_index,
                                   state_hash);
  snapshot_index_ = applied_;
  cluster_.stats.snapshots_taken++;
  // Durable before any entry it covers may go: the log file drops them on
  // its next rewrite.
  KEEL_CO_RETURN_IF_ERROR(log_->WriteSnapshot(*snapshot));
  KEEL_CO_RETURN_IF_ERROR(co_await log_->Sync());
  const uint64_t compact = applied_ > tuning.snapshot_keep_entries
                               ? applied_ - tuning.snapshot_keep_entries
                               : 0;
  absl::StatusOr<uint64_t> first = storage_.FirstIndex();
  KEEL_ASSERT(first.ok());
  if (compact >= *first) {
    const absl::Status compacted = storage_.Compact(compact);
    KEEL_ASSERT_MSG(compacted.ok(), "compacting applied entries");
  }
  const uint64_t shrinks = log_->shrinks();
  KEEL_CO_RETURN_IF_ERROR(co_await log_->MaybeShrink());
  cluster_.stats.log_shrinks += log_->shrinks() - shrinks;
  co_return absl::OkStatus();
}

Task<void> RaftMember::Ticker() {
  while (true) {
    co_await env_.clock().Sleep(cluster_.tuning.tick_interval);
    node_->Tick();
    Poke();
  }
}

Task<void> RaftMember::Client() {
  const RaftTuning& tuning = cluster_.tuning;
  while (true) {
    co_await env_.clock().Sleep(Between(random_, tuning.propose_interval_min,
                                        tuning.propose_interval_max));
    if (!cluster_.clients_enabled || removed_) continue;
    const TimePoint now = env_.clock().Now();
    std::erase_if(outstanding_, [&](const auto& proposal) {
      return now - proposal.second > tuning.proposal_timeout;
    });
    for (size_t i = 0; i < tuning.proposals_per_wake; i++) {
      if (outstanding_.size() >= tuning.max_outstanding) break;
      const uint64_t seq = ++next_proposal_;
      std::string data = StrCat("p/", name_, "/", incarnation_, "/", seq, "/");
      const size_t filler = random_.Uniform(Buggify() ? 8192 : 128);
      for (size_t j = 0; j < filler; j++) data.push_back(static_cast<char>('a' + j % 26));
      if (!node_->Propose(std::move(data)).ok()) break;
      outstanding_[seq] = now;
      cluster_.stats.proposed++;
    }
    if (tuning.read_every != 0 && ++wakes_ % tuning.read_every == 0) {
      std::string context = StrCat("r/", name_, "/", incarnation_, "/", ++next_read_);
      cluster_.checker.OnReadIssued(context);
      node_->ReadIndex(std::move(context));
      cluster_.stats.reads++;
    }
    Poke();
  }
}

void RaftMember::TransferLeader(uint64_t transferee) {
  if (node_ == nullptr) return;
  node_->TransferLeader(transferee);
  Poke();
}

absl::Status RaftMember::ProposeConfChange(const raft::ConfChange& change) {
  if (node_ == nullptr) return absl::UnavailableError("not started");
  const absl::Status proposed = node_->ProposeConfChange(change);
  Poke();
  return proposed;
}

absl::Status RaftMember::Propose(std::string data) {
  if (node_ == nullptr) return absl::UnavailableError("not started");
  const absl::Status proposed = node_->Propose(std::move(data));
  Poke();
  return proposed;
}

}  // namespace keel::sim
