// TlsContext: reading the PEM files and building OpenSSL's SSL_CTX.
#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <string_view>
#include <utility>

#include "absl/strings/str_join.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::net {

struct TlsContext::Files {
  std::string cert;
  std::string key;
  std::string trusted_ca;
  std::string crl;
  bool operator==(const Files&) const = default;
};

namespace {

// Go's names of the TLS 1.2 suites etcd accepts, with OpenSSL's names.
struct CipherName {
  std::string_view go;
  std::string_view openssl;
};
constexpr CipherName kCipherNames[] = {
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
};

absl::StatusOr<std::string> OpenSslCipherList(const TlsConfig& config) {
  std::vector<std::string> names;
  for (const std::string& go : config.cipher_suites) {
    const CipherName* found = nullptr;
    for (const CipherName& name : kCipherNames) {
      if (name.go == go) found = &name;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(
          StrCat(config.flags.cipher_suites, ": unexpected TLS cipher suite \"", go, "\""));
    }
    names.emplace_back(found->openssl);
  }
  return absl::StrJoin(names, ":");
}

absl::StatusOr<int> ParseVersion(std::string_view flag, std::string_view text, int fallback) {
  if (text.empty()) return fallback;
  if (text == "TLS1.2") return TLS1_2_VERSION;
  if (text == "TLS1.3") return TLS1_3_VERSION;
  return absl::InvalidArgumentError(
      StrCat(flag, ": unknown TLS version \"", text, "\" (want TLS1.2 or TLS1.3)"));
}

absl::StatusOr<std::string> ReadWhole(FileSystem& fs, std::string_view flag,
                                      const std::string& path) {
  if (path.empty()) return std::string();
  auto file = fs.Open(path, OpenOptions{.read_only = true});
  if (!file.ok()) {
    return absl::InvalidArgumentError(
        StrCat(flag, " ", path, ": cannot open: ", file.status().message()));
  }
  KEEL_ASSIGN_OR_RETURN(uint64_t size, (*file)->Size());
  constexpr uint64_t kMaxPemBytes = 16u << 20;
  if (size > kMaxPemBytes) {
    return absl::InvalidArgumentError(StrCat(flag, " ", path, ": larger than 16 MiB"));
  }
  auto bytes = (*file)->ReadAt(0, size);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        StrCat(flag, " ", path, ": cannot read: ", bytes.status().message()));
  }
  return std::move(*bytes);
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
BioPtr MemoryBio(const std::string& bytes) {
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// Every certificate in `pem`, in order. InvalidArgument if there is none.
absl::StatusOr<std::vector<X509*>> ReadCertificates(std::string_view flag, const std::string& path,
                                                    const std::string& pem) {
  std::vector<X509*> out;
  BioPtr bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.push_back(cert);
  }
  ERR_clear_error();  // the read that ended the loop
  if (out.empty()) {
    return absl::InvalidArgumentError(
        StrCat(flag, " ", path, ": no PEM certificate in the file"));
  }
  return out;
}

void FreeAll(std::vector<X509*>& certs) {
  for (X509* cert : certs) X509_free(cert);
  certs.clear();
}

absl::Status UseCertificateAndKey(SSL_CTX* ctx, const TlsConfig& config,
                                  const TlsContext::Files& files);

}  // namespace

std::string DrainOpenSslErrors(std::string_view fallback) {
  std::vector<std::string> parts;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    parts.emplace_back(text);
  }
  if (parts.empty()) return std::string(fallback);
  return absl::StrJoin(parts, "; ");
}

