// keelctl lease grant | revoke | timetolive | list | keep-alive.
#include "absl/strings/str_format.h"
#include "client/streams.h"
#include "runtime/strings.h"
#include "runtime/when.h"
#include "tools/ctl_command.h"
#include "tools/ctl_format.h"

namespace keel::tools {
namespace {

// A lease ID argument, in hex as etcdctl prints them.
absl::StatusOr<int64_t> LeaseArg(const std::string& arg) {
  int64_t id = 0;
  if (!ParseHexInt64(arg, &id)) {
    return ExitError(kExitBadArgs, StrCat("bad lease ID arg (strconv.ParseInt: parsing ",
                                          GoQuote(arg), ": invalid syntax), expecting ID in Hex"));
  }
  return id;
}

class GrantCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) co_return BadArgs(ctl, "lease grant command needs TTL argument");
    int64_t ttl = 0;
    if (!ParseInt(invocation.args[0], &ttl)) {
      co_return BadArgs(ctl, StrCat("bad TTL (strconv.ParseInt: parsing ",
                                    GoQuote(invocation.args[0]), ": invalid syntax)"));
    }
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    absl::StatusOr<etcdserverpb::LeaseGrantResponse> response =
        co_await ctl.client().LeaseGrant(std::move(request), ctl.Timeout());
    if (!response.ok()) {
      ctl.NoteUnreachable(response.status());
      co_return ctl.Fail(kExitError,
                         StrCat("failed to grant lease (", Ctl::ErrorText(response.status()), ")"));
    }
    co_return ctl.Print(ctl.printer().Grant(*response));
  }
};

class RevokeCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) co_return BadArgs(ctl, "lease revoke command needs 1 argument");
    absl::StatusOr<int64_t> id = LeaseArg(invocation.args[0]);
    if (!id.ok()) co_return FailWith(ctl, id.status());
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(*id);
    absl::StatusOr<etcdserverpb::LeaseRevokeResponse> response =
        co_await ctl.client().LeaseRevoke(std::move(request), ctl.Timeout());
    if (!response.ok()) {
      ctl.NoteUnreachable(response.status());
      co_return ctl.Fail(kExitError,
                         StrCat("failed to revoke lease (", Ctl::ErrorText(response.status()), ")"));
    }
    co_return ctl.Print(ctl.printer().Revoke(*id, *response));
  }
};

class TimeToLiveCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("keys", &keys_, "Get keys attached to this lease");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "lease timetolive command needs lease ID as argument");
    }
    absl::StatusOr<int64_t> id = LeaseArg(invocation.args[0]);
    if (!id.ok()) co_return FailWith(ctl, id.status());
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(*id);
    request.set_keys(keys_);
    absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> response =
        co_await ctl.client().LeaseTimeToLive(std::move(request), ctl.Timeout());
    if (!response.ok()) {
      (void)ctl.FailCall(response.status());
      co_return kExitBadConnection;
    }
    co_return ctl.Print(ctl.printer().TimeToLive(*response, keys_));
  }

 private:
  bool keys_ = false;
};

class ListCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    absl::StatusOr<etcdserverpb::LeaseLeasesResponse> response =
        co_await ctl.client().LeaseLeases(etcdserverpb::LeaseLeasesRequest(), ctl.Timeout());
    if (!response.ok()) {
      (void)ctl.FailCall(response.status());
      co_return kExitBadConnection;
    }
    co_return ctl.Print(ctl.printer().Leases(*response));
  }
};

// clientv3's lessor: a keepalive now, then every TTL/3 after each answer,
// until the lease is gone (an answer with TTL 0) or, while no answer
// comes, its last known TTL runs out. A lost stream is opened again.
class KeepAliveCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("once", &once_,
               "Resets the keep-alive time to its original value and exits immediately");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "lease keep-alive command needs lease ID as argument");
    }
    absl::StatusOr<int64_t> id = LeaseArg(invocation.args[0]);
    if (!id.ok()) co_return FailWith(ctl, id.status());
    if (once_) co_return co_await Once(ctl, *id);
    co_await KeepAlive(ctl, *id);
    if (ctl.config().format == OutputFormat::kSimple) {
      ctl.Out(absl::StrFormat("lease %016x expired or revoked.\n", *id));
    }
    co_return kExitSuccess;
  }

 private:
  Task<int> Once(Ctl& ctl, int64_t id) {
    absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> response =
        co_await ctl.client().LeaseKeepAliveOnce(id, ctl.Timeout());
    if (!response.ok()) {
      (void)ctl.FailCall(response.status());
      co_return kExitBadConnection;
    }
    if (response->ttl() <= 0) {
      co_return ctl.Fail(kExitBadConnection, "etcdserver: requested lease not found");
    }
    co_return ctl.Print(ctl.printer().KeepAlive(*response));
  }

  Task<void> KeepAlive(Ctl& ctl, int64_t id) {
    Clock& clock = ctl.env().clock();
    // Until the first answer, the lease is assumed to live a command
    // timeout: long enough to reach a member.
    TimePoint expires = clock.Now() + ctl.config().command_timeout;
    while (clock.Now() < expires) {
      absl::StatusOr<std::unique_ptr<client::LeaseKeepAliveStream>> stream =
          co_await ctl.client().LeaseKeepAlive(
              client::RequestOptions::WithTimeout(expires - clock.Now()));
      if (!stream.ok()) break;
      while (true) {
        absl::Status sent = co_await (*stream)->Send(id);
        if (!sent.ok()) break;
        std::optional<std::optional<etcdserverpb::LeaseKeepAliveResponse>> answer =
            co_await clock.WithTimeout(expires - clock.Now(), (*stream)->Receive());
        if (!answer.has_value()) co_return;  // the lease ran out unanswered
        if (!answer->has_value()) break;     // the stream ended: open another
        const etcdserverpb::LeaseKeepAliveResponse& response = **answer;
        if (response.ttl() <= 0) co_return;
        (void)ctl.printer().KeepAlive(response);
        expires = clock.Now() + Seconds(response.ttl());
        co_await clock.Sleep(Seconds(std::max<int64_t>(response.ttl() / 3, 1)));
      }
      co_await clock.Sleep(Milliseconds(500));
    }
  }

  bool once_ = false;
};

}  // namespace

void RegisterLeaseCommands(CommandTable& table) {
  table.Add<GrantCommand>("lease grant", "lease grant <ttl>", "Creates leases");
  table.Add<RevokeCommand>("lease revoke", "lease revoke <leaseID>", "Revokes leases");
  table.Add<TimeToLiveCommand>("lease timetolive", "lease timetolive <leaseID> [options]",
                               "Get lease information");
  table.Add<ListCommand>("lease list", "lease list", "List all active leases");
  table.Add<KeepAliveCommand>("lease keep-alive", "lease keep-alive [options] <leaseID>",
                              "Keeps leases alive (renew)");
}

}  // namespace keel::tools
