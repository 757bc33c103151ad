// Tests of the client-facing services (node/member_services.h) where their output
// must match etcd 3.4's byte for byte: the Cluster service's response header,
// and the /health and /version endpoints (status, Content-Type, body,
// method checks). One member on a simulated machine; the handlers are
// called directly, without a connection. tests/integration compares the
// same outputs with a real etcd through etcdctl and HTTP.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "node/member_services.h"
#include "node/server.h"
#include "node/testing/sim_members.h"

namespace keel::node {
namespace {

class ServicesTest : public ::testing::Test {
 protected:
  ServicesTest() {
    KEEL_ASSERT(c_.Start(0).ok());
    KEEL_ASSERT(c_.WaitLeader(Seconds(10)) == 0);
    services_ = std::make_unique<MemberServices>(c_.env(0), c_.server(0));
    services_->Register(grpc_, http_);
  }
  ~ServicesTest() override {
    services_.reset();
    EXPECT_TRUE(c_.StopAll().ok());
  }

  // Calls the unary method at `path` with `request`; the parsed response.
  template <typename Resp, typename Req>
  Resp Call(const std::string& path, const Req& request) {
    const net::GrpcServer::Method* method = grpc_.Find(path);
    KEEL_ASSERT(method != nullptr && method->unary != nullptr);
    net::CallContext ctx;
    ctx.method = path;
    absl::StatusOr<std::string> bytes =
        c_.RunOn(0, method->unary(ctx, request.SerializeAsString()));
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    Resp response;
    EXPECT_TRUE(bytes.ok() && response.ParseFromString(*bytes));
    return response;
  }

  net::HttpResponse Http(const std::string& method, const std::string& path) {
    const net::HttpRouter::Route* route = http_.Find(path);
    KEEL_ASSERT(route != nullptr && route->handler != nullptr);
    net::HttpRequest request;
    request.method = method;
    request.target = path;
    request.path = path;
    return c_.RunOn(0, route->handler(request));
  }

  static std::string Header(const net::HttpResponse& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return "(absent)";
  }

  testing::SimMembers c_;
  net::GrpcServer grpc_;
  net::HttpRouter http_;
  std::unique_ptr<MemberServices> services_;
};

TEST_F(ServicesTest, MemberListHeaderCarriesNoRevisionAsInEtcd) {
  auto response = Call<etcdserverpb::MemberListResponse>(
      "/etcdserverpb.Cluster/MemberList", etcdserverpb::MemberListRequest());
  EXPECT_EQ(response.header().revision(), 0);
  EXPECT_NE(response.header().cluster_id(), 0u);
  EXPECT_NE(response.header().member_id(), 0u);
  EXPECT_GT(response.header().raft_term(), 0u);
  ASSERT_EQ(response.members_size(), 1);
  EXPECT_EQ(response.members(0).name(), "m1");
}

TEST_F(ServicesTest, ReadyMeansTheMemberListShowsOurClientUrls) {
  // Node serves clients only once the server is ready, so nobody sees a
  // running member without its client URLs (etcd waits the same way).
  Server& server = c_.server(0);
  c_.world().RunUntil([&] { return server.ready().is_set(); }, Seconds(10));
  ASSERT_TRUE(server.ready().is_set());
  auto response = Call<etcdserverpb::MemberListResponse>(
      "/etcdserverpb.Cluster/MemberList", etcdserverpb::MemberListRequest());
  ASSERT_EQ(response.members_size(), 1);
  ASSERT_EQ(response.members(0).clienturls_size(), 1);
  EXPECT_EQ(response.members(0).clienturls(0), "http://10.0.0.1:2379");
}

TEST_F(ServicesTest, StatusOfAMemberWithALeaderListsNoErrors) {
  auto response = Call<etcdserverpb::StatusResponse>(
      "/etcdserverpb.Maintenance/Status", etcdserverpb::StatusRequest());
  EXPECT_EQ(response.leader(), response.header().member_id());
  EXPECT_EQ(response.errors_size(), 0);
  EXPECT_EQ(response.version(), "3.4.23");
}

TEST_F(ServicesTest, HealthAnswersAsGoNetHttpSniffsIt) {
  net::HttpResponse response = Http("GET", "/health");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"health\":\"true\"}");
  EXPECT_EQ(Header(response, "Content-Type"), "text/plain; charset=utf-8");
}

TEST_F(ServicesTest, VersionIsJson) {
  net::HttpResponse response = Http("GET", "/version");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}");
  EXPECT_EQ(Header(response, "Content-Type"), "application/json");
}

TEST_F(ServicesTest, HealthAndVersionRefuseMethodsOtherThanGet) {
  for (const std::string path : {"/health", "/version"}) {
    for (const std::string method : {"POST", "PUT", "HEAD", "DELETE"}) {
      net::HttpResponse response = Http(method, path);
      EXPECT_EQ(response.status, 405) << method << " " << path;
      EXPECT_EQ(response.body, "Method Not Allowed\n") << method << " " << path;
      EXPECT_EQ(Header(response, "Allow"), "GET") << method << " " << path;
      EXPECT_EQ(Header(response, "Content-Type"), "text/plain; charset=utf-8");
    }
  }
}

}  // namespace
}  // namespace keel::node
