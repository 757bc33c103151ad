// Tests of TlsConnection, TlsContext and the TLS listener/dialler over the
// simulated network: one simulated machine listens and dials itself, with
// certificates made in the test (a CA and leaves it signs) on its simulated
// disk. Covered: a handshake with ALPN, mutual authentication and its
// refusals (no client certificate, an untrusted or expired certificate, a
// wrong host, a CN not allowed), start-up errors that name their flag,
// records split across many tiny reads, large writes, close, a plaintext
// HTTP client on a TLS port, certificate rotation without a restart, and
// that with env randomness on a handshake replays byte for byte per seed.
#include "net/tls_connection.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/grpc_client.h"
#include "net/grpc_server.h"
#include "net/http_message.h"
#include "net/server.h"
#include "net/tls_network.h"
#include "net/tls_random.h"
#include "net/tls_self_signed.h"
#include "runtime/sha256.h"
#include "sim/sim_testing.h"

namespace keel::net {
namespace {

using ::testing::HasSubstr;

constexpr char kAddress[] = "10.0.0.1:7000";
constexpr int64_t kDay = 24 * 3600;

// A connection that hands its reader at most `max_read` bytes at a time and
// records every byte written through it.
class TrickleConnection final : public Connection {
 public:
  TrickleConnection(std::unique_ptr<Connection> inner, size_t max_read, std::string* written)
      : inner_(std::move(inner)), max_read_(max_read), written_(written) {}
  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) override {
    return inner_->Read(buffer.subspan(0, std::min(buffer.size(), max_read_)));
  }
  Task<absl::Status> Write(std::string_view data) override {
    if (written_ != nullptr) written_->append(data);
    return inner_->Write(data);
  }
  void Close() override { inner_->Close(); }
  std::string local_address() const override { return inner_->local_address(); }
  std::string peer_address() const override { return inner_->peer_address(); }

 private:
  std::unique_ptr<Connection> inner_;
  const size_t max_read_;
  std::string* written_;
};

class TlsConnectionTest : public ::testing::Test {
 public:
  explicit TlsConnectionTest(uint64_t seed = 1) : harness_(seed) {
    UseEnvRandomForTls(true);
    now_ = env().clock().WallUnixMicros() / 1'000'000;
    ca_ = Make("ca", {}, /*is_ca=*/true, {});
    Write("ca.crt", ca_.cert);
    other_ca_ = Make("other-ca", {}, true, {});
    Write("other-ca.crt", other_ca_.cert);
    WritePair("server", Make("server", {"10.0.0.1", "localhost"}, false, ca_));
    WritePair("client", Make("client", {}, false, ca_));
  }
  ~TlsConnectionTest() override { UseEnvRandomForTls(false); }

  Env& env() { return harness_.env(); }

  CertificatePem Make(std::string cn, std::vector<std::string> hosts, bool is_ca,
                      const CertificatePem& issuer, int64_t not_before_days = -1,
                      int64_t not_after_days = 365) {
    CertificateRequest request;
    request.common_name = std::move(cn);
    request.hosts = std::move(hosts);
    request.is_ca = is_ca;
    request.not_before = now_ + not_before_days * kDay;
    request.not_after = now_ + not_after_days * kDay;
    request.issuer_cert_pem = issuer.cert;
    request.issuer_key_pem = issuer.key;
    return MakeCertificate(env(), request).value();
  }
  void Write(const std::string& path, const std::string& bytes) {
    auto file = env().fs().Open(path, OpenOptions{.create = true, .truncate = true});
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(bytes).ok());
  }
  void WritePair(const std::string& name, const CertificatePem& pem) {
    Write(name + ".crt", pem.cert);
    Write(name + ".key", pem.key);
  }

