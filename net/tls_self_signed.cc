// Making a self-signed certificate with OpenSSL.
#include "net/tls_self_signed.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net/tls_context.h"
#include "net/tls_random.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool AddName(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) return true;
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                    0) == 1;
}

std::string SubjectAltName(const std::vector<std::string>& hosts) {
  std::string san;
  for (const std::string& host : hosts) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
    const bool is_ip = ip != nullptr;
    ASN1_OCTET_STRING_free(ip);
    san += StrCat(san.empty() ? "" : ",", is_ip ? "IP:" : "DNS:", host);
  }
  return san;
}

// Fills and signs `cert`; false on any OpenSSL failure.
bool FillCertificate(X509* cert, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                     const CertificateRequest& request) {
  BIGNUM* serial = BN_new();
  bool ok = serial != nullptr && X509_set_version(cert, 2) == 1 &&
            BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) != nullptr &&
            ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(request.not_before)) !=
                nullptr &&
            ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(request.not_after)) !=
                nullptr &&
            X509_set_pubkey(cert, key) == 1;
  BN_free(serial);
  X509_NAME* name = X509_get_subject_name(cert);
  ok = ok && AddName(name, "O", request.organization) && AddName(name, "CN", request.common_name);
  ok = ok && X509_set_issuer_name(cert, X509_get_subject_name(issuer)) == 1;
  if (request.is_ca) {
    ok = ok && AddExtension(cert, issuer, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && AddExtension(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExtension(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && AddExtension(cert, issuer, NID_key_usage,
                            "critical,digitalSignature,keyEncipherment");
    ok = ok && AddExtension(cert, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  const std::string san = SubjectAltName(request.hosts);
  if (!san.empty()) ok = ok && AddExtension(cert, issuer, NID_subject_alt_name, san);
  return ok && X509_sign(cert, issuer_key, EVP_sha256()) > 0;
}

}  // namespace

absl::StatusOr<CertificatePem> MakeCertificate(Env& env, const CertificateRequest& request) {
  TlsRandomScope scope(env.random());
  X509* issuer = nullptr;
  EVP_PKEY* issuer_key = nullptr;
  if (!request.issuer_cert_pem.empty()) {
    BIO* cert_bio = BIO_new_mem_buf(request.issuer_cert_pem.data(),
                                    static_cast<int>(request.issuer_cert_pem.size()));
    BIO* key_bio = BIO_new_mem_buf(request.issuer_key_pem.data(),
                                   static_cast<int>(request.issuer_key_pem.size()));
    issuer = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    issuer_key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    BIO_free(cert_bio);
    BIO_free(key_bio);
    if (issuer == nullptr || issuer_key == nullptr) {
      X509_free(issuer);
      EVP_PKEY_free(issuer_key);
      return absl::InvalidArgumentError(
          StrCat("issuer: ", DrainOpenSslErrors("no PEM certificate and key")));
    }
  }
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr &&
            FillCertificate(cert, key, issuer != nullptr ? issuer : cert,
                            issuer_key != nullptr ? issuer_key : key, request);
  CertificatePem out;
  if (ok) {
    BIO* cert_bio = BIO_new(BIO_s_mem());
    BIO* key_bio = BIO_new(BIO_s_mem());
    ok = PEM_write_bio_X509(cert_bio, cert) == 1 &&
         PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    out.cert = BioText(cert_bio);
    out.key = BioText(key_bio);
    BIO_free(cert_bio);
    BIO_free(key_bio);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  X509_free(issuer);
  EVP_PKEY_free(issuer_key);
  if (!ok) return absl::InternalError(DrainOpenSslErrors("certificate not made"));
  return out;
}

namespace {

absl::Status WriteFile(FileSystem& fs, const std::string& path, const std::string& bytes) {
  KEEL_ASSIGN_OR_RETURN(auto file, fs.Open(path, OpenOptions{.create = true, .truncate = true}));
  KEEL_RETURN_IF_ERROR(file->Append(bytes));
  return file->SyncNow();
}

}  // namespace

absl::StatusOr<SelfSignedFiles> EnsureSelfSignedCert(Env& env, const std::string& dir,
                                                     const std::vector<std::string>& hosts,
                                                     int validity_years) {
  SelfSignedFiles files{.cert_file = JoinPath(dir, "cert.pem"),
                        .key_file = JoinPath(dir, "key.pem")};
  FileSystem& fs = env.fs();
  if (fs.Stat(files.cert_file).ok() && fs.Stat(files.key_file).ok()) return files;
  KEEL_RETURN_IF_ERROR(CreateDirs(fs, dir));
  CertificateRequest request;
  request.hosts = hosts;
  request.not_before = env.clock().WallUnixMicros() / 1'000'000;
  request.not_after = request.not_before + int64_t{validity_years} * 365 * 24 * 3600;
  absl::StatusOr<CertificatePem> pem = MakeCertificate(env, request);
  if (!pem.ok()) return absl::InternalError(StrCat("auto-tls: ", pem.status().message()));
  // The key first: a crash between the two leaves no certificate, and the
  // pair is made again.
  KEEL_RETURN_IF_ERROR(WriteFile(fs, files.key_file, pem->key));
  KEEL_RETURN_IF_ERROR(WriteFile(fs, files.cert_file, pem->cert));
  return files;
}

}  // namespace keel::net
