// etcd's configuration checks for a member.
#include "node/server_config.h"

#include <algorithm>
#include <optional>

#include "absl/time/time.h"
#include "node/auto_compaction.h"
#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

KEEL_FAILPOINT_BUILD_TAG_DEFINITION();

std::string ServerConfig::DataDir() const {
  return data_dir.empty() ? name + ".keel" : data_dir;
}

std::string ServerConfig::WalDir() const {
  return wal_dir.empty() ? DataDir() + "/member/wal" : wal_dir;
}

std::string Url::HostPort() const {
  if (host.find(':') != std::string::npos) return StrCat("[", host, "]:", port);
  return StrCat(host, ":", port);
}

std::string Url::ToString() const { return StrCat(scheme, "://", HostPort()); }

absl::StatusOr<Url> ParseUrl(const std::string& text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("URL \"", text, "\" ", why));
  };
  const size_t sep = text.find("://");
  if (sep == std::string::npos) return bad("has no scheme");
  Url url;
  url.scheme = text.substr(0, sep);
  if (url.scheme != "http" && url.scheme != "https") {
    return bad("has an unsupported scheme (want http or https)");
  }
  std::string rest = text.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) {
    return bad("must not have a path");
  }
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("has no port");
  std::string host = rest.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  if (!ParseInt(rest.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return bad("has a bad port");
  }
  url.host = host;
  url.port = static_cast<uint16_t>(port);
  return url;
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>>
ParseInitialCluster(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          StrCat("--initial-cluster entry \"", item, "\" is not name=url"));
    }
    const std::string url = item.substr(eq + 1);
    auto parsed = ParseUrl(url);
    if (!parsed.ok()) return parsed.status();
    out[item.substr(0, eq)].push_back(url);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("--initial-cluster is empty");
  }
  return out;
}

namespace {

absl::Status CheckUrls(std::string_view flag,
                       const std::vector<std::string>& urls) {
  if (urls.empty()) {
    return absl::InvalidArgumentError(StrCat("--", flag, " must not be empty"));
  }
  for (const std::string& url : urls) {
    auto parsed = ParseUrl(url);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          StrCat("--", flag, ": ", parsed.status().message()));
    }
  }
  return absl::OkStatus();
}

// An https URL needs that side's TLS, and peer TLS needs https peer URLs
// (peers dial with TLS exactly when it is configured).
absl::Status CheckSchemes(std::string_view flag, const std::vector<std::string>& urls,
                          bool tls, std::string_view tls_flags) {
  for (const std::string& url : urls) {
    const bool https = url.starts_with("https://");
    if (https && !tls) {
      return absl::InvalidArgumentError(StrCat("TLS key/cert (", tls_flags,
                                               ") must be provided for --", flag, " ", url,
                                               " with HTTPS scheme"));
    }
    if (!https && tls && flag != "listen-client-urls" && flag != "advertise-client-urls" &&
        flag != "listen-metrics-urls") {
      return absl::InvalidArgumentError(
          StrCat("--", flag, " ", url, ": peer TLS is configured, so peer URLs must be https"));
    }
  }
  return absl::OkStatus();
}

