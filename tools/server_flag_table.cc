// What keel does with each of etcd 3.5's server flags (doc/flags.md is
// rendered from this table; see server_flag_table.h).
#include "tools/server_flag_table.h"

#include <cctype>

namespace keel::tools {
namespace {

constexpr FlagStatus kImplemented = FlagStatus::kImplemented;
constexpr FlagStatus kNotYet = FlagStatus::kNotYet;
constexpr FlagStatus kNotApplicable = FlagStatus::kNotApplicable;

// In the order of etcd 3.5's --help, section by section.
constexpr ServerFlag kFlags[] = {
    // Usage.
    {.section = "Usage", .name = "help", .etcd_default = "false", .status = kImplemented,
     .note = "Prints the flags with their status (also -h).", .example = "true"},
    {.section = "Usage", .name = "version", .etcd_default = "false", .status = kImplemented,
     .note = "Prints keel's version and the etcd API version it speaks.", .example = "true"},
    {.section = "Usage", .name = "config-file", .etcd_default = "", .status = kImplemented,
     .note = "etcd's YAML configuration file (embed.Config's keys). Other flags and ETCD_* "
             "variables are refused beside it (etcd ignores them); so is a key keel does not "
             "know.",
     .example = "etcd.conf.yml"},

    // Member.
    {.section = "Member", .name = "name", .etcd_default = "default", .status = kImplemented,
     .note = "The member's name; must match its entry in --initial-cluster and its data dir.",
     .example = "m1"},
    {.section = "Member", .name = "data-dir", .etcd_default = "${name}.etcd",
     .status = kImplemented,
     .note = "The data directory; keel's default is ${name}.keel.", .example = "m1.data"},
    {.section = "Member", .name = "wal-dir", .etcd_default = "", .status = kImplemented,
     .note = "The WAL's directory (default: member/wal in the data dir).", .example = "wal"},
    {.section = "Member", .name = "snapshot-count", .etcd_default = "100000",
     .status = kImplemented,
     .note = "Applied entries between raft log compactions.", .example = "5000"},
    {.section = "Member", .name = "heartbeat-interval", .etcd_default = "100",
     .status = kImplemented, .note = "The raft tick, in milliseconds.", .example = "50"},
    {.section = "Member", .name = "election-timeout", .etcd_default = "1000",
     .status = kImplemented,
     .note = "Election timeout in milliseconds: 5 heartbeats to 50000.",
     .example = "500"},
    {.section = "Member", .name = "initial-election-tick-advance", .etcd_default = "true",
     .status = kImplemented,
     .note = "Fast-forwards the election clock at boot, as etcd does.", .example = "false"},
    {.section = "Member", .name = "listen-peer-urls", .etcd_default = "http://localhost:2380",
     .status = kImplemented,
     .note = "The peer listener: one http:// URL (several, or https, are refused at start).",
     .example = "http://127.0.0.1:12380"},
    {.section = "Member", .name = "listen-client-urls", .etcd_default = "http://localhost:2379",
     .status = kImplemented,
     .note = "Client listeners (gRPC and HTTP on each): http:// only, https is refused at start.",
     .example = "http://127.0.0.1:12379"},
    {.section = "Member", .name = "max-snapshots", .etcd_default = "5", .status = kImplemented,
     .note = "Installed snapshot files kept in member/snap (0 keeps all). keel writes one only "
             "when a follower installs the leader's key space, and each is a whole key space "
             "(etcd's .snap files hold only raft metadata).",
     .example = "10"},
    {.section = "Member", .name = "max-wals", .etcd_default = "5", .status = kImplemented,
     .note = "WAL segments kept once a snapshot covers them (0 keeps all).", .example = "10"},
    {.section = "Member", .name = "quota-backend-bytes", .etcd_default = "0",
     .status = kImplemented,
     .note = "The key space's size on disk (its LevelDB files) that puts, txns that put and "
             "lease grants may not grow past: over it they fail with etcd's NOSPACE error and "
             "the member raises the NOSPACE alarm. 0 is etcd's 2 GiB; negative disables it.",
     .example = "1073741824"},
    {.section = "Member", .name = "backend-bbolt-freelist-type", .etcd_default = "map",
     .status = kNotApplicable, .note = "bbolt's freelist: keel's backend is LevelDB.",
     .example = "array"},
    {.section = "Member", .name = "backend-batch-interval", .etcd_default = "",
     .status = kNotApplicable,
     .note = "bbolt's commit batching: keel writes each applied entry to LevelDB unsynced.",
     .example = "10ms"},
    {.section = "Member", .name = "backend-batch-limit", .etcd_default = "0",
     .status = kNotApplicable,
     .note = "bbolt's commit batching: keel writes each applied entry to LevelDB unsynced.",
     .example = "100"},
    {.section = "Member", .name = "max-txn-ops", .etcd_default = "128", .status = kImplemented,
     .note = "Operations allowed in one txn (nested ones count).", .example = "256"},
    {.section = "Member", .name = "max-request-bytes", .etcd_default = "1572864",
     .status = kImplemented, .note = "Largest client request accepted.", .example = "2097152"},
    {.section = "Member", .name = "grpc-keepalive-min-time", .etcd_default = "5s",
     .status = kNotYet, .note = "keel does not police how often clients ping.",
     .example = "10s"},
    {.section = "Member", .name = "grpc-keepalive-interval", .etcd_default = "2h",
     .status = kNotYet, .note = "keel pings idle client connections every 2h (fixed).",
     .example = "1h"},
    {.section = "Member", .name = "grpc-keepalive-timeout", .etcd_default = "20s",
     .status = kNotYet, .note = "keel drops a connection 20s after an unanswered ping (fixed).",
     .example = "10s"},
    {.section = "Member", .name = "socket-reuse-port", .etcd_default = "false",
     .status = kNotYet, .note = "keel never sets SO_REUSEPORT.", .example = "true"},
    {.section = "Member", .name = "enable-grpc-gateway", .etcd_default = "true",
     .status = kImplemented,
     .note = "The JSON gateway (grpc-gateway's mapping) at /v3/, /v3beta/ and /v3alpha/ on "
             "the client port; false leaves those paths unrouted (404). Not in etcd 3.5's "
             "--help listing, but etcd accepts it.",
     .example = "false"},
    {.section = "Member", .name = "socket-reuse-address", .etcd_default = "false",
     .status = kNotApplicable,
     .note = "keel sets SO_REUSEADDR on every listener, as Go (so etcd) does on Linux "
             "whatever this flag says.",
     .example = "", .also_accepted = "true"},

    // Clustering.
    {.section = "Clustering", .name = "initial-advertise-peer-urls",
     .etcd_default = "http://localhost:2380", .status = kImplemented,
     .note = "This member's peer URLs, recorded at bootstrap (http:// only).",
     .example = "http://127.0.0.1:12380"},
    {.section = "Clustering", .name = "initial-cluster",
     .etcd_default = "default=http://localhost:2380", .status = kImplemented,
     .note = "The bootstrap membership, name=url,...; ignored once the data dir exists.",
     .example = "m1=http://127.0.0.1:12380"},
    {.section = "Clustering", .name = "initial-cluster-state", .etcd_default = "new",
     .status = kImplemented,
     .note = "new bootstraps a cluster; existing joins a running one: the member learns "
             "the cluster ID and its own ID from the peers' /members and refuses to start "
             "unless --initial-cluster matches the running membership (as etcdctl member "
             "add prints it).",
     .example = "existing"},
    {.section = "Clustering", .name = "initial-cluster-token", .etcd_default = "etcd-cluster",
     .status = kImplemented, .note = "Mixed into the member and cluster IDs at bootstrap.",
     .example = "t1"},
    {.section = "Clustering", .name = "advertise-client-urls",
     .etcd_default = "http://localhost:2379", .status = kImplemented,
     .note = "The client URLs this member publishes in the member list.",
     .example = "http://127.0.0.1:12379"},
    {.section = "Clustering", .name = "discovery", .etcd_default = "", .status = kNotYet,
     .note = "No discovery-service bootstrap: use --initial-cluster.",
     .example = "https://discovery.etcd.io/0123"},
    {.section = "Clustering", .name = "discovery-fallback", .etcd_default = "proxy",
     .status = kNotYet, .note = "No discovery-service bootstrap.", .example = "exit"},
    {.section = "Clustering", .name = "discovery-proxy", .etcd_default = "", .status = kNotYet,
     .note = "No discovery-service bootstrap.", .example = "http://127.0.0.1:3128"},
    {.section = "Clustering", .name = "discovery-srv", .etcd_default = "", .status = kNotYet,
     .note = "No DNS SRV bootstrap.", .example = "example.com"},
    {.section = "Clustering", .name = "discovery-srv-name", .etcd_default = "",
     .status = kNotYet, .note = "No DNS SRV bootstrap.", .example = "keel"},
    {.section = "Clustering", .name = "strict-reconfig-check", .etcd_default = "true",
     .status = kImplemented,
     .note = "Refuses a member add, remove or promote that would leave the cluster without a "
             "quorum of started, connected voting members (etcd's rules and errors).",
     .example = "false"},
    {.section = "Clustering", .name = "pre-vote", .etcd_default = "true", .status = kImplemented,
     .note = "Raft's pre-vote phase.", .example = "false"},
    {.section = "Clustering", .name = "auto-compaction-retention", .etcd_default = "0",
     .status = kImplemented,
     .note = "History the leader keeps when it compacts on its own: a duration or hours "
             "(\"1h\", \"30m\", \"1\") in periodic mode, revisions (\"1000\") in revision "
             "mode; 0 is off. Scheduled as etcd 3.4 does (node/auto_compactor.h).",
     .example = "1h"},
    {.section = "Clustering", .name = "auto-compaction-mode", .etcd_default = "periodic",
     .status = kImplemented,
     .note = "periodic (every retention/10, at most 6 min, compacting at the revision one "
             "retention old) or revision (every 5 min, at current - retention).",
     .example = "revision"},
    {.section = "Clustering", .name = "enable-v2", .etcd_default = "false",
     .status = kNotApplicable, .note = "keel serves the v3 API only.", .example = "true"},
    {.section = "Clustering", .name = "v2-deprecation", .etcd_default = "not-yet",
     .status = kNotApplicable, .note = "keel has no v2 store.", .example = "gone"},

    // Security.
    {.section = "Security", .name = "cert-file", .etcd_default = "", .status = kImplemented,
     .note = "Certificate of the https client listeners; re-read when it changes.",
     .example = "server.crt"},
    {.section = "Security", .name = "key-file", .etcd_default = "", .status = kImplemented,
     .note = "Key of --cert-file; a key that does not match stops keel at start.",
     .example = "server.key"},
    {.section = "Security", .name = "client-cert-auth", .etcd_default = "false",
     .status = kImplemented,
     .note = "https clients must present a certificate signed by --trusted-ca-file.",
     .example = "true"},
    {.section = "Security", .name = "client-crl-file", .etcd_default = "", .status = kImplemented,
     .note = "Client certificates revoked by this CRL are refused.", .example = "client.crl"},
    {.section = "Security", .name = "client-cert-allowed-hostname", .etcd_default = "",
     .status = kImplemented, .note = "A client certificate must be valid for this host name.",
     .example = "client.example.com"},
    {.section = "Security", .name = "trusted-ca-file", .etcd_default = "", .status = kImplemented,
     .note = "CAs that sign client certificates (with --client-cert-auth).", .example = "ca.crt"},
    {.section = "Security", .name = "auto-tls", .etcd_default = "false", .status = kImplemented,
     .note = "Without --cert-file: a self-signed pair in <data-dir>/fixtures/client.",
     .example = "true"},
    {.section = "Security", .name = "peer-cert-file", .etcd_default = "", .status = kImplemented,
     .note = "Certificate peers serve and present; re-read when it changes.",
     .example = "peer.crt"},
    {.section = "Security", .name = "peer-key-file", .etcd_default = "", .status = kImplemented,
     .note = "Key of --peer-cert-file.", .example = "peer.key"},
    {.section = "Security", .name = "peer-client-cert-auth", .etcd_default = "false",
     .status = kImplemented,
     .note = "Dialling peers must present a certificate signed by --peer-trusted-ca-file.",
     .example = "true"},
    {.section = "Security", .name = "peer-trusted-ca-file", .etcd_default = "",
     .status = kImplemented, .note = "CAs that sign peer certificates (required with peer TLS "
                                     "unless --peer-auto-tls).",
     .example = "ca.crt"},
    {.section = "Security", .name = "peer-cert-allowed-cn", .etcd_default = "",
     .status = kImplemented, .note = "A dialling peer's certificate must have this CN.",
     .example = "peer"},
    {.section = "Security", .name = "peer-cert-allowed-hostname", .etcd_default = "",
     .status = kImplemented,
     .note = "A dialling peer's certificate must be valid for this host name.",
     .example = "peer.example.com"},
    {.section = "Security", .name = "peer-auto-tls", .etcd_default = "false",
     .status = kImplemented,
     .note = "Without --peer-cert-file: a self-signed pair in <data-dir>/fixtures/peer; "
             "peers are not verified.",
     .example = "true"},
    {.section = "Security", .name = "self-signed-cert-validity", .etcd_default = "1",
     .status = kImplemented, .note = "Years the auto-TLS certificates are valid.",
     .example = "2"},
    {.section = "Security", .name = "peer-crl-file", .etcd_default = "", .status = kImplemented,
     .note = "Peer certificates revoked by this CRL are refused.", .example = "peer.crl"},
    {.section = "Security", .name = "cipher-suites", .etcd_default = "", .status = kImplemented,
     .note = "TLS 1.2 suites (Go's names, comma-separated) for clients and peers.",
     .example = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {.section = "Security", .name = "tls-min-version", .etcd_default = "TLS1.2",
     .status = kImplemented,
     .note = "Lowest TLS version, TLS1.2 or TLS1.3 (etcd 3.6's flag; not in the listing keel "
             "follows).",
     .example = "TLS1.3"},
    {.section = "Security", .name = "tls-max-version", .etcd_default = "",
     .status = kImplemented,
     .note = "Highest TLS version, TLS1.2 or TLS1.3; empty: TLS1.3 (etcd 3.6's flag; not in the "
             "listing keel follows).",
     .example = "TLS1.2"},
    {.section = "Security", .name = "cors", .etcd_default = "*", .status = kImplemented,
     .note = "Origins the JSON gateway's answers allow (Access-Control-Allow-*, as etcd's "
             "handler; empty or * allows any). /health and /version send no CORS headers.",
     .example = "http://example.com"},
    {.section = "Security", .name = "host-whitelist", .etcd_default = "*", .status = kNotYet,
     .note = "keel answers HTTP requests for any Host.", .example = "example.com"},

    // Auth.
    {.section = "Auth", .name = "auth-token", .etcd_default = "simple", .status = kNotYet,
     .note = "keel issues simple tokens (etcd's default): registered on every member through "
             "raft, carried in the `token` metadata. jwt,pub-key=...,priv-key=...,"
             "sign-method=... is refused.",
     .example = "jwt,pub-key=app.rsa.pub,priv-key=app.rsa,sign-method=RS256"},
    {.section = "Auth", .name = "bcrypt-cost", .etcd_default = "10", .status = kImplemented,
     .note = "bcrypt's cost for password hashes (4 to 31), computed off the event loop on "
             "the member that receives the password.",
     .example = "12"},
    {.section = "Auth", .name = "auth-token-ttl", .etcd_default = "300", .status = kImplemented,
     .note = "Seconds a simple token lives after its last use.", .example = "600"},

    // Profiling and monitoring.
    {.section = "Profiling and monitoring", .name = "enable-pprof", .etcd_default = "false",
     .status = kNotApplicable, .note = "Go's runtime profiler: keel is not a Go program.",
     .example = "true"},
    {.section = "Profiling and monitoring", .name = "metrics", .etcd_default = "basic",
     .status = kImplemented,
     .note = "/metrics on the client and metrics URLs, in etcd's names (doc/metrics.md); "
             "extensive adds grpc_server_handling_seconds. Other values are refused.",
     .example = "extensive"},
    {.section = "Profiling and monitoring", .name = "listen-metrics-urls", .etcd_default = "",
     .status = kImplemented,
     .note = "Listeners serving only /metrics and /health; https ones use the client TLS "
             "(--cert-file, --key-file).",
     .example = "http://127.0.0.1:12381"},

    // Logging.
    {.section = "Logging", .name = "logger", .etcd_default = "zap", .status = kNotApplicable,
     .note = "keel has one logger, zap's (etcd 3.5's default); capnslog, deprecated in etcd 3.5, is refused.",
     .example = "capnslog"},
    {.section = "Logging", .name = "log-outputs", .etcd_default = "default",
     .status = kImplemented,
     .note = "stderr (default), stdout or file paths, several at once; journal is refused "
             "(no journal writer: systemd collects stderr).",
     .example = "stdout"},
    {.section = "Logging", .name = "log-level", .etcd_default = "info", .status = kImplemented,
     .note = "debug, info, warn or error (etcd's dpanic, panic and fatal are refused at start).",
     .example = "debug"},
    {.section = "Logging", .name = "log-format", .etcd_default = "json", .status = kImplemented,
     .note = "json (zap's JSON lines) or console (zap's tab-separated lines, for a terminal); "
             "etcd 3.6's flag.",
     .example = "console"},
    {.section = "Logging", .name = "enable-log-rotation", .etcd_default = "false",
     .status = kNotYet, .note = "keel does not rotate its log files (logrotate with copytruncate does).", .example = "true"},
    {.section = "Logging", .name = "log-rotation-config-json",
     .etcd_default =
         R"({"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false})",
     .status = kNotYet, .note = "keel does not rotate its log files (logrotate with copytruncate does).", .example = R"({"maxsize": 10})"},

