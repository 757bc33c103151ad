// Tests of the JSON gateway: the mapping (names, int64 as strings, base64,
// enums, omitted zeros, refusals) and the serving (a unary call and a
// stream through the GrpcServer's own handlers and interceptor chain, over
// raw HTTP/1.1 on the client port, next to gRPC).
#include "net/json_gateway.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/json_mapping.h"
#include "net/testing/server_harness.h"
#include "proto/rpc.pb.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

using testing::kServerAddress;
using testing::ServerHarness;

// --- The mapping ------------------------------------------------------------

absl::StatusOr<std::vector<std::string>> Decode(std::string_view body,
                                                const google::protobuf::Message& prototype,
                                                JsonBodyShape shape = JsonBodyShape::kOne) {
  return DecodeJsonBody(body, prototype, shape, 1 << 20);
}

TEST(JsonMappingTest, AcceptsProtoAndCamelNamesInt64AsStringOrNumberEnumsByNameOrNumber) {
  auto decoded = Decode(
      R"({"key":"Zm9v","range_end":"Zm9w","limit":"3","revision":9007199254740993,)"
      R"("sort_order":"DESCEND","sortTarget":2,"keysOnly":true})",
      etcdserverpb::RangeRequest::default_instance());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 1u);
  etcdserverpb::RangeRequest request;
  ASSERT_TRUE(request.ParseFromString(decoded->front()));
  EXPECT_EQ(request.key(), "foo");
  EXPECT_EQ(request.range_end(), "fop");
  EXPECT_EQ(request.limit(), 3);
  EXPECT_EQ(request.revision(), 9007199254740993) << "2^53+1 kept exact";
  EXPECT_EQ(request.sort_order(), etcdserverpb::RangeRequest::DESCEND);
  EXPECT_EQ(request.sort_target(), etcdserverpb::RangeRequest::CREATE);
  EXPECT_TRUE(request.keys_only());
}

TEST(JsonMappingTest, PrintsProtoNamesInt64AsStringsBytesAsBase64AndOmitsZeros) {
  etcdserverpb::RangeResponse response;
  response.mutable_header()->set_cluster_id(15118495548433857066u);
  response.mutable_header()->set_revision(2);
  mvccpb::KeyValue* kv = response.add_kvs();
  kv->set_key("foo");
  kv->set_value("bar");
  kv->set_create_revision(2);
  response.set_count(1);
  auto json = EncodeJsonMessage(response.SerializeAsString(), response);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            R"({"header":{"cluster_id":"15118495548433857066","revision":"2"},)"
            R"("kvs":[{"key":"Zm9v","create_revision":"2","value":"YmFy"}],"count":"1"})");

  etcdserverpb::StatusResponse status;
  status.set_dbsize(20480);
  status.set_raftappliedindex(6);
  json = EncodeJsonMessage(status.SerializeAsString(), status);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"dbSize":"20480","raftAppliedIndex":"6"})") << "names as in rpc.proto";

  etcdserverpb::LeaseGrantResponse grant;
  grant.set_id(7);
  grant.set_ttl(30);
  json = EncodeJsonMessage(grant.SerializeAsString(), grant);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"ID":"7","TTL":"30"})");

  etcdserverpb::WatchResponse watch;
  watch.add_events()->mutable_kv()->set_key("a");  // PUT, the zero enum: omitted
  watch.add_events()->set_type(mvccpb::Event::DELETE);
  json = EncodeJsonMessage(watch.SerializeAsString(), watch);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"events":[{"kv":{"key":"YQ=="}},{"type":"DELETE"}]})");
}

TEST(JsonMappingTest, BodyShapes) {
  const auto& watch = etcdserverpb::WatchRequest::default_instance();
  auto many = Decode(R"( {"create_request":{"key":"YQ=="}}
                         {"cancel_request":{"watch_id":"1"}} {"progress_request":{}} )",
                     watch, JsonBodyShape::kMany);
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->size(), 3u);
  etcdserverpb::WatchRequest second;
  ASSERT_TRUE(second.ParseFromString((*many)[1]));
  EXPECT_EQ(second.cancel_request().watch_id(), 1);

  auto none = Decode(" \n", watch, JsonBodyShape::kMany);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "a stream with no requests";
  auto empty = Decode("", etcdserverpb::StatusRequest::default_instance());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::vector<std::string>{""}) << "etcd reads no body as {}";
}