// What keel's listeners and peer transport can do.
absl::Status CheckSupportedUrls(const ServerConfig& config) {
  if (config.listen_peer_urls.size() > 1) {
    return absl::UnimplementedError(
        "--listen-peer-urls: keel listens on one peer URL; more are not supported yet");
  }
  constexpr std::string_view kClientFiles = "--cert-file, --key-file";
  constexpr std::string_view kPeerFiles = "--peer-cert-file, --peer-key-file";
  const bool client = config.client_tls.enabled();
  const bool peer = config.peer_tls.enabled();
  KEEL_RETURN_IF_ERROR(
      CheckSchemes("listen-client-urls", config.listen_client_urls, client, kClientFiles));
  KEEL_RETURN_IF_ERROR(
      CheckSchemes("listen-metrics-urls", config.listen_metrics_urls, client, kClientFiles));
  KEEL_RETURN_IF_ERROR(CheckSchemes("listen-peer-urls", config.listen_peer_urls, peer, kPeerFiles));
  KEEL_RETURN_IF_ERROR(CheckSchemes("initial-advertise-peer-urls",
                                    config.initial_advertise_peer_urls, peer, kPeerFiles));
  auto cluster = ParseInitialCluster(config.initial_cluster);
  if (!cluster.ok()) return cluster.status();
  for (const auto& [name, urls] : *cluster) {
    KEEL_RETURN_IF_ERROR(CheckSchemes("initial-cluster", urls, peer, kPeerFiles));
  }
  if (config.self_signed_cert_validity <= 0) {
    return absl::InvalidArgumentError("--self-signed-cert-validity must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// A Go duration ("100ms", "1.5s", "2m"); absl reads the same grammar.
std::optional<Duration> ParseDurationFlag(std::string_view text) {
  absl::Duration parsed;
  if (!absl::ParseDuration(std::string(text), &parsed) || parsed < absl::ZeroDuration()) {
    return std::nullopt;
  }
  return Nanoseconds(absl::ToInt64Nanoseconds(parsed));
}

}  // namespace

absl::StatusOr<Duration> ParseCorruptCheckTime(std::string_view text) {
  std::optional<Duration> parsed = ParseDurationFlag(text);
  if (!parsed.has_value()) {
    return absl::InvalidArgumentError(StrCat(
        "invalid --experimental-corrupt-check-time: time: invalid duration \"", text, "\""));
  }
  return *parsed;
}

Duration ServerConfig::WarningApplyDuration() const {
  std::optional<Duration> parsed = ParseDurationFlag(warning_apply_duration);
  KEEL_ASSERT_MSG(parsed.has_value(), "WarningApplyDuration() before Validate()");
  return *parsed;
}

absl::Status ServerConfig::Validate() const {
  if (name.empty()) return absl::InvalidArgumentError("--name must not be empty");
  if (!ParseDurationFlag(warning_apply_duration).has_value()) {
    return absl::InvalidArgumentError(
        StrCat("invalid value \"", warning_apply_duration,
               "\" for flag -experimental-warning-apply-duration: want a duration like 100ms"));
  }
  KEEL_RETURN_IF_ERROR(
      ParseAutoCompaction(auto_compaction_mode, auto_compaction_retention).status());
  KEEL_RETURN_IF_ERROR(ParseCorruptCheckTime(corrupt_check_time).status());
  if (heartbeat_interval_ms <= 0) {
    return absl::InvalidArgumentError(StrCat(
        "--heartbeat-interval must be positive (got ", heartbeat_interval_ms, ")"));
  }
  if (election_timeout_ms < 5 * heartbeat_interval_ms) {
    return absl::InvalidArgumentError(
        StrCat("--election-timeout[", election_timeout_ms,
               "ms] should be at least as 5 times as --heartbeat-interval[",
               heartbeat_interval_ms, "ms]"));
  }
  if (election_timeout_ms > 50000) {
    return absl::InvalidArgumentError(
        StrCat("--election-timeout[", election_timeout_ms,
               "ms] is too long, and should be set less than 50000ms"));
  }
  for (auto [flag, urls] :
       {std::pair{"listen-peer-urls", &listen_peer_urls},
        std::pair{"listen-client-urls", &listen_client_urls},
        std::pair{"initial-advertise-peer-urls", &initial_advertise_peer_urls},
        std::pair{"advertise-client-urls", &advertise_client_urls}}) {
    absl::Status status = CheckUrls(flag, *urls);
    if (!status.ok()) return status;
  }
  // May be empty, unlike the others.
  for (const std::string& url : listen_metrics_urls) {
    auto parsed = ParseUrl(url);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          StrCat("--listen-metrics-urls: ", parsed.status().message()));
    }
  }
  if (metrics != "basic" && metrics != "extensive") {
    return absl::InvalidArgumentError(
        StrCat("--metrics: unknown metrics level \"", metrics, "\" (want basic or extensive)"));
  }
  absl::Status supported = CheckSupportedUrls(*this);
  if (!supported.ok()) return supported;
  if (initial_cluster_state != "new" && initial_cluster_state != "existing") {
    return absl::InvalidArgumentError(
        StrCat("unexpected --initial-cluster-state \"", initial_cluster_state,
               "\" (want new or existing)"));
  }
  auto cluster = ParseInitialCluster(initial_cluster);
  if (!cluster.ok()) return cluster.status();
  auto self = cluster->find(name);
  if (self == cluster->end()) {
    return absl::InvalidArgumentError(
        StrCat("couldn't find local name \"", name,
               "\" in the initial cluster configuration"));
  }
  std::vector<std::string> listed = self->second;
  std::vector<std::string> advertised = initial_advertise_peer_urls;
  std::sort(listed.begin(), listed.end());
  std::sort(advertised.begin(), advertised.end());
  if (listed != advertised) {
    std::string joined;
    for (const auto& u : initial_advertise_peer_urls) {
      StrAppend(&joined, joined.empty() ? "" : ",", u);
    }
    return absl::InvalidArgumentError(
        StrCat("--initial-cluster has ", name, "=", self->second.front(),
               " but missing from --initial-advertise-peer-urls=", joined));
  }
  if (max_txn_ops <= 0) {
    return absl::InvalidArgumentError("--max-txn-ops must be positive");
  }
  if (max_request_bytes <= 0) {
    return absl::InvalidArgumentError("--max-request-bytes must be positive");
  }
  if (quota_backend_bytes < 0 || quota_backend_bytes > kMaxQuotaBytes) {
    return absl::InvalidArgumentError(
        StrCat("--quota-backend-bytes ", quota_backend_bytes,
               " is out of range (0 to ", kMaxQuotaBytes, ")"));
  }
  if (auth_token_ttl_seconds <= 0) {
    return absl::InvalidArgumentError("--auth-token-ttl must be positive");
  }
  if (bcrypt_cost < 4 || bcrypt_cost > 31) {
    return absl::InvalidArgumentError(
        StrCat("--bcrypt-cost ", bcrypt_cost, " is out of range (4 to 31)"));
  }
  if (snapshot_count == 0) {
    return absl::InvalidArgumentError("--snapshot-count must be positive");
  }
  if (max_inflight_msgs == 0) {
    return absl::InvalidArgumentError("max-inflight-msgs must be positive");
  }
  if (snapshot_chunk_bytes == 0 || snapshot_chunk_bytes > kMaxSnapshotChunkBytes) {
    return absl::InvalidArgumentError(StrCat("snapshot-chunk-bytes ", snapshot_chunk_bytes,
                                             " is out of range (1 to ",
                                             kMaxSnapshotChunkBytes, ")"));
  }
  return absl::OkStatus();
}

}  // namespace keel::node