    // Experimental distributed tracing.
    {.section = "Experimental distributed tracing",
     .name = "experimental-enable-distributed-tracing", .etcd_default = "false",
     .status = kNotYet, .note = "No OpenTelemetry tracing.", .example = "true"},
    {.section = "Experimental distributed tracing",
     .name = "experimental-distributed-tracing-address", .etcd_default = "localhost:4317",
     .status = kNotYet, .note = "No OpenTelemetry tracing.", .example = "localhost:4318"},
    {.section = "Experimental distributed tracing",
     .name = "experimental-distributed-tracing-service-name", .etcd_default = "etcd",
     .status = kNotYet, .note = "No OpenTelemetry tracing.", .example = "keel"},
    {.section = "Experimental distributed tracing",
     .name = "experimental-distributed-tracing-instance-id", .etcd_default = "",
     .status = kNotYet, .note = "No OpenTelemetry tracing.", .example = "m1"},

    // v2 proxy.
    {.section = "v2 proxy", .name = "proxy", .etcd_default = "off", .status = kNotApplicable,
     .note = "The v2 proxy: keel has no v2 API.", .example = "on"},
    {.section = "v2 proxy", .name = "proxy-failure-wait", .etcd_default = "5000",
     .status = kNotApplicable, .note = "The v2 proxy: keel has no v2 API.", .example = "1000"},
    {.section = "v2 proxy", .name = "proxy-refresh-interval", .etcd_default = "30000",
     .status = kNotApplicable, .note = "The v2 proxy: keel has no v2 API.", .example = "1000"},
    {.section = "v2 proxy", .name = "proxy-dial-timeout", .etcd_default = "1000",
     .status = kNotApplicable, .note = "The v2 proxy: keel has no v2 API.", .example = "500"},
    {.section = "v2 proxy", .name = "proxy-write-timeout", .etcd_default = "5000",
     .status = kNotApplicable, .note = "The v2 proxy: keel has no v2 API.", .example = "1000"},
    {.section = "v2 proxy", .name = "proxy-read-timeout", .etcd_default = "0",
     .status = kNotApplicable, .note = "The v2 proxy: keel has no v2 API.", .example = "1000"},

