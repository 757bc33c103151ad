// End-to-end tests of keel's gRPC: GrpcChannel against Server through
// in-memory pipes, on a ManualClock. Each test registers a few methods,
// drives a client coroutine, and checks what both sides saw: results,
// statuses and messages, handler lifetimes, flow control with large messages,
// deadlines, cancellation, PING, keepalive and GOAWAY.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/grpc_client.h"
#include "net/grpc_server.h"
#include "net/health_service.h"
#include "net/testing/server_harness.h"
#include "proto/health.pb.h"
#include "proto/rpc.pb.h"
#include "runtime/strings.h"
#include "runtime/when.h"

namespace keel::net {
namespace {

using testing::kServerAddress;
using testing::ServerHarness;

// Counts destructions, to see a handler's frame go.
struct DestructionCounter {
  int* count;
  ~DestructionCounter() { (*count)++; }
};

class GrpcEndToEndTest : public ServerHarness {
 public:
  // /test.Echo/Unary answers "echo:" + request; /test.Echo/Sleep sleeps for
  // the number of milliseconds in the request, then answers it.
  void RegisterEcho() {
    grpc_.RegisterUnary("/test.Echo/Unary",
                        [](CallContext& ctx, std::string request)
                            -> Task<absl::StatusOr<std::string>> {
                          co_return "echo:" + request;
                        });
    grpc_.RegisterUnary("/test.Echo/Sleep",
                        [this](CallContext& ctx, std::string request)
                            -> Task<absl::StatusOr<std::string>> {
                          DestructionCounter counter{&sleep_handlers_gone_};
                          int ms = 0;
                          KEEL_ASSERT(ParseInt(request, &ms));
                          co_await clock_.Sleep(Milliseconds(ms));
                          sleep_handlers_done_++;
                          co_return request;
                        });
  }

  int sleep_handlers_gone_ = 0;
  int sleep_handlers_done_ = 0;
};

TEST_F(GrpcEndToEndTest, UnaryCallRoundTripsWithMetadata) {
  CallContext seen;
  grpc_.RegisterUnary("/test.Echo/Context",
                      [&seen](CallContext& ctx, std::string request)
                          -> Task<absl::StatusOr<std::string>> {
                        seen = ctx;
                        co_return std::string(ctx.Get("hasleader").value_or("none"));
                      });
  Start();
  absl::StatusOr<std::string> result;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* result)
                  -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    CallOptions options;
    options.metadata = {{"hasleader", "true"}, {"client-api-version", "3.4"}};
    options.timeout = Seconds(5);
    *result = co_await channel->Call("/test.Echo/Context", "x", options);
  }(this, &result));
  Run();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, "true");
  EXPECT_EQ(seen.method, "/test.Echo/Context");
  EXPECT_EQ(seen.authority, kServerAddress);
  EXPECT_EQ(seen.Get("client-api-version"), "3.4");
  EXPECT_EQ(seen.Get("grpc-timeout"), std::nullopt) << "consumed by gRPC";
  ASSERT_TRUE(seen.deadline.has_value());
  EXPECT_EQ(*seen.deadline, TimePoint() + Seconds(5));
  EXPECT_EQ(seen.peer_address.rfind("127.0.0.1:", 0), 0u);
}

TEST_F(GrpcEndToEndTest, AuthorityWrittenAsAUrlIsAccepted) {
  // grpc-go sends the endpoint as given ("http://host:port") as :authority
  // when etcdctl dials one endpoint; etcd accepts it, so keel must too.
  CallContext seen;
  grpc_.RegisterUnary("/test.Echo/Context",
                      [&seen](CallContext& ctx, std::string request)
                          -> Task<absl::StatusOr<std::string>> {
                        seen = ctx;
                        co_return request;
                      });
  Start();
  absl::StatusOr<std::string> result;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* result)
                  -> Task<void> {
    ChannelOptions options;
    options.authority = StrCat("http://", kServerAddress);
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial(std::move(options));
    CallOptions call;
    call.timeout = Seconds(5);
    *result = co_await channel->Call("/test.Echo/Context", "x", call);
  }(this, &result));
  Run();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, "x");
  EXPECT_EQ(seen.authority, StrCat("http://", kServerAddress));
}

