// etcd's server flags, bound to ServerConfig. Which flags act and which are
// refused is tools/server_flag_table.cc's business; this file binds the
// implemented ones (and a few refused ones whose config field waits for the
// feature) and turns every other row into a flag that accepts only etcd's
// default.
#include "tools/server_flags.h"

#include <deque>

#include "runtime/assert.h"
#include "runtime/strings.h"
#include "tools/flags.h"
#include "tools/server_config_file.h"
#include "tools/server_flag_table.h"

namespace keel::tools {
namespace {

const ServerFlag& Row(std::string_view name) {
  const ServerFlag* row = FindServerFlag(name);
  KEEL_ASSERT(row != nullptr);  // Every flag keel registers has a row.
  return *row;
}

std::string WithoutFinalPeriod(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  return std::string(text);
}

// "'false'" or "'default' or 'stderr'".
std::string AcceptedValues(const ServerFlag& row) {
  std::string out = StrCat("'", row.etcd_default, "'");
  if (!row.also_accepted.empty()) StrAppend(&out, " or '", row.also_accepted, "'");
  return out;
}

// What --help prints for a flag: its note, and for a refused flag that only
// etcd's default is accepted.
std::string HelpFor(std::string_view name) {
  const ServerFlag& row = Row(name);
  if (row.status == FlagStatus::kImplemented) return std::string(row.note);
  return StrCat("Not supported", row.status == FlagStatus::kNotYet ? " yet" : "",
                "; only ", AcceptedValues(row), " is accepted. ", row.note);
}

void BindTlsSide(FlagSet& flags, std::string_view prefix, node::MemberTlsFlags& t) {
  auto name = [&](std::string_view flag) { return StrCat(prefix, flag); };
  flags.String(name("cert-file"), &t.cert_file, HelpFor(name("cert-file")));
  flags.String(name("key-file"), &t.key_file, HelpFor(name("key-file")));
  flags.String(name("trusted-ca-file"), &t.trusted_ca_file, HelpFor(name("trusted-ca-file")));
  flags.Bool(name("client-cert-auth"), &t.client_cert_auth, HelpFor(name("client-cert-auth")));
  flags.Bool(name("auto-tls"), &t.auto_tls, HelpFor(name("auto-tls")));
}

// The Security rows: TLS for clients and peers.
void BindSecurity(FlagSet& flags, node::ServerConfig& c) {
  BindTlsSide(flags, "", c.client_tls);
  BindTlsSide(flags, "peer-", c.peer_tls);
  flags.String("client-crl-file", &c.client_tls.crl_file, HelpFor("client-crl-file"));
  flags.String("client-cert-allowed-hostname", &c.client_tls.allowed_hostname,
               HelpFor("client-cert-allowed-hostname"));
  flags.String("peer-crl-file", &c.peer_tls.crl_file, HelpFor("peer-crl-file"));
  flags.String("peer-cert-allowed-cn", &c.peer_tls.allowed_cn, HelpFor("peer-cert-allowed-cn"));
  flags.String("peer-cert-allowed-hostname", &c.peer_tls.allowed_hostname,
               HelpFor("peer-cert-allowed-hostname"));
  flags.Int("self-signed-cert-validity", &c.self_signed_cert_validity,
            HelpFor("self-signed-cert-validity"));
  flags.List("cipher-suites", &c.cipher_suites, HelpFor("cipher-suites"));
  flags.String("tls-min-version", &c.tls_min_version, HelpFor("tls-min-version"));
  flags.String("tls-max-version", &c.tls_max_version, HelpFor("tls-max-version"));
}

// Binds the flags keel parses into the config. A refused flag bound here
// (its config field exists, its feature does not) is still refused by
// RefuseUnsupported: flipping its row is all that implementing it changes
// here.
void BindConfig(FlagSet& flags, node::ServerConfig& c) {
  flags.String("name", &c.name, HelpFor("name"));
  flags.String("data-dir", &c.data_dir, HelpFor("data-dir"));
  flags.String("wal-dir", &c.wal_dir, HelpFor("wal-dir"));
  flags.Uint("snapshot-count", &c.snapshot_count, HelpFor("snapshot-count"));
  flags.Uint("experimental-snapshot-catchup-entries", &c.snapshot_catchup_entries,
             HelpFor("experimental-snapshot-catchup-entries"));
  flags.Int("heartbeat-interval", &c.heartbeat_interval_ms, HelpFor("heartbeat-interval"));
  flags.Int("election-timeout", &c.election_timeout_ms, HelpFor("election-timeout"));
  flags.Bool("initial-election-tick-advance", &c.initial_election_tick_advance,
             HelpFor("initial-election-tick-advance"));
  flags.List("listen-peer-urls", &c.listen_peer_urls, HelpFor("listen-peer-urls"));
  flags.List("listen-client-urls", &c.listen_client_urls, HelpFor("listen-client-urls"));
  flags.List("initial-advertise-peer-urls", &c.initial_advertise_peer_urls,
             HelpFor("initial-advertise-peer-urls"));
  flags.List("advertise-client-urls", &c.advertise_client_urls,
             HelpFor("advertise-client-urls"));
  flags.String("initial-cluster", &c.initial_cluster, HelpFor("initial-cluster"));
  flags.String("initial-cluster-state", &c.initial_cluster_state,
               HelpFor("initial-cluster-state"));
  flags.String("initial-cluster-token", &c.initial_cluster_token,
               HelpFor("initial-cluster-token"));
  flags.Bool("strict-reconfig-check", &c.strict_reconfig_check,
             HelpFor("strict-reconfig-check"));
  flags.Bool("pre-vote", &c.pre_vote, HelpFor("pre-vote"));
  flags.Int("max-txn-ops", &c.max_txn_ops, HelpFor("max-txn-ops"));
  flags.Int("max-request-bytes", &c.max_request_bytes, HelpFor("max-request-bytes"));
  flags.Bool("enable-grpc-gateway", &c.enable_grpc_gateway, HelpFor("enable-grpc-gateway"));
  flags.List("cors", &c.cors, HelpFor("cors"));
  flags.Int("quota-backend-bytes", &c.quota_backend_bytes, HelpFor("quota-backend-bytes"));
  flags.Int("auth-token-ttl", &c.auth_token_ttl_seconds, HelpFor("auth-token-ttl"));
  flags.Int("bcrypt-cost", &c.bcrypt_cost, HelpFor("bcrypt-cost"));
  flags.Uint("max-snapshots", &c.max_snapshots, HelpFor("max-snapshots"));
  flags.Uint("max-wals", &c.max_wals, HelpFor("max-wals"));
  flags.String("auto-compaction-retention", &c.auto_compaction_retention,
               HelpFor("auto-compaction-retention"));
  flags.String("auto-compaction-mode", &c.auto_compaction_mode,
               HelpFor("auto-compaction-mode"));
  flags.Bool("experimental-initial-corrupt-check", &c.initial_corrupt_check,
             HelpFor("experimental-initial-corrupt-check"));
  flags.String("experimental-corrupt-check-time", &c.corrupt_check_time,
               HelpFor("experimental-corrupt-check-time"));
  flags.Bool("experimental-enable-lease-checkpoint", &c.enable_lease_checkpoint,
             HelpFor("experimental-enable-lease-checkpoint"));
  flags.Int("experimental-compaction-batch-limit", &c.compaction_batch_limit,
            HelpFor("experimental-compaction-batch-limit"));
  flags.Bool("unsafe-no-fsync", &c.unsafe_no_fsync, HelpFor("unsafe-no-fsync"));
  flags.Bool("force-new-cluster", &c.force_new_cluster, HelpFor("force-new-cluster"));
  flags.String("log-level", &c.log_level, HelpFor("log-level"));
  flags.String("metrics", &c.metrics, HelpFor("metrics"));
  flags.List("listen-metrics-urls", &c.listen_metrics_urls, HelpFor("listen-metrics-urls"));
  flags.String("experimental-warning-apply-duration", &c.warning_apply_duration,
               HelpFor("experimental-warning-apply-duration"));
  flags.List("log-outputs", &c.log_outputs, HelpFor("log-outputs"));
  flags.String("log-format", &c.log_format, HelpFor("log-format"));
  flags.String("config-file", &c.config_file, HelpFor("config-file"));
  BindSecurity(flags, c);
}

// Values of the rows nothing binds. A deque: FlagSet keeps pointers.
struct Unbound {
  std::deque<bool> bools;
  std::deque<std::string> strings;
};

// Registers every row BindConfig did not, holding etcd's default: a bool
// where etcd's flag is one (so a bare --auto-tls parses as etcd's does),
// text otherwise.
void RegisterUnbound(FlagSet& flags, Unbound& unbound) {
  for (const ServerFlag& row : ServerFlagTable()) {
    if (flags.Has(row.name)) continue;
    KEEL_ASSERT(row.status != FlagStatus::kImplemented);  // Implemented means bound.
    if (row.etcd_default == "true" || row.etcd_default == "false") {
      flags.Bool(row.name, &unbound.bools.emplace_back(row.etcd_default == "true"),
                 HelpFor(row.name));
    } else {
      flags.String(row.name, &unbound.strings.emplace_back(row.etcd_default),
                   HelpFor(row.name));
    }
  }
}

// etcd refuses a flag given both ways rather than pick one.
absl::Status RefuseShadowedEnvironment(
    const FlagSet& flags,
    const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  for (const ServerFlag& row : ServerFlagTable()) {
    if (!flags.Changed(row.name)) continue;
    const std::string variable = EnvironmentVariableFor(row.name);
    if (!getenv(variable).has_value()) continue;
    return absl::InvalidArgumentError(
        StrCat("conflicting environment variable \"", variable,
               "\" is shadowed by corresponding command-line flag (either unset "
               "environment variable or disable flag)"));
  }
  return absl::OkStatus();
}

// A flag keel does not act on may only hold etcd's default (or the one
// other value that means what keel does anyway).
absl::Status RefuseUnsupported(const FlagSet& flags, std::string_view config_file) {
  for (const ServerFlag& row : ServerFlagTable()) {
    if (row.status == FlagStatus::kImplemented || !flags.Changed(row.name)) continue;
    const std::string value = flags.Value(row.name);
    if (value == row.etcd_default) continue;
    if (!row.also_accepted.empty() && value == row.also_accepted) continue;
    std::string message = StrCat("--", row.name);
    if (!config_file.empty()) {
      StrAppend(&message, " (set by ", row.name, " in ", config_file, ")");
    } else if (flags.FromEnvironment(row.name)) {
      StrAppend(&message, " (set by ", EnvironmentVariableFor(row.name), ")");
    }
    if (row.status == FlagStatus::kNotYet) {
      StrAppend(&message, " is not supported yet");
    } else {
      StrAppend(&message, " is not supported: ", WithoutFinalPeriod(row.note));
    }
    StrAppend(&message, " (keel accepts only ", AcceptedValues(row),
              "; see doc/flags.md)");
    return absl::InvalidArgumentError(message);
  }
  return absl::OkStatus();
}

// With a config file, the file is the whole configuration: a flag or an
// ETCD_* variable beside it would be ignored by etcd, so keel refuses it.
absl::Status RefuseBesideConfigFile(
    const FlagSet& flags, const std::string& path,
    const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  for (const ServerFlag& row : ServerFlagTable()) {
    if (row.name == "config-file") continue;
    if (flags.Changed(row.name)) {
      return absl::InvalidArgumentError(
          StrCat("--", row.name, " may not be given with --config-file ", path,
                 " (etcd ignores flags beside a config file; set ", row.name,
                 " in the file instead)"));
    }
    const std::string variable = EnvironmentVariableFor(row.name);
    if (getenv(variable).has_value()) {
      return absl::InvalidArgumentError(
          StrCat(variable, " may not be set with --config-file ", path,
                 " (etcd ignores environment variables beside a config file; set ", row.name,
                 " in the file instead)"));
    }
  }
  return absl::OkStatus();
}

// Reads `path` and sets each of its keys as its flag.
absl::Status ApplyConfigFile(FlagSet& flags, const std::string& path,
                             const ReadFileFunction& read_file) {
  if (read_file == nullptr) {
    return absl::FailedPreconditionError("--config-file cannot be read here");
  }
  auto text = read_file(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        StrCat("cannot read --config-file ", path, ": ", text.status().message()));
  }
  auto values = ParseServerConfigFile(*text);
  if (!values.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", values.status().message()));
  for (const ConfigFileValue& value : *values) {
    absl::Status set = flags.Parse({StrCat("--", value.flag, "=", value.value)},
                                   /*allow_interspersed=*/false);
    if (!set.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", set.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerCommandLine> ParseServerCommandLine(
    const std::vector<std::string>& args,
    const std::function<std::optional<std::string>(const std::string&)>& getenv,
    const ReadFileFunction& read_file) {
  ServerCommandLine out;
  FlagSet flags("keel");
  BindConfig(flags, out.config);
  flags.Bool("help", &out.show_help, HelpFor("help"), "h");
  flags.Bool("version", &out.show_version, HelpFor("version"));
  Unbound unbound;
  RegisterUnbound(flags, unbound);

  absl::Status parsed = flags.Parse(args, /*allow_interspersed=*/false);
  out.usage = flags.Usage();
  if (!parsed.ok()) return parsed;
  if (!flags.args().empty()) {
    return absl::InvalidArgumentError(
        "'" + flags.args().front() + "' is not a valid flag");
  }
  // etcd answers --help and --version before it reads the environment.
  if (out.show_help || out.show_version) return out;
  absl::Status shadowed = RefuseShadowedEnvironment(flags, getenv);
  if (!shadowed.ok()) return shadowed;
  std::string config_file = out.config.config_file;
  if (config_file.empty()) config_file = getenv(EnvironmentVariableFor("config-file")).value_or("");
  if (!config_file.empty()) {
    absl::Status alone = RefuseBesideConfigFile(flags, config_file, getenv);
    if (!alone.ok()) return alone;
    out.config.config_file = config_file;
    absl::Status applied = ApplyConfigFile(flags, config_file, read_file);
    if (!applied.ok()) return applied;
  } else {
    absl::Status from_env = flags.ApplyEnvironment("ETCD_", getenv);
    if (!from_env.ok()) return from_env;
  }
  // ETCD_HELP and ETCD_VERSION do nothing in etcd (it has answered those
  // flags already); a malformed one is still an error, as in etcd.
  out.show_help = false;
  out.show_version = false;
  absl::Status supported = RefuseUnsupported(flags, config_file);
  if (!supported.ok()) return supported;
  return out;
}

}  // namespace keel::tools