    // Experimental.
    {.section = "Experimental", .name = "experimental-initial-corrupt-check",
     .etcd_default = "false", .status = kImplemented,
     .note = "Before serving clients, compare HashKV with the peers (asked on their client "
             "URLs) at this member's revision; a mismatch refuses the start with etcd's "
             "\"found data inconsistency with peers\".",
     .example = "true"},
    {.section = "Experimental", .name = "experimental-corrupt-check-time",
     .etcd_default = "0s", .status = kImplemented,
     .note = "How often the leader compares HashKV with its peers; a mismatch raises the "
             "CORRUPT alarm through raft and the cluster refuses writes. 0s is off.",
     .example = "1m"},
    {.section = "Experimental", .name = "experimental-enable-v2v3", .etcd_default = "",
     .status = kNotApplicable, .note = "v2 over v3: keel has no v2 API.", .example = "/v2"},
    {.section = "Experimental", .name = "experimental-enable-lease-checkpoint",
     .etcd_default = "false", .status = kImplemented,
     .note = "The leader persists leases' remaining TTLs every 5 minutes.", .example = "true"},
    {.section = "Experimental", .name = "experimental-compaction-batch-limit",
     .etcd_default = "1000", .status = kImplemented,
     .note = "Revisions a compaction removes per batch.", .example = "100"},
    {.section = "Experimental", .name = "experimental-peer-skip-client-san-verification",
     .etcd_default = "false", .status = kNotYet, .note = "No TLS yet.", .example = "true"},
    {.section = "Experimental", .name = "experimental-watch-progress-notify-interval",
     .etcd_default = "10m", .status = kNotYet,
     .note = "keel sends watch progress notifications every 10m (fixed).", .example = "1m"},
    {.section = "Experimental", .name = "experimental-warning-apply-duration",
     .etcd_default = "100ms", .status = kImplemented,
     .note = "An entry whose apply takes longer is logged: \"apply request took too long\".",
     .example = "1s"},
    {.section = "Experimental", .name = "experimental-txn-mode-write-with-shared-buffer",
     .etcd_default = "true", .status = kNotApplicable,
     .note = "bbolt's read buffer: keel's backend is LevelDB.", .example = "false"},
    {.section = "Experimental", .name = "experimental-bootstrap-defrag-threshold-megabytes",
     .etcd_default = "0", .status = kNotYet, .note = "No defragmentation yet.",
     .example = "100"},
    {.section = "Experimental", .name = "experimental-snapshot-catchup-entries",
     .etcd_default = "5000", .status = kImplemented,
     .note = "Entries kept behind a log compaction for slow followers (etcd 3.5.x; not in the "
             "listing keel follows).",
     .example = "100"},

    // Unsafe.
    {.section = "Unsafe", .name = "force-new-cluster", .etcd_default = "false",
     .status = kImplemented,
     .note = "Restarts an existing member as the only member of its cluster, keeping its "
             "data: uncommitted entries are dropped and every other member is removed.",
     .example = "true"},
    {.section = "Unsafe", .name = "unsafe-no-fsync", .etcd_default = "false",
     .status = kImplemented,
     .note = "The WAL writes without syncing: a power failure may lose acknowledged writes.",
     .example = "true"},
};

}  // namespace

std::span<const ServerFlag> ServerFlagTable() { return kFlags; }

const ServerFlag* FindServerFlag(std::string_view name) {
  for (const ServerFlag& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

std::string EnvironmentVariableFor(std::string_view name) {
  std::string out = "ETCD_";
  for (char c : name) {
    out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string_view FlagStatusText(FlagStatus status) {
  switch (status) {
    case FlagStatus::kImplemented:
      return "implemented";
    case FlagStatus::kNotYet:
      return "refused: not yet";
    case FlagStatus::kNotApplicable:
      return "refused: not applicable";
  }
  return "";
}

}  // namespace keel::tools