TEST_F(GrpcEndToEndTest, TypedUnaryCallUsesEtcdMessages) {
  grpc_.AddUnary<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(
      "/etcdserverpb.KV/Range",
      [](CallContext&, etcdserverpb::RangeRequest request)
          -> Task<absl::StatusOr<etcdserverpb::RangeResponse>> {
        etcdserverpb::RangeResponse response;
        response.mutable_header()->set_revision(42);
        response.add_kvs()->set_key(request.key());
        response.set_count(1);
        co_return response;
      });
  Start();
  absl::StatusOr<etcdserverpb::RangeResponse> result;
  SpawnClient([](GrpcEndToEndTest* t,
                 absl::StatusOr<etcdserverpb::RangeResponse>* result) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    etcdserverpb::RangeRequest request;
    request.set_key("health");
    *result = co_await channel->Call<etcdserverpb::RangeResponse>(
        "/etcdserverpb.KV/Range", request);
  }(this, &result));
  Run();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->header().revision(), 42);
  ASSERT_EQ(result->kvs_size(), 1);
  EXPECT_EQ(result->kvs(0).key(), "health");
}

TEST_F(GrpcEndToEndTest, InterceptorsSeeTheParsedRequestAndMayRefuseTheCall) {
  // etcd's per-call rules (hasleader, auth) run in front of every handler.
  std::vector<std::string> seen;
  int handled = 0;
  grpc_.AddInterceptor([&seen](CallContext& ctx, const google::protobuf::Message* request) {
    const auto* range = dynamic_cast<const etcdserverpb::RangeRequest*>(request);
    seen.push_back(ctx.method + " " + (range != nullptr ? range->key() : "-"));
    return absl::OkStatus();
  });
  grpc_.AddInterceptor([](CallContext& ctx, const google::protobuf::Message*) {
    if (ctx.Get("hasleader") == "true") return absl::UnavailableError("etcdserver: no leader");
    return absl::OkStatus();
  });
  grpc_.AddUnary<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(
      "/etcdserverpb.KV/Range",
      [&handled](CallContext&, etcdserverpb::RangeRequest)
          -> Task<absl::StatusOr<etcdserverpb::RangeResponse>> {
        handled++;
        co_return etcdserverpb::RangeResponse();
      });
  Start();
  absl::Status plain, refused;
  SpawnClient([](GrpcEndToEndTest* t, absl::Status* plain, absl::Status* refused) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    etcdserverpb::RangeRequest request;
    request.set_key("a");
    *plain = (co_await channel->Call<etcdserverpb::RangeResponse>("/etcdserverpb.KV/Range",
                                                                  request))
                 .status();
    request.set_key("b");
    CallOptions options;
    options.metadata.emplace_back("hasleader", "true");
    *refused = (co_await channel->Call<etcdserverpb::RangeResponse>(
                    "/etcdserverpb.KV/Range", request, options))
                   .status();
  }(this, &plain, &refused));
  Run();
  EXPECT_TRUE(plain.ok()) << plain;
  EXPECT_EQ(refused, absl::UnavailableError("etcdserver: no leader"));
  EXPECT_EQ(handled, 1) << "the refused call never reached its handler";
  EXPECT_EQ(seen, (std::vector<std::string>{"/etcdserverpb.KV/Range a",
                                            "/etcdserverpb.KV/Range b"}));
}

TEST_F(GrpcEndToEndTest, ManyConcurrentUnaryCallsShareOneConnection) {
  RegisterEcho();
  Start();
  constexpr int kCalls = 200;
  std::vector<absl::StatusOr<std::string>> results;
  SpawnClient([](GrpcEndToEndTest* t,
                 std::vector<absl::StatusOr<std::string>>* results) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    std::vector<Task<absl::StatusOr<std::string>>> calls;
    for (int i = 0; i < kCalls; i++) {
      // Later calls finish first, so responses interleave on the wire.
      calls.push_back(channel->Call("/test.Echo/Sleep", std::to_string(kCalls - i)));
    }
    *results = co_await WhenAll(std::move(calls));
  }(this, &results));
  Run();
  ASSERT_EQ(results.size(), size_t{kCalls});
  for (int i = 0; i < kCalls; i++) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status();
    EXPECT_EQ(*results[i], std::to_string(kCalls - i));
  }
  EXPECT_EQ(network_.connections_made(), 1u);
  EXPECT_EQ(sleep_handlers_done_, kCalls);
}

