// /metrics: reading each part's figures into etcd's families.
#include "node/metrics_endpoint.h"

#include "absl/strings/str_format.h"
#include "node/version.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

using metrics::MetricType;
using metrics::TextWriter;

std::string IdText(uint64_t id) { return absl::StrFormat("%x", id); }

void WriteServer(const MetricsSources& s, TextWriter& out) {
  Server& server = s.server;
  const RaftNode& raft = server.raft();
  const ServerStatus status = server.GetStatus();
  out.Family("etcd_cluster_version",
             "Which version is running. 1 for 'cluster_version' label with current cluster "
             "version",
             MetricType::kGauge);
  // etcd labels the major.minor.
  std::string_view cluster = kEtcdClusterVersion;
  cluster = cluster.substr(0, cluster.rfind('.'));
  out.Sample("etcd_cluster_version", {{"cluster_version", cluster}}, 1);
  out.Gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
            status.leader != 0 ? 1 : 0);
  out.Counter("etcd_server_heartbeat_send_failures_total",
              "The total number of leader heartbeat send failures (likely overloaded from slow "
              "disk).",
              static_cast<double>(raft.metrics().heartbeat_send_failures.value()));
  out.Family("etcd_server_id",
             "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
             MetricType::kGauge);
  out.Sample("etcd_server_id", {{"server_id", IdText(status.member_id)}}, 1);
  out.Gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
            raft.is_leader() ? 1 : 0);
  out.Gauge("etcd_server_is_learner",
            "Whether or not this member is a learner. 1 if is, 0 otherwise.",
            status.is_learner ? 1 : 0);
  out.Counter("etcd_server_leader_changes_seen_total", "The number of leader changes seen.",
              static_cast<double>(raft.metrics().leader_changes_seen.value()));
  out.Gauge("etcd_server_proposals_applied_total",
            "The total number of consensus proposals applied.",
            static_cast<double>(status.applied_index));
  out.Gauge("etcd_server_proposals_committed_total",
            "The total number of consensus proposals committed.",
            static_cast<double>(status.commit_index));
  out.Counter("etcd_server_proposals_failed_total", "The total number of failed proposals seen.",
              static_cast<double>(server.proposer().failed()));
  out.Gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit.",
            static_cast<double>(server.proposer().waiting()));
  const int64_t quota = server.config().quota_backend_bytes;
  out.Gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.",
            static_cast<double>(quota == 0 ? kDefaultQuotaBytes : quota));
  out.Counter("etcd_server_slow_apply_total",
              "The total number of slow apply requests (likely overloaded from slow disk).",
              static_cast<double>(server.apply_loop().metrics().slow_apply.value()));
  out.Family("etcd_server_version",
             "Which version is running. 1 for 'server_version' label with current version.",
             MetricType::kGauge);
  out.Sample("etcd_server_version", {{"server_version", kEtcdServerVersion}}, 1);
}

void WriteDisk(const MetricsSources& s, TextWriter& out) {
  out.Histogram("etcd_disk_backend_commit_duration_seconds",
                "The latency distributions of commit called by backend.",
                s.server.apply_loop().metrics().backend_commit_seconds);
  if (const metrics::Histogram* fsync = s.server.raft().wal_fsync_seconds()) {
    out.Histogram("etcd_disk_wal_fsync_duration_seconds",
                  "The latency distributions of fsync called by WAL.", *fsync);
  }
}

void WriteMvcc(const MetricsSources& s, int64_t db_size, int64_t in_use, TextWriter& out) {
  const KeySpace& key_space = s.server.key_space();
  const MvccMetrics& m = key_space.mvcc_metrics();
  const store::Mvcc& mvcc = key_space.mvcc();
  const WatchHub& watches = s.server.key_space().watch_hub();
  // etcd keeps both spellings of these counters (the etcd_debugging_mvcc_
  // ones predate the stable names); so does keel, for dashboards of either.
  for (std::string_view prefix : {"etcd_mvcc_", "etcd_debugging_mvcc_"}) {
    out.Counter(StrCat(prefix, "delete_total"), "Total number of deletes seen by this member.",
                static_cast<double>(m.deletes.value()));
    out.Counter(StrCat(prefix, "put_total"), "Total number of puts seen by this member.",
                static_cast<double>(m.puts.value()));
    out.Counter(StrCat(prefix, "range_total"), "Total number of ranges seen by this member.",
                static_cast<double>(m.ranges.value()));
    out.Counter(StrCat(prefix, "txn_total"), "Total number of txns seen by this member.",
                static_cast<double>(m.txns.value()));
    out.Gauge(StrCat(prefix, "db_total_size_in_bytes"),
              "Total size of the underlying database physically allocated in bytes.",
              static_cast<double>(db_size));
  }
  out.Gauge("etcd_mvcc_db_total_size_in_use_in_bytes",
            "Total size of the underlying database logically in use in bytes.",
            static_cast<double>(in_use));
  out.Gauge("etcd_debugging_mvcc_current_revision", "The current revision of store.",
            static_cast<double>(mvcc.current_revision()));
  out.Gauge("etcd_debugging_mvcc_compact_revision",
            "The revision of the last compaction in store.",
            static_cast<double>(mvcc.compact_revision()));
  out.Gauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.",
            static_cast<double>(watches.watcher_count()));
  out.Gauge("etcd_debugging_mvcc_watch_stream_total", "Total number of watch streams.",
            static_cast<double>(watches.stream_count()));
  out.Gauge("etcd_debugging_mvcc_slow_watcher_total",
            "Total number of unsynced slow watchers.",
            static_cast<double>(watches.unsynced_count()));
}

