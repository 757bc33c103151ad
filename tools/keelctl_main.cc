// keelctl: etcdctl 3.5's command line over keel's client (client/). Scripts
// written for etcdctl run unchanged: the same commands, flags, ETCDCTL_*
// variables, output formats, error lines and exit codes. The commands live
// in tools/ctl_*.cc; this file finds the command on the command line,
// parses the global and the command's flags as cobra/pflag would, and runs
// the command on a PosixEnv.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/console.h"
#include "runtime/posix_env.h"
#include "runtime/strings.h"
#include "tools/ctl_command.h"
#include "tools/ctl_globals.h"
#include "tools/flags.h"

namespace keel::tools {
namespace {

constexpr std::string_view kApiVersion = "3.5";
// The etcdctl whose behaviour keelctl follows, and keelctl's own version.
constexpr std::string_view kEtcdctlVersion = "3.5.0";
constexpr std::string_view kKeelctlVersion = "0.1.0";

std::string StripUsageTitle(std::string usage) {
  const size_t newline = usage.find('\n');
  return newline == std::string::npos ? usage : usage.substr(newline + 1);
}

std::string RootUsage(const CommandTable& table, const FlagSet& globals) {
  std::string out = StrCat(
      "NAME:\n\tkeelctl - A simple command line client for etcd3 (keel's etcdctl).\n\n"
      "USAGE:\n\tkeelctl [flags]\n\nAPI VERSION:\n\t",
      kApiVersion, "\n\n\nCOMMANDS:\n");
  for (const auto& [path, spec] : table.specs()) StrAppend(&out, "\t", path, "\t\t", spec.summary, "\n");
  StrAppend(&out, "\nOPTIONS:\n", StripUsageTitle(globals.Usage()));
  return out;
}

std::string GroupUsage(const CommandTable& table, const std::string& group) {
  std::string out = StrCat("NAME:\n\t", group, " - ", group, " related commands\n\nUSAGE:\n\tkeelctl ",
                           group, " <subcommand> [flags]\n\nCOMMANDS:\n");
  for (const auto& [path, spec] : table.specs()) {
    if (path.starts_with(group + " ")) {
      StrAppend(&out, "\t", path.substr(group.size() + 1), "\t\t", spec.summary, "\n");
    }
  }
  return out;
}

std::string CommandUsage(const CommandSpec& spec, const FlagSet& command_flags,
                         const FlagSet& globals) {
  return StrCat("NAME:\n\t", spec.path, " - ", spec.summary, "\n\nUSAGE:\n\tkeelctl ", spec.usage,
                " [flags]\n\nOPTIONS:\n", StripUsageTitle(command_flags.Usage()),
                "\nGLOBAL OPTIONS:\n", StripUsageTitle(globals.Usage()));
}

// pflag's wording for the errors FlagSet reports in Go flag's.
std::string PflagError(std::string_view message, const FlagSet& flags) {
  constexpr std::string_view kInvalid = "invalid value \"";
  if (message.starts_with(kInvalid)) {
    // invalid value "abc" for flag --rev
    const size_t close = message.find("\" for flag ");
    if (close != std::string_view::npos) {
      const std::string_view value = message.substr(kInvalid.size(), close - kInvalid.size());
      std::string_view spelled = message.substr(close + 11);
      while (spelled.starts_with("-")) spelled.remove_prefix(1);
      const char* type = flags.TypeOf(spelled, spelled.size() == 1);
      const std::string_view kind = type == nullptr ? "" : type;
      const std::string parser = kind == "int"      ? "strconv.ParseInt"
                                 : kind == "uint"   ? "strconv.ParseUint"
                                 : kind == "bool"   ? "strconv.ParseBool"
                                 : kind == "float64" ? "strconv.ParseFloat"
                                                     : "";
      std::string text = StrCat("invalid argument \"", value, "\" for \"--", spelled, "\" flag");
      if (!parser.empty()) StrAppend(&text, ": ", parser, ": parsing \"", value, "\": invalid syntax");
      return text;
    }
  }
  constexpr std::string_view kUndefined = "flag provided but not defined: -";
  constexpr std::string_view kNeedsArgument = "flag needs an argument: -";
  if (message.starts_with(kUndefined)) {
    const std::string_view name = message.substr(kUndefined.size());
    if (name.size() == 1) return StrCat("unknown shorthand flag: '", name, "' in -", name);
    return StrCat("unknown flag: --", name);
  }
  if (message.starts_with(kNeedsArgument)) {
    const std::string_view name = message.substr(kNeedsArgument.size());
    return StrCat("flag needs an argument: ", name.size() == 1 ? "'" : "--", name,
                  name.size() == 1 ? "' in -" : "", name.size() == 1 ? name : "");
  }
  return std::string(message);
}

// cobra's prefix matching (etcdctl enables it): `compact` and `mem list`
// name compaction and member list. A word that is a whole name, or the
// prefix of exactly one, resolves; anything else stays as typed.
std::string ResolveWord(const CommandTable& table, const std::string& parent,
                        const std::string& word) {
  std::vector<std::string> names;
  for (const auto& [path, spec] : table.specs()) {
    std::string_view rest = path;
    if (!parent.empty()) {
      if (!path.starts_with(parent + " ")) continue;
      rest.remove_prefix(parent.size() + 1);
    }
    const std::string name(rest.substr(0, rest.find(' ')));
    if (name == word) return word;
    if (name.starts_with(word) && std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  return names.size() == 1 ? names[0] : word;
}

struct CommandWord {
  size_t index;      // in the arguments
  std::string name;  // resolved
};

// Where the command's words are on the command line: the first one or two
// arguments that are neither flags nor the values of global flags.
std::vector<CommandWord> CommandWords(const std::vector<std::string>& args, const FlagSet& globals,
                                      const CommandTable& table) {
  std::vector<CommandWord> words;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      if (arg.find('=') != std::string::npos) continue;
      const bool long_form = arg.starts_with("--");
      const char* type = globals.TypeOf(arg.substr(long_form ? 2 : 1), !long_form);
      if (type != nullptr && std::string_view(type) != "bool") i++;
      continue;
    }
    const std::string parent = words.empty() ? "" : words[0].name;
    words.push_back(CommandWord{i, ResolveWord(table, parent, arg)});
    if (words.size() == 1 && !table.IsGroup(words[0].name)) break;
    if (words.size() == 2) break;
  }
  return words;
}

class VersionCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    // Scripts read the third word of the first line as etcdctl's version.
    ctl.Out(StrCat("etcdctl version: ", kEtcdctlVersion, " (keelctl ", kKeelctlVersion,
                   ")\nAPI version: ", kApiVersion, "\n"));
    co_return kExitSuccess;
  }
};

