// keelctl's global flags; see ctl_globals.h.
#include "tools/ctl_globals.h"

#include <algorithm>

#include "runtime/strings.h"
#include "tools/bench_config.h"

namespace keel::tools {

void DefineGlobalFlags(FlagSet& flags, GlobalFlags* g) {
  flags.List("endpoints", &g->endpoints, "gRPC endpoints");
  flags.String("dial-timeout", &g->dial_timeout, "dial timeout for client connections");
  flags.String("command-timeout", &g->command_timeout,
               "timeout for short running command (excluding dial timeout)");
  flags.String("keepalive-time", &g->keepalive_time, "keepalive time for client connections");
  flags.String("keepalive-timeout", &g->keepalive_timeout,
               "keepalive timeout for client connections");
  flags.String("cacert", &g->cacert,
               "verify certificates of TLS-enabled secure servers using this CA bundle");
  flags.String("cert", &g->cert, "identify secure client using this TLS certificate file");
  flags.String("key", &g->key, "identify secure client using this TLS key file");
  flags.Bool("insecure-skip-tls-verify", &g->insecure_skip_tls_verify,
             "skip server certificate verification (CAUTION: this option should be enabled "
             "only for testing purposes)");
  flags.Bool("insecure-transport", &g->insecure_transport,
             "disable transport security for client connections");
  flags.Bool("insecure-discovery", &g->insecure_discovery,
             "accept insecure SRV records describing cluster endpoints");
  flags.String("user", &g->user,
               "username[:password] for authentication (prompt if password is not supplied)");
  flags.String("password", &g->password,
               "password for authentication (if this option is used, --user option shouldn't "
               "include password)");
  flags.String("discovery-srv", &g->discovery_srv,
               "domain name to query for SRV records describing cluster endpoints", "d");
  flags.String("discovery-srv-name", &g->discovery_srv_name,
               "service name to query when using DNS discovery");
  flags.String("write-out", &g->write_out,
               "set the output format (fields, json, protobuf, simple, table)", "w");
  flags.Bool("hex", &g->hex, "print byte strings as hex encoded strings");
  flags.Bool("debug", &g->debug, "enable client-side debug logging");
  flags.Bool("help", &g->help, "help for keelctl", "h");
}

namespace {

absl::StatusOr<Duration> Positive(std::string_view name, const std::string& text) {
  absl::StatusOr<Duration> value = ParseGoDuration(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        AsAbsl(StrCat("invalid argument \"", text, "\" for \"--", name, "\" flag: ",
                      value.status().message())));
  }
  return *value;
}

}  // namespace

absl::StatusOr<GlobalConfig> ResolveGlobals(const GlobalFlags& g) {
  GlobalConfig config;
  config.use_tls = !g.cacert.empty() || !g.cert.empty() || !g.key.empty() ||
                   g.insecure_skip_tls_verify || !g.insecure_transport;
  if (!g.discovery_srv.empty()) {
    return absl::UnimplementedError(
        "DNS SRV discovery (--discovery-srv) is not supported yet: list the members with "
        "--endpoints");
  }
  for (std::string endpoint : g.endpoints) {
    if (endpoint.starts_with("unixs://") || endpoint.starts_with("unix://")) {
      return absl::UnimplementedError(
          AsAbsl(StrCat("unix sockets are not supported: cannot reach ", endpoint)));
    }
    if (endpoint.starts_with("https://")) {
      config.use_tls = true;
      endpoint = endpoint.substr(8);
    }
    if (endpoint.starts_with("http://")) endpoint = endpoint.substr(7);
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    config.endpoints.push_back(endpoint);
  }
  auto assign = [](Duration* target, absl::StatusOr<Duration> value) {
    if (!value.ok()) return value.status();
    *target = *value;
    return absl::OkStatus();
  };
  absl::Status status = assign(&config.dial_timeout, Positive("dial-timeout", g.dial_timeout));
  if (status.ok()) {
    status = assign(&config.command_timeout, Positive("command-timeout", g.command_timeout));
  }
  if (status.ok()) {
    status = assign(&config.keepalive_time, Positive("keepalive-time", g.keepalive_time));
  }
  if (status.ok()) {
    status =
        assign(&config.keepalive_timeout, Positive("keepalive-timeout", g.keepalive_timeout));
  }
  if (!status.ok()) return status;
  if (g.write_out == "simple") {
    config.format = OutputFormat::kSimple;
  } else if (g.write_out == "json") {
    config.format = OutputFormat::kJson;
  } else if (g.write_out == "fields") {
    config.format = OutputFormat::kFields;
  } else if (g.write_out == "table") {
    config.format = OutputFormat::kTable;
  } else if (g.write_out == "protobuf") {
    config.format = OutputFormat::kProtobuf;
  } else {
    return absl::InvalidArgumentError("unsupported output format");
  }
  if (config.use_tls) {
    if (g.cacert.empty() && !g.insecure_skip_tls_verify) {
      return absl::UnimplementedError(
          "TLS without --cacert is not supported (keelctl does not read the system's CAs): "
          "give --cacert or --insecure-skip-tls-verify");
    }
    config.tls_config.trusted_ca_file = g.cacert;
    config.tls_config.cert_file = g.cert;
    config.tls_config.key_file = g.key;
    config.tls_config.skip_verify = g.insecure_skip_tls_verify;
    config.tls_config.alpn = {"h2"};
    config.tls_config.flags.cert = "--cert";
    config.tls_config.flags.key = "--key";
    config.tls_config.flags.trusted_ca = "--cacert";
  }
  config.hex = g.hex;
  config.user = g.user;
  config.password = g.password;
  // etcdctl's rule: --password takes the whole --user as the name;
  // otherwise "name:password", or a prompt; --password alone is ignored.
  if (!g.user.empty() && g.password.empty()) {
    const size_t colon = g.user.find(':');
    if (colon != std::string::npos) {
      config.user = g.user.substr(0, colon);
      config.password = g.user.substr(colon + 1);
    } else {
      config.password_needed = true;
    }
  }
  return config;
}

client::ClientOptions ClientOptionsFor(const GlobalConfig& config,
                                       std::vector<std::string> endpoints) {
  client::ClientOptions options;
  options.endpoints = std::move(endpoints);
  options.dial_timeout = config.dial_timeout;
  // grpc-go keeps client pings at least 10s apart, and etcd's server
  // answers more frequent ones with GOAWAY too_many_pings.
  options.channel.pump.keepalive_interval = std::max(config.keepalive_time, Seconds(10));
  options.channel.pump.keepalive_timeout = config.keepalive_timeout;
  options.username = config.user;
  options.password = config.password;
  options.tls = config.tls;
  return options;
}

}  // namespace keel::tools
