// Server: opening and bootstrapping a member, starting and stopping its
// loops, and the state readers ask for. The loops themselves are in
// server_raft.cc and server_apply.cc; the KV requests in server_kv.cc.
#include "node/server.h"

#include <utility>

#include "node/errors.h"
#include "node/membership.h"
#include "node/snapshot_io.h"
#include "node/wal_log_store.h"
#include "raft/errors.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

Server::Server(Env& env, ServerConfig config, StorageOptions storage)
    : env_(env),
      config_(std::move(config)),
      storage_options_(std::move(storage)),
      snapshot_sends_(env.process().executor()) {}

Server::~Server() {
  // A kill: the process is gone, so LevelDB must not write its teardown.
  if (!stopped_cleanly_ && leveldb_env_ != nullptr) leveldb_env_->Abandon();
  snapshot_sends_.CancelAll();
  transport_.reset();
  if (mvcc_ != nullptr) mvcc_->SetListener(nullptr);
  watch_hub_.reset();
  mvcc_.reset();
}

Task<absl::StatusOr<std::unique_ptr<Server>>> Server::Open(
    Env& env, ServerConfig config, StorageOptions storage) {
  absl::Status valid = config.Validate();
  if (!valid.ok()) co_return valid;
  std::unique_ptr<Server> server(
      new Server(env, std::move(config), std::move(storage)));
  absl::Status status = server->OpenKeySpace();
  if (!status.ok()) co_return status;
  bool bootstrap = false;
  status = server->DecideIdentity(&bootstrap);
  if (!status.ok()) co_return status;
  status = co_await server->OpenLog(bootstrap);
  if (!status.ok()) co_return status;
  status = server->StartRaft(bootstrap);
  if (!status.ok()) co_return status;
  co_return server;
}

Duration Server::request_timeout() const {
  // etcd's ReqTimeout: 5 s plus two election timeouts.
  return Seconds(5) + Milliseconds(2 * config_.election_timeout_ms);
}

store::MvccOptions Server::KeySpaceOptions(std::string path) const {
  store::MvccOptions options;
  options.path = std::move(path);
  if (storage_options_.leveldb_env_override != nullptr) {
    options.env = storage_options_.leveldb_env_override;
  } else {
    options.env = leveldb_env_.get();
    if (storage_options_.leveldb_background == store::LevelDbBackground::kQueue) {
      store::LevelDbEnv* leveldb_env = leveldb_env_.get();
      options.after_db_call = [leveldb_env] { leveldb_env->RunPending(); };
    }
  }
  options.write_buffer_bytes = storage_options_.leveldb_write_buffer_bytes;
  options.compaction_batch_limit = static_cast<int>(config_.compaction_batch_limit);
  return options;
}

absl::Status Server::OpenKeySpace() {
  KEEL_RETURN_IF_ERROR(CreateDirs(env_.fs(), SnapDir()));
  if (storage_options_.leveldb_env_override == nullptr) {
    leveldb_env_ = std::make_unique<store::LevelDbEnv>(
        env_.fs(), env_.clock(), env_.log(), storage_options_.leveldb_background);
  }
  KEEL_RETURN_IF_ERROR(RecoverKeySpaceSwap(env_.fs(), KeySpaceDir()));
  KEEL_ASSIGN_OR_RETURN(mvcc_, store::Mvcc::Open(KeySpaceOptions(KeySpaceDir())));
  watch_hub_ = std::make_unique<WatchHub>(mvcc_.get());
  mvcc_->SetListener(watch_hub_.get());
  members_ = std::make_unique<MemberStore>(*mvcc_->db());
  KEEL_RETURN_IF_ERROR(members_->Load());
  return InitLessor();
}

absl::Status Server::DecideIdentity(bool* bootstrap) {
  if (members_->local_id().has_value()) {
    id_ = *members_->local_id();
    cluster_id_ = *members_->cluster_id();
    *bootstrap = false;
    return CheckStoredIdentity();
  }
  if (config_.initial_cluster_state == "existing") {
    return absl::UnimplementedError(
        "--initial-cluster-state=existing: joining a running cluster needs "
        "runtime membership, which keel does not have yet");
  }
  KEEL_ASSIGN_OR_RETURN(std::vector<Member> initial_members,
                        BootstrapMembers(config_));
  const BootstrapIds ids = IdsOf(initial_members, config_.name);
  KEEL_ASSERT(ids.member_id != 0);
  id_ = ids.member_id;
  cluster_id_ = ids.cluster_id;
  *bootstrap = true;
  return absl::OkStatus();
}

