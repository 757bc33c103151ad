// etcd's server flags, bound to ServerConfig.
#include "tools/server_flags.h"

#include "tools/flags.h"

namespace keel::tools {

absl::StatusOr<ServerCommandLine> ParseServerCommandLine(
    const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  ServerCommandLine out;
  node::ServerConfig& c = out.config;
  FlagSet flags("keel");
  int64_t snapshot_count = static_cast<int64_t>(c.snapshot_count);
  int64_t catchup_entries = static_cast<int64_t>(c.snapshot_catchup_entries);
  int64_t max_snapshots = static_cast<int64_t>(c.max_snapshots);
  int64_t max_wals = static_cast<int64_t>(c.max_wals);
  flags.String("name", &c.name, "Human-readable name for this member.");
  flags.String("data-dir", &c.data_dir, "Path to the data directory (default '${name}.keel').");
  flags.String("wal-dir", &c.wal_dir, "Path to the dedicated wal directory.");
  flags.Int("snapshot-count", &snapshot_count,
            "Number of committed transactions to trigger a snapshot to disk.");
  flags.Int("experimental-snapshot-catchup-entries", &catchup_entries,
            "Number of entries for a slow follower to catch up after compacting the raft storage entries.");
  flags.Int("heartbeat-interval", &c.heartbeat_interval_ms,
            "Time (in milliseconds) of a heartbeat interval.");
  flags.Int("election-timeout", &c.election_timeout_ms,
            "Time (in milliseconds) for an election to timeout.");
  flags.Bool("initial-election-tick-advance", &c.initial_election_tick_advance,
             "Whether to fast-forward initial election ticks on boot for faster election.");
  flags.List("listen-peer-urls", &c.listen_peer_urls,
             "List of URLs to listen on for peer traffic.");
  flags.List("listen-client-urls", &c.listen_client_urls,
             "List of URLs to listen on for client traffic.");
  flags.List("initial-advertise-peer-urls", &c.initial_advertise_peer_urls,
             "List of this member's peer URLs to advertise to the rest of the cluster.");
  flags.List("advertise-client-urls", &c.advertise_client_urls,
             "List of this member's client URLs to advertise to the public.");
  flags.String("initial-cluster", &c.initial_cluster,
               "Initial cluster configuration for bootstrapping.");
  flags.String("initial-cluster-state", &c.initial_cluster_state,
               "Initial cluster state ('new' or 'existing').");
  flags.String("initial-cluster-token", &c.initial_cluster_token,
               "Initial cluster token for the etcd cluster during bootstrap.");
  flags.Bool("strict-reconfig-check", &c.strict_reconfig_check,
             "Reject reconfiguration requests that would cause quorum loss.");
  flags.Bool("pre-vote", &c.pre_vote, "Enable to run an additional Raft election phase.");
  flags.Int("max-txn-ops", &c.max_txn_ops,
            "Maximum number of operations permitted in a transaction.");
  flags.Int("max-request-bytes", &c.max_request_bytes,
            "Maximum client request size in bytes the server will accept.");
  flags.Int("quota-backend-bytes", &c.quota_backend_bytes,
            "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).");
  flags.Int("max-snapshots", &max_snapshots,
            "Maximum number of snapshot files to retain (0 is unlimited).");
  flags.Int("max-wals", &max_wals, "Maximum number of wal files to retain (0 is unlimited).");
  flags.String("auto-compaction-retention", &c.auto_compaction_retention,
               "Auto compaction retention length. 0 means disable auto compaction.");
  flags.String("auto-compaction-mode", &c.auto_compaction_mode,
               "Interpret 'auto-compaction-retention' one of: periodic|revision.");
  flags.Bool("experimental-enable-lease-checkpoint", &c.enable_lease_checkpoint,
             "Enable to persist lease remaining TTL to prevent indefinite auto-renewal of long lived leases.");
  flags.Int("experimental-compaction-batch-limit", &c.compaction_batch_limit,
            "Sets the maximum revisions deleted in each compaction batch.");
  flags.Bool("unsafe-no-fsync", &c.unsafe_no_fsync,
             "Disables fsync, unsafe, will cause data loss.");
  flags.Bool("force-new-cluster", &c.force_new_cluster,
             "Force to create a new one member cluster.");
  flags.String("log-level", &c.log_level,
               "Configures log level. Only supports debug, info, warn, error.");
  flags.Bool("help", &out.show_help, "Show this help.", "h");
  flags.Bool("version", &out.show_version, "Print the version and exit.");

  absl::Status parsed = flags.Parse(args, /*allow_interspersed=*/false);
  out.usage = flags.Usage();
  if (!parsed.ok()) return parsed;
  if (!flags.args().empty()) {
    return absl::InvalidArgumentError(
        "'" + flags.args().front() + "' is not a valid flag");
  }
  absl::Status from_env = flags.ApplyEnvironment("ETCD_", getenv);
  if (!from_env.ok()) return from_env;
  if (snapshot_count < 0 || max_snapshots < 0 || max_wals < 0 || catchup_entries < 0) {
    return absl::InvalidArgumentError("counts must not be negative");
  }
  c.snapshot_count = static_cast<uint64_t>(snapshot_count);
  c.snapshot_catchup_entries = static_cast<uint64_t>(catchup_entries);
  c.max_snapshots = static_cast<uint64_t>(max_snapshots);
  c.max_wals = static_cast<uint64_t>(max_wals);
  return out;
}

}  // namespace keel::tools
