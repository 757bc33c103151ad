// keelctl watch: etcdctl's watch, plain (`watch [--prefix] key
// [range_end]`), exec mode (`watch key -- cmd args`: cmd runs once per
// event, with ETCD_WATCH_* in its environment) and interactive (-i: lines
// `watch key ...` and `progress` on stdin). ETCDCTL_WATCH_KEY and
// ETCDCTL_WATCH_RANGE_END stand for the key arguments.
//
// As clientv3's watcher does, a stream that breaks (a member lost, "no
// leader") is opened again and every watch resumes after the last
// revision it delivered, so no event is lost or repeated. A watch the
// server cancels (compaction, ...) ends the command with exit 5, "watch
// is canceled by the server".
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/streams.h"
#include "runtime/console.h"
#include "runtime/strings.h"
#include "runtime/subprocess.h"
#include "runtime/when.h"
#include "absl/strings/str_split.h"
#include "tools/ctl_command.h"
#include "tools/ctl_format.h"
#include "tools/ctl_kv.h"

namespace keel::tools {
namespace {

struct WatchFlags {
  bool prefix = false;
  int64_t rev = 0;
  bool prev_kv = false;
  void Define(FlagSet& flags) {
    flags.Bool("prefix", &prefix, "Watch on a prefix if prefix is set");
    flags.Int("rev", &rev, "Revision to start watching");
    flags.Bool("prev-kv", &prev_kv, "get the previous key-value pair before the event happens");
  }
};

class Watcher {
 public:
  Watcher() {}
  etcdserverpb::WatchCreateRequest request;
  std::vector<std::string> exec;
  int64_t id = -1;      // the server's watch id, once created
  int64_t next_rev = 0;  // where to resume
  bool done = false;
};

absl::StatusOr<etcdserverpb::WatchCreateRequest> BuildWatch(const WatchFlags& f,
                                                            const std::vector<std::string>& args) {
  if (args.empty()) return ExitError(kExitBadArgs, "bad number of arguments");
  etcdserverpb::WatchCreateRequest request;
  request.set_key(args[0]);
  request.set_start_revision(f.rev);
  if (args.size() == 2) {
    if (f.prefix) return ExitError(kExitBadArgs, "`range_end` and `--prefix` are mutually exclusive");
    request.set_range_end(args[1]);
  }
  if (f.prefix) {
    if (args[0].empty()) {
      request.set_key(std::string(1, '\0'));
      request.set_range_end(std::string(1, '\0'));
    } else {
      request.set_range_end(PrefixRangeEnd(args[0]));
    }
  }
  request.set_prev_kv(f.prev_kv);
  return request;
}

class WatchCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("interactive", &interactive_, "Interactive mode", "i");
    flags_.Define(flags);
  }

  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    env_key_ = GetEnvVar("ETCDCTL_WATCH_KEY").value_or("");
    env_range_ = GetEnvVar("ETCDCTL_WATCH_RANGE_END").value_or("");
    if (env_key_.empty() && !env_range_.empty()) {
      co_return BadArgs(ctl, StrCat("ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=",
                                    GoQuote(env_range_)));
    }
    if (!interactive_) {
      absl::StatusOr<std::unique_ptr<Watcher>> watcher = Parse(flags_, invocation);
      if (!watcher.ok()) co_return FailWith(ctl, watcher.status());
      watchers_.push_back(std::move(*watcher));
    }
    absl::Status opened = co_await Open(ctl);
    if (!opened.ok()) co_return ctl.FailCall(opened);
    int exit = kExitSuccess;
    std::vector<Task<void>> race;
    race.push_back(Receive(ctl, &exit));
    if (interactive_) race.push_back(ReadCommands(ctl, &exit));
    co_await WhenAny(std::move(race));
    co_return exit;
  }

 private:
  // The watch and exec arguments of one watch (the command line's, or an
  // interactive line's).
  absl::StatusOr<std::unique_ptr<Watcher>> Parse(const WatchFlags& flags,
                                                 const Invocation& invocation) {
    std::vector<std::string> keys = invocation.args;
    std::vector<std::string> exec;
    if (invocation.args_before_dash.has_value()) {
      keys.assign(invocation.args.begin(), invocation.args.begin() + *invocation.args_before_dash);
      exec.assign(invocation.args.begin() + *invocation.args_before_dash, invocation.args.end());
      if (exec.empty()) {
        return ExitError(kExitBadArgs, "bad number of arguments (found separator --, but no commands)");
      }
    }
    if (!env_key_.empty()) {
      if (!keys.empty()) {
        return ExitError(kExitBadArgs, "bad number of arguments (found conflicting environment key)");
      }
      keys.push_back(env_key_);
      if (!env_range_.empty()) keys.push_back(env_range_);
    }
    if (keys.empty() || keys.size() > 2) return ExitError(kExitBadArgs, "bad number of arguments");
    absl::StatusOr<etcdserverpb::WatchCreateRequest> request = BuildWatch(flags, keys);
    if (!request.ok()) return request.status();
    auto watcher = std::make_unique<Watcher>();
    watcher->request = std::move(*request);
    watcher->next_rev = flags.rev;
    watcher->exec = std::move(exec);
    return watcher;
  }

  // Opens a stream and (re)creates every live watch on it, each from the
  // revision after the last one it delivered.
  Task<absl::Status> Open(Ctl& ctl) {
    client::RequestOptions options = ctl.Timeout();
    options.require_leader = true;
    absl::StatusOr<std::unique_ptr<client::WatchStream>> stream =
        co_await ctl.client().Watch(std::move(options));
    if (!stream.ok()) co_return stream.status();
    stream_ = std::move(*stream);
    pending_.clear();
    for (auto& watcher : watchers_) {
      if (watcher->done) continue;
      co_await CreateOn(*watcher);
    }
    co_return absl::OkStatus();
  }

  Task<void> CreateOn(Watcher& watcher) {
    etcdserverpb::WatchCreateRequest request = watcher.request;
    request.set_start_revision(watcher.next_rev);
    watcher.id = -1;
    pending_.push_back(&watcher);
    (void)co_await stream_->Create(std::move(request));
  }

  // Prints responses until one ends the command (sets *exit).
  Task<void> Receive(Ctl& ctl, int* exit) {
    while (true) {
      std::optional<etcdserverpb::WatchResponse> response = co_await stream_->Receive();
      if (!response.has_value()) {
        // The stream broke: resume on a new one, as clientv3 does.
        co_await ctl.env().clock().Sleep(Milliseconds(500));
        absl::Status opened = co_await Open(ctl);
        (void)opened;
        continue;
      }
      const int code = co_await Handle(ctl, *response);
      if (code >= 0) {
        *exit = code;
        co_return;
      }
    }
  }

  Watcher* Find(int64_t id) {
    for (auto& watcher : watchers_) {
      if (!watcher->done && watcher->id == id) return watcher.get();
    }
    return nullptr;
  }

  // One response; returns an exit code to end the command, or -1.
  Task<int> Handle(Ctl& ctl, const etcdserverpb::WatchResponse& response) {
    if (response.created()) {
      if (pending_.empty()) co_return -1;
      Watcher* watcher = pending_.front();
      pending_.erase(pending_.begin());
      watcher->id = response.watch_id();
      if (watcher->next_rev == 0) watcher->next_rev = response.header().revision() + 1;
      if (!response.canceled()) co_return -1;
    }
    const bool progress = response.events_size() == 0 && !response.canceled() &&
                          !response.created() && response.compact_revision() == 0 &&
                          response.header().revision() != 0;
    if (progress) {
      // A progress notification goes to every watch of the stream.
      for (auto& watcher : watchers_) {
        if (watcher->done || watcher->id < 0) continue;
        ctl.Out(StrCat("progress notify: ", response.header().revision(), "\n"));
        (void)ctl.printer().Watch(response);
      }
      co_return -1;
    }
    Watcher* watcher = Find(response.watch_id());
    if (watcher == nullptr) co_return -1;
    if (response.canceled()) {
      std::string reason = response.cancel_reason();
      if (response.compact_revision() != 0) {
        reason = "etcdserver: mvcc: required revision has been compacted";
      } else if (reason.empty()) {
        reason = "etcdserver: mvcc: required revision is a future revision";
      }
      ctl.Err(StrCat("watch was canceled (", reason, ")\n"));
    }
    (void)ctl.printer().Watch(response);
    for (const auto& event : response.events()) {
      watcher->next_rev = event.kv().mod_revision() + 1;
      if (watcher->exec.empty()) continue;
      const int exit = co_await Exec(ctl, *watcher, response, event);
      if (exit >= 0) co_return exit;
    }
    if (response.canceled()) {
      watcher->done = true;
      if (!interactive_) {
        co_return ctl.Fail(kExitInterrupted, "watch is canceled by the server");
      }
    }
    co_return -1;
  }

  Task<int> Exec(Ctl& ctl, const Watcher& watcher, const etcdserverpb::WatchResponse& response,
                 const mvccpb::Event& event) {
    SubprocessOptions options;
    options.argv = watcher.exec;
    options.environment = {
        {"ETCD_WATCH_REVISION", StrCat(response.header().revision())},
        {"ETCD_WATCH_EVENT_TYPE", GoQuote(mvccpb::Event::EventType_Name(event.type()))},
        {"ETCD_WATCH_KEY", GoQuote(event.kv().key())},
        {"ETCD_WATCH_VALUE", GoQuote(event.kv().value())}};
    absl::StatusOr<int> exit;
    co_await ctl.env().RunBlocking([&exit, &options] { exit = RunSubprocess(options); });
    if (exit.ok() && *exit == 0) co_return -1;
    std::vector<std::string> quoted;
    for (const auto& arg : watcher.exec) quoted.push_back(GoQuote(arg));
    const std::string why = exit.ok() ? StrCat("exit status ", *exit) : std::string(exit.status().message());
    ctl.Err(StrCat("command [", absl::StrJoin(quoted, " "), "] error (", why, ")\n"));
    co_return kExitError;
  }

  // watch -i: reads `watch ...` and `progress` lines until standard input
  // ends, which ends the command.
  Task<void> ReadCommands(Ctl& ctl, int* exit) {
    while (true) {
      absl::StatusOr<std::optional<std::string>> line;
      co_await ctl.env().RunBlocking([&line] { line = ReadStdinLine(); });
      if (!line.ok() || !line->has_value()) {
        const std::string why = line.ok() ? "EOF" : std::string(line.status().message());
        *exit = ctl.Fail(kExitInvalidInput, StrCat("Error reading watch request line: ", why));
        co_return;
      }
      co_await HandleLine(ctl, **line);
    }
  }

  Task<void> HandleLine(Ctl& ctl, const std::string& line) {
    std::vector<std::string> words;
    for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) words.emplace_back(word);
    if (words.empty()) {
      ctl.Err(StrCat("Invalid command: ", line, " (watch and progress supported)\n"));
      co_return;
    }
    if (words[0] == "progress") {
      (void)co_await stream_->RequestProgress();
      co_return;
    }
    if (words[0] != "watch") {
      ctl.Err(StrCat("Invalid command ", line, " (only support watch)\n"));
      co_return;
    }
    if (words.size() < 2 && env_key_.empty()) {
      ctl.Err(StrCat("Invalid command ", line, " (command type or key is not provided)\n"));
      co_return;
    }
    WatchFlags flags;
    FlagSet set("watch");
    flags.Define(set);
    std::vector<std::string> rest(words.begin() + 1, words.end());
    Invocation invocation;
    if (auto dash = std::find(rest.begin(), rest.end(), "--"); dash != rest.end()) {
      std::vector<std::string> exec(dash + 1, rest.end());
      rest.erase(dash, rest.end());
      if (!set.Parse(rest).ok()) {
        ctl.Err(StrCat("Invalid command ", line, " (bad flags)\n"));
        co_return;
      }
      invocation.args = set.args();
      invocation.args_before_dash = invocation.args.size();
      invocation.args.insert(invocation.args.end(), exec.begin(), exec.end());
    } else {
      if (!set.Parse(rest).ok()) {
        ctl.Err(StrCat("Invalid command ", line, " (bad flags)\n"));
        co_return;
      }
      invocation.args = set.args();
    }
    absl::StatusOr<std::unique_ptr<Watcher>> watcher = Parse(flags, invocation);
    if (!watcher.ok()) {
      ctl.Err(StrCat("Invalid command ", line, " (", watcher.status().message(), ")\n"));
      co_return;
    }
    watchers_.push_back(std::move(*watcher));
    co_await CreateOn(*watchers_.back());
  }

  bool interactive_ = false;
  WatchFlags flags_;
  std::string env_key_;
  std::string env_range_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
  std::vector<Watcher*> pending_;
  std::unique_ptr<client::WatchStream> stream_;
};

}  // namespace

void RegisterWatchCommand(CommandTable& table) {
  table.Add<WatchCommand>(
      "watch", "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
      "Watches events stream on keys or prefixes");
}

}  // namespace keel::tools
