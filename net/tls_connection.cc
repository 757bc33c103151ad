// TlsConnection: the handshake, the record path and their errors.
#include "net/tls_connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include "net/tls_random.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

// Inner reads go through a buffer of one TLS record and its header.
constexpr size_t kInboundBytes = 16 * 1024 + 512;
// Plaintext handed to one SSL_write, so the output BIO stays bounded.
constexpr size_t kWriteChunkBytes = 64 * 1024;
// Bytes kept to recognise a plaintext HTTP client.
constexpr size_t kFirstBytesKept = 8;

// Go's net/http answer to plaintext HTTP on a TLS port.
constexpr std::string_view kPlaintextHttpAnswer =
    "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

bool LooksLikeHttp(std::string_view bytes) {
  for (std::string_view method : {"GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "PRI "}) {
    if (bytes.substr(0, method.size()) == method) return true;
  }
  return false;
}

bool IsIpAddress(const std::string& host) {
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
  if (ip == nullptr) return false;
  ASN1_OCTET_STRING_free(ip);
  return true;
}

}  // namespace

TlsConnection::TlsConnection(std::unique_ptr<Connection> inner,
                             std::shared_ptr<TlsContext> context, Env& env,
                             std::string server_name)
    : inner_(std::move(inner)),
      context_(std::move(context)),
      env_(env),
      server_name_(std::move(server_name)),
      inbound_(kInboundBytes) {
  std::shared_ptr<SSL_CTX> ctx = context_->ForHandshake(env_.log());
  ssl_ = SSL_new(ctx.get());  // holds its own reference to ctx
  KEEL_ASSERT(ssl_ != nullptr);
  input_ = BIO_new(BIO_s_mem());
  output_ = BIO_new(BIO_s_mem());
  KEEL_ASSERT(input_ != nullptr && output_ != nullptr);
  // An empty input BIO means "no bytes yet", not end of file.
  BIO_set_mem_eof_return(input_, -1);
  SSL_set_bio(ssl_, input_, output_);
  // Certificates are checked against the Env's wall clock, not OpenSSL's.
  X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl_),
                             static_cast<time_t>(env_.clock().WallUnixMicros() / 1'000'000));
  if (context_->role() == TlsRole::kServer) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    if (!server_name_.empty() && !IsIpAddress(server_name_)) {
      SSL_set_tlsext_host_name(ssl_, server_name_.c_str());
    }
    if (!server_name_.empty() && !context_->config().skip_verify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
      if (IsIpAddress(server_name_)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, server_name_.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, server_name_.c_str(), 0);
      }
    }
  }
}

TlsConnection::~TlsConnection() { SSL_free(ssl_); }

std::unique_ptr<TlsConnection> TlsConnection::Accept(std::unique_ptr<Connection> inner,
                                                     std::shared_ptr<TlsContext> context,
                                                     Env& env) {
  KEEL_ASSERT(context->role() == TlsRole::kServer);
  return std::unique_ptr<TlsConnection>(
      new TlsConnection(std::move(inner), std::move(context), env, ""));
}

Task<absl::StatusOr<std::unique_ptr<TlsConnection>>> TlsConnection::Connect(
    std::unique_ptr<Connection> inner, std::shared_ptr<TlsContext> context, Env& env,
    std::string server_name) {
  KEEL_ASSERT(context->role() == TlsRole::kClient);
  std::unique_ptr<TlsConnection> connection(
      new TlsConnection(std::move(inner), std::move(context), env, std::move(server_name)));
  absl::Status status = co_await connection->Handshake();
  if (!status.ok()) co_return status;
  co_return connection;
}

Task<absl::Status> TlsConnection::Handshake() {
  switch (state_) {
    case State::kDone:
      co_return absl::OkStatus();
    case State::kFailed:
      co_return handshake_status_;
    case State::kRunning:
      co_await handshake_done_.Wait();
      co_return handshake_status_;
    case State::kFresh:
      break;
  }
  state_ = State::kRunning;
  absl::Status status = co_await RunHandshake();
  if (!status.ok() && context_->role() == TlsRole::kServer) {
    env_.log().Warn("rejected connection",
                    {{"remote-addr", inner_->peer_address()},
                     {"server-name", ""},
                     {"error", std::string(status.message())}});
    if (LooksLikeHttp(first_bytes_)) co_await AnswerPlaintextHttp();
    inner_->Close();
  }
  handshake_status_ = status;
  state_ = status.ok() ? State::kDone : State::kFailed;
  handshake_done_.Set();
  co_return status;
}

Task<absl::Status> TlsConnection::RunHandshake() {
  while (true) {
    int result;
    {
      TlsRandomScope scope(env_.random());
      ERR_clear_error();
      result = SSL_do_handshake(ssl_);
    }
    const int error = result == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, result);
    std::string reason;
    if (error != SSL_ERROR_NONE && error != SSL_ERROR_WANT_READ) reason = FailureReason(error);
    // Send what the step produced, a final flight or an alert alike.
    absl::Status flushed = co_await Flush();
    if (!reason.empty()) co_return absl::UnavailableError(StrCat("tls: ", reason));
    if (!flushed.ok()) co_return flushed;
    if (result == 1) break;
    absl::StatusOr<size_t> got = co_await Fill();
    if (!got.ok()) {
      co_return absl::UnavailableError(
          StrCat("tls: handshake: connection lost: ", got.status().message()));
    }
    if (*got == 0) co_return absl::UnavailableError("tls: handshake: EOF");
  }
  co_return CheckPeerIdentity();
}

