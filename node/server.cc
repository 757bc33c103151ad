// Server: opening and bootstrapping a member, starting and stopping its
// loops, and the state readers ask for. The loops themselves are in
// server_raft.cc and server_apply.cc; the KV requests in server_kv.cc.
#include "node/server.h"

#include <utility>

#include "node/errors.h"
#include "node/membership.h"
#include "raft/errors.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

Server::Server(Env& env, ServerConfig config, StorageOptions storage)
    : env_(env), config_(std::move(config)), storage_options_(std::move(storage)) {}

Server::~Server() = default;

absl::StatusOr<std::unique_ptr<Server>> Server::Open(
    Env& env, ServerConfig config, StorageOptions storage,
    std::unique_ptr<LogStore> log_store) {
  KEEL_RETURN_IF_ERROR(config.Validate());
  KEEL_ASSERT(log_store != nullptr);
  std::unique_ptr<Server> server(
      new Server(env, std::move(config), std::move(storage)));
  KEEL_RETURN_IF_ERROR(server->Init(std::move(log_store)));
  return server;
}

Duration Server::request_timeout() const {
  // etcd's ReqTimeout: 5 s plus two election timeouts.
  return Seconds(5) + Milliseconds(2 * config_.election_timeout_ms);
}

absl::Status Server::Init(std::unique_ptr<LogStore> log_store) {
  log_store_ = std::move(log_store);
  const std::string member_dir = JoinPath(config_.DataDir(), "member");
  KEEL_RETURN_IF_ERROR(CreateDirs(env_.fs(), member_dir));

  store::MvccOptions mvcc_options;
  mvcc_options.path = JoinPath(member_dir, "kv");
  mvcc_options.env = storage_options_.leveldb_env;
  mvcc_options.after_db_call = storage_options_.after_db_call;
  mvcc_options.write_buffer_bytes = storage_options_.leveldb_write_buffer_bytes;
  mvcc_options.compaction_batch_limit = static_cast<int>(config_.compaction_batch_limit);
  KEEL_ASSIGN_OR_RETURN(mvcc_, store::Mvcc::Open(std::move(mvcc_options)));
  members_ = std::make_unique<MemberStore>(*mvcc_->db());
  KEEL_RETURN_IF_ERROR(members_->Load());
  KEEL_RETURN_IF_ERROR(InitLessor());

  raft::Storage& storage = log_store_->storage();
  KEEL_ASSIGN_OR_RETURN(raft::InitialState initial, storage.GetInitialState());
  KEEL_ASSIGN_OR_RETURN(uint64_t last_index, storage.LastIndex());
  KEEL_ASSIGN_OR_RETURN(uint64_t first_index, storage.FirstIndex());
  const bool log_empty = last_index == 0 && initial.hard_state.term() == 0;
  const bool have_identity = members_->local_id().has_value();
  if (log_empty && have_identity) {
    return absl::DataLossError(StrCat(
        "member data in ", config_.DataDir(),
        " has a key space but no raft log: refusing to start on partial data"));
  }
  if (!log_empty && !have_identity) {
    return absl::DataLossError(StrCat(
        "member data in ", config_.DataDir(),
        " has a raft log but no cluster identity: refusing to start"));
  }

  bool bootstrap = false;
  if (have_identity) {
    id_ = *members_->local_id();
    cluster_id_ = *members_->cluster_id();
    env_.log().Info("restarting member",
                    {{"local-member-id", FormatId(id_)},
                     {"cluster-id", FormatId(cluster_id_)},
                     {"commit-index", initial.hard_state.commit()}});
  } else {
    if (config_.initial_cluster_state == "existing") {
      return absl::UnimplementedError(
          "--initial-cluster-state=existing: joining a running cluster needs "
          "runtime membership, which keel does not have yet");
    }
    KEEL_ASSIGN_OR_RETURN(std::vector<Member> initial_members,
                          BootstrapMembers(config_));
    std::vector<uint64_t> ids;
    for (const Member& m : initial_members) {
      ids.push_back(m.id);
      if (m.name == config_.name) id_ = m.id;
    }
    KEEL_ASSERT(id_ != 0);
    cluster_id_ = ComputeClusterId(ids);
    KEEL_RETURN_IF_ERROR(members_->SetIdentity(cluster_id_, id_));
    bootstrap = true;
  }

  conf_state_ = initial.conf_state;
  snapshot_conf_state_ = initial.conf_state;
  snapshot_index_ = first_index - 1;
  applied_index_ = mvcc_->applied().index;
  term_ = initial.hard_state.term();
  commit_index_ = initial.hard_state.commit();
  if (applied_index_ > last_index) {
    return absl::DataLossError(StrCat(
        "member data in ", config_.DataDir(), " has applied index ",
        applied_index_, " beyond the raft log's last index ", last_index));
  }

  raft::Config raft_config{
      .id = id_,
      .storage = storage,
      .random = env_.random(),
  };
  raft_config.election_ticks = static_cast<int>(
      config_.election_timeout_ms / config_.heartbeat_interval_ms);
  raft_config.heartbeat_ticks = 1;
  // Entries at or below the snapshot are in the key space; everything after
  // is handed out again and the applier skips what the Mvcc already holds
  // (conf changes are re-applied to raft, which rebuilt its configuration
  // from the snapshot).
  raft_config.applied = snapshot_index_;
  raft_config.max_size_per_msg = 1024 * 1024;
  raft_config.max_inflight_msgs = 512;
  raft_config.max_uncommitted_entries_size = 1u << 30;
  raft_config.pre_vote = config_.pre_vote;
  raft_config.check_quorum = true;
  KEEL_ASSIGN_OR_RETURN(raw_, raft::RawNode::Create(raft_config));
  if (bootstrap) KEEL_RETURN_IF_ERROR(Bootstrap());
  return absl::OkStatus();
}

