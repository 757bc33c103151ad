// keelctl's global flags: etcdctl 3.5's persistent flags with their
// defaults, also read from ETCDCTL_* environment variables (ETCDCTL_ENDPOINTS
// for --endpoints; a flag on the command line wins), and what they make of
// the client: endpoints, timeouts, keepalive, the user to authenticate as.
//
// TLS as etcdctl: https endpoints, --cacert, --cert, --key or
// --insecure-skip-tls-verify make every connection TLS. Flags keel cannot
// honour yet are refused, never ignored: DNS SRV discovery, unixs://
// endpoints, and TLS without --cacert (etcdctl would use the system's
// roots).
#ifndef KEEL_TOOLS_CTL_GLOBALS_H_
#define KEEL_TOOLS_CTL_GLOBALS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/etcd_client.h"
#include "net/tls_context.h"
#include "runtime/time.h"
#include "tools/flags.h"

namespace keel::tools {

enum class OutputFormat { kSimple, kJson, kFields, kTable, kProtobuf };

struct GlobalFlags {
  std::vector<std::string> endpoints = {"127.0.0.1:2379"};
  std::string dial_timeout = "2s";
  std::string command_timeout = "5s";
  std::string keepalive_time = "2s";
  std::string keepalive_timeout = "6s";
  std::string cacert;
  std::string cert;
  std::string key;
  bool insecure_skip_tls_verify = false;
  bool insecure_transport = true;
  bool insecure_discovery = true;
  std::string user;
  std::string password;
  std::string discovery_srv;
  std::string discovery_srv_name;
  std::string write_out = "simple";
  bool hex = false;
  bool debug = false;
  bool help = false;
};

// What the global flags resolve to. Not an aggregate on purpose (GCC 12;
// see net::ChannelOptions).
struct GlobalConfig {
  GlobalConfig() {}
  std::vector<std::string> endpoints;  // host:port, the scheme stripped
  Duration dial_timeout;
  Duration command_timeout;
  Duration keepalive_time;
  Duration keepalive_timeout;
  std::string user;
  std::string password;
  bool password_needed = false;  // --user without a password: prompt
  OutputFormat format = OutputFormat::kSimple;
  bool hex = false;
  // Whether to dial with TLS, and with what (files not read yet; keelctl
  // builds `tls` from them once it has an Env).
  bool use_tls = false;
  net::TlsConfig tls_config;
  std::shared_ptr<net::TlsContext> tls;
};

// Registers the global flags on `flags`, bound to `globals`.
void DefineGlobalFlags(FlagSet& flags, GlobalFlags* globals);

// The ETCDCTL_ name of a global flag ("dial-timeout" -> ETCDCTL_DIAL_TIMEOUT).
inline constexpr std::string_view kEnvPrefix = "ETCDCTL_";

// Checks and resolves the parsed flags. InvalidArgument with etcdctl's
// message for a bad value ("unsupported output format"), Unimplemented for
// what keel does not do yet (TLS, discovery).
absl::StatusOr<GlobalConfig> ResolveGlobals(const GlobalFlags& globals);

// The client options for `endpoints` under `config` (timeouts, keepalive,
// user and password).
client::ClientOptions ClientOptionsFor(const GlobalConfig& config,
                                       std::vector<std::string> endpoints);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_CTL_GLOBALS_H_