// A data dir belongs to the member that created it. etcd 3.4 (measured
// with 3.4.23) restarts from any member dir whatever --name says, and then
// publishes the new name for the old member ID: a data dir copied from
// another member or cluster comes up as that member under a new name. keel
// refuses a --name that differs from the local member's recorded name
// instead. --initial-cluster, --initial-cluster-token and
// --initial-cluster-state only bootstrap a new member, so on an existing
// data dir they are ignored, as etcd ignores them; a warning says so when
// they would have made another member or cluster.
absl::Status Server::CheckStoredIdentity() {
  const Member* self = members_->Find(id_);
  // No name yet: the member crashed before applying its bootstrap entries,
  // or was added at runtime and has not published one.
  if (self != nullptr && !self->name.empty() && self->name != config_.name) {
    return absl::FailedPreconditionError(StrCat(
        "--data-dir ", config_.DataDir(), " holds member \"", self->name, "\" (",
        FormatId(id_), " of cluster ", FormatId(cluster_id_), "), but --name is \"",
        config_.name, "\": a data dir belongs to the member that created it; start "
        "it with --name ", self->name, ", or give this member an empty --data-dir"));
  }
  auto flag_members = BootstrapMembers(config_);
  if (!flag_members.ok()) return absl::OkStatus();  // Validate() checked them
  const BootstrapIds flag_ids = IdsOf(*flag_members, config_.name);
  if (flag_ids.member_id != id_ || flag_ids.cluster_id != cluster_id_) {
    env_.log().Warn(
        "ignoring --initial-cluster and --initial-cluster-token: the data dir "
        "already holds a member, which they would not have bootstrapped",
        {{"data-dir", config_.DataDir()},
         {"local-member-id", FormatId(id_)},
         {"cluster-id", FormatId(cluster_id_)},
         {"flags-member-id", FormatId(flag_ids.member_id)},
         {"flags-cluster-id", FormatId(flag_ids.cluster_id)}});
  }
  return absl::OkStatus();
}

Task<absl::Status> Server::OpenLog(bool create) {
  if (storage_options_.open_log) {
    auto log = co_await storage_options_.open_log(env_, create, id_, cluster_id_);
    if (!log.ok()) co_return log.status();
    log_store_ = std::move(*log);
    co_return absl::OkStatus();
  }
  store::WalOptions options;
  options.dir = config_.WalDir();
  options.max_segments = static_cast<int>(config_.max_wals);
  const store::WalIdentity identity{.member_id = id_, .cluster_id = cluster_id_};
  const bool exists = store::Wal::Exists(env_.fs(), options.dir);
  if (!create && !exists) {
    co_return absl::DataLossError(StrCat(
        "member data in ", config_.DataDir(), " has a key space but no WAL in ",
        options.dir, ": refusing to start on partial data"));
  }
  // Not a ?: of two co_awaits: GCC 12 mishandles temporaries there.
  absl::StatusOr<std::unique_ptr<WalRaftStorage>> wal;
  if (exists) {
    wal = co_await WalRaftStorage::Open(env_, options, identity);
  } else {
    wal = co_await WalRaftStorage::Create(env_, options, identity,
                                          raftpb::ConfState());
  }
  if (!wal.ok()) co_return wal.status();
  log_store_ = std::make_unique<WalLogStore>(std::move(*wal), config_.unsafe_no_fsync);
  co_return absl::OkStatus();
}