namespace {

absl::Status UseCertificateAndKey(SSL_CTX* ctx, const TlsConfig& config,
                                  const TlsContext::Files& files) {
  const TlsFlagNames& flags = config.flags;
  KEEL_ASSIGN_OR_RETURN(std::vector<X509*> chain,
                        ReadCertificates(flags.cert, config.cert_file, files.cert));
  bool ok = SSL_CTX_use_certificate(ctx, chain[0]) == 1;
  for (size_t i = 1; ok && i < chain.size(); i++) {
    ok = SSL_CTX_add1_chain_cert(ctx, chain[i]) == 1;
  }
  FreeAll(chain);
  if (!ok) {
    return absl::InvalidArgumentError(StrCat(flags.cert, " ", config.cert_file, ": ",
                                             DrainOpenSslErrors("unusable certificate")));
  }
  BioPtr bio = MemoryBio(files.key);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        StrCat(flags.key, " ", config.key_file, ": no PEM private key in the file"));
  }
  ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) {
    ERR_clear_error();
    return absl::InvalidArgumentError(StrCat(flags.key, " ", config.key_file,
                                             ": private key does not match public key in ",
                                             flags.cert, " ", config.cert_file));
  }
  return absl::OkStatus();
}

absl::Status UseTrustedCas(SSL_CTX* ctx, const TlsConfig& config, const TlsContext::Files& files) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  if (!files.trusted_ca.empty()) {
    KEEL_ASSIGN_OR_RETURN(
        std::vector<X509*> cas,
        ReadCertificates(config.flags.trusted_ca, config.trusted_ca_file, files.trusted_ca));
    for (X509* ca : cas) X509_STORE_add_cert(store, ca);
    FreeAll(cas);
  }
  if (!config.crl_file.empty()) {
    BioPtr bio = MemoryBio(files.crl);
    int count = 0;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(store, crl);
      X509_CRL_free(crl);
      count++;
    }
    ERR_clear_error();
    if (count == 0) {
      return absl::InvalidArgumentError(
          StrCat(config.flags.crl, " ", config.crl_file, ": no PEM CRL in the file"));
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  return absl::OkStatus();
}