int Run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  CommandTable table;
  RegisterKvCommands(table);
  RegisterTxnCommand(table);
  RegisterWatchCommand(table);
  RegisterLeaseCommands(table);
  RegisterClusterCommands(table);
  RegisterMaintenanceCommands(table);
  RegisterAuthCommands(table);
  RegisterConcurrencyCommands(table);
  RegisterMirrorCommand(table);
  RegisterCheckCommands(table);
  table.Add<VersionCommand>("version", "version", "Prints the version of etcdctl");

  GlobalFlags globals;
  FlagSet global_flags("keelctl");
  DefineGlobalFlags(global_flags, &globals);
  // ETCDCTL_* first: the command line parsed next wins over it.
  absl::Status from_env = global_flags.ApplyEnvironment(
      kEnvPrefix, [](const std::string& name) { return GetEnvVar(name); });
  if (!from_env.ok()) {
    (void)WriteStderr(StrCat("Error: ", from_env.message(), "\n"));
    return kExitBadArgs;
  }

  const std::vector<CommandWord> words = CommandWords(args, global_flags, table);
  std::string path;
  for (const CommandWord& w : words) path += (path.empty() ? "" : " ") + w.name;
  const CommandSpec* spec = table.Find(path);
  if (spec == nullptr) {
    if (words.empty() || table.IsGroup(words[0].name)) {
      // `keelctl`, `keelctl --help`, `keelctl lease`: help, as cobra.
      (void)WriteStdout(words.empty() ? RootUsage(table, global_flags)
                                      : GroupUsage(table, words[0].name));
      return kExitSuccess;
    }
    const std::string parent = words.size() == 2 ? StrCat("keelctl ", words[0].name) : "keelctl";
    (void)WriteStderr(StrCat("Error: unknown command \"", args[words.back().index], "\" for \"", parent,
                             "\"\nRun '", parent, " --help' for usage.\n"));
    return kExitError;
  }

  std::unique_ptr<Command> command = spec->make();
  FlagSet command_flags(spec->path);
  command->DefineFlags(command_flags);
  FlagSet all("keelctl");
  DefineGlobalFlags(all, &globals);
  command->DefineFlags(all);

  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); i++) {
    const bool word = std::any_of(words.begin(), words.end(),
                                  [i](const CommandWord& w) { return w.index == i; });
    if (!word) rest.push_back(args[i]);
  }
  std::vector<std::string> after_dash;
  bool dashed = false;
  if (auto dash = std::find(rest.begin(), rest.end(), "--"); dash != rest.end()) {
    after_dash.assign(dash + 1, rest.end());
    rest.erase(dash, rest.end());
    dashed = true;
  }
  absl::Status parsed = all.Parse(rest);
  if (!parsed.ok()) {
    const std::string message = PflagError(AsStd(parsed.message()), all);
    (void)WriteStderr(StrCat("Error: ", message, "\n"));
    (void)WriteStdout(CommandUsage(*spec, command_flags, global_flags));
    return kExitError;
  }
  if (globals.help) {
    (void)WriteStdout(CommandUsage(*spec, command_flags, global_flags));
    return kExitSuccess;
  }
  absl::StatusOr<GlobalConfig> config = ResolveGlobals(globals);
  if (!config.ok()) {
    (void)WriteStderr(StrCat("Error: ", config.status().message(), "\n"));
    return absl::IsInvalidArgument(config.status()) &&
                   config.status().message() != "unsupported output format"
               ? kExitBadArgs
               : kExitBadFeature;
  }
  if (config->password_needed) {
    absl::StatusOr<std::string> password = ReadPassword("Password: ");
    if (!password.ok()) {
      (void)WriteStderr(StrCat("Error: ", password.status().message(), "\n"));
      return kExitError;
    }
    config->password = *password;
  }

  Invocation invocation;
  invocation.args = all.args();
  if (dashed) {
    invocation.args_before_dash = invocation.args.size();
    invocation.args.insert(invocation.args.end(), after_dash.begin(), after_dash.end());
  }
  invocation.flags = &all;

  PosixEnvOptions env_options;
  env_options.process_name = "keelctl";
  env_options.log_level = globals.debug ? LogLevel::kDebug : LogLevel::kError;
  env_options.handle_signals = command->HandlesSignals();
  PosixEnv env(env_options);
  if (config->use_tls) {
    auto tls = net::TlsContext::Create(env.fs(), net::TlsRole::kClient, config->tls_config);
    if (!tls.ok()) {
      (void)WriteStderr(StrCat("Error: ", tls.status().message(), "\n"));
      return kExitBadArgs;
    }
    config->tls = std::move(*tls);
  }
  Ctl ctl(env, std::move(*config));
  return env.RunMain(command->Run(ctl, std::move(invocation)));
}

}  // namespace
}  // namespace keel::tools

int main(int argc, char** argv) { return keel::tools::Run(argc, argv); }
