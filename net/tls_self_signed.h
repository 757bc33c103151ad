// etcd's --auto-tls and --peer-auto-tls: a self-signed certificate made at
// start-up.
//
// As etcd's transport.SelfCert: an ECDSA P-256 key and a certificate for
// `hosts` (IP addresses and DNS names), valid from now for `validity_years`
// (--self-signed-cert-validity), for server and client use, written as
// cert.pem and key.pem in `dir`. Files that are already there are kept, as
// etcd keeps them across restarts.
#ifndef KEEL_NET_TLS_SELF_SIGNED_H_
#define KEEL_NET_TLS_SELF_SIGNED_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/env.h"

namespace keel::net {

// A certificate to make. Issued by `issuer` (PEM certificate and key), or
// self-signed when that is empty.
struct CertificateRequest {
  CertificateRequest() {}
  std::string common_name;
  std::string organization = "etcd";
  // IP addresses and DNS names for the subjectAltName.
  std::vector<std::string> hosts;
  // Unix seconds.
  int64_t not_before = 0;
  int64_t not_after = 0;
  bool is_ca = false;
  std::string issuer_cert_pem;
  std::string issuer_key_pem;
};

struct CertificatePem {
  std::string cert;
  std::string key;
};

// Makes an ECDSA P-256 key and a certificate for it (server and client use,
// or a CA), signed with SHA-256. Internal for OpenSSL failures,
// InvalidArgument for an issuer that does not parse. Randomness as for
// handshakes (net/tls_random.h).
absl::StatusOr<CertificatePem> MakeCertificate(Env& env, const CertificateRequest& request);

struct SelfSignedFiles {
  std::string cert_file;
  std::string key_file;
};

// Writes (or finds) the pair in `dir`, creating it. Internal for OpenSSL
// failures, the FileSystem's errors otherwise. Randomness comes from the
// Env as for handshakes (net/tls_random.h). Does not suspend: the files
// are small and their durability does not matter (they are remade if lost).
absl::StatusOr<SelfSignedFiles> EnsureSelfSignedCert(Env& env, const std::string& dir,
                                                     const std::vector<std::string>& hosts,
                                                     int validity_years);

}  // namespace keel::net

#endif  // KEEL_NET_TLS_SELF_SIGNED_H_
