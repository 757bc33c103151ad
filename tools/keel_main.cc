// keel: the server. etcd's flags and defaults (ETCD_* environment variables
// too); runs one member until SIGINT or SIGTERM, then stops gracefully.
#include <string>
#include <vector>

#include "node/node.h"
#include "node/version.h"
#include "runtime/console.h"
#include "runtime/failpoints.h"
#include "runtime/log_outputs.h"
#include "runtime/posix_env.h"
#include "runtime/process_metrics.h"
#include "runtime/strings.h"
#include "runtime/systemd_notify.h"
#include "tools/server_flags.h"

// keel is a release program: it links no failpoint twin
// (keel_release_only in tools/CMakeLists.txt), so the simulator's deliberate
// defects do not exist in it at all (runtime/failpoints.h).
#if KEEL_FAILPOINTS
#error "tools/keel is never compiled with KEEL_FAILPOINTS"
#endif

namespace keel {
namespace {

constexpr std::string_view kKeelVersion = "0.1.0";

Task<int> Serve(PosixEnv& env, node::ServerConfig config) {
  node::NodeOptions options;
  options.process_metrics = [](metrics::TextWriter& out) { metrics::WriteProcessMetrics(out); };
  options.storage.leveldb_background = store::LevelDbBackground::kThread;
  auto member = co_await node::Node::Start(env, std::move(config), options);
  if (!member.ok()) {
    env.log().Error("failed to start the member", {{"error", member.status().ToString()}});
    co_return 1;
  }
  node::Server& server = (*member)->server();
  env.log().Info("ready to serve client requests",
                 {{"local-member-id", node::FormatId(server.id())}});
  // Clients are served once the member published itself (Node serves its
  // listeners then): that is when a Type=notify unit counts as started.
  {
    std::vector<Task<void>> first;
    first.push_back(server.ready().Wait());
    first.push_back(env.loop().shutdown_requested().Wait());
    first.push_back(server.stopped().Wait());
    co_await WhenAny(std::move(first));
  }
  if (server.ready().is_set()) {
    if (absl::Status told = NotifySystemdReady(); !told.ok()) {
      env.log().Warn("failed to notify systemd of readiness", {{"error", told.ToString()}});
    }
  }
  std::vector<Task<void>> ends;
  ends.push_back(env.loop().shutdown_requested().Wait());
  ends.push_back(server.stopped().Wait());
  co_await WhenAny(std::move(ends));
  const bool fatal = !server.fatal_error().ok();
  if (!fatal) {
    env.log().Info("received signal; shutting down",
                   {{"signal", static_cast<int64_t>(env.loop().shutdown_signal())}});
  }
  (void)NotifySystemdStopping();
  co_await (*member)->Stop(Seconds(1));
  co_return fatal ? 1 : 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto command_line = tools::ParseServerCommandLine(
      args, [](const std::string& name) { return GetEnvVar(name); }, ReadFileBeforeEnv);
  if (!command_line.ok()) {
    (void)WriteStderr(StrCat("keel: ", command_line.status().message(), "\n"));
    return 2;
  }
  if (command_line->show_help) {
    (void)WriteStdout(command_line->usage);
    return 0;
  }
  if (command_line->show_version) {
    (void)WriteStdout(StrCat("keel Version: ", kKeelVersion, "\netcd API Version: ",
                             node::kEtcdServerVersion, "\n"));
    return 0;
  }
  node::ServerConfig& config = command_line->config;
  absl::Status valid = config.Validate();
  if (!valid.ok()) {
    (void)WriteStderr(StrCat("keel: ", valid.message(), "\n"));
    return 1;
  }
  PosixEnvOptions env_options;
  if (!ParseLogLevel(config.log_level, &env_options.log_level)) {
    (void)WriteStderr(StrCat("keel: unknown --log-level \"", config.log_level,
                             "\" (want debug, info, warn or error)\n"));
    return 1;
  }
  if (!ParseLogFormat(config.log_format, &env_options.log_format)) {
    (void)WriteStderr(StrCat("keel: unknown --log-format \"", config.log_format,
                             "\" (want json or console)\n"));
    return 1;
  }
  auto log_fds = OpenLogOutputs(config.log_outputs);
  if (!log_fds.ok()) {
    (void)WriteStderr(StrCat("keel: ", log_fds.status().message(), "\n"));
    return 1;
  }
  env_options.log_fds = *std::move(log_fds);
  PosixEnv env(env_options);
  if (!config.config_file.empty()) {
    env.log().Info("loaded server configuration", {{"path", config.config_file}});
  }
  return env.RunMain(Serve(env, std::move(config)));
}

}  // namespace
}  // namespace keel

int main(int argc, char** argv) { return keel::Main(argc, argv); }