std::string TlsConnection::FailureReason(int error) {
  const long verify = SSL_get_verify_result(ssl_);
  std::string queue = DrainOpenSslErrors("");
  if (verify != X509_V_OK) {
    return StrCat("failed to verify certificate: ", X509_verify_cert_error_string(verify));
  }
  if (!queue.empty()) {
    // "error:0A00010B:SSL routines::wrong version number" reads best as its
    // last part.
    const size_t colon = queue.rfind(':');
    if (colon != std::string::npos && queue.find(';') == std::string::npos) {
      return queue.substr(colon + 1);
    }
    return queue;
  }
  if (error == SSL_ERROR_SYSCALL) return "unexpected end of stream";
  return StrCat("handshake failed (SSL error ", error, ")");
}

absl::Status TlsConnection::CheckPeerIdentity() {
  const TlsConfig& config = context_->config();
  if (context_->role() != TlsRole::kServer) return absl::OkStatus();
  if (config.allowed_cn.empty() && config.allowed_hostname.empty()) return absl::OkStatus();
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return absl::UnavailableError("tls: the client sent no certificate");
  if (!config.allowed_cn.empty()) {
    const std::string cn = peer_common_name();
    if (std::find(config.allowed_cn.begin(), config.allowed_cn.end(), cn) ==
        config.allowed_cn.end()) {
      return absl::UnavailableError(
          StrCat("CommonName authentication failed (certificate CN \"", cn, "\")"));
    }
  }
  if (!config.allowed_hostname.empty()) {
    bool matched = false;
    for (const std::string& host : config.allowed_hostname) {
      if (IsIpAddress(host)) {
        matched = matched || X509_check_ip_asc(cert, host.c_str(), 0) == 1;
      } else {
        matched = matched || X509_check_host(cert, host.data(), host.size(), 0, nullptr) == 1;
      }
    }
    if (!matched) return absl::UnavailableError("HostName authentication failed");
  }
  return absl::OkStatus();
}

Task<absl::Status> TlsConnection::Flush() {
  Mutex::Guard guard = co_await flushing_.Lock();
  while (BIO_ctrl_pending(output_) > 0) {
    std::string bytes(BIO_ctrl_pending(output_), '\0');
    const int n = BIO_read(output_, bytes.data(), static_cast<int>(bytes.size()));
    KEEL_ASSERT(n == static_cast<int>(bytes.size()));
    absl::Status written = co_await inner_->Write(bytes);
    if (!written.ok()) co_return written;
  }
  co_return absl::OkStatus();
}

Task<absl::StatusOr<size_t>> TlsConnection::Fill() {
  absl::StatusOr<size_t> got = co_await inner_->Read(inbound_);
  if (!got.ok() || *got == 0) co_return got;
  if (first_bytes_.size() < kFirstBytesKept) {
    first_bytes_.append(inbound_.data(), std::min(*got, kFirstBytesKept - first_bytes_.size()));
  }
  const int n = BIO_write(input_, inbound_.data(), static_cast<int>(*got));
  KEEL_ASSERT(n == static_cast<int>(*got));
  co_return got;
}

Task<void> TlsConnection::AnswerPlaintextHttp() {
  // OpenSSL may have queued an alert; a plaintext client wants the answer.
  (void)BIO_reset(output_);
  (void)co_await inner_->Write(kPlaintextHttpAnswer);
}

Task<absl::StatusOr<size_t>> TlsConnection::Read(std::span<char> buffer) {
  KEEL_ASSERT(!buffer.empty());
  absl::Status handshake = co_await Handshake();
  if (!handshake.ok()) co_return handshake;
  while (true) {
    if (!broken_.ok()) co_return broken_;
    int n;
    {
      TlsRandomScope scope(env_.random());
      ERR_clear_error();
      n = SSL_read(ssl_, buffer.data(), static_cast<int>(std::min<size_t>(buffer.size(), INT32_MAX)));
    }
    const int error = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_ZERO_RETURN) co_return 0;  // close_notify
    if (error != SSL_ERROR_NONE && error != SSL_ERROR_WANT_READ) {
      broken_ = absl::UnavailableError(StrCat("tls: ", FailureReason(error)));
      (void)co_await Flush();  // the alert, if any
      inner_->Close();
      co_return broken_;
    }
    // Reading may produce output (an alert, a key update's answer).
    if (BIO_ctrl_pending(output_) > 0) {
      absl::Status flushed = co_await Flush();
      if (!flushed.ok()) co_return flushed;
    }
    if (n > 0) co_return static_cast<size_t>(n);
    absl::StatusOr<size_t> got = co_await Fill();
    if (!got.ok() || *got == 0) co_return got;  // end of stream without close_notify
  }
}

Task<absl::Status> TlsConnection::Write(std::string_view data) {
  absl::Status handshake = co_await Handshake();
  if (!handshake.ok()) co_return handshake;
  size_t offset = 0;
  while (offset < data.size()) {
    if (!broken_.ok()) co_return broken_;
    const size_t chunk = std::min(data.size() - offset, kWriteChunkBytes);
    int n;
    {
      TlsRandomScope scope(env_.random());
      ERR_clear_error();
      n = SSL_write(ssl_, data.data() + offset, static_cast<int>(chunk));
    }
    if (n <= 0) {
      broken_ = absl::UnavailableError(StrCat("tls: ", FailureReason(SSL_get_error(ssl_, n))));
      inner_->Close();
      co_return broken_;
    }
    offset += static_cast<size_t>(n);
    absl::Status flushed = co_await Flush();
    if (!flushed.ok()) co_return flushed;
  }
  co_return absl::OkStatus();
}

void TlsConnection::Close() { inner_->Close(); }

std::string TlsConnection::alpn_protocol() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

std::string TlsConnection::peer_common_name() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  char cn[256] = {};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                          sizeof(cn));
  return n > 0 ? std::string(cn, static_cast<size_t>(n)) : std::string();
}

}  // namespace keel::net
