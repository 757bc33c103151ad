// Building the member's TLS contexts from its flags.
#include "node/member_tls.h"

#include <utility>

#include "absl/strings/str_split.h"
#include "net/tls_self_signed.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {
namespace {

std::vector<std::string> SplitList(const std::string& text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, ',', absl::SkipEmpty());
}

// The hosts of `urls`, for an auto-TLS certificate.
std::vector<std::string> HostsOf(const std::vector<std::string>& urls) {
  std::vector<std::string> hosts;
  for (const std::string& url : urls) {
    auto parsed = ParseUrl(url);
    if (!parsed.ok()) continue;
    if (std::find(hosts.begin(), hosts.end(), parsed->host) == hosts.end()) {
      hosts.push_back(parsed->host);
    }
  }
  return hosts;
}

// The flags' files, or the auto-TLS pair made for `urls` under `fixture`.
absl::Status FillFiles(Env& env, const ServerConfig& config, const MemberTlsFlags& flags,
                       std::string_view fixture, const std::vector<std::string>& urls,
                       net::TlsConfig& out) {
  if (!flags.cert_file.empty() || !flags.key_file.empty()) {
    out.cert_file = flags.cert_file;
    out.key_file = flags.key_file;
    return absl::OkStatus();
  }
  KEEL_ASSERT(flags.auto_tls);
  const std::string dir = JoinPath(JoinPath(config.DataDir(), "fixtures"), fixture);
  KEEL_ASSIGN_OR_RETURN(net::SelfSignedFiles files,
                        net::EnsureSelfSignedCert(env, dir, HostsOf(urls),
                                                  static_cast<int>(config.self_signed_cert_validity)));
  env.log().Info("automatically generated certificates",
                 {{"certificate-path", files.cert_file}, {"key-path", files.key_file}});
  out.cert_file = files.cert_file;
  out.key_file = files.key_file;
  return absl::OkStatus();
}

void FillCommon(const ServerConfig& config, net::TlsConfig& out) {
  out.cipher_suites = config.cipher_suites;
  out.min_version = config.tls_min_version;
  out.max_version = config.tls_max_version;
}

}  // namespace

absl::StatusOr<std::shared_ptr<net::TlsContext>> ClientTlsContext(Env& env,
                                                                  const ServerConfig& config) {
  const MemberTlsFlags& flags = config.client_tls;
  if (!flags.enabled()) return nullptr;
  net::TlsConfig tls;
  KEEL_RETURN_IF_ERROR(FillFiles(env, config, flags, "client", config.listen_client_urls, tls));
  FillCommon(config, tls);
  tls.trusted_ca_file = flags.trusted_ca_file;
  tls.crl_file = flags.crl_file;
  tls.client_cert_auth = flags.client_cert_auth;
  tls.allowed_hostname = SplitList(flags.allowed_hostname);
  // HTTP/1.1 when the client offers it (curl, browsers: /health, /version,
  // the JSON gateway), h2 otherwise: gRPC clients offer h2 alone.
  tls.alpn = {"http/1.1", "h2"};
  return net::TlsContext::Create(env.fs(), net::TlsRole::kServer, std::move(tls));
}

absl::StatusOr<PeerTlsContexts> PeerTlsContextsFor(Env& env, const ServerConfig& config) {
  const MemberTlsFlags& flags = config.peer_tls;
  PeerTlsContexts out;
  if (!flags.enabled()) return out;
  net::TlsConfig tls;
  tls.flags.cert = "--peer-cert-file";
  tls.flags.key = "--peer-key-file";
  tls.flags.trusted_ca = "--peer-trusted-ca-file";
  tls.flags.crl = "--peer-crl-file";
  std::vector<std::string> urls = config.listen_peer_urls;
  urls.insert(urls.end(), config.initial_advertise_peer_urls.begin(),
              config.initial_advertise_peer_urls.end());
  KEEL_RETURN_IF_ERROR(FillFiles(env, config, flags, "peer", urls, tls));
  FillCommon(config, tls);
  tls.trusted_ca_file = flags.trusted_ca_file;
  tls.crl_file = flags.crl_file;
  net::TlsConfig server = tls;
  server.client_cert_auth = flags.client_cert_auth;
  server.allowed_cn = SplitList(flags.allowed_cn);
  server.allowed_hostname = SplitList(flags.allowed_hostname);
  net::TlsConfig client = tls;
  // etcd's peer auto-TLS: self-signed peers accept each other unverified.
  client.skip_verify = flags.auto_tls && flags.trusted_ca_file.empty();
  if (client.trusted_ca_file.empty() && !client.skip_verify) {
    return absl::InvalidArgumentError(
        "--peer-trusted-ca-file is required to verify peers (or use --peer-auto-tls)");
  }
  client.crl_file.clear();
  KEEL_ASSIGN_OR_RETURN(out.server,
                        net::TlsContext::Create(env.fs(), net::TlsRole::kServer, std::move(server)));
  KEEL_ASSIGN_OR_RETURN(out.client,
                        net::TlsContext::Create(env.fs(), net::TlsRole::kClient, std::move(client)));
  return out;
}

}  // namespace keel::node