TEST(JsonMappingTest, RefusalsAreInvalidArgumentWithAClearText) {
  const auto& range = etcdserverpb::RangeRequest::default_instance();
  struct Case {
    std::string body;
    std::string text;
  };
  const std::vector<Case> cases = {
      {R"({"key":)", "unexpected EOF"},
      {R"({"key":"YQ==)", "unexpected EOF"},
      {R"({"key":"YQ==","bogus":1})", "bogus"},
      {R"({"key":5})", "invalid request body"},
      {R"({"limit":"x"})", "invalid request body"},
      {R"([1,2])", "expected a JSON object at offset 0"},
      {R"(nonsense)", "expected a JSON object at offset 0"},
      {R"({"key":"YQ=="} {"key":"Yg=="})", "unexpected data after the request"},
      {R"({}})", "unexpected data after the request"},
      {"{\"key\":\"\xff\"}", "invalid request body"},
  };
  for (const Case& c : cases) {
    auto decoded = Decode(c.body, range);
    ASSERT_FALSE(decoded.ok()) << c.body;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(decoded.status().message().find(c.text), std::string::npos)
        << c.body << " -> " << decoded.status();
  }
  std::string deep(100000, '[');
  auto nested = Decode(StrCat("{\"key\":", deep), range);
  EXPECT_FALSE(nested.ok()) << "deep nesting is refused, not recursed into";

  auto big = DecodeJsonBody(R"({"key":"YWFhYWFhYWFhYQ=="})", range, JsonBodyShape::kOne, 8);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(), "grpc: received message larger than max (12 vs. 8)");
}

TEST(JsonMappingTest, ErrorShapes) {
  const absl::Status status = absl::FailedPreconditionError("etcdserver: \"x\"\n\xff");
  EXPECT_EQ(JsonErrorBody(status),
            "{\"error\":\"etcdserver: \\\"x\\\"\\n\xEF\xBF\xBD\",\"message\":"
            "\"etcdserver: \\\"x\\\"\\n\xEF\xBF\xBD\",\"code\":9}");
  EXPECT_EQ(HttpStatusFromCode(status.code()), 412);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kOutOfRange), 400);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(JsonStreamErrorLine(absl::NotFoundError("gone")),
            "{\"error\":{\"grpc_code\":5,\"http_code\":404,\"message\":\"gone\","
            "\"http_status\":\"Not Found\"}}\n");
}

// --- Serving ----------------------------------------------------------------

Task<std::string> ReadAll(Connection& connection) {
  std::string out;
  std::vector<char> buffer(4096);
  while (true) {
    absl::StatusOr<size_t> n = co_await connection.Read(buffer);
    if (!n.ok() || *n == 0) break;
    out.append(buffer.data(), *n);
  }
  co_return out;
}

Task<bool> ReadUntil(Connection& connection, std::string_view needle, std::string* out) {
  std::vector<char> buffer(4096);
  while (out->find(needle) == std::string::npos) {
    absl::StatusOr<size_t> n = co_await connection.Read(buffer);
    if (!n.ok() || *n == 0) co_return false;
    out->append(buffer.data(), *n);
  }
  co_return true;
}

