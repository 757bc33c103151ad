// ServerConfig: everything a member is started with, as etcd's flags name it.
//
// tools/keel fills it from the command line and ETCD_* environment
// variables; keel-sim fills it directly. Validate() applies etcd's start-up
// checks, so a bad configuration is a clear error before anything starts.
#ifndef KEEL_NODE_SERVER_CONFIG_H_
#define KEEL_NODE_SERVER_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/peer_format.h"
#include "runtime/failpoints.h"
#include "runtime/time.h"

namespace keel::node {

// ServerConfig's layout differs between the builds (runtime/failpoints.h).
KEEL_FAILPOINT_BUILD_TAG();

#if KEEL_FAILPOINTS
namespace failpoints {

// Deliberate defects for keel-sim (`--inject-bug NAME` in the cluster
// scenario), there to show that the simulator's checkers catch a server that
// breaks its promises. They exist only in the failpoint build (CMake's
// *_fp libraries, which keel-sim links): tools/keel has no such field, so
// nothing can set one there.
struct ServerBugs {
  // The leader answers a put, delete or txn as soon as its entry is appended
  // to its own log (not yet persisted, not yet committed), with the result
  // previewed against the key space as it stands once every earlier entry is
  // applied. A leader that crashes or is cut off before the entry commits
  // loses an acknowledged write.
  bool ack_before_sync = false;
  // The primary lessor answers keepalives but ignores them when deciding
  // expiry: a lease expires its TTL after it was granted (or after the
  // leader took over), however often it was kept alive.
  bool lease_early_expiry = false;
  // The Lock and Election services answer a contender at once, without
  // waiting for the keys created before its own to be deleted: two holders
  // of one lock at a time.
  bool lock_skips_wait = false;

  // A leader labels the snapshots it sends to followers with the
  // configuration of its last log compaction instead of the configuration
  // as applied: a member added since then does not find itself in the
  // snapshot and never catches up.
  bool snapshot_stale_conf = false;

  bool any() const { return ack_before_sync || lease_early_expiry || lock_skips_wait ||
                          snapshot_stale_conf; }
  bool operator==(const ServerBugs&) const = default;
};

}  // namespace failpoints
#endif  // KEEL_FAILPOINTS

// One side's TLS flags: --cert-file ... for clients, --peer-cert-file ...
// for peers.
struct MemberTlsFlags {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;
  std::string crl_file;
  bool client_cert_auth = false;
  // --auto-tls / --peer-auto-tls: a self-signed pair made at start-up when
  // no cert and key files are given.
  bool auto_tls = false;
  // --peer-cert-allowed-cn, --peer-cert-allowed-hostname,
  // --client-cert-allowed-hostname.
  std::string allowed_cn;
  std::string allowed_hostname;
  // Whether this side serves TLS at all.
  bool enabled() const { return !cert_file.empty() || !key_file.empty() || auto_tls; }
  bool operator==(const MemberTlsFlags&) const = default;
};

struct ServerConfig {
  std::string name = "default";
  std::string data_dir;  // empty: "<name>.keel"
  std::string wal_dir;   // empty: "<data_dir>/member/wal"
  uint64_t snapshot_count = 100000;
  // Entries kept behind a log compaction so slow followers catch up from the
  // log instead of needing a snapshot (etcd 3.5's
  // --experimental-snapshot-catchup-entries).
  uint64_t snapshot_catchup_entries = 5000;
  int64_t heartbeat_interval_ms = 100;
  int64_t election_timeout_ms = 1000;
  bool initial_election_tick_advance = true;

  std::vector<std::string> listen_peer_urls = {"http://localhost:2380"};
  std::vector<std::string> listen_client_urls = {"http://localhost:2379"};
  std::vector<std::string> initial_advertise_peer_urls = {"http://localhost:2380"};
  std::vector<std::string> advertise_client_urls = {"http://localhost:2379"};
  // "name=url,name=url" as given; parsed by ParseInitialCluster.
  std::string initial_cluster = "default=http://localhost:2380";
  std::string initial_cluster_state = "new";  // "new" or "existing"
  std::string initial_cluster_token = "etcd-cluster";
  bool pre_vote = true;

  int64_t max_txn_ops = 128;
  int64_t max_request_bytes = 1572864;
  // The JSON gateway on the client port (node/gateway_routes.h):
  // --enable-grpc-gateway, and --cors, the origins its answers allow
  // (empty or "*": any).
  bool enable_grpc_gateway = true;
  std::vector<std::string> cors = {"*"};
  uint64_t max_wals = 5;  // WAL segments kept once a snapshot covers them.
  // The key space's size on disk that writes may not grow past (Quota);
  // 0 means etcd's default (2 GiB), negative means none.
  int64_t quota_backend_bytes = 0;

  // Auth (node/auth_frontend.h): --auth-token-ttl (seconds a simple token
  // lives after its last use), --bcrypt-cost. (--auth-token accepts only
  // etcd's default, simple: tools/server_flag_table.cc.)
  int64_t auth_token_ttl_seconds = 300;
  int64_t bcrypt_cost = 10;

  // Not acted on yet: tools/keel refuses any value but these, etcd's
  // defaults (tools/server_flag_table.cc, doc/flags.md).
  bool strict_reconfig_check = true;
  uint64_t max_snapshots = 5;
  bool force_new_cluster = false;

  // --auto-compaction-retention and --auto-compaction-mode, as etcd reads
  // them (node/auto_compaction.h); "0" is off.
  std::string auto_compaction_retention = "0";
  std::string auto_compaction_mode = "periodic";
  // --experimental-initial-corrupt-check and --experimental-corrupt-check-time
  // (a Go duration, "0s" off): node/corruption_checker.h.
  bool initial_corrupt_check = false;
  std::string corrupt_check_time = "0s";

