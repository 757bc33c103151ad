// keel-bench's flags, per command, with etcd's benchmark tool's defaults.
#include "tools/bench_config.h"

#include <cctype>
#include <cstdlib>
#include <map>

#include "runtime/assert.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "tools/flags.h"

namespace keel::tools {
namespace {

struct CommandInfo {
  BenchCommand command;
  std::string_view summary;
};

const std::map<std::string_view, CommandInfo>& Commands() {
  static const auto* commands = new std::map<std::string_view, CommandInfo>{
      {"put", {BenchCommand::kPut, "Benchmark put"}},
      {"range", {BenchCommand::kRange, "Benchmark range (range KEY [END])"}},
      {"txn-put", {BenchCommand::kTxnPut, "Benchmark txn-put"}},
      {"watch", {BenchCommand::kWatch, "Benchmark watch (watchers x events fan-out)"}},
      {"watch-latency", {BenchCommand::kWatchLatency, "Benchmark watch latency"}},
      {"lease-keepalive", {BenchCommand::kLeaseKeepAlive, "Benchmark lease keepalive"}},
  };
  return *commands;
}

// Flags every command accepts (cobra's persistent flags).
struct GlobalFlags {
  std::string dial_timeout = "2s";
  std::string output;
  bool help = false;
};

void AddGlobalFlags(FlagSet& flags, BenchConfig& config, GlobalFlags& global) {
  flags.List("endpoints", &config.endpoints, "gRPC endpoints");
  flags.Int("conns", &config.conns, "Total number of gRPC connections");
  flags.Int("clients", &config.clients, "Total number of gRPC clients");
  flags.Bool("precise", &config.precise, "use full floating point precision");
  flags.Bool("target-leader", &config.target_leader, "connect only to the leader node");
  flags.String("cacert", &config.cacert,
               "verify certificates of TLS-enabled secure servers using this CA bundle");
  flags.String("cert", &config.cert, "identify secure client using this TLS certificate file");
  flags.String("key", &config.key, "identify secure client using this TLS key file");
  flags.Bool("insecure-skip-tls-verify", &config.insecure_skip_tls_verify,
             "skip server certificate verification");
  flags.String("dial-timeout", &global.dial_timeout, "dial timeout for client connections");
  flags.String("output", &global.output,
               "Output format for benchmark results (only json is currently supported)",
               "o");
  flags.String("samples", &config.samples_path,
               "keel: write each request's start (unix us), latency (us) and outcome to FILE");
  flags.Bool("help", &global.help, "help for keel-bench", "h");
}

void AddCommandFlags(FlagSet& flags, BenchConfig& config, std::string* consistency) {
  switch (config.command) {
    case BenchCommand::kPut:
    case BenchCommand::kTxnPut:
      flags.Int("key-size", &config.key_size, "Key size of put request");
      flags.Int("val-size", &config.val_size, "Value size of put request");
      flags.Int("total", &config.total, "Total number of put requests");
      flags.Int("rate", &config.rate, "Maximum puts per second (0 is no limit)");
      flags.Int("key-space-size", &config.key_space_size, "Maximum possible keys");
      if (config.command == BenchCommand::kPut) {
        flags.Bool("sequential-keys", &config.sequential_keys,
                   "Use sequential keys from 0 to key-space-size-1");
      } else {
        flags.Int("txn-ops", &config.txn_ops, "Number of puts per txn");
      }
      return;
    case BenchCommand::kRange:
      flags.Int("total", &config.total, "Total number of range requests");
      flags.Int("rate", &config.rate, "Maximum range requests per second (0 is no limit)");
      flags.String("consistency", consistency, "Linearizable(l) or Serializable(s)");
      flags.Int("limit", &config.limit, "Maximum number of results to return from range request");
      flags.Bool("count-only", &config.count_only, "Only returns the count of keys");
      return;
    case BenchCommand::kWatch:
      flags.Int("streams", &config.streams, "Total watch streams");
      flags.Int("watch-per-stream", &config.watch_per_stream, "Total watchers per stream");
      flags.Bool("prevkv", &config.prev_kv, "PrevKV enabled on watch requests");
      flags.Int("put-total", &config.put_total, "Number of put requests");
      flags.Int("put-rate", &config.put_rate, "Number of keys to put per second (0 is no limit)");
      flags.Int("key-size", &config.key_size, "Key size of watch request");
      flags.Int("val-size", &config.val_size, "Value size of put request (at least 8)");
      flags.Int("key-space-size", &config.key_space_size, "Maximum possible keys");
      flags.Bool("sequential-keys", &config.sequential_keys, "Use sequential keys");
      return;
    case BenchCommand::kWatchLatency:
      flags.Int("total", &config.put_total, "Total number of put requests");
      flags.Int("put-rate", &config.put_rate, "Number of keys to put per second");
      flags.Int("key-size", &config.key_size, "Key size of watch response");
      flags.Int("val-size", &config.val_size, "Value size of watch response (at least 8)");
      return;
    case BenchCommand::kLeaseKeepAlive:
      flags.Int("total", &config.total, "Total number of lease keepalive requests");
      return;
  }
}

// Per-command defaults that differ from BenchConfig's.
void ApplyCommandDefaults(BenchConfig& config) {
  switch (config.command) {
    case BenchCommand::kWatch:
      config.key_size = 32;
      config.val_size = 32;
      break;
    case BenchCommand::kWatchLatency:
      config.key_size = 32;
      config.val_size = 32;
      config.put_total = 10000;
      config.put_rate = 100;
      break;
    default:
      break;
  }
}

absl::Status Invalid(std::string_view message) {
  return absl::InvalidArgumentError(AsAbsl(message));
}

absl::Status CheckPositive(std::string_view name, int64_t value) {
  if (value >= 1) return absl::OkStatus();
  return Invalid(StrCat("--", name, " must be at least 1 (got ", value, ")"));
}

absl::Status Validate(const BenchConfig& c) {
  if (c.endpoints.empty()) return Invalid("--endpoints must name at least one endpoint");
  KEEL_RETURN_IF_ERROR(CheckPositive("conns", c.conns));
  KEEL_RETURN_IF_ERROR(CheckPositive("clients", c.clients));
  KEEL_RETURN_IF_ERROR(CheckPositive("total", c.total));
  if (c.rate < 0 || c.put_rate < 0) return Invalid("rates must not be negative");
  switch (c.command) {
    case BenchCommand::kPut:
    case BenchCommand::kTxnPut:
    case BenchCommand::kWatch:
    case BenchCommand::kWatchLatency:
      KEEL_RETURN_IF_ERROR(CheckPositive("key-size", c.key_size));
      KEEL_RETURN_IF_ERROR(CheckPositive("key-space-size", c.key_space_size));
      KEEL_RETURN_IF_ERROR(CheckPositive("txn-ops", c.txn_ops));
      KEEL_RETURN_IF_ERROR(CheckPositive("put-total", c.put_total));
      if (VarintLength(c.key_space_size - 1) > c.key_size) {
        return Invalid(StrCat("--key-size ", c.key_size, " is too small for --key-space-size ",
                              c.key_space_size));
      }
      if (c.val_size < 0) return Invalid("--val-size must not be negative");
      break;
    case BenchCommand::kRange:
      if (c.limit < 0) return Invalid("--limit must not be negative");
      break;
    case BenchCommand::kLeaseKeepAlive:
      break;
  }
  const bool watching =
      c.command == BenchCommand::kWatch || c.command == BenchCommand::kWatchLatency;
  if (watching && c.val_size < 8) {
    return Invalid("--val-size must be at least 8 (values carry the put's sequence number)");
  }
  if (c.command == BenchCommand::kWatch) {
    KEEL_RETURN_IF_ERROR(CheckPositive("streams", c.streams));
    KEEL_RETURN_IF_ERROR(CheckPositive("watch-per-stream", c.watch_per_stream));
  }
  return absl::OkStatus();
}

std::string RootUsage(const FlagSet& global) {
  std::string out =
      "keel-bench: a load generator for etcd's v3 gRPC API (keel or etcd).\n\n"
      "Usage:\n  keel-bench [global flags] COMMAND [flags]\n\nCommands:\n";
  for (const auto& [name, info] : Commands()) {
    StrAppend(&out, "  ", name, std::string(18 - name.size(), ' '), info.summary, "\n");
  }
  StrAppend(&out, "\n", global.Usage());
  return out;
}

}  // namespace

std::string_view BenchCommandName(BenchCommand command) {
  for (const auto& [name, info] : Commands()) {
    if (info.command == command) return name;
  }
  KEEL_ASSERT_MSG(false, "unknown command");
  return "";
}

int VarintLength(int64_t index) {
  uint64_t zigzag = (static_cast<uint64_t>(index) << 1) ^ static_cast<uint64_t>(index >> 63);
  int length = 1;
  while (zigzag >= 0x80) {
    zigzag >>= 7;
    length++;
  }
  return length;
}

std::string BenchKey(int64_t index, int64_t key_size) {
  KEEL_ASSERT(VarintLength(index) <= key_size);
  std::string key(static_cast<size_t>(key_size), '\0');
  uint64_t zigzag = (static_cast<uint64_t>(index) << 1) ^ static_cast<uint64_t>(index >> 63);
  size_t i = 0;
  while (zigzag >= 0x80) {
    key[i++] = static_cast<char>(zigzag | 0x80);
    zigzag >>= 7;
  }
  key[i] = static_cast<char>(zigzag);
  return key;
}

absl::StatusOr<Duration> ParseGoDuration(std::string_view text) {
  const std::string original(text);
  if (text == "0") return Duration::zero();
  if (text.empty()) return Invalid("time: invalid duration \"\"");
  Duration total{0};
  while (!text.empty()) {
    size_t digits = 0;
    while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) ||
                                    text[digits] == '.')) {
      digits++;
    }
    size_t unit_end = digits;
    while (unit_end < text.size() && !std::isdigit(static_cast<unsigned char>(text[unit_end]))) {
      unit_end++;
    }
    const std::string number(text.substr(0, digits));
    const std::string_view unit = text.substr(digits, unit_end - digits);
    static const std::map<std::string_view, double> kUnits = {
        {"ns", 1},       {"us", 1e3},        {"\xc2\xb5s", 1e3}, {"ms", 1e6},
        {"s", 1e9},      {"m", 60e9},        {"h", 3600e9}};
    const auto it = kUnits.find(unit);
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (number.empty() || it == kUnits.end() || end != number.c_str() + number.size()) {
      return Invalid(StrCat("time: invalid duration \"", original, "\""));
    }
    total += Duration(static_cast<int64_t>(value * it->second));
    text.remove_prefix(unit_end);
  }
  return total;
}

