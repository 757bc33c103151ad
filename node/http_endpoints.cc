// The plain-HTTP endpoints etcd serves on its client port: /version and
// /health, with etcd 3.4's bodies, headers and status codes. etcd writes
// them with Go's net/http: a method other than GET gets http.Error's 405
// "Method Not Allowed"; /health sets no Content-Type, so Go sniffs
// "text/plain; charset=utf-8", and its 503 goes through http.Error
// (net::TextResponse).
#include "node/http_endpoints.h"

#include "node/version.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

// etcd's allowMethod: only GET; anything else is a 405 naming GET.
std::optional<net::HttpResponse> RefuseIfNotGet(const net::HttpRequest& request) {
  if (request.method == "GET") return std::nullopt;
  net::HttpResponse response = net::TextResponse(405, "Method Not Allowed");
  response.headers.push_back({"Allow", "GET"});
  return response;
}

}  // namespace

void RegisterHttpEndpoints(net::HttpRouter& http, Clock& clock, const RaftNode& raft,
                           ReadIndexBatcher& reads) {
  http.Handle("/version", [](net::HttpRequest request) -> Task<net::HttpResponse> {
    if (auto refused = RefuseIfNotGet(request)) co_return std::move(*refused);
    net::HttpResponse response;
    response.headers.push_back({"Content-Type", "application/json"});
    response.body = StrCat("{\"etcdserver\":\"", kEtcdServerVersion,
                           "\",\"etcdcluster\":\"", kEtcdClusterVersion, "\"}");
    co_return response;
  });
  RegisterHealthEndpoint(http, clock, raft, reads);
}

void RegisterHealthEndpoint(net::HttpRouter& http, Clock& clock, const RaftNode& raft,
                            ReadIndexBatcher& reads) {
  http.Handle("/health", [&clock, &raft, &reads](net::HttpRequest request) -> Task<net::HttpResponse> {
    if (auto refused = RefuseIfNotGet(request)) co_return std::move(*refused);
    // Healthy means this member knows a leader and can complete a
    // linearizable read in time, as etcd's quorum GET checks.
    bool healthy = raft.leader() != 0;
    if (healthy) {
      std::optional<absl::Status> read =
          co_await clock.WithTimeout(Seconds(1), reads.Barrier());
      healthy = read.has_value() && read->ok();
    }
    if (!healthy) co_return net::TextResponse(503, "{\"health\":\"false\"}");
    net::HttpResponse response;
    response.headers.push_back({"Content-Type", std::string(kTextPlain)});
    response.body = "{\"health\":\"true\"}";
    co_return response;
  });
}

}  // namespace keel::node