absl::Status Server::Bootstrap() {
  KEEL_ASSIGN_OR_RETURN(std::vector<Member> initial_members,
                        BootstrapMembers(config_));
  std::vector<raft::Peer> peers;
  for (const Member& m : initial_members) {
    internal::ConfChangeMember context;
    context.set_id(m.id);
    for (const auto& url : m.peer_urls) context.add_peer_urls(url);
    context.set_name(m.name);
    peers.push_back(raft::Peer{.id = m.id, .context = context.SerializeAsString()});
  }
  env_.log().Info("starting a new cluster",
                  {{"local-member-id", FormatId(id_)},
                   {"cluster-id", FormatId(cluster_id_)},
                   {"members", static_cast<int64_t>(peers.size())}});
  return raw_->Bootstrap(peers);
}

void Server::Start() {
  KEEL_ASSERT(loops_running_ == 0);
  // etcd fast-forwards the election clock at boot, so a fresh cluster
  // elects a leader after one timeout instead of up to two.
  if (config_.initial_election_tick_advance) {
    const int64_t ticks = config_.election_timeout_ms / config_.heartbeat_interval_ms;
    const int64_t advance = conf_state_.voters_size() <= 1 ? ticks - 1 : ticks - 2;
    for (int64_t i = 0; i < advance; i++) raw_->Tick();
  }
  env_.Spawn(TickLoop());
  env_.Spawn(RaftLoop());
  env_.Spawn(ApplyLoop());
  env_.Spawn(CompactLoop());
  env_.Spawn(LeaseLoop());
  work_.Set();
  compact_work_.Set();
}

Task<void> Server::Stop() {
  if (stopping_) {
    co_await stopped_.Wait();
    co_return;
  }
  stopping_ = true;
  lease_stop_.Set();
  co_await gate_.Close();
  waiters_.FailAll(MakeError(EtcdError::kStopped));
  FailReads(MakeError(EtcdError::kStopped));
  work_.Set();
  apply_work_.Set();
  compact_work_.Set();
  while (loops_running_ > 0) co_await loop_exited_.Wait();
  absl::Status synced = mvcc_->SyncBarrier();
  if (!synced.ok()) {
    env_.log().Warn("failed to sync the key space at stop",
                    {{"error", synced.ToString()}});
  }
  stopped_.Set();
}

void Server::Fail(absl::Status status) {
  KEEL_ASSERT(!status.ok());
  if (!fatal_.ok()) return;
  fatal_ = status;
  env_.log().Error("member stopped on a fatal error", {{"error", status.ToString()}});
  stopping_ = true;
  lease_stop_.Set();
  waiters_.FailAll(MakeError(EtcdError::kStopped));
  FailReads(MakeError(EtcdError::kStopped));
  work_.Set();
  apply_work_.Set();
  compact_work_.Set();
  applied_changed_.WakeAll();
  stopped_.Set();
}

void Server::ReceiveMessage(raft::Message message) {
  if (stopping_) return;
  inbox_.push_back(std::move(message));
  work_.Set();
}

void Server::ReportUnreachable(uint64_t peer) {
  raw_->ReportUnreachable(peer);
  work_.Set();
}

void Server::ReportSnapshot(uint64_t peer, bool ok) {
  raw_->ReportSnapshot(peer, ok);
  work_.Set();
}

etcdserverpb::ResponseHeader Server::Header(int64_t revision) const {
  etcdserverpb::ResponseHeader header;
  header.set_cluster_id(cluster_id_);
  header.set_member_id(id_);
  header.set_revision(revision != 0 ? revision : mvcc_->current_revision());
  header.set_raft_term(term_);
  return header;
}

ServerStatus Server::GetStatus() const {
  ServerStatus status;
  status.member_id = id_;
  status.cluster_id = cluster_id_;
  status.leader = leader_;
  status.term = term_;
  status.commit_index = commit_index_;
  status.applied_index = applied_index_;
  status.revision = mvcc_->current_revision();
  if (const Member* self = members_->Find(id_)) status.is_learner = self->is_learner;
  return status;
}

Task<void> Server::WaitApplied(uint64_t index) {
  while (applied_index_ < index && !stopping_) co_await applied_changed_.Wait();
}

}  // namespace keel::node