std::string Post(std::string_view path, std::string_view body, std::string_view extra = "") {
  return StrCat("POST ", path, " HTTP/1.1\r\nHost: x\r\n", extra,
                "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
}

constexpr GatewayRoute kRoutes[] = {
    {"kv/range", "/etcdserverpb.KV/Range"},
    {"watch", "/etcdserverpb.Watch/Watch"},
    {"kv/put", "/etcdserverpb.KV/Put"},  // not served by the GrpcServer
};

class JsonGatewayTest : public ServerHarness {
 public:
  void SetUp() override {
    // The interceptor every call meets, gRPC or JSON: a token is needed.
    grpc_.AddInterceptor([this](CallContext& context, const google::protobuf::Message*) {
      intercepted_++;
      if (context.Get("authorization") != "good") {
        return absl::InvalidArgumentError("etcdserver: user name is empty");
      }
      return absl::OkStatus();
    });
    grpc_.AddUnary<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(
        "/etcdserverpb.KV/Range",
        [](CallContext& context, etcdserverpb::RangeRequest request)
            -> Task<absl::StatusOr<etcdserverpb::RangeResponse>> {
          if (request.revision() > 100) {
            co_return absl::OutOfRangeError("etcdserver: mvcc: required revision is a future "
                                             "revision");
          }
          etcdserverpb::RangeResponse response;
          response.mutable_header()->set_revision(request.revision());
          response.add_kvs()->set_key(request.key() + "|" + std::string(context.Get("x-extra")
                                                                            .value_or("")));
          response.set_count(1);
          co_return response;
        });
    grpc_.AddStream<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>(
        "/etcdserverpb.Watch/Watch",
        [this](CallContext&, TypedServerStream<etcdserverpb::WatchRequest,
                                               etcdserverpb::WatchResponse>& stream)
            -> Task<absl::Status> {
          struct Gone {
            int* count;
            ~Gone() { (*count)++; }
          } gone{&watch_handlers_gone_};
          int64_t id = 0;
          while (true) {
            auto request = co_await stream.Read();
            if (!request.ok()) co_return request.status();
            if (!request->has_value()) break;
            etcdserverpb::WatchResponse created;
            created.set_watch_id(id++);
            created.set_created(true);
            KEEL_CO_RETURN_IF_ERROR(co_await stream.Write(created));
          }
          // Events keep coming after the half-close, one a second.
          for (int i = 0;; i++) {
            co_await clock_.Sleep(Seconds(1));
            etcdserverpb::WatchResponse event;
            event.mutable_header()->set_revision(i + 2);
            event.add_events()->mutable_kv()->set_key("a");
            KEEL_CO_RETURN_IF_ERROR(co_await stream.Write(event));
          }
        });
    JsonGatewayOptions options;
    options.prefixes = {"/v3/", "/v3beta/"};
    RegisterJsonGateway(http_, grpc_, kRoutes, options);
    Start();
  }

  std::string Exchange(std::string request) {
    std::string response;
    SpawnClient([](JsonGatewayTest* t, std::string request, std::string* out) -> Task<void> {
      absl::StatusOr<std::unique_ptr<Connection>> connection =
          co_await t->network_.Connect(kServerAddress);
      KEEL_ASSERT(connection.ok());
      KEEL_ASSERT((co_await (*connection)->Write(request)).ok());
      *out = co_await ReadAll(**connection);
    }(this, std::move(request), &response));
    Run(Seconds(10));
    return response;
  }

  static std::string Body(const std::string& response) {
    size_t at = response.find("\r\n\r\n");
    return at == std::string::npos ? "" : response.substr(at + 4);
  }

  int intercepted_ = 0;
  int watch_handlers_gone_ = 0;
};

TEST_F(JsonGatewayTest, UnaryCallGoesThroughTheInterceptorsAndTheHandler) {
  std::string response = Exchange(Post("/v3/kv/range", R"({"key":"Zm9v","revision":"7"})",
                                       "Authorization: good\r\nGrpc-Metadata-X-Extra: e\r\n"));
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(response.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
  EXPECT_EQ(Body(response),
            R"({"header":{"revision":"7"},"kvs":[{"key":"Zm9vfGU="}],"count":"1"})")
      << "key foo|e: the Grpc-Metadata- header reached the context";
  EXPECT_EQ(intercepted_, 1);

  response = Exchange(Post("/v3beta/kv/range", R"({"key":"Zm9v"})"));
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
  EXPECT_EQ(Body(response), R"({"error":"etcdserver: user name is empty",)"
                            R"("message":"etcdserver: user name is empty","code":3})");
  EXPECT_EQ(intercepted_, 2);

  response = Exchange(Post("/v3/kv/range", R"({"key":"Zm9v","revision":"101"})",
                           "Authorization: good\r\n"));
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
  EXPECT_NE(Body(response).find(R"("code":11})"), std::string::npos) << response;
}

TEST_F(JsonGatewayTest, BadRequestsGetTheGatewaysErrorShapeWithoutReachingTheHandler) {
  std::string response = Exchange(Post("/v3/kv/range", R"({"key":"Zm9v","nope":1})",
                                        "Authorization: good\r\n"));
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
  EXPECT_NE(Body(response).find(R"("code":3})"), std::string::npos) << response;
  EXPECT_NE(Body(response).find("nope"), std::string::npos) << response;
  response = Exchange(Post("/v3/kv/range", "{\"key\":", "Authorization: good\r\n"));
  EXPECT_EQ(Body(response),
            R"({"error":"unexpected EOF","message":"unexpected EOF","code":3})");
  EXPECT_EQ(intercepted_, 0);

  response = Exchange("GET /v3/kv/range HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << response;
  response = Exchange("OPTIONS /v3/kv/range HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Access-Control-Allow-Methods: POST, GET, OPTIONS, PUT, DELETE\r\n"),
            std::string::npos);

  response = Exchange(Post("/v3/kv/put", R"({"key":"Zm9v"})"));
  EXPECT_EQ(response.rfind("HTTP/1.1 501 Not Implemented\r\n", 0), 0u) << response;
  EXPECT_NE(Body(response).find(R"("code":12})"), std::string::npos) << response;
  response = Exchange(Post("/v3alpha/kv/range", R"({"key":"Zm9v"})"));
  EXPECT_EQ(response.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << "not among the prefixes";
}

TEST_F(JsonGatewayTest, WatchStreamsResultLinesAndStaysOpenUntilTheClientLeaves) {
  std::string seen;
  bool got_events = false;
  SpawnClient([](JsonGatewayTest* t, std::string* seen, bool* got) -> Task<void> {
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        co_await t->network_.Connect(kServerAddress);
    KEEL_ASSERT(connection.ok());
    std::string body = R"({"create_request":{"key":"YQ=="}} {"create_request":{"key":"Yg=="}})";
    KEEL_ASSERT((co_await (*connection)->Write(StrCat(
                     "POST /v3/watch HTTP/1.1\r\nHost: x\r\nAuthorization: good\r\n"
                     "Content-Length: ",
                     body.size(), "\r\n\r\n", body)))
                    .ok());
    *got = co_await ReadUntil(**connection, R"("revision":"4")", seen);
    (*connection)->Close();
  }(this, &seen, &got_events));
  Run(Seconds(10));
  ASSERT_TRUE(got_events) << seen;
  EXPECT_EQ(seen.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << seen;
  EXPECT_NE(seen.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(seen.find("{\"result\":{\"created\":true}}\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("{\"result\":{\"watch_id\":\"1\",\"created\":true}}\n"), std::string::npos);
  EXPECT_NE(seen.find(R"({"result":{"header":{"revision":"2"},"events":[{"kv":{"key":"YQ=="}}]}})"),
            std::string::npos);
  EXPECT_EQ(watch_handlers_gone_, 1) << "the call ends when the client goes away";
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(JsonGatewayTest, StreamRefusedByTheInterceptorAnswersWithTheCodesStatus) {
  std::string response = Exchange(Post("/v3/watch", R"({"create_request":{"key":"YQ=="}})"));
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("{\"error\":{\"grpc_code\":3,\"http_code\":400,\"message\":"
                          "\"etcdserver: user name is empty\",\"http_status\":\"Bad Request\"}}"),
            std::string::npos)
      << response;
  response = Exchange(Post("/v3/watch", R"({"create_request":{"key":5}})",
                           "Authorization: good\r\n"));
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
  EXPECT_EQ(watch_handlers_gone_, 0) << "neither call reached the handler";
}

}  // namespace
}  // namespace keel::net