absl::StatusOr<BenchCommandLine> ParseBenchCommandLine(const std::vector<std::string>& args) {
  BenchCommandLine line;
  BenchConfig& config = line.config;
  GlobalFlags global;
  FlagSet root("keel-bench");
  AddGlobalFlags(root, config, global);
  KEEL_RETURN_IF_ERROR(root.Parse(args, /*allow_interspersed=*/false));
  if (root.args().empty()) {
    if (global.help) {
      line.show_help = true;
      line.usage = RootUsage(root);
      return line;
    }
    return Invalid(StrCat("missing command\n\n", RootUsage(root)));
  }
  const std::string name = root.args().front();
  const auto command = Commands().find(name);
  if (command == Commands().end()) {
    return Invalid(StrCat("unknown command \"", name, "\" for \"keel-bench\""));
  }
  config.command = command->second.command;
  ApplyCommandDefaults(config);
  std::string consistency = "l";
  FlagSet flags(StrCat("keel-bench ", name));
  AddGlobalFlags(flags, config, global);
  AddCommandFlags(flags, config, &consistency);
  const std::vector<std::string> rest(root.args().begin() + 1, root.args().end());
  KEEL_RETURN_IF_ERROR(flags.Parse(rest, /*allow_interspersed=*/true));
  if (global.help) {
    line.show_help = true;
    line.usage = StrCat(command->second.summary, "\n\n", flags.Usage());
    return line;
  }
  const std::vector<std::string>& positional = flags.args();
  if (config.command == BenchCommand::kRange) {
    if (positional.empty() || positional.size() > 2) {
      return Invalid("range: expected KEY [END]");
    }
    config.range_key = positional[0];
    if (positional.size() == 2) config.range_end = positional[1];
    if (consistency == "s") {
      config.serializable = true;
    } else if (consistency != "l") {
      return Invalid(StrCat("unknown consistency flag \"", consistency, "\""));
    }
  } else if (!positional.empty()) {
    return Invalid(StrCat(name, ": unexpected argument \"", positional[0], "\""));
  }
  if (global.output == "json") {
    config.json = true;
  } else if (!global.output.empty()) {
    return Invalid(StrCat("unknown --output \"", global.output, "\" (only json is supported)"));
  }
  KEEL_ASSIGN_OR_RETURN(config.dial_timeout, ParseGoDuration(global.dial_timeout));
  if (config.dial_timeout <= Duration::zero()) config.dial_timeout = Seconds(2);
  KEEL_RETURN_IF_ERROR(Validate(config));
  return line;
}

}  // namespace keel::tools
