// TlsContext: one side's TLS settings (etcd's transport.TLSInfo) and the
// OpenSSL context built from them, rebuilt when the files change.
//
// A context reads its certificate, key, trusted CAs and CRL through keel's
// FileSystem, so it works on real files and on the simulator's disk alike.
// Create() loads everything once and fails with InvalidArgument naming the
// flag at fault (a missing or unreadable file, a file that holds no PEM
// certificate, a key that does not match its certificate, an unknown cipher
// suite or TLS version). Every later handshake calls ForHandshake(), which
// re-reads the files and rebuilds the OpenSSL context when their bytes
// changed, as etcd reloads its certificates per handshake: a certificate
// rotated on disk is served to the next connection without a restart. A
// rotation that leaves the files broken (a key written before its
// certificate) keeps the last good context and logs why.
//
// Not thread-safe; used from one loop.
#ifndef KEEL_NET_TLS_CONTEXT_H_
#define KEEL_NET_TLS_CONTEXT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/filesystem.h"
#include "runtime/log.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace keel::net {

enum class TlsRole { kServer, kClient };

// The flags that name each file, for error messages (the server's
// "--cert-file", keelctl's "--cert").
struct TlsFlagNames {
  TlsFlagNames() {}
  std::string cert = "--cert-file";
  std::string key = "--key-file";
  std::string trusted_ca = "--trusted-ca-file";
  std::string crl = "--client-crl-file";
  std::string cipher_suites = "--cipher-suites";
  std::string min_version = "--tls-min-version";
  std::string max_version = "--tls-max-version";
};

// Not an aggregate on purpose (see net::ChannelOptions).
struct TlsConfig {
  TlsConfig() {}
  // PEM files. A server needs cert and key; a client sends them when set.
  std::string cert_file;
  std::string key_file;
  // The CAs a peer's certificate must chain to. A client without one trusts
  // nothing but skip_verify.
  std::string trusted_ca_file;
  // Revoked certificates: a peer certificate listed here is refused.
  std::string crl_file;
  // Server: demand a client certificate that chains to trusted_ca_file.
  bool client_cert_auth = false;
  // Client: accept any server certificate (auto-TLS peers, keelctl's
  // --insecure-skip-tls-verify).
  bool skip_verify = false;
  // Go's names of the TLS 1.2 suites allowed ("TLS_ECDHE_RSA_WITH_AES_128_
  // GCM_SHA256"); empty: OpenSSL's defaults. TLS 1.3 suites are fixed, as
  // in Go.
  std::vector<std::string> cipher_suites;
  // "TLS1.2" or "TLS1.3" (etcd's spelling); empty: TLS1.2 and up.
  std::string min_version;
  std::string max_version;
  // Server: after the handshake, the client certificate's Common Name must
  // be one of these (etcd's --peer-cert-allowed-cn), or it must be valid
  // for one of these host names (--peer-cert-allowed-hostname).
  std::vector<std::string> allowed_cn;
  std::vector<std::string> allowed_hostname;
  // ALPN protocols, most preferred first: a server picks the first of its
  // list the client offers; a client offers these.
  std::vector<std::string> alpn;
  TlsFlagNames flags;
};

class TlsContext {
 public:
  // Loads the files and builds the first context (does not suspend).
  // InvalidArgument naming the flag at fault, as described above.
  static absl::StatusOr<std::shared_ptr<TlsContext>> Create(FileSystem& fs, TlsRole role,
                                                            TlsConfig config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The OpenSSL context for a new handshake, rebuilt first if a file's bytes
  // changed; if the new files do not load, the last good context (and a
  // warning in `log`). Shared: a connection keeps the one it started with.
  std::shared_ptr<SSL_CTX> ForHandshake(Logger& log);

  TlsRole role() const { return role_; }
  const TlsConfig& config() const { return config_; }
  // Times the context was (re)built; 1 after Create.
  int builds() const { return builds_; }

 // The files' bytes as last loaded (internal).
  struct Files;

 private:
  TlsContext(FileSystem& fs, TlsRole role, TlsConfig config);
  absl::StatusOr<Files> ReadFiles() const;
  absl::StatusOr<std::shared_ptr<SSL_CTX>> Build(const Files& files) const;

  FileSystem& fs_;
  const TlsRole role_;
  const TlsConfig config_;
  std::unique_ptr<Files> loaded_;
  std::shared_ptr<SSL_CTX> current_;
  int builds_ = 0;
};

// The OpenSSL error queue as text ("error:0A000086:SSL routines::certificate
// verify failed"), emptied; `fallback` if it is empty.
std::string DrainOpenSslErrors(std::string_view fallback);

}  // namespace keel::net

#endif  // KEEL_NET_TLS_CONTEXT_H_
