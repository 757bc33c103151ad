// Server: one etcd member, as the owner of its parts.
//
// It builds the parts from what Bootstrap opened, wires them together, and
// orders their start, their stop and their reaction to a fatal error; the
// work is the parts' (doc/architecture.md has the map):
//   KeySpace          the state machine on disk and its views
//   RaftNode          raft, the log, the transport, the Ready loop
//   ApplyLoop         committed entries through the applier chain
//   Proposer          proposals and their waiting callers
//   ReadIndexBatcher  linearizable reads
//   KvFrontend        the KV requests
//   AuthFrontend      the Auth requests, and who a call's token names
//   LeaseCoordinator  lease requests and the leader's lease loop
//   ClusterMembership conf changes, peers, publishing this member
// The same class runs in production (tools/keel) and in keel-sim; all it
// touches of the world comes from its Env.
#ifndef KEEL_NODE_SERVER_H_
#define KEEL_NODE_SERVER_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/applied_index.h"
#include "node/auth_applier.h"
#include "node/auth_frontend.h"
#include "node/auth_tokens.h"
#include "node/apply_loop.h"
#include "node/auto_compactor.h"
#include "node/corruption_checker.h"
#include "node/backend_applier.h"
#include "node/bootstrap.h"
#include "node/cluster_membership.h"
#include "node/corrupt_applier.h"
#include "node/key_space.h"
#include "node/kv_frontend.h"
#include "node/lease_coordinator.h"
#include "node/member_life.h"
#include "node/mvcc_compactor.h"
#include "net/http_message.h"
#include "node/no_space_alarm.h"
#include "node/proposer.h"
#include "node/quota.h"
#include "node/quota_applier.h"
#include "node/raft_node.h"
#include "node/read_index.h"
#include "node/response_header.h"
#include "node/server_config.h"
#include "node/server_failpoints.h"
#include "runtime/env.h"
#include "runtime/failpoints.h"

namespace keel::node {

// Server's layout differs between the builds (runtime/failpoints.h).
KEEL_FAILPOINT_BUILD_TAG();

// Figures the Status RPC and tests read.
struct ServerStatus {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  uint64_t leader = 0;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  int64_t revision = 0;
  bool is_learner = false;
};

class Server final : private RaftNodeHost {
 public:
  // Opens the member's state (BootstrapMember) and builds its parts.
  // InvalidArgument for a bad configuration, and Bootstrap's errors.
  // Suspends.
  static Task<absl::StatusOr<std::unique_ptr<Server>>> Open(
      Env& env, ServerConfig config, StorageOptions storage);
  // Without Stop(): a kill. LevelDB's teardown writes nothing more.
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the raft node (listening on the first --listen-peer-urls) and
  // every loop, in env's process. Errors from listening.
  absl::Status Start();
  // Refuses new requests, waits for those inside, fails what still waits
  // with "server stopped", stops the loops and closes the key space.
  // Suspends.
  Task<void> Stop();

  // ---- the parts ----
  KeySpace& key_space() { return *key_space_; }
  const KeySpace& key_space() const { return *key_space_; }
  RaftNode& raft() { return *raft_; }
  const RaftNode& raft() const { return *raft_; }
  KvFrontend& kv() { return *kv_; }
  AuthFrontend& auth() { return *auth_; }
  LeaseCoordinator& leases() { return *leases_; }
  ReadIndexBatcher& reads() { return *reads_; }
  Proposer& proposer() { return *proposer_; }
  ClusterMembership& membership() { return *membership_; }
  CorruptionChecker& corruption_checker() { return *corruption_checker_; }
  const ApplyLoop& apply_loop() const { return *apply_loop_; }
  const ResponseHeaders& headers() const { return *headers_; }
  AppliedIndex& applied() { return *applied_; }
  const MemberLife& life() const { return life_; }
  MemberLife& life() { return life_; }

  const ServerConfig& config() const { return config_; }
  Env& env() { return env_; }
  uint64_t id() const { return raft_->id(); }
  uint64_t cluster_id() const { return raft_->cluster_id(); }
  ServerStatus GetStatus() const;
  // etcd's ReqTimeout: 5 s plus two election timeouts.
  Duration request_timeout() const;

  // Set once this member's name and client URLs are published: it may
  // serve clients.
  Event& ready() { return membership_->ready(); }
  // Set once the server has stopped (or failed) for good.
  Event& stopped() { return stopped_; }
  // Why the server stopped on its own (a fatal storage error, removal).
  const absl::Status& fatal_error() const { return life_.fatal(); }
  // This start rebuilt a damaged key space (node/self_repair.h).
  bool repaired_at_start() const { return repaired_at_start_; }
  // Records that the key space is damaged (`damage` says how), so the next
  // start rebuilds it; a failure to record is logged.
  void MarkKeySpaceForRepair(const absl::Status& damage);

 private:
  Server(Env& env, ServerConfig config);
  absl::Status Build(BootstrappedMember member);
  // Fails what waits and wakes every loop: the member is stopping.
  void Interrupt(const absl::Status& why);
  void OnFatal(const absl::Status& status);

  // RaftNodeHost.
  bool ProposalWanted(uint64_t id) override;
  void ProposalFailed(uint64_t id, absl::Status status) override;
  void ReadIndexAnswered(uint64_t read_id, uint64_t index) override;
  Task<absl::StatusOr<WrittenSnapshot>> WriteSnapshotFile(std::string path) override;
  absl::Status CheckSnapshotFile(const std::string& path) override;
  absl::Status SyncAppliedState() override;

  Env& env_;
  const ServerConfig config_;
  // Declared in dependency order: each part is destroyed before those it
  // uses.
  MemberLife life_;
  // TLS for the peer transport when configured; outlives raft_.
  std::unique_ptr<Network> peer_network_;
  // The peer port's HTTP endpoints (/members); the raft node's transport
  // serves them.
  net::HttpRouter peer_http_;
  std::unique_ptr<KeySpace> key_space_;
  std::unique_ptr<RaftNode> raft_;
  std::unique_ptr<ResponseHeaders> headers_;
  std::unique_ptr<AppliedIndex> applied_;
  std::unique_ptr<Proposer> proposer_;
  std::unique_ptr<ReadIndexBatcher> reads_;
  std::unique_ptr<Quota> quota_;
  std::unique_ptr<NoSpaceAlarm> no_space_;
  std::unique_ptr<MvccCompactor> compactor_;
  std::unique_ptr<CorruptionChecker> corruption_checker_;
  // Only with --auto-compaction-retention set.
  std::unique_ptr<AutoCompactor> auto_compactor_;
  // The applier chain, back to front; quota_applier_ is its head.
  std::unique_ptr<BackendApplier> backend_applier_;
  std::unique_ptr<CorruptApplier> corrupt_applier_;
  std::unique_ptr<SimpleTokens> tokens_;
  std::unique_ptr<AuthApplier> auth_applier_;
  std::unique_ptr<QuotaApplier> quota_applier_;
  std::unique_ptr<ClusterMembership> membership_;
  std::unique_ptr<LeaseCoordinator> leases_;
  std::unique_ptr<KvFrontend> kv_;
  std::unique_ptr<AuthFrontend> auth_;
  std::unique_ptr<ApplyLoop> apply_loop_;
#if KEEL_FAILPOINTS
  std::unique_ptr<failpoints::ServerFailpoints> failpoints_;
#endif
  Event stopped_;
  bool repaired_at_start_ = false;
  Duration scrub_interval_ = Duration::zero();
};

}  // namespace keel::node

#endif  // KEEL_NODE_SERVER_H_
