// ParseServerConfigFile: etcd's embed.Config YAML keys to flag values.
#include "tools/server_config_file.h"

#include <cstdint>
#include <map>
#include <set>

#include "runtime/strings.h"
#include "tools/server_flag_table.h"
#include "yaml-cpp/yaml.h"

namespace keel::tools {
namespace {

// embed.Config's time.Duration keys: JSON carries them as nanoseconds.
const std::set<std::string, std::less<>>& DurationKeys() {
  static const auto* keys = new std::set<std::string, std::less<>>{
      "backend-batch-interval",
      "grpc-keepalive-min-time",
      "grpc-keepalive-interval",
      "grpc-keepalive-timeout",
      "experimental-corrupt-check-time",
      "experimental-watch-progress-notify-interval",
      "experimental-warning-apply-duration",
  };
  return *keys;
}

// securityConfig's keys, and the flag each one is under the client and the
// peer map.
struct SecurityKey {
  std::string_view key;
  std::string_view client_flag;
  std::string_view peer_flag;
};
constexpr SecurityKey kSecurityKeys[] = {
    {"cert-file", "cert-file", "peer-cert-file"},
    {"key-file", "key-file", "peer-key-file"},
    {"client-cert-auth", "client-cert-auth", "peer-client-cert-auth"},
    {"trusted-ca-file", "trusted-ca-file", "peer-trusted-ca-file"},
    {"auto-tls", "auto-tls", "peer-auto-tls"},
};

// A whole number of nanoseconds in the largest unit that divides it, as
// the flag table spells defaults ("10m", "100ms", "0s").
std::string DurationText(int64_t nanos) {
  if (nanos == 0) return "0s";
  struct Unit {
    int64_t nanos;
    std::string_view suffix;
  };
  constexpr Unit kUnits[] = {{3'600'000'000'000, "h"}, {60'000'000'000, "m"},
                             {1'000'000'000, "s"},      {1'000'000, "ms"},
                             {1'000, "us"},             {1, "ns"}};
  for (const Unit& unit : kUnits) {
    if (nanos % unit.nanos == 0) return StrCat(nanos / unit.nanos, unit.suffix);
  }
  return StrCat(nanos, "ns");
}

absl::Status KeyError(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(StrCat("config file key \"", key, "\": ", what));
}

// A scalar's text, or a list's items joined with commas (etcd's list flags
// take them so).
absl::StatusOr<std::string> FlagText(std::string_view key, const YAML::Node& node) {
  if (node.IsScalar()) {
    std::string text = node.Scalar();
    if (DurationKeys().contains(key)) {
      int64_t nanos = 0;
      if (absl::SimpleAtoi(text, &nanos)) return DurationText(nanos);
      // A Go duration string ("5m") is not what etcd reads here; the flag
      // parser checks it as it checks the flag's value.
    }
    return text;
  }
  if (node.IsSequence()) {
    std::string joined;
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) return KeyError(key, "a list of scalars is expected");
      StrAppend(&joined, joined.empty() ? "" : ",", item.Scalar());
    }
    return joined;
  }
  return KeyError(key, "a map is not a value of this key");
}

absl::Status AddSecurity(std::string_view key, const YAML::Node& map, bool peer,
                         std::vector<ConfigFileValue>& out) {
  if (!map.IsMap()) return KeyError(key, "a map of TLS settings is expected");
  for (const auto& entry : map) {
    const std::string inner = entry.first.as<std::string>();
    const SecurityKey* found = nullptr;
    for (const SecurityKey& candidate : kSecurityKeys) {
      if (candidate.key == inner) found = &candidate;
    }
    const std::string full = StrCat(key, ".", inner);
    if (found == nullptr) return KeyError(full, "not a key etcd's configuration file has");
    if (entry.second.IsNull()) continue;
    auto text = FlagText(full, entry.second);
    if (!text.ok()) return text.status();
    out.push_back({std::string(peer ? found->peer_flag : found->client_flag), *std::move(text)});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ConfigFileValue>> ParseServerConfigFile(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat("config file is not valid YAML: ", e.what()));
  }
  std::vector<ConfigFileValue> out;
  if (root.IsNull()) return out;  // An empty file sets nothing.
  if (!root.IsMap()) return absl::InvalidArgumentError("config file is not a YAML map of keys");
  std::set<std::string> seen;
  for (const auto& entry : root) {
    if (!entry.first.IsScalar()) return absl::InvalidArgumentError("config file has a non-text key");
    const std::string key = entry.first.Scalar();
    if (!seen.insert(key).second) return KeyError(key, "given twice");
    if (key == "client-transport-security" || key == "peer-transport-security") {
      if (entry.second.IsNull()) continue;
      absl::Status added = AddSecurity(key, entry.second, key == "peer-transport-security", out);
      if (!added.ok()) return added;
      continue;
    }
    const ServerFlag* row = FindServerFlag(key);
    if (row == nullptr || key == "config-file" || key == "help" || key == "version") {
      return KeyError(key, "not a key etcd's configuration file has");
    }
    if (entry.second.IsNull()) continue;
    auto text = FlagText(key, entry.second);
    if (!text.ok()) return text.status();
    out.push_back({key, *std::move(text)});
  }
  return out;
}

}  // namespace keel::tools