  TlsConfig ServerConfig() {
    TlsConfig config;
    config.cert_file = "server.crt";
    config.key_file = "server.key";
    config.alpn = {"h2", "http/1.1"};
    return config;
  }
  TlsConfig ClientConfig(bool with_certificate) {
    TlsConfig config;
    config.trusted_ca_file = "ca.crt";
    config.alpn = {"h2"};
    if (with_certificate) {
      config.cert_file = "client.crt";
      config.key_file = "client.key";
    }
    return config;
  }
  std::shared_ptr<TlsContext> Context(TlsRole role, TlsConfig config) {
    auto context = TlsContext::Create(env().fs(), role, std::move(config));
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? *context : nullptr;
  }

  // Listens with `server`; `serve` gets each accepted connection.
  void Serve(std::shared_ptr<TlsContext> server,
             std::function<Task<void>(std::unique_ptr<Connection>)> serve) {
    auto listener = env().net().Listen(kAddress);
    ASSERT_TRUE(listener.ok());
    listener_ = TlsListen(std::move(*listener), std::move(server), env());
    serve_ = std::move(serve);
    env().Spawn(AcceptLoop());
  }
  Task<void> AcceptLoop() {
    while (true) {
      auto connection = co_await listener_->Accept();
      if (!connection.ok()) co_return;
      env().Spawn(serve_(std::move(*connection)));
    }
  }
  // Echoes everything back until the end of the stream.
  static Task<void> Echo(std::unique_ptr<Connection> connection) {
    std::vector<char> buffer(4096);
    while (true) {
      auto n = co_await connection->Read(buffer);
      if (!n.ok() || *n == 0) co_return;
      if (!(co_await connection->Write(std::string_view(buffer.data(), *n))).ok()) co_return;
    }
  }

  // Dials kAddress as `client` over a trickling inner connection.
  Task<absl::StatusOr<std::unique_ptr<TlsConnection>>> Dial(std::shared_ptr<TlsContext> client,
                                                            std::string host = "10.0.0.1",
                                                            size_t max_read = 1 << 20) {
    auto plain = co_await env().net().Connect(kAddress);
    if (!plain.ok()) co_return plain.status();
    auto inner = std::make_unique<TrickleConnection>(std::move(*plain), max_read, &client_bytes_);
    co_return co_await TlsConnection::Connect(std::move(inner), std::move(client), env(), host);
  }

  // Writes `message` and reads back as many bytes.
  static Task<absl::StatusOr<std::string>> RoundTrip(Connection& connection, std::string message) {
    absl::Status written = co_await connection.Write(message);
    if (!written.ok()) co_return written;
    std::string echoed;
    std::vector<char> buffer(1000);
    while (echoed.size() < message.size()) {
      auto n = co_await connection.Read(buffer);
      if (!n.ok()) co_return n.status();
      if (*n == 0) co_return absl::UnavailableError("end of stream");
      echoed.append(buffer.data(), *n);
    }
    co_return echoed;
  }

  // Dials, sends `message` and returns the echo, or the first error.
  absl::StatusOr<std::string> Exchange(std::shared_ptr<TlsContext> client, std::string message,
                                       std::string host = "10.0.0.1", size_t max_read = 1 << 20) {
    return harness_.Run([](TlsConnectionTest* self, std::shared_ptr<TlsContext> client,
                           std::string message, std::string host,
                           size_t max_read) -> Task<absl::StatusOr<std::string>> {
      auto connection = co_await self->Dial(std::move(client), host, max_read);
      if (!connection.ok()) co_return connection.status();
      self->last_alpn_ = (*connection)->alpn_protocol();
      self->last_server_cn_ = (*connection)->peer_common_name();
      co_return co_await RoundTrip(**connection, std::move(message));
    }(this, std::move(client), std::move(message), std::move(host), max_read));
  }