TEST_F(GrpcEndToEndTest, BidirectionalStreamInterleavesAndHalfCloses) {
  grpc_.RegisterStream("/test.Echo/Chat",
                       [](CallContext& ctx, ServerStream& stream) -> Task<absl::Status> {
                         int count = 0;
                         while (true) {
                           std::optional<std::string> message = co_await stream.Read();
                           if (!message.has_value()) break;
                           count++;
                           KEEL_CO_RETURN_IF_ERROR(co_await stream.Write("re:" + *message));
                         }
                         co_await stream.Write("done after " + std::to_string(count));
                         co_return absl::OkStatus();
                       });
  Start();
  std::vector<std::string> replies;
  absl::Status final_status = absl::UnknownError("unset");
  SpawnClient([](GrpcEndToEndTest* t, std::vector<std::string>* replies,
                 absl::Status* final_status) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    CallOptions options;
    options.metadata = {{"hasleader", "true"}};
    absl::StatusOr<std::unique_ptr<ClientStream>> stream =
        channel->OpenStream("/test.Echo/Chat", options);
    KEEL_ASSERT(stream.ok());
    for (const char* word : {"a", "b", "c"}) {
      KEEL_ASSERT((co_await (*stream)->Write(word)).ok());
      std::optional<std::string> reply = co_await (*stream)->Read();
      replies->push_back(reply.value_or("<none>"));
    }
    (*stream)->CloseSend();
    while (true) {
      std::optional<std::string> reply = co_await (*stream)->Read();
      if (!reply.has_value()) break;
      replies->push_back(*reply);
    }
    *final_status = co_await (*stream)->Finish();
  }(this, &replies, &final_status));
  Run();
  EXPECT_EQ(replies, (std::vector<std::string>{"re:a", "re:b", "re:c", "done after 3"}));
  EXPECT_TRUE(final_status.ok()) << final_status;
}

// Sends one request on a stream and collects the final status and whether
// the response was Trailers-Only.
Task<void> CallAndInspect(GrpcEndToEndTest* t, std::string path,
                          absl::Status* status, bool* trailers_only);

TEST_F(GrpcEndToEndTest, ErrorsAreTrailersOnlyWithCodeAndMessageIntact) {
  const std::string compacted = "etcdserver: mvcc: required revision has been compacted";
  const std::string awkward = "100% odd: tab\there, newline\n, caf\xC3\xA9, \x01";
  grpc_.RegisterUnary("/test.Fail/Compacted",
                      [&](CallContext&, std::string) -> Task<absl::StatusOr<std::string>> {
                        co_return absl::OutOfRangeError(compacted);
                      });
  grpc_.RegisterUnary("/test.Fail/Awkward",
                      [&](CallContext&, std::string) -> Task<absl::StatusOr<std::string>> {
                        co_return absl::FailedPreconditionError(awkward);
                      });
  Start();
  absl::Status first, second;
  bool first_trailers_only = false, second_trailers_only = false;
  SpawnClient(CallAndInspect(this, "/test.Fail/Compacted", &first, &first_trailers_only));
  SpawnClient(CallAndInspect(this, "/test.Fail/Awkward", &second, &second_trailers_only));
  Run();
  EXPECT_EQ(first.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(first.message(), compacted);
  EXPECT_TRUE(first_trailers_only);
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.message(), awkward);
  EXPECT_TRUE(second_trailers_only);
}

Task<void> CallAndInspect(GrpcEndToEndTest* t, std::string path,
                          absl::Status* status, bool* trailers_only) {
  std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
  absl::StatusOr<std::unique_ptr<ClientStream>> stream = channel->OpenStream(path);
  KEEL_ASSERT(stream.ok());
  KEEL_ASSERT((co_await (*stream)->Write("request")).ok());
  (*stream)->CloseSend();
  *status = co_await (*stream)->Finish();
  *trailers_only = (*stream)->trailers_only();
}

