// keelctl lock and elect: clientv3's concurrency recipes (client/
// concurrency.h) over a session lease, held until Ctrl-C (SIGINT or
// SIGTERM), or for the run of a command (`lock NAME CMD ARGS...`).
#include "absl/strings/str_join.h"
#include "client/concurrency.h"
#include "runtime/strings.h"
#include "runtime/subprocess.h"
#include "runtime/when.h"
#include "tools/ctl_command.h"
#include "tools/ctl_format.h"

namespace keel::tools {
namespace {

Task<absl::StatusOr<int64_t>> GrantSession(Ctl& ctl, int64_t ttl) {
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(ttl);
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> lease =
      co_await ctl.client().LeaseGrant(std::move(grant), ctl.Timeout());
  if (!lease.ok()) co_return lease.status();
  co_return lease->id();
}

// Runs `work` while the session lease is kept alive; *status is set by
// whichever ends first (the keepalive only ever ends with an error).
Task<void> KeepAliveInto(Ctl& ctl, int64_t lease, int64_t ttl, absl::Status* status) {
  *status = co_await client::KeepSessionAlive(ctl.client(), ctl.env().clock(), lease, ttl);
}

Task<void> WaitInterrupted(Ctl& ctl) { co_await ctl.interrupted().Wait(); }

// Prints the held key as `get` would (etcdctl's display.Get).
Task<int> PrintHeld(Ctl& ctl, const std::string& key) {
  etcdserverpb::RangeRequest get;
  get.set_key(key);
  absl::StatusOr<etcdserverpb::RangeResponse> held =
      co_await ctl.client().Range(std::move(get), ctl.Timeout());
  if (!held.ok()) co_return ctl.FailCall(held.status());
  if (held->kvs_size() == 0) co_return ctl.Fail(kExitError, "lock lost on init");
  co_return ctl.Print(ctl.printer().Get(*held));
}

class LockCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override { flags.Int("ttl", &ttl_, "timeout for session"); }
  bool HandlesSignals() const override { return true; }

  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.empty()) {
      co_return BadArgs(ctl, "lock takes a lock name argument and an optional command to execute");
    }
    absl::StatusOr<int64_t> lease = co_await GrantSession(ctl, ttl_);
    if (!lease.ok()) co_return ctl.FailCall(lease.status());
    absl::Status session;
    int exit = kExitSuccess;
    std::vector<Task<void>> race;
    race.push_back(KeepAliveInto(ctl, *lease, ttl_, &session));
    race.push_back(Hold(ctl, invocation.args, *lease, &exit));
    const size_t winner = co_await WhenAny(std::move(race));
    if (winner == 0) co_return ctl.Fail(kExitError, session.message());
    co_return exit;
  }

 private:
  Task<void> Hold(Ctl& ctl, std::vector<std::string> args, int64_t lease, int* exit) {
    absl::StatusOr<client::Held> held;
    std::vector<Task<void>> race;
    race.push_back(Acquire(ctl, args[0], lease, &held));
    race.push_back(WaitInterrupted(ctl));
    const size_t first = co_await WhenAny(std::move(race));
    if (first == 1) {
      // Interrupted while waiting: withdraw, as a cancelled Mutex.Lock does.
      (void)co_await client::Release(ctl.client(), client::ContenderKey(args[0] + "/", lease),
                                     ctl.Timeout());
      *exit = ctl.Fail(kExitError, "context canceled");
      co_return;
    }
    if (!held.ok()) {
      *exit = ctl.FailCall(held.status());
      co_return;
    }
    if (args.size() > 1) {
      *exit = co_await RunHolding(ctl, std::vector<std::string>(args.begin() + 1, args.end()), *held);
      co_return;
    }
    *exit = co_await PrintHeld(ctl, held->key);
    if (*exit != kExitSuccess) co_return;
    co_await ctl.interrupted().Wait();
    absl::Status released = co_await client::Release(ctl.client(), held->key, ctl.Timeout());
    if (!released.ok()) *exit = ctl.FailCall(released);
  }

  static Task<void> Acquire(Ctl& ctl, std::string name, int64_t lease,
                            absl::StatusOr<client::Held>* held) {
    *held = co_await client::Lock(ctl.client(), name, lease, ctl.Timeout());
  }

  // `lock NAME CMD...`: the command runs while the lock is held, with
  // ETCD_LOCK_KEY and ETCD_LOCK_REV set; the lock is released after it.
  static Task<int> RunHolding(Ctl& ctl, std::vector<std::string> command, const client::Held& held) {
    SubprocessOptions options;
    options.argv = std::move(command);
    options.environment = {{"ETCD_LOCK_KEY", held.key},
                           {"ETCD_LOCK_REV", StrCat(held.revision)}};
    absl::StatusOr<int> exit;
    co_await ctl.env().RunBlocking([&exit, &options] { exit = RunSubprocess(options); });
    absl::Status released = co_await client::Release(ctl.client(), held.key, ctl.Timeout());
    if (!exit.ok()) co_return ctl.Fail(kExitError, exit.status().message());
    if (*exit != 0) co_return ctl.Fail(kExitError, StrCat("exit status ", *exit));
    if (!released.ok()) co_return ctl.FailCall(released);
    co_return kExitSuccess;
  }

  int64_t ttl_ = 10;
};

class ElectCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("listen", &listen_, "observation mode", "l");
  }
  bool HandlesSignals() const override { return true; }

  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    const auto& args = invocation.args;
    if (args.size() != 1 && args.size() != 2) {
      co_return BadArgs(ctl, "elect takes one election name argument and an optional proposal argument");
    }
    if (listen_) co_return co_await Listen(ctl, args[0]);
    if (args.size() != 2) co_return BadArgs(ctl, "no proposal argument but -l not set");
    absl::StatusOr<int64_t> lease = co_await GrantSession(ctl, kSessionTtl);
    if (!lease.ok()) co_return ctl.FailCall(lease.status());
    absl::Status session;
    int exit = kExitSuccess;
    std::vector<Task<void>> race;
    race.push_back(KeepAliveInto(ctl, *lease, kSessionTtl, &session));
    race.push_back(Lead(ctl, args[0], args[1], *lease, &exit));
    const size_t first = co_await WhenAny(std::move(race));
    if (first == 0) co_return ctl.Fail(kExitError, "elect: session expired");
    co_return exit;
  }

 private:
  // clientv3's default session TTL.
  static constexpr int64_t kSessionTtl = 60;

  Task<void> Lead(Ctl& ctl, std::string election, std::string proposal, int64_t lease, int* exit) {
    absl::StatusOr<client::Held> held;
    std::vector<Task<void>> race;
    race.push_back(Win(ctl, election, proposal, lease, &held));
    race.push_back(WaitInterrupted(ctl));
    const size_t first = co_await WhenAny(std::move(race));
    if (first == 1) {
      (void)co_await client::Release(ctl.client(), client::ContenderKey(election + "/", lease),
                                     ctl.Timeout());
      *exit = ctl.Fail(kExitError, "context canceled");
      co_return;
    }
    if (!held.ok()) {
      *exit = ctl.FailCall(held.status());
      co_return;
    }
    *exit = co_await PrintHeld(ctl, held->key);
    if (*exit != kExitSuccess) co_return;
    co_await ctl.interrupted().Wait();
    absl::Status resigned = co_await client::Release(ctl.client(), held->key, ctl.Timeout());
    if (!resigned.ok()) *exit = ctl.FailCall(resigned);
  }

  static Task<void> Win(Ctl& ctl, std::string election, std::string proposal, int64_t lease,
                        absl::StatusOr<client::Held>* held) {
    *held = co_await client::Campaign(ctl.client(), election, lease, proposal, ctl.Timeout());
  }

  Task<int> Listen(Ctl& ctl, std::string election) {
    absl::Status observed;
    std::vector<Task<void>> race;
    race.push_back(ObserveInto(ctl, election, &observed));
    race.push_back(WaitInterrupted(ctl));
    const size_t first = co_await WhenAny(std::move(race));
    if (first == 1) co_return kExitSuccess;
    ctl.NoteUnreachable(observed);
    co_return ctl.Fail(kExitError, "elect: observer lost");
  }

  static Task<void> ObserveInto(Ctl& ctl, std::string election, absl::Status* status) {
    *status = co_await client::Observe(
        ctl.client(), election,
        [&ctl](const etcdserverpb::RangeResponse& leader) { (void)ctl.printer().Get(leader); },
        ctl.Timeout());
  }

  bool listen_ = false;
};

}  // namespace

void RegisterConcurrencyCommands(CommandTable& table) {
  table.Add<LockCommand>("lock", "lock <lockname> [exec-command arg1 arg2 ...]",
                         "Acquires a named lock");
  table.Add<ElectCommand>("elect", "elect <election-name> [proposal]",
                          "Observes and participates in leader election");
}

}  // namespace keel::tools