  bool LogHas(std::string_view text) {
    for (const std::string& line : harness_.world().log().Tail(200)) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  sim::SimHarness harness_;
  int64_t now_ = 0;
  CertificatePem ca_;
  CertificatePem other_ca_;
  std::unique_ptr<Listener> listener_;
  std::function<Task<void>(std::unique_ptr<Connection>)> serve_;
  std::string client_bytes_;
  std::string last_alpn_;
  std::string last_server_cn_;
};

TEST_F(TlsConnectionTest, HandshakeNegotiatesH2AndCarriesBytesBothWays) {
  Serve(Context(TlsRole::kServer, ServerConfig()), Echo);
  auto echoed = Exchange(Context(TlsRole::kClient, ClientConfig(false)), "hello over tls");
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_EQ(*echoed, "hello over tls");
  EXPECT_EQ(last_alpn_, "h2");
  EXPECT_EQ(last_server_cn_, "server");
  // Nothing of the plaintext crossed the wire.
  EXPECT_EQ(client_bytes_.find("hello over tls"), std::string::npos);
}

TEST_F(TlsConnectionTest, RecordsSplitIntoOneByteReadsAndLargeWritesArriveWhole) {
  Serve(Context(TlsRole::kServer, ServerConfig()), Echo);
  std::string big(300 * 1024, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 7 + i / 251);
  auto echoed = Exchange(Context(TlsRole::kClient, ClientConfig(false)), big, "10.0.0.1",
                         /*max_read=*/1);
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_TRUE(*echoed == big);
}

TEST_F(TlsConnectionTest, MutualAuthAcceptsACertificateTheCaSigned) {
  TlsConfig server = ServerConfig();
  server.client_cert_auth = true;
  server.trusted_ca_file = "ca.crt";
  std::string client_cn;
  Serve(Context(TlsRole::kServer, server),
        [&client_cn](std::unique_ptr<Connection> c) -> Task<void> {
          auto* tls = static_cast<TlsConnection*>(c.get());
          if ((co_await tls->Handshake()).ok()) client_cn = tls->peer_common_name();
          co_await Echo(std::move(c));
        });
  auto echoed = Exchange(Context(TlsRole::kClient, ClientConfig(true)), "mutual");
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_EQ(client_cn, "client");
}

TEST_F(TlsConnectionTest, MutualAuthRefusesAClientWithoutCertificateAndLogsItsAddress) {
  TlsConfig server = ServerConfig();
  server.client_cert_auth = true;
  server.trusted_ca_file = "ca.crt";
  Serve(Context(TlsRole::kServer, server), Echo);
  auto echoed = Exchange(Context(TlsRole::kClient, ClientConfig(false)), "anonymous");
  ASSERT_FALSE(echoed.ok());
  EXPECT_EQ(echoed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(echoed.status().message(), HasSubstr("certificate required"));
  EXPECT_TRUE(LogHas("rejected connection"));
  EXPECT_TRUE(LogHas("10.0.0.1:"));
}

TEST_F(TlsConnectionTest, MutualAuthRefusesACertificateFromAnotherCa) {
  WritePair("stranger", Make("stranger", {}, false, other_ca_));
  TlsConfig server = ServerConfig();
  server.client_cert_auth = true;
  server.trusted_ca_file = "ca.crt";
  Serve(Context(TlsRole::kServer, server), Echo);
  TlsConfig client = ClientConfig(false);
  client.cert_file = "stranger.crt";
  client.key_file = "stranger.key";
  auto echoed = Exchange(Context(TlsRole::kClient, client), "stranger");
  ASSERT_FALSE(echoed.ok());
  EXPECT_TRUE(LogHas("unable to get local issuer certificate")) << echoed.status();
}

TEST_F(TlsConnectionTest, ClientRefusesAServerCertificateItDoesNotTrust) {
  Serve(Context(TlsRole::kServer, ServerConfig()), Echo);
  TlsConfig client = ClientConfig(false);
  client.trusted_ca_file = "other-ca.crt";
  auto echoed = Exchange(Context(TlsRole::kClient, client), "x");
  ASSERT_FALSE(echoed.ok());
  EXPECT_THAT(echoed.status().message(),
              HasSubstr("failed to verify certificate: unable to get local issuer certificate"));
}

TEST_F(TlsConnectionTest, ClientRefusesAnExpiredServerCertificate) {
  WritePair("server", Make("server", {"10.0.0.1"}, false, ca_, -30, -1));
  Serve(Context(TlsRole::kServer, ServerConfig()), Echo);
  auto echoed = Exchange(Context(TlsRole::kClient, ClientConfig(false)), "x");
  ASSERT_FALSE(echoed.ok());
  EXPECT_THAT(echoed.status().message(), HasSubstr("certificate has expired"));
}

TEST_F(TlsConnectionTest, ClientRefusesACertificateForAnotherHostUnlessToldToSkip) {
  Serve(Context(TlsRole::kServer, ServerConfig()), Echo);
  auto refused = Exchange(Context(TlsRole::kClient, ClientConfig(false)), "x", "10.9.9.9");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("IP address mismatch"));
  TlsConfig skip;
  skip.skip_verify = true;
  auto echoed = Exchange(Context(TlsRole::kClient, skip), "x", "10.9.9.9");
  EXPECT_TRUE(echoed.ok()) << echoed.status();
}

TEST_F(TlsConnectionTest, AllowedCnRefusesOtherNames) {
  TlsConfig server = ServerConfig();
  server.client_cert_auth = true;
  server.trusted_ca_file = "ca.crt";
  server.allowed_cn = {"peer"};
  Serve(Context(TlsRole::kServer, server), Echo);
  auto echoed = Exchange(Context(TlsRole::kClient, ClientConfig(true)), "x");
  ASSERT_FALSE(echoed.ok());
  EXPECT_TRUE(LogHas("CommonName authentication failed"));
}

TEST_F(TlsConnectionTest, PlaintextHttpOnATlsPortGetsGosAnswer) {
  Serve(Context(TlsRole::kServer, ServerConfig()), Echo);
  auto answer = harness_.Run([](Env& env) -> Task<absl::StatusOr<std::string>> {
    auto connection = co_await env.net().Connect(kAddress);
    if (!connection.ok()) co_return connection.status();
    absl::Status written = co_await (*connection)->Write("GET /health HTTP/1.1\r\n\r\n");
    if (!written.ok()) co_return written;
    std::string all;
    std::vector<char> buffer(1000);
    while (true) {
      auto n = co_await (*connection)->Read(buffer);
      if (!n.ok() || *n == 0) break;
      all.append(buffer.data(), *n);
    }
    co_return all;
  }(env()));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(*answer,
            "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
  EXPECT_TRUE(LogHas("rejected connection"));
}

TEST_F(TlsConnectionTest, CloseEndsThePeersStream) {
  absl::StatusOr<size_t> server_read = absl::UnknownError("not read");
  Serve(Context(TlsRole::kServer, ServerConfig()),
        [&server_read](std::unique_ptr<Connection> c) -> Task<void> {
          std::vector<char> buffer(100);
          server_read = co_await c->Read(buffer);
          if (server_read.ok() && *server_read > 0) server_read = co_await c->Read(buffer);
        });
  absl::Status status = harness_.Run(
      [](TlsConnectionTest* self) -> Task<absl::Status> {
        auto connection = co_await self->Dial(self->Context(TlsRole::kClient,
                                                            self->ClientConfig(false)));
        if (!connection.ok()) co_return connection.status();
        absl::Status written = co_await (*connection)->Write("bye");
        (*connection)->Close();
        co_await self->env().clock().Sleep(Milliseconds(100));
        co_return written;
      }(this));
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_TRUE(server_read.ok()) << server_read.status();
  EXPECT_EQ(*server_read, 0u);
}

TEST_F(TlsConnectionTest, ARotatedCertificateIsServedToTheNextConnection) {
  auto server = Context(TlsRole::kServer, ServerConfig());
  Serve(server, Echo);
  ASSERT_TRUE(Exchange(Context(TlsRole::kClient, ClientConfig(false)), "x").ok());
  EXPECT_EQ(last_server_cn_, "server");
  WritePair("server", Make("server-rotated", {"10.0.0.1"}, false, ca_));
  ASSERT_TRUE(Exchange(Context(TlsRole::kClient, ClientConfig(false)), "x").ok());
  EXPECT_EQ(last_server_cn_, "server-rotated");
  EXPECT_EQ(server->builds(), 2);
  // A half-written rotation (a key that does not match) keeps the last good pair.
  Write("server.key", Make("unrelated", {}, false, ca_).key);
  ASSERT_TRUE(Exchange(Context(TlsRole::kClient, ClientConfig(false)), "x").ok());
  EXPECT_EQ(last_server_cn_, "server-rotated");
  EXPECT_TRUE(LogHas("keeping the previous TLS certificates"));
}

TEST_F(TlsConnectionTest, StartUpErrorsNameTheFlag) {
  TlsConfig missing = ServerConfig();
  missing.cert_file = "nope.crt";
  auto status = TlsContext::Create(env().fs(), TlsRole::kServer, missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--cert-file nope.crt: cannot open"));

  Write("garbage.crt", "not a certificate");
  TlsConfig garbage = ServerConfig();
  garbage.cert_file = "garbage.crt";
  status = TlsContext::Create(env().fs(), TlsRole::kServer, garbage).status();
  EXPECT_THAT(status.message(), HasSubstr("--cert-file garbage.crt: no PEM certificate"));

  TlsConfig mismatched = ServerConfig();
  mismatched.key_file = "client.key";
  status = TlsContext::Create(env().fs(), TlsRole::kServer, mismatched).status();
  EXPECT_THAT(status.message(),
              HasSubstr("--key-file client.key: private key does not match public key"));

  TlsConfig ciphers = ServerConfig();
  ciphers.cipher_suites = {"TLS_NO_SUCH_SUITE"};
  status = TlsContext::Create(env().fs(), TlsRole::kServer, ciphers).status();
  EXPECT_THAT(status.message(), HasSubstr("unexpected TLS cipher suite \"TLS_NO_SUCH_SUITE\""));

  TlsConfig version = ServerConfig();
  version.min_version = "TLS1.1";
  status = TlsContext::Create(env().fs(), TlsRole::kServer, version).status();
  EXPECT_THAT(status.message(), HasSubstr("--tls-min-version: unknown TLS version"));
}

TEST_F(TlsConnectionTest, CipherSuitesAndVersionsLimitTheHandshake) {
  TlsConfig server = ServerConfig();
  server.max_version = "TLS1.2";
  server.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"};
  Serve(Context(TlsRole::kServer, server), Echo);
  TlsConfig only13 = ClientConfig(false);
  only13.min_version = "TLS1.3";
  EXPECT_FALSE(Exchange(Context(TlsRole::kClient, only13), "x").ok());
  TlsConfig other_suite = ClientConfig(false);
  other_suite.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
  other_suite.max_version = "TLS1.2";
  EXPECT_FALSE(Exchange(Context(TlsRole::kClient, other_suite), "x").ok());
  EXPECT_TRUE(Exchange(Context(TlsRole::kClient, ClientConfig(false)), "x").ok());
}

TEST_F(TlsConnectionTest, AutoTlsMakesAPairOnceAndKeepsIt) {
  auto files = EnsureSelfSignedCert(env(), "data/fixtures/client", {"10.0.0.1"}, 1);
  ASSERT_TRUE(files.ok()) << files.status();
  auto first = env().fs().Open(files->cert_file, OpenOptions{.read_only = true});
  ASSERT_TRUE(first.ok());
  const std::string cert = (*first)->ReadAt(0, 1 << 20).value();
  ASSERT_TRUE(EnsureSelfSignedCert(env(), "data/fixtures/client", {"10.0.0.1"}, 1).ok());
  auto second = env().fs().Open(files->cert_file, OpenOptions{.read_only = true});
  EXPECT_EQ((*second)->ReadAt(0, 1 << 20).value(), cert);
  TlsConfig server;
  server.cert_file = files->cert_file;
  server.key_file = files->key_file;
  Serve(Context(TlsRole::kServer, server), Echo);
  TlsConfig client;
  client.skip_verify = true;
  EXPECT_TRUE(Exchange(Context(TlsRole::kClient, client), "auto").ok());
}

TEST_F(TlsConnectionTest, GrpcAndHttp1ShareATlsPort) {
  GrpcServer grpc;
  HttpRouter http;
  grpc.RegisterUnary("/test.Echo/Unary",
                     [](CallContext&, std::string request) -> Task<absl::StatusOr<std::string>> {
                       co_return request;
                     });
  http.Handle("/health", [](HttpRequest) -> Task<HttpResponse> {
    HttpResponse response;
    response.body = "{\"health\":\"true\"}";
    co_return response;
  });
  Server server(env().clock(), grpc, http);
  auto listener = env().net().Listen(kAddress);
  ASSERT_TRUE(listener.ok());
  server.Start(TlsListen(std::move(*listener), Context(TlsRole::kServer, ServerConfig()), env()));
  auto client = Context(TlsRole::kClient, ClientConfig(false));
  auto reply = harness_.Run([](Env& env, std::shared_ptr<TlsContext> client)
                                -> Task<absl::StatusOr<std::string>> {
    auto connection = co_await TlsDial(env.net(), client, env, kAddress);
    if (!connection.ok()) co_return connection.status();
    GrpcChannel channel(std::move(*connection), env.clock());
    co_return co_await channel.Call("/test.Echo/Unary", std::string(40000, 'g'));
  }(env(), client));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, std::string(40000, 'g'));
  TlsConfig http1 = ClientConfig(false);
  http1.alpn = {"http/1.1"};
  auto health = harness_.Run([](Env& env, std::shared_ptr<TlsContext> client)
                                 -> Task<absl::StatusOr<std::string>> {
    auto connection = co_await TlsDial(env.net(), client, env, kAddress);
    if (!connection.ok()) co_return connection.status();
    absl::Status written =
        co_await (*connection)->Write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (!written.ok()) co_return written;
    std::string all;
    std::vector<char> buffer(1000);
    while (true) {
      auto n = co_await (*connection)->Read(buffer);
      if (!n.ok() || *n == 0) break;
      all.append(buffer.data(), *n);
    }
    co_return all;
  }(env(), Context(TlsRole::kClient, http1)));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_THAT(*health, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(*health, HasSubstr("{\"health\":\"true\"}"));
  EXPECT_TRUE(harness_.Run([](Server& server) -> Task<absl::Status> {
    co_await server.Shutdown(Seconds(1));
    co_return absl::OkStatus();
  }(server)).ok());
}

// Everything a client sent, for a handshake and an exchange under `seed`.
std::string ClientTranscript(uint64_t seed) {
  class Run : public TlsConnectionTest {
   public:
    explicit Run(uint64_t seed) : TlsConnectionTest(seed) {}
    void TestBody() override {}
    std::string Go() {
      Serve(Context(TlsRole::kServer, ServerConfig()), Echo);
      EXPECT_TRUE(Exchange(Context(TlsRole::kClient, ClientConfig(true)), "same").ok());
      return client_bytes_;
    }
  };
  return Run(seed).Go();
}

TEST(TlsDeterminismTest, AHandshakeReplaysBytewiseFromItsSeed) {
  const std::string first = ClientTranscript(42);
  EXPECT_GT(first.size(), 100u);
  EXPECT_EQ(first, ClientTranscript(42));
  EXPECT_NE(first, ClientTranscript(43));
}

}  // namespace
}  // namespace keel::net