// The server picks the first of its protocols that the client offers; with
// none in common it negotiates no ALPN, as Go's server does for HTTP/1.1.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_length,
               const unsigned char* offered, unsigned int offered_length, void* arg) {
  const auto* ours = static_cast<const std::vector<std::string>*>(arg);
  for (const std::string& protocol : *ours) {
    for (unsigned int i = 0; i < offered_length;) {
      const unsigned int length = offered[i];
      if (i + 1 + length > offered_length) break;
      if (std::string_view(reinterpret_cast<const char*>(offered + i + 1), length) == protocol) {
        *out = offered + i + 1;
        *out_length = static_cast<unsigned char>(length);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + length;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::string AlpnWire(const std::vector<std::string>& protocols) {
  std::string out;
  for (const std::string& p : protocols) {
    KEEL_ASSERT(!p.empty() && p.size() < 256);
    out.push_back(static_cast<char>(p.size()));
    out += p;
  }
  return out;
}

}  // namespace

TlsContext::TlsContext(FileSystem& fs, TlsRole role, TlsConfig config)
    : fs_(fs), role_(role), config_(std::move(config)) {}

TlsContext::~TlsContext() = default;

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::Create(FileSystem& fs, TlsRole role,
                                                               TlsConfig config) {
  if (role == TlsRole::kServer && (config.cert_file.empty() || config.key_file.empty())) {
    return absl::InvalidArgumentError(
        StrCat(config.flags.cert, " and ", config.flags.key, " are both required to serve TLS"));
  }
  if (config.cert_file.empty() != config.key_file.empty()) {
    return absl::InvalidArgumentError(
        StrCat(config.flags.cert, " and ", config.flags.key, " go together"));
  }
  if (config.client_cert_auth && config.trusted_ca_file.empty()) {
    return absl::InvalidArgumentError(
        StrCat("client certificate authentication needs ", config.flags.trusted_ca));
  }
  std::shared_ptr<TlsContext> context(new TlsContext(fs, role, std::move(config)));
  KEEL_ASSIGN_OR_RETURN(Files files, context->ReadFiles());
  KEEL_ASSIGN_OR_RETURN(context->current_, context->Build(files));
  context->loaded_ = std::make_unique<Files>(std::move(files));
  context->builds_ = 1;
  return context;
}

absl::StatusOr<TlsContext::Files> TlsContext::ReadFiles() const {
  Files files;
  KEEL_ASSIGN_OR_RETURN(files.cert, ReadWhole(fs_, config_.flags.cert, config_.cert_file));
  KEEL_ASSIGN_OR_RETURN(files.key, ReadWhole(fs_, config_.flags.key, config_.key_file));
  KEEL_ASSIGN_OR_RETURN(files.trusted_ca,
                        ReadWhole(fs_, config_.flags.trusted_ca, config_.trusted_ca_file));
  KEEL_ASSIGN_OR_RETURN(files.crl, ReadWhole(fs_, config_.flags.crl, config_.crl_file));
  return files;
}

absl::StatusOr<std::shared_ptr<SSL_CTX>> TlsContext::Build(const Files& files) const {
  const bool server = role_ == TlsRole::kServer;
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()),
                               SSL_CTX_free);
  KEEL_ASSERT(ctx != nullptr);
  SSL_CTX* c = ctx.get();
  KEEL_ASSIGN_OR_RETURN(int min_version, ParseVersion(config_.flags.min_version,
                                                      config_.min_version, TLS1_2_VERSION));
  KEEL_ASSIGN_OR_RETURN(int max_version, ParseVersion(config_.flags.max_version,
                                                      config_.max_version, TLS1_3_VERSION));
  if (min_version > max_version) {
    return absl::InvalidArgumentError(StrCat(config_.flags.min_version, " ", config_.min_version,
                                             " is above ", config_.flags.max_version, " ",
                                             config_.max_version));
  }
  SSL_CTX_set_min_proto_version(c, min_version);
  SSL_CTX_set_max_proto_version(c, max_version);
  if (!config_.cipher_suites.empty()) {
    KEEL_ASSIGN_OR_RETURN(std::string list, OpenSslCipherList(config_));
    if (SSL_CTX_set_cipher_list(c, list.c_str()) != 1) {
      return absl::InvalidArgumentError(StrCat(config_.flags.cipher_suites, ": ",
                                               DrainOpenSslErrors("no usable cipher suite")));
    }
  }
  // No session resumption: tickets and the session cache carry OpenSSL's own
  // clock and would make a handshake depend on an earlier one.
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c, 0);
  if (!config_.cert_file.empty()) KEEL_RETURN_IF_ERROR(UseCertificateAndKey(c, config_, files));
  KEEL_RETURN_IF_ERROR(UseTrustedCas(c, config_, files));
  if (server) {
    if (config_.client_cert_auth) {
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    if (!config_.alpn.empty()) {
      SSL_CTX_set_alpn_select_cb(c, SelectAlpn, const_cast<std::vector<std::string>*>(&config_.alpn));
    }
  } else {
    SSL_CTX_set_verify(c, config_.skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
    if (!config_.alpn.empty()) {
      const std::string wire = AlpnWire(config_.alpn);
      SSL_CTX_set_alpn_protos(c, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned int>(wire.size()));
    }
  }
  return ctx;
}

std::shared_ptr<SSL_CTX> TlsContext::ForHandshake(Logger& log) {
  absl::StatusOr<Files> files = ReadFiles();
  if (files.ok() && *files == *loaded_) return current_;
  absl::StatusOr<std::shared_ptr<SSL_CTX>> rebuilt =
      files.ok() ? Build(*files) : absl::StatusOr<std::shared_ptr<SSL_CTX>>(files.status());
  if (!rebuilt.ok()) {
    log.Warn("keeping the previous TLS certificates: the files on disk do not load",
             {{"error", std::string(rebuilt.status().message())}});
    return current_;
  }
  log.Info("reloaded TLS certificates", {{"cert-file", config_.cert_file}});
  current_ = std::move(*rebuilt);
  *loaded_ = std::move(*files);
  builds_++;
  return current_;
}

}  // namespace keel::net