void WriteNetwork(const MetricsSources& s, TextWriter& out) {
  out.Counter("etcd_network_client_grpc_received_bytes_total",
              "The total number of bytes received from grpc clients.",
              static_cast<double>(s.grpc.received_bytes()));
  out.Counter("etcd_network_client_grpc_sent_bytes_total",
              "The total number of bytes sent to grpc clients.",
              static_cast<double>(s.grpc.sent_bytes()));
  RaftNode& raft = s.server.raft();
  const net::PeerTransport* transport = raft.transport();
  if (transport == nullptr) return;
  const std::vector<uint64_t> peers = transport->peer_ids();
  out.Family("etcd_network_peer_received_bytes_total",
             "The total number of bytes received from peers.", MetricType::kCounter);
  for (uint64_t peer : peers) {
    out.Sample("etcd_network_peer_received_bytes_total", {{"From", IdText(peer)}},
               static_cast<double>(transport->received_bytes(peer)));
  }
  out.Family("etcd_network_peer_sent_bytes_total", "The total number of bytes sent to peers.",
             MetricType::kCounter);
  for (uint64_t peer : peers) {
    out.Sample("etcd_network_peer_sent_bytes_total", {{"To", IdText(peer)}},
               static_cast<double>(transport->stats(peer).bytes_written));
  }
  const auto& rtt = raft.metrics().peer_round_trip_seconds;
  out.Family("etcd_network_peer_round_trip_time_seconds",
             "Round-Trip-Time histogram between peers", MetricType::kHistogram);
  for (const auto& [peer, histogram] : rtt) {
    out.HistogramSamples("etcd_network_peer_round_trip_time_seconds", {{"To", IdText(peer)}},
                         histogram);
  }
  out.Family("keel_network_peer_messages_dropped_total",
             "Raft messages to a peer dropped by the transport (queue full, connection down).",
             MetricType::kCounter);
  for (uint64_t peer : peers) {
    out.Sample("keel_network_peer_messages_dropped_total", {{"To", IdText(peer)}},
               static_cast<double>(transport->stats(peer).messages_dropped));
  }
}

void WriteKeel(const MetricsSources& s, TextWriter& out) {
  out.Histogram("keel_apply_batch_entries",
                "Committed entries applied per batch of the apply loop.",
                s.server.apply_loop().metrics().apply_batch_entries);
}

}  // namespace

absl::StatusOr<MetricsLevel> ParseMetricsLevel(std::string_view text) {
  if (text == "basic") return MetricsLevel::kBasic;
  if (text == "extensive") return MetricsLevel::kExtensive;
  return absl::InvalidArgumentError(
      StrCat("unknown metrics type \"", text, "\" (want basic or extensive)"));
}

Task<std::string> RenderMetrics(const MetricsSources& sources) {
  // The one suspension comes first: every other figure is read after it,
  // in one turn of the loop, so the scrape is a consistent moment.
  const int64_t db_size = sources.server.key_space().SizeBytes();
  const int64_t in_use = co_await sources.defragmenter.InUseBytes(db_size);
  TextWriter out;
  WriteServer(sources, out);
  WriteDisk(sources, out);
  WriteMvcc(sources, sources.server.key_space().SizeBytes(), in_use, out);
  WriteNetwork(sources, out);
  sources.grpc.WriteMetrics(out, sources.level == MetricsLevel::kExtensive);
  WriteKeel(sources, out);
  if (sources.process) sources.process(out);
  co_return out.Take();
}

void RegisterMetricsEndpoint(net::HttpRouter& http, const MetricsSources& sources) {
  http.Handle("/metrics", [&sources](net::HttpRequest) -> Task<net::HttpResponse> {
    net::HttpResponse response;
    response.headers.push_back({"Content-Type", std::string(metrics::kTextContentType)});
    response.body = co_await RenderMetrics(sources);
    co_return response;
  });
}

}  // namespace keel::node
