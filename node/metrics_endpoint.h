// /metrics: a member's metrics in Prometheus' text format, with etcd 3.4's
// names, types, labels, help texts and buckets for what keel has, so
// dashboards and alerts written for etcd read keel, plus keel_* families
// for what etcd lacks. doc/metrics.md lists them.
//
// Every figure is read at scrape time from the parts that own it (the
// raft node, apply loop, proposer, key space, gRPC registry, peer
// transport); nothing is kept for the endpoint's sake, and the parts
// update their counters without locks (runtime/metrics.h).
#ifndef KEEL_NODE_METRICS_ENDPOINT_H_
#define KEEL_NODE_METRICS_ENDPOINT_H_

#include <functional>
#include <string>

#include "net/grpc_server.h"
#include "net/http_message.h"
#include "node/maintenance_service.h"
#include "node/server.h"
#include "runtime/metrics.h"

namespace keel::node {

// --metrics: etcd's basic, or extensive (adds grpc_server_handling_seconds).
enum class MetricsLevel { kBasic, kExtensive };
// "basic" or "extensive"; InvalidArgument otherwise.
absl::StatusOr<MetricsLevel> ParseMetricsLevel(std::string_view text);

struct MetricsSources {
  Server& server;
  const net::GrpcServer& grpc;
  // For dbSizeInUse (etcd_mvcc_db_total_size_in_use_in_bytes).
  Defragmenter& defragmenter;
  MetricsLevel level = MetricsLevel::kBasic;
  // Writes process_* (runtime/process_metrics.h); empty in simulation.
  std::function<void(metrics::TextWriter&)> process;
};

// The exposition as of now. Suspends (dbSizeInUse may be counted afresh,
// at most every kInUseRefresh).
Task<std::string> RenderMetrics(const MetricsSources& sources);

// Routes GET /metrics on `http` (etcd's: other methods are served too, as
// promhttp does). `sources` must outlive the router's use.
void RegisterMetricsEndpoint(net::HttpRouter& http, const MetricsSources& sources);

}  // namespace keel::node

#endif  // KEEL_NODE_METRICS_ENDPOINT_H_