absl::Status Server::StartRaft(bool bootstrap) {
  raft::Storage& storage = log_store_->storage();
  KEEL_ASSIGN_OR_RETURN(raft::InitialState initial, storage.GetInitialState());
  KEEL_ASSIGN_OR_RETURN(uint64_t last_index, storage.LastIndex());
  KEEL_ASSIGN_OR_RETURN(uint64_t first_index, storage.FirstIndex());
  const bool log_empty = last_index == 0 && initial.hard_state.term() == 0;
  if (bootstrap && !log_empty) {
    return absl::DataLossError(StrCat(
        "member data in ", config_.DataDir(),
        " has a raft log but no cluster identity: refusing to start"));
  }
  // A member whose log is still empty never got past its bootstrap (it
  // crashed before persisting the first Ready): bootstrap again, as etcd
  // does, rather than start raft on an empty configuration.
  if (log_empty && mvcc_->applied().index > 0) {
    return absl::DataLossError(StrCat(
        "member data in ", config_.DataDir(),
        " has an applied key space but an empty raft log: refusing to start"));
  }
  bootstrap = log_empty;
  if (bootstrap && !members_->local_id().has_value()) {
    // The identity is written once the WAL exists, so a crash in between
    // leaves a WAL with an empty log, which the line above handles.
    KEEL_RETURN_IF_ERROR(members_->SetIdentity(cluster_id_, id_));
  }
  env_.log().Info(bootstrap ? "starting a new member" : "restarting member",
                  {{"local-member-id", FormatId(id_)},
                   {"cluster-id", FormatId(cluster_id_)},
                   {"commit-index", initial.hard_state.commit()},
                   {"applied-index", mvcc_->applied().index}});

  // A snapshot the WAL recorded but the key space does not hold yet: the
  // member crashed between persisting a received snapshot and installing
  // it. Install it now, from the file kept for exactly this.
  if (first_index - 1 > mvcc_->applied().index) {
    KEEL_ASSIGN_OR_RETURN(raftpb::Snapshot snapshot, storage.Snapshot());
    KEEL_RETURN_IF_ERROR(InstallSnapshot(snapshot.metadata().index(),
                                         snapshot.metadata().term()));
  }
  conf_state_ = initial.conf_state;
  snapshot_conf_state_ = initial.conf_state;
  snapshot_index_ = first_index - 1;
  applied_index_ = mvcc_->applied().index;
  term_ = initial.hard_state.term();
  commit_index_ = initial.hard_state.commit();
  if (applied_index_ > last_index) {
    // A leader sends its whole key space with a raft snapshot, so a key
    // space installed from one is ahead of the snapshot's index until the
    // entries in between reach the log (they are skipped when applied).
    // Without a snapshot in the log, the log lost entries the key space
    // applied.
    if (snapshot_index_ == 0) {
      return absl::DataLossError(StrCat(
          "member data in ", config_.DataDir(), " has applied index ",
          applied_index_, " beyond the raft log's last index ", last_index));
    }
    env_.log().Info("key space is ahead of the raft log (installed from a leader's snapshot)",
                    {{"applied-index", applied_index_},
                     {"snapshot-index", snapshot_index_},
                     {"last-index", last_index}});
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
  raft_config.max_inflight_msgs = config_.max_inflight_msgs;
  raft_config.max_inflight_bytes = config_.max_inflight_bytes;
  raft_config.max_uncommitted_entries_size = 1u << 30;
  raft_config.pre_vote = config_.pre_vote;
  raft_config.check_quorum = true;
  KEEL_ASSIGN_OR_RETURN(raw_, raft::RawNode::Create(raft_config));
  if (bootstrap) KEEL_RETURN_IF_ERROR(Bootstrap());
  return absl::OkStatus();
}

absl::Status Server::Bootstrap() {
  KEEL_ASSIGN_OR_RETURN(bootstrap_members_, BootstrapMembers(config_));
  // A member whose identity was recorded but whose log stayed empty
  // bootstraps again, from today's flags: they must still make it.
  const BootstrapIds ids = IdsOf(bootstrap_members_, config_.name);
  if (ids.member_id != id_ || ids.cluster_id != cluster_id_) {
    return absl::FailedPreconditionError(StrCat(
        "--data-dir ", config_.DataDir(), " was bootstrapped as member ",
        FormatId(id_), " of cluster ", FormatId(cluster_id_),
        " and never started; --name, --initial-cluster and "
        "--initial-cluster-token now make another member: restore the flags "
        "it was created with, or give this member an empty --data-dir"));
  }
  std::vector<raft::Peer> peers;
  for (const Member& m : bootstrap_members_) {
    internal::ConfChangeMember context;
    context.set_id(m.id);
    for (const auto& url : m.peer_urls) context.add_peer_urls(url);
    context.set_name(m.name);
    peers.push_back(raft::Peer{.id = m.id, .context = context.SerializeAsString()});
  }
  return raw_->Bootstrap(peers);
}

absl::Status Server::Start() {
  KEEL_ASSERT(loops_running_ == 0);
  net::PeerTransportOptions options;
  options.local_id = id_;
  options.cluster_id = cluster_id_;
  KEEL_ASSIGN_OR_RETURN(options.listen_address,
                        net::PeerUrlToAddress(config_.listen_peer_urls.front()));
  options.snapshot_dir = JoinPath(SnapDir(), "incoming");
  options.snapshot_chunk_bytes = config_.snapshot_chunk_bytes;
  net::PeerTransportCallbacks callbacks;
  callbacks.on_message = [this](raft::Message m) { ReceiveMessage(std::move(m)); };
  callbacks.on_unreachable = [this](uint64_t peer) { ReportUnreachable(peer); };
  callbacks.on_snapshot_status = [this](uint64_t peer, bool ok) {
    ReportSnapshot(peer, ok);
  };
  callbacks.on_snapshot = [this](net::ReceivedSnapshot snapshot) {
    return AcceptSnapshot(std::move(snapshot));
  };
  callbacks.on_removed = [this](uint64_t peer) {
    Fail(absl::FailedPreconditionError(
        "the member has been permanently removed from the cluster"));
  };
  transport_ = std::make_unique<net::PeerTransport>(env_, std::move(options),
                                                    std::move(callbacks));
  KEEL_RETURN_IF_ERROR(transport_->Start());
  for (const auto& [id, member] : members_->members()) {
    if (id != id_) UpdatePeer(member);
  }
  // A new member knows its peers from --initial-cluster before the bootstrap
  // entries that record them are applied; raft talks to them at once.
  for (const Member& member : bootstrap_members_) {
    if (member.id != id_ && !transport_->HasPeer(member.id)) UpdatePeer(member);
  }
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
  env_.Spawn(watch_hub_->Run());
  env_.Spawn(PublishAttributes());
  work_.Set();
  compact_work_.Set();
  return absl::OkStatus();
}

Task<void> Server::PublishAttributes() {
  while (!stopping_) {
    const Member* self = members_->Find(id_);
    if (self != nullptr && self->name == config_.name &&
        self->client_urls == config_.advertise_client_urls) {
      ready_.Set();
      co_return;  // Already published (a restart with the same flags).
    }
    internal::InternalRaftRequest request;
    auto* attributes = request.mutable_member_attributes();
    attributes->set_member_id(id_);
    attributes->set_name(config_.name);
    for (const auto& url : config_.advertise_client_urls) attributes->add_client_urls(url);
    ApplyResult result = co_await Propose(std::move(request));
    if (result.status.ok()) {
      env_.log().Info("published local member to cluster through raft",
                      {{"local-member-id", FormatId(id_)}, {"name", config_.name}});
      ready_.Set();
      co_return;
    }
    if (stopping_) co_return;
    env_.log().Warn("failed to publish local member to cluster through raft",
                    {{"error", result.status.ToString()}});
    co_await env_.clock().Sleep(Milliseconds(config_.election_timeout_ms));
  }
}

void Server::UpdatePeer(const Member& member) {
  std::vector<std::string> addresses;
  for (const std::string& url : member.peer_urls) {
    auto address = net::PeerUrlToAddress(url);
    if (address.ok()) addresses.push_back(*address);
  }
  absl::Status status = transport_->HasPeer(member.id)
                            ? transport_->UpdatePeer(member.id, addresses)
                            : transport_->AddPeer(member.id, addresses);
  if (!status.ok()) {
    env_.log().Warn("cannot reach a member", {{"member-id", FormatId(member.id)},
                                              {"error", status.ToString()}});
  }
}

Task<void> Server::Stop() {
  if (stopping_) {
    // Stopping already (another Stop, or a fatal error, which does not
    // wait): the loops must still be gone before the caller may destroy
    // the server, since each holds a LoopGuard on it.
    co_await stopped_.Wait();
    while (loops_running_ > 0) co_await loop_exited_.Wait();
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
  snapshot_sends_.CancelAll();
  transport_.reset();
  absl::Status synced = mvcc_->SyncBarrier();
  if (!synced.ok()) {
    env_.log().Warn("failed to sync the key space at stop",
                    {{"error", synced.ToString()}});
  }
  stopped_cleanly_ = true;
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