TEST_F(GrpcEndToEndTest, MethodStatsCountCallsMessagesBytesAndCodes) {
  RegisterEcho();
  grpc_.RegisterUnary("/test.Fail/Compacted",
                      [](CallContext&, std::string) -> Task<absl::StatusOr<std::string>> {
                        co_return absl::OutOfRangeError("compacted");
                      });
  Start();
  absl::StatusOr<std::string> a, b, failed;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* a,
                 absl::StatusOr<std::string>* b,
                 absl::StatusOr<std::string>* failed) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *a = co_await channel->Call("/test.Echo/Unary", "abc", CallOptions());
    *b = co_await channel->Call("/test.Echo/Unary", "de", CallOptions());
    *failed = co_await channel->Call("/test.Fail/Compacted", "x", CallOptions());
    (void)co_await channel->Call("/test.No/Such", "x", CallOptions());
  }(this, &a, &b, &failed));
  Run();
  ASSERT_TRUE(a.ok() && b.ok());
  const GrpcMethodStats& echo = grpc_.Find("/test.Echo/Unary")->stats;
  EXPECT_EQ(echo.type, GrpcType::kUnary);
  EXPECT_EQ(echo.started.value(), 2u);
  EXPECT_EQ(echo.handled[0].value(), 2u);
  EXPECT_EQ(echo.msg_received.value(), 2u);
  EXPECT_EQ(echo.msg_sent.value(), 2u);
  EXPECT_EQ(echo.received_bytes.value(), 5u);  // "abc", "de"
  EXPECT_EQ(echo.sent_bytes.value(), 15u);     // "echo:abc", "echo:de"
  EXPECT_EQ(echo.handling_seconds.count(), 2u);
  const GrpcMethodStats& fail = grpc_.Find("/test.Fail/Compacted")->stats;
  EXPECT_EQ(fail.handled[static_cast<int>(absl::StatusCode::kOutOfRange)].value(), 1u);
  EXPECT_EQ(fail.msg_sent.value(), 0u);

  metrics::TextWriter out;
  grpc_.WriteMetrics(out, /*handling_time=*/false);
  EXPECT_NE(out.text().find("grpc_server_handled_total{grpc_code=\"OutOfRange\","
                            "grpc_method=\"Compacted\",grpc_service=\"test.Fail\","
                            "grpc_type=\"unary\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.text().find("grpc_server_started_total{grpc_method=\"Unary\","
                            "grpc_service=\"test.Echo\",grpc_type=\"unary\"} 2\n"),
            std::string::npos);
  EXPECT_EQ(out.text().find("grpc_server_handling_seconds"), std::string::npos);
  EXPECT_EQ(out.text().find("test.No"), std::string::npos) << "unknown methods are not counted";
  EXPECT_EQ(grpc_.received_bytes(), 6u);
}

TEST_F(GrpcEndToEndTest, SuccessfulUnaryResponseIsNotTrailersOnly) {
  RegisterEcho();
  Start();
  absl::Status status = absl::UnknownError("unset");
  bool trailers_only = true;
  SpawnClient(CallAndInspect(this, "/test.Echo/Unary", &status, &trailers_only));
  Run();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_FALSE(trailers_only);
}

TEST_F(GrpcEndToEndTest, UnknownMethodsAreUnimplemented) {
  grpc_.RegisterUnary("/etcdserverpb.KV/Range",
                      [](CallContext&, std::string) -> Task<absl::StatusOr<std::string>> {
                        co_return std::string();
                      });
  Start();
  absl::StatusOr<std::string> unknown_method, unknown_service;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* a,
                 absl::StatusOr<std::string>* b) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *a = co_await channel->Call("/etcdserverpb.KV/Nope", "");
    *b = co_await channel->Call("/etcdserverpb.Nope/Range", "");
  }(this, &unknown_method, &unknown_service));
  Run();
  EXPECT_EQ(unknown_method.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(unknown_method.status().message(),
            "unknown method Nope for service etcdserverpb.KV");
  EXPECT_EQ(unknown_service.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(unknown_service.status().message(), "unknown service etcdserverpb.Nope");
}

TEST_F(GrpcEndToEndTest, ClientDeadlineEndsTheCallAndTheHandler) {
  RegisterEcho();
  Start();
  absl::StatusOr<std::string> result;
  TimePoint finished_at;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* result,
                 TimePoint* finished_at) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    CallOptions options;
    options.timeout = Seconds(1);
    *result = co_await channel->Call("/test.Echo/Sleep", "10000", options);
    *finished_at = t->clock_.Now();
  }(this, &result, &finished_at));
  Run();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result.status().message(), "context deadline exceeded");
  EXPECT_EQ(finished_at, TimePoint() + Seconds(1));
  EXPECT_EQ(sleep_handlers_gone_, 1) << "the handler was destroyed";
  EXPECT_EQ(sleep_handlers_done_, 0);
}