  // --experimental-enable-lease-checkpoint: off by default, as in etcd 3.4.
  bool enable_lease_checkpoint = false;
  // How often the leader checkpoints remaining TTLs (etcd's
  // LeaseCheckpointInterval: 5 minutes; no flag, tests shorten it).
  int64_t lease_checkpoint_interval_ms = 5 * 60 * 1000;
  int64_t compaction_batch_limit = 1000;
  // Raft flow control per follower (no etcd flag; keel-sim and tests
  // shrink them). Appends in flight: etcd's 512 (4096 / 8). Bytes of entry
  // data in flight: 8 MiB, eight full 1 MiB appends. That covers the
  // bandwidth-delay product of 1 Gb/s at 64 ms round trips (or 10 Gb/s at
  // 6 ms), so a healthy follower is never held back, while a slow or
  // partitioned one costs the leader's transport queue at most 8 MiB plus
  // one append, well inside its 64 MiB per peer (net/peer_types.h), instead
  // of up to 512 x 1 MiB. The bound is etcd's soft one (raft/config.h): it
  // may be exceeded by less than one append. 0 means no byte limit.
  uint64_t max_inflight_msgs = 512;
  uint64_t max_inflight_bytes = 8u << 20;
  // Snapshot data per chunk frame on the peer transport (no flag; keel-sim
  // shrinks it so snapshots travel in many chunks). At most
  // kMaxSnapshotChunkBytes, what a receiver accepts.
  uint64_t snapshot_chunk_bytes = net::peer::kSnapshotChunkBytes;
  bool unsafe_no_fsync = false;

  // Security: TLS on the client listeners (https URLs) and on the peer
  // transport (node/member_tls.h builds the contexts).
  MemberTlsFlags client_tls;
  MemberTlsFlags peer_tls;
  // --self-signed-cert-validity, in years, for --auto-tls/--peer-auto-tls.
  int64_t self_signed_cert_validity = 1;
  // --cipher-suites (Go's names), --tls-min-version, --tls-max-version:
  // both sides.
  std::vector<std::string> cipher_suites;
  std::string tls_min_version = "TLS1.2";
  std::string tls_max_version;

  // --metrics: "basic", or "extensive" for grpc_server_handling_seconds
  // too. --listen-metrics-urls: listeners serving only /metrics and
  // /health (https ones with the client TLS), beside /metrics on the
  // client URLs. node/metrics_endpoint.h.
  std::string metrics = "basic";
  std::vector<std::string> listen_metrics_urls;

  std::string log_level = "info";
  // --experimental-warning-apply-duration, a Go duration: an entry whose
  // apply takes longer is logged ("apply request took too long").
  std::string warning_apply_duration = "100ms";
  // Where and how tools/keel writes log lines (runtime/log_outputs.h):
  // "default" is stderr; etcd 3.6's --log-format, json or console.
  std::vector<std::string> log_outputs = {"default"};
  std::string log_format = "json";
  // The YAML file the configuration came from (tools/server_config_file.h);
  // empty when it came from flags and ETCD_* variables.
  std::string config_file;

#if KEEL_FAILPOINTS
  // keel-sim only; see failpoints::ServerBugs.
  failpoints::ServerBugs failpoints;
#endif

  // The data directory after defaults: data_dir or "<name>.keel".
  std::string DataDir() const;
  std::string WalDir() const;
  // warning_apply_duration parsed (Validate checks it parses).
  Duration WarningApplyDuration() const;

  // etcd's start-up checks: heartbeat and election timeout in range and
  // election >= 5 x heartbeat; URLs well formed; the name present in
  // --initial-cluster with the advertised peer URLs; cluster state known;
  // limits positive. Also what keel cannot do yet: more than one
  // --listen-peer-urls, and https in the URLs it listens on or dials
  // (Unimplemented). InvalidArgument with etcd's wording.
  absl::Status Validate() const;

  bool operator==(const ServerConfig&) const = default;
};

// --experimental-corrupt-check-time as a duration ("0s": off).
absl::StatusOr<Duration> ParseCorruptCheckTime(std::string_view text);


// The default backend quota when --quota-backend-bytes is 0 (etcd's).
inline constexpr int64_t kDefaultQuotaBytes = int64_t{2} * 1024 * 1024 * 1024;
// etcd refuses quotas above this.
inline constexpr int64_t kMaxQuotaBytes = int64_t{8} * 1024 * 1024 * 1024;

// The largest snapshot chunk a member accepts (the peer transport's bound).
inline constexpr uint64_t kMaxSnapshotChunkBytes = net::peer::kMaxSnapshotChunkBytes;

// A URL as etcd accepts them for members: scheme http or https, host, port.
struct Url {
  std::string scheme;
  std::string host;
  uint16_t port = 0;
  std::string HostPort() const;
  std::string ToString() const;
};

// Parses "http://127.0.0.1:2379". InvalidArgument for anything else
// (a path, a missing port, an unknown scheme).
absl::StatusOr<Url> ParseUrl(const std::string& text);

// Parses "--initial-cluster": name -> peer URLs (a name may repeat to give
// several URLs). InvalidArgument for malformed entries.
absl::StatusOr<std::map<std::string, std::vector<std::string>>>
ParseInitialCluster(const std::string& text);

}  // namespace keel::node

#endif  // KEEL_NODE_SERVER_CONFIG_H_
