// Server: building the parts, and ordering start, stop and failure.
#include "node/server.h"

#include <utility>

#include "net/peer_transport.h"
#include "net/tls_network.h"
#include "node/member_tls.h"
#include "node/errors.h"
#include "node/peer_members.h"
#include "node/self_repair.h"
#include "node/snapshot_io.h"
#include "runtime/status_macros.h"
#include "store/snapshot_file.h"

namespace keel::node {
namespace {

RaftNodeConfig RaftNodeConfigFor(const ServerConfig& config, uint64_t id,
                                 uint64_t cluster_id, std::string listen_address,
                                 Network* peer_network) {
  RaftNodeConfig out;
  out.peer_network = peer_network;
  out.id = id;
  out.cluster_id = cluster_id;
  out.heartbeat_interval_ms = config.heartbeat_interval_ms;
  out.election_timeout_ms = config.election_timeout_ms;
  out.initial_election_tick_advance = config.initial_election_tick_advance;
  out.pre_vote = config.pre_vote;
  out.max_inflight_msgs = config.max_inflight_msgs;
  out.max_inflight_bytes = config.max_inflight_bytes;
  out.snapshot_count = config.snapshot_count;
  out.snapshot_catchup_entries = config.snapshot_catchup_entries;
  out.max_snapshots = config.max_snapshots;
  out.listen_address = std::move(listen_address);
  out.advertise_peer_urls = config.initial_advertise_peer_urls;
  out.snap_dir = SnapDir(config);
  out.snapshot_chunk_bytes = config.snapshot_chunk_bytes;
#if KEEL_FAILPOINTS
  out.failpoint_snapshot_stale_conf = config.failpoints.snapshot_stale_conf;
#endif
  return out;
}

}  // namespace

Server::Server(Env& env, ServerConfig config) : env_(env), config_(std::move(config)) {}

Server::~Server() {
  // Snapshot sends read the key space: they end before it closes.
  if (raft_ != nullptr) raft_->Shutdown();
}

Duration Server::request_timeout() const {
  return Seconds(5) + Milliseconds(2 * config_.election_timeout_ms);
}

Task<absl::StatusOr<std::unique_ptr<Server>>> Server::Open(Env& env, ServerConfig config,
                                                           StorageOptions storage) {
  KEEL_CO_RETURN_IF_ERROR(config.Validate());
  absl::StatusOr<PeerTlsContexts> peer_tls = PeerTlsContextsFor(env, config);
  if (!peer_tls.ok()) co_return peer_tls.status();
  auto member = co_await BootstrapMember(env, config, storage);
  if (!member.ok()) co_return member.status();
  std::unique_ptr<Server> server(new Server(env, std::move(config)));
  if (peer_tls->server != nullptr) {
    server->peer_network_ =
        std::make_unique<net::TlsNetwork>(env, peer_tls->server, peer_tls->client);
  }
  KEEL_CO_RETURN_IF_ERROR(server->Build(std::move(*member)));
  co_return server;
}

absl::Status Server::Build(BootstrappedMember member) {
  KEEL_ASSERT(key_space_ == nullptr);
  KEEL_ASSIGN_OR_RETURN(std::string listen_address,
                        net::PeerUrlToAddress(config_.listen_peer_urls.front()));
  key_space_ = std::move(member.key_space);
  RegisterPeerMembersEndpoint(peer_http_, key_space_->members(), member.cluster_id);
  repaired_at_start_ = member.repaired;
  scrub_interval_ = member.key_space_scrub_interval;
  RegisterRepairSnapshotEndpoint(
      peer_http_, env_, SnapDir(config_), member.cluster_id,
      [this](std::string path) -> Task<absl::StatusOr<WrittenRepairSnapshot>> {
        if (life_.stopping()) co_return absl::UnavailableError("member is stopping");
        auto written = co_await WriteSnapshotFile(std::move(path));
        // Damage found while reading the key space whole: this member
        // stops and repairs it too.
        if (written.status().code() == absl::StatusCode::kDataLoss) {
          life_.Fail(KeySpaceDataLoss(written.status()));
        }
        if (!written.ok()) co_return written.status();
        co_return WrittenRepairSnapshot{.applied_index = written->applied_index,
                                        .applied_term = written->applied_term};
      });
  RaftNodeConfig raft_config =
      RaftNodeConfigFor(config_, member.member_id, member.cluster_id, std::move(listen_address),
                        peer_network_.get());
  raft_config.peer_http_router = &peer_http_;
  KEEL_ASSIGN_OR_RETURN(raft_, RaftNode::Create(env_, std::move(raft_config),
                                                std::move(member.log), *this, life_));
  if (!member.raft_peers.empty()) KEEL_RETURN_IF_ERROR(raft_->Bootstrap(member.raft_peers));

  headers_ = std::make_unique<ResponseHeaders>(*key_space_, member.cluster_id, member.member_id,
                                                [raft = raft_.get()] { return raft->term(); });
  applied_ = std::make_unique<AppliedIndex>(key_space_->mvcc().applied().index, life_);
  proposer_ = std::make_unique<Proposer>(
      env_, *raft_, key_space_->members(), life_,
      ProposerOptions{.request_timeout = request_timeout(),
                      .election_timeout_ms = config_.election_timeout_ms,
                      .max_request_bytes = config_.max_request_bytes});
  reads_ = std::make_unique<ReadIndexBatcher>(env_, *raft_, *applied_, life_,
                                              request_timeout());
  quota_ = std::make_unique<Quota>(*key_space_, config_.quota_backend_bytes);
  no_space_ = std::make_unique<NoSpaceAlarm>(env_, *quota_, key_space_->alarms(), *proposer_,
                                             life_, member.member_id);
  compactor_ = std::make_unique<MvccCompactor>(env_, *key_space_, life_);

  backend_applier_ = std::make_unique<BackendApplier>(
      *key_space_, *headers_, [compactor = compactor_.get()] { compactor->Wake(); });
  corrupt_applier_ = std::make_unique<CorruptApplier>(*backend_applier_, key_space_->alarms());
  tokens_ = std::make_unique<SimpleTokens>(env_.clock(), env_.random(),
                                           Seconds(config_.auth_token_ttl_seconds));
  auth_applier_ = std::make_unique<AuthApplier>(*corrupt_applier_, *key_space_, *tokens_);
  quota_applier_ =
      std::make_unique<QuotaApplier>(*auth_applier_, *quota_, key_space_->alarms());

  membership_ = std::make_unique<ClusterMembership>(
      env_, *key_space_, *raft_, *proposer_, life_,
      LocalMember{.id = member.member_id,
                  .name = config_.name,
                  .client_urls = config_.advertise_client_urls},
      std::move(member.initial_members));
  leases_ = std::make_unique<LeaseCoordinator>(
      LeaseParts{env_, *key_space_, *raft_, *proposer_, *applied_, *reads_, *headers_,
                 *no_space_, life_},
      LeaseCoordinatorOptions{.election_timeout_ms = config_.election_timeout_ms,
                              .checkpoint_enabled = config_.enable_lease_checkpoint,
                              .request_timeout = request_timeout()});
  kv_ = std::make_unique<KvFrontend>(
      KvParts{*key_space_, *proposer_, *reads_, *compactor_, *no_space_, *headers_, life_},
      config_.max_txn_ops);
  auth_ = std::make_unique<AuthFrontend>(
      AuthParts{.env = env_, .key_space = *key_space_, .proposer = *proposer_, .reads = *reads_,
                .headers = *headers_, .tokens = *tokens_,
                .bcrypt_cost = static_cast<int>(config_.bcrypt_cost)});
  KEEL_ASSIGN_OR_RETURN(AutoCompaction auto_compaction,
                        ParseAutoCompaction(config_.auto_compaction_mode,
                                            config_.auto_compaction_retention));
  if (auto_compaction.enabled()) {
    auto_compactor_ = std::make_unique<AutoCompactor>(
        env_, auto_compaction, *raft_,
        [key_space = key_space_.get()] { return key_space->mvcc().current_revision(); },
        [kv = kv_.get()](int64_t revision) -> Task<absl::Status> {
          // An empty key space has nothing to compact (etcd's answer would
          // be "compacted" too).
          if (revision <= 0) co_return absl::OkStatus();
          etcdserverpb::CompactionRequest request;
          request.set_revision(revision);
          auto response = co_await kv->Compact(std::move(request));
          co_return response.status();
        },
        life_);
  }
  KEEL_ASSIGN_OR_RETURN(Duration corrupt_check_every,
                        ParseCorruptCheckTime(config_.corrupt_check_time));
  corruption_checker_ = std::make_unique<CorruptionChecker>(
      CorruptionCheckParts{env_, *key_space_, *raft_, *reads_, *proposer_, life_,
                           request_timeout()},
      corrupt_check_every);
  apply_loop_ = std::make_unique<ApplyLoop>(
      ApplyParts{env_, *raft_, *key_space_, *quota_applier_, *proposer_, *membership_,
                 *leases_, *no_space_, *applied_, life_, config_.WarningApplyDuration()});
#if KEEL_FAILPOINTS
  failpoints_ = failpoints::ServerFailpoints::Install(config_.failpoints, *raft_, *apply_loop_,
                                                      *key_space_, *proposer_, *headers_);
#endif
  life_.set_on_fatal([this](const absl::Status& status) { OnFatal(status); });
  return absl::OkStatus();
}

absl::Status Server::Start() {
  KEEL_ASSERT(life_.loops_running() == 0);
  KEEL_ASSERT(!life_.stopping());
  KEEL_RETURN_IF_ERROR(raft_->Start());
  membership_->SyncPeers();
  apply_loop_->Start();
  compactor_->Start();
  if (auto_compactor_ != nullptr) auto_compactor_->Start();
  corruption_checker_->Start();
  if (scrub_interval_ > Duration::zero()) {
    env_.Spawn(ScrubKeySpace(env_, *key_space_, life_, scrub_interval_));
  }
  leases_->Start();
  env_.Spawn(key_space_->watch_hub().Run());
  env_.Spawn(membership_->PublishAttributes());
  return absl::OkStatus();
}

void Server::Interrupt(const absl::Status& why) {
  KEEL_ASSERT(life_.stopping());
  leases_->Interrupt();
  proposer_->FailAll(why);
  reads_->FailAll(why);
  raft_->Interrupt();
  compactor_->Wake();
  applied_->Publish();
}

Task<void> Server::Stop() {
  if (life_.stopping()) {
    // Stopping already (another Stop, or a fatal error, which does not
    // wait): the loops must still be gone before the caller may destroy
    // the server.
    co_await stopped_.Wait();
    co_await life_.WaitLoopsExited();
    co_return;
  }
  life_.BeginStop();
  leases_->Interrupt();
  co_await life_.CloseRequests();
  Interrupt(MakeError(EtcdError::kStopped));
  co_await life_.WaitLoopsExited();
  raft_->Shutdown();
  absl::Status closed = key_space_->Close();
  if (!closed.ok()) {
    env_.log().Warn("failed to sync the key space at stop", {{"error", closed.ToString()}});
  }
  KEEL_ASSERT(life_.loops_running() == 0);
  stopped_.Set();
}

void Server::OnFatal(const absl::Status& status) {
  env_.log().Error("member stopped on a fatal error", {{"error", status.ToString()}});
  if (IsMemberRemoved(status)) {
    // A peer refused this member as removed, possibly before it applied its
    // own removal: remember it, so a restart stops at once instead of
    // rejoining (the removal entry, if it comes, rewrites the same record).
    absl::Status recorded = key_space_->members().Remove(raft_->id());
    if (!recorded.ok()) {
      env_.log().Warn("failed to record this member's removal", {{"error", recorded.ToString()}});
    }
  }
  // Recorded before anything else may read the key space: the next start
  // rebuilds it instead of opening it (node/self_repair.h).
  if (IsKeySpaceDamage(status)) MarkKeySpaceForRepair(status);
  Interrupt(MakeError(EtcdError::kStopped));
  stopped_.Set();
}

void Server::MarkKeySpaceForRepair(const absl::Status& damage) {
  std::vector<std::string> peer_urls;
  for (const auto& [id, member] : key_space_->members().members()) {
    if (id == raft_->id()) continue;
    peer_urls.insert(peer_urls.end(), member.peer_urls.begin(), member.peer_urls.end());
  }
  absl::Status marked = node::MarkKeySpaceForRepair(env_.fs(), config_, damage, peer_urls);
  if (!marked.ok()) {
    env_.log().Warn("failed to mark the key space for repair", {{"error", marked.ToString()}});
  }
}

ServerStatus Server::GetStatus() const {
  ServerStatus status;
  status.member_id = raft_->id();
  status.cluster_id = raft_->cluster_id();
  status.leader = raft_->leader();
  status.term = raft_->term();
  status.commit_index = raft_->commit_index();
  status.applied_index = applied_->index();
  status.revision = key_space_->mvcc().current_revision();
  if (const Member* self = key_space_->members().Find(raft_->id())) {
    status.is_learner = self->is_learner;
  }
  return status;
}

// ---- RaftNodeHost ----

bool Server::ProposalWanted(uint64_t id) { return proposer_->Waiting(id); }

void Server::ProposalFailed(uint64_t id, absl::Status status) {
  proposer_->Deliver(id, ApplyResult{std::move(status)});
}

void Server::ReadIndexAnswered(uint64_t read_id, uint64_t index) {
  reads_->Answered(read_id, index);
}

Task<absl::StatusOr<WrittenSnapshot>> Server::WriteSnapshotFile(std::string path) {
  // The file holds the key space as of the call: node::WriteSnapshotFile
  // takes its point-in-time view before it first suspends.
  const store::EntryId applied = key_space_->mvcc().applied();
  auto written = co_await node::WriteSnapshotFile(env_, key_space_->mvcc(), std::move(path),
                                                  raft_->id(), raft_->cluster_id());
  if (!written.ok()) co_return written.status();
  co_return WrittenSnapshot{.size_bytes = written->file_bytes,
                            .applied_index = applied.index,
                            .applied_term = applied.term};
}

absl::Status Server::CheckSnapshotFile(const std::string& path) {
  return store::SnapshotFileReader::Open(env_.fs(), path).status();
}

absl::Status Server::SyncAppliedState() { return key_space_->SyncBarrier(); }

}  // namespace keel::node