TEST_F(GrpcEndToEndTest, AHandlerCanNameWhatItsDeadlineAnswers) {
  // etcd answers a write whose context expired with its own error, which
  // clients match on; grpc-go would say "context deadline exceeded".
  int asked = 0;
  grpc_.RegisterUnary("/test.Echo/Stuck",
                      [this, &asked](CallContext& ctx, std::string request)
                          -> Task<absl::StatusOr<std::string>> {
                        DestructionCounter counter{&sleep_handlers_gone_};
                        ctx.deadline_status = [this, &asked] {
                          asked++;
                          EXPECT_EQ(clock_.Now(), TimePoint() + Milliseconds(250));
                          return absl::UnavailableError("etcdserver: request timed out");
                        };
                        co_await clock_.Sleep(Seconds(60));
                        co_return request;
                      });
  Start();
  absl::Status status;
  SpawnClient([](GrpcEndToEndTest* t, absl::Status* status) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    CallOptions options;
    options.timeout = Milliseconds(250);
    // A stream, so that only the server's deadline can end the call.
    absl::StatusOr<std::unique_ptr<ClientStream>> stream =
        channel->OpenStream("/test.Echo/Stuck", options);
    KEEL_ASSERT(stream.ok());
    KEEL_ASSERT((co_await (*stream)->Write("x")).ok());
    (*stream)->CloseSend();
    *status = co_await (*stream)->Finish();
  }(this, &status));
  Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "etcdserver: request timed out");
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(sleep_handlers_gone_, 1) << "the handler was destroyed";
}

TEST_F(GrpcEndToEndTest, ServerEnforcesGrpcTimeout) {
  RegisterEcho();
  Start();
  absl::Status status;
  bool trailers_only = false;
  SpawnClient([](GrpcEndToEndTest* t, absl::Status* status,
                 bool* trailers_only) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    // Streams send grpc-timeout without enforcing it locally, so only the
    // server can end this call.
    CallOptions options;
    options.timeout = Milliseconds(250);
    absl::StatusOr<std::unique_ptr<ClientStream>> stream =
        channel->OpenStream("/test.Echo/Sleep", options);
    KEEL_ASSERT(stream.ok());
    KEEL_ASSERT((co_await (*stream)->Write("60000")).ok());
    (*stream)->CloseSend();
    *status = co_await (*stream)->Finish();
    *trailers_only = (*stream)->trailers_only();
  }(this, &status, &trailers_only));
  Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(), "context deadline exceeded");
  EXPECT_TRUE(trailers_only);
  EXPECT_EQ(sleep_handlers_gone_, 1);
  EXPECT_EQ(clock_.Now(), TimePoint() + Milliseconds(250));
}

TEST_F(GrpcEndToEndTest, ClientCancelOfAStreamDestroysTheHandler) {
  int handlers_gone = 0;
  int reads_started = 0;
  grpc_.RegisterStream("/test.Watch/Watch",
                       [&](CallContext&, ServerStream& stream) -> Task<absl::Status> {
                         DestructionCounter counter{&handlers_gone};
                         KEEL_CO_RETURN_IF_ERROR(co_await stream.Write("created"));
                         reads_started++;
                         while (true) {
                           std::optional<std::string> message = co_await stream.Read();
                           if (!message.has_value()) break;
                         }
                         co_return absl::OkStatus();
                       });
  Start();
  absl::Status status;
  SpawnClient([](GrpcEndToEndTest* t, absl::Status* status) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    absl::StatusOr<std::unique_ptr<ClientStream>> stream =
        channel->OpenStream("/test.Watch/Watch");
    KEEL_ASSERT(stream.ok());
    KEEL_ASSERT((co_await (*stream)->Read()) == "created");
    (*stream)->Cancel();
    *status = co_await (*stream)->Finish();
    co_await t->clock_.Sleep(Seconds(1));  // Let the RST_STREAM arrive.
    KEEL_ASSERT(channel->open_calls() == 0);
  }(this, &status));
  Run();
  EXPECT_EQ(reads_started, 1);
  EXPECT_EQ(handlers_gone, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(status.message(), "context canceled");
}

