// The plain-HTTP endpoints etcd serves on its client port: /version and
// /health, with etcd 3.4's bodies.
#include "node/services.h"
#include "runtime/strings.h"

namespace keel::node {

void RegisterHttpEndpoints(net::HttpRouter& http, Server& server) {
  http.Handle("/version", [](net::HttpRequest request) -> Task<net::HttpResponse> {
    net::HttpResponse response;
    response.headers.push_back({"Content-Type", "application/json"});
    response.body = StrCat("{\"etcdserver\":\"", kEtcdServerVersion,
                           "\",\"etcdcluster\":\"", kEtcdClusterVersion, "\"}");
    co_return response;
  });
  http.Handle("/health", [&server](net::HttpRequest request) -> Task<net::HttpResponse> {
    // Healthy means this member knows a leader and can complete a
    // linearizable read in time, as etcd's quorum GET checks.
    bool healthy = server.leader() != 0;
    if (healthy) {
      std::optional<absl::Status> read = co_await server.env().clock().WithTimeout(
          Seconds(1), server.LinearizableBarrier());
      healthy = read.has_value() && read->ok();
    }
    net::HttpResponse response;
    response.status = healthy ? 200 : 503;
    response.headers.push_back({"Content-Type", "application/json"});
    response.body = healthy ? "{\"health\":\"true\"}" : "{\"health\":\"false\"}";
    co_return response;
  });
}

}  // namespace keel::node