TEST_F(GrpcEndToEndTest, MessageOverTheLimitIsResourceExhausted) {
  grpc_.set_options({.max_receive_message_bytes = 1024});
  RegisterEcho();
  Start();
  absl::StatusOr<std::string> big, small;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* big,
                 absl::StatusOr<std::string>* small) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *big = co_await channel->Call("/test.Echo/Unary", std::string(200'000, 'b'));
    *small = co_await channel->Call("/test.Echo/Unary", std::string(1024, 's'));
  }(this, &big, &small));
  Run();
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(big.status().message(),
            "grpc: received message larger than max (200000 vs. 1024)");
  ASSERT_TRUE(small.ok()) << small.status() << " (the connection survives)";
  EXPECT_EQ(small->size(), 5u + 1024u);
}

TEST_F(GrpcEndToEndTest, FourMebibyteMessagesRoundTripThroughFlowControl) {
  grpc_.set_options({.max_receive_message_bytes = 8 * 1024 * 1024});
  RegisterEcho();
  Start();
  std::string payload(4 * 1024 * 1024, '\0');
  for (size_t i = 0; i < payload.size(); i++) {
    payload[i] = static_cast<char>((i * 2654435761u) >> 13);
  }
  absl::StatusOr<std::string> result;
  SpawnClient([](GrpcEndToEndTest* t, const std::string* payload,
                 absl::StatusOr<std::string>* result) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *result = co_await channel->Call("/test.Echo/Unary", *payload);
  }(this, &payload, &result));
  Run();
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), payload.size() + 5);
  EXPECT_TRUE(*result == "echo:" + payload);
}

TEST_F(GrpcEndToEndTest, StreamedResponsesLargerThanTheWindowsArrive) {
  constexpr int kMessages = 64;
  constexpr size_t kMessageBytes = 128 * 1024;  // 8 MiB in all.
  grpc_.RegisterStream("/test.Snapshot/Get",
                       [](CallContext&, ServerStream& stream) -> Task<absl::Status> {
                         for (int i = 0; i < kMessages; i++) {
                           std::string chunk(kMessageBytes, static_cast<char>('a' + i % 26));
                           KEEL_CO_RETURN_IF_ERROR(co_await stream.Write(std::move(chunk)));
                         }
                         co_return absl::OkStatus();
                       });
  Start();
  int received = 0;
  bool intact = true;
  absl::Status status = absl::UnknownError("unset");
  SpawnClient([](GrpcEndToEndTest* t, int* received, bool* intact,
                 absl::Status* status) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    absl::StatusOr<std::unique_ptr<ClientStream>> stream =
        channel->OpenStream("/test.Snapshot/Get");
    KEEL_ASSERT(stream.ok());
    (*stream)->CloseSend();
    while (true) {
      std::optional<std::string> chunk = co_await (*stream)->Read();
      if (!chunk.has_value()) break;
      if (*chunk != std::string(kMessageBytes, static_cast<char>('a' + *received % 26))) {
        *intact = false;
      }
      (*received)++;
      // A slow reader: the server must wait for window, not buffer it all.
      co_await t->clock_.Sleep(Milliseconds(10));
    }
    *status = co_await (*stream)->Finish();
  }(this, &received, &intact, &status));
  Run();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(received, kMessages);
  EXPECT_TRUE(intact);
}

TEST_F(GrpcEndToEndTest, PingIsAnswered) {
  Start();
  absl::Status first, second;
  SpawnClient([](GrpcEndToEndTest* t, absl::Status* first,
                 absl::Status* second) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *first = co_await channel->Ping(Seconds(1));
    *second = co_await channel->Ping(Seconds(1));
  }(this, &first, &second));
  Run();
  EXPECT_TRUE(first.ok()) << first;
  EXPECT_TRUE(second.ok()) << second;
}

TEST_F(GrpcEndToEndTest, ServerKeepaliveKeepsAnsweringPeersAndDropsSilentOnes) {
  ServerOptions options = QuietOptions();
  options.http2.keepalive_interval = Seconds(10);
  options.http2.keepalive_timeout = Seconds(5);
  RegisterEcho();
  Start(options);
  // A real client: its nghttp2 answers the server's pings by itself.
  absl::StatusOr<std::string> late_call;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* late) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    co_await t->clock_.Sleep(Seconds(60));
    *late = co_await channel->Call("/test.Echo/Unary", "still here");
  }(this, &late_call));
  // A silent peer: sends the preface and SETTINGS, then never reads again.
  SpawnClient([](GrpcEndToEndTest* t) -> Task<void> {
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        co_await t->network_.Connect(kServerAddress);
    KEEL_ASSERT(connection.ok());
    std::string hello(kHttp2ClientPreface);
    hello.append(std::string("\0\0\0\4\0\0\0\0\0", 9));  // Empty SETTINGS.
    KEEL_ASSERT((co_await (*connection)->Write(hello)).ok());
    co_await t->clock_.Sleep(Seconds(3600));
  }(this));
  Run(Seconds(30));
  EXPECT_EQ(server_->connection_count(), 1u) << "the silent peer was dropped";
  Run(Seconds(60));
  ASSERT_TRUE(late_call.ok()) << late_call.status();
  EXPECT_EQ(*late_call, "echo:still here");
}

TEST_F(GrpcEndToEndTest, ShutdownSendsGoawayAndLetsCallsInFlightFinish) {
  RegisterEcho();
  Start();
  absl::StatusOr<std::string> in_flight, after_goaway;
  bool usable_after = true;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* in_flight,
                 absl::StatusOr<std::string>* after, bool* usable) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *in_flight = co_await channel->Call("/test.Echo/Sleep", "5000");
    *usable = channel->usable();
    *after = co_await channel->Call("/test.Echo/Unary", "too late");
  }(this, &in_flight, &after_goaway, &usable_after));
  Run(Seconds(1));
  ASSERT_EQ(server_->connection_count(), 1u);
  bool shutdown_done = false;
  server_process_.Spawn([](Server* server, bool* done) -> Task<void> {
    co_await server->Shutdown(Seconds(30));
    *done = true;
  }(server_.get(), &shutdown_done));
  Run();
  ASSERT_TRUE(in_flight.ok()) << in_flight.status();
  EXPECT_EQ(*in_flight, "5000");
  EXPECT_FALSE(usable_after);
  EXPECT_EQ(after_goaway.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(shutdown_done);
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_LT(clock_.Now(), TimePoint() + Seconds(30)) << "no need to wait the grace out";
}

TEST_F(GrpcEndToEndTest, ConnectionLossFailsPendingCallsWithUnavailable) {
  RegisterEcho();
  Start();
  absl::StatusOr<std::string> result;
  SpawnClient([](GrpcEndToEndTest* t, absl::StatusOr<std::string>* result) -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    *result = co_await channel->Call("/test.Echo/Sleep", "10000");
  }(this, &result));
  Run(Seconds(1));
  network_.ResetConnection(0);
  Run();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sleep_handlers_gone_, 1) << "the server cancelled the handler too";
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(GrpcEndToEndTest, HealthCheckAnswersServing) {
  HealthService health;
  health.Register(grpc_);
  Start();
  absl::StatusOr<grpc::health::v1::HealthCheckResponse> overall, unknown;
  SpawnClient([](GrpcEndToEndTest* t,
                 absl::StatusOr<grpc::health::v1::HealthCheckResponse>* overall,
                 absl::StatusOr<grpc::health::v1::HealthCheckResponse>* unknown)
                  -> Task<void> {
    std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
    grpc::health::v1::HealthCheckRequest request;
    *overall = co_await channel->Call<grpc::health::v1::HealthCheckResponse>(
        "/grpc.health.v1.Health/Check", request);
    request.set_service("etcdserverpb.Nope");
    *unknown = co_await channel->Call<grpc::health::v1::HealthCheckResponse>(
        "/grpc.health.v1.Health/Check", request);
  }(this, &overall, &unknown));
  Run();
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_EQ(overall->status(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "unknown service");
  Stop();  // The health service must outlive the server's connections.
}

TEST_F(GrpcEndToEndTest, DestroyingTheChannelFailsOutstandingStreams) {
  RegisterEcho();
  Start();
  absl::Status status;
  SpawnClient([](GrpcEndToEndTest* t, absl::Status* status) -> Task<void> {
    std::unique_ptr<ClientStream> stream;
    {
      std::unique_ptr<GrpcChannel> channel = co_await t->Dial();
      absl::StatusOr<std::unique_ptr<ClientStream>> opened =
          channel->OpenStream("/test.Echo/Sleep");
      KEEL_ASSERT(opened.ok());
      stream = std::move(*opened);
    }
    *status = co_await stream->Finish();
  }(this, &status));
  Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(status.message(), "grpc: the client connection is closing");
}

}  // namespace
}  // namespace keel::net
