// keelctl member add | remove | update | list | promote, endpoint health |
// status | hashkv, and move-leader.
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "runtime/strings.h"
#include "tools/ctl_command.h"
#include "tools/ctl_endpoints.h"
#include "tools/ctl_format.h"

namespace keel::tools {
namespace {

absl::StatusOr<uint64_t> MemberIdArg(const std::vector<std::string>& args) {
  if (args.size() != 1) return ExitError(kExitBadArgs, "member ID is not provided");
  uint64_t id = 0;
  if (!ParseHexUint64(args[0], &id)) {
    return ExitError(kExitBadArgs, StrCat("bad member ID arg (strconv.ParseUint: parsing ",
                                          GoQuote(args[0]), ": invalid syntax), expecting ID in Hex"));
  }
  return id;
}

std::vector<std::string> SplitUrls(const std::string& urls) {
  return absl::StrSplit(urls, ',');
}

class MemberAddCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.String("peer-urls", &peer_urls_, "comma separated peer URLs for the new member.");
    flags.Bool("learner", &learner_, "indicates if the new member is raft learner");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    const auto& args = invocation.args;
    if (args.empty()) co_return BadArgs(ctl, "member name not provided");
    if (args.size() > 1) {
      std::string message = "too many arguments";
      for (const auto& arg : args) {
        if (absl::AsciiStrToLower(arg).starts_with("http")) {
          message += StrCat(", did you mean --peer-urls=", arg);
        }
      }
      co_return BadArgs(ctl, message);
    }
    if (peer_urls_.empty()) co_return BadArgs(ctl, "member peer urls not provided");
    const std::string name = args[0];
    const std::vector<std::string> urls = SplitUrls(peer_urls_);
    etcdserverpb::MemberAddRequest request;
    for (const auto& url : urls) request.add_peerurls(url);
    request.set_islearner(learner_);
    absl::StatusOr<etcdserverpb::MemberAddResponse> added =
        co_await ctl.client().MemberAdd(std::move(request), ctl.Timeout());
    if (!added.ok()) co_return ctl.FailCall(added.status());
    const int printed = ctl.Print(ctl.printer().MemberAdd(*added));
    if (printed != kExitSuccess || ctl.config().format != OutputFormat::kSimple) co_return printed;
    // The environment the new member starts with, from a member list of
    // the member that added it (which knows the new member already).
    absl::StatusOr<etcdserverpb::MemberListResponse> list =
        co_await ctl.client().MemberList(ctl.Timeout());
    for (int attempt = 0; list.ok() && list->header().member_id() != added->header().member_id() &&
                          attempt < 10;
         attempt++) {
      etcdserverpb::RangeRequest sync;
      sync.set_key("_");
      absl::StatusOr<etcdserverpb::RangeResponse> got =
          co_await ctl.client().Range(std::move(sync), ctl.Timeout());
      if (!got.ok()) co_return ctl.FailCall(got.status());
      added->mutable_header()->set_member_id(got->header().member_id());
      list = co_await ctl.client().MemberList(ctl.Timeout());
    }
    if (!list.ok()) co_return ctl.FailCall(list.status());
    std::vector<std::string> conf;
    for (const auto& member : list->members()) {
      for (const auto& url : member.peerurls()) {
        conf.push_back(StrCat(member.id() == added->member().id() ? name : member.name(), "=", url));
      }
    }
    ctl.Out(StrCat("\nETCD_NAME=", GoQuote(name), "\nETCD_INITIAL_CLUSTER=",
                   GoQuote(absl::StrJoin(conf, ",")), "\nETCD_INITIAL_ADVERTISE_PEER_URLS=",
                   GoQuote(absl::StrJoin(urls, ",")), "\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n"));
    co_return kExitSuccess;
  }

 private:
  std::string peer_urls_;
  bool learner_ = false;
};

class MemberRemoveCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    absl::StatusOr<uint64_t> id = MemberIdArg(invocation.args);
    if (!id.ok()) co_return FailWith(ctl, id.status());
    absl::StatusOr<etcdserverpb::MemberRemoveResponse> response =
        co_await ctl.client().MemberRemove(*id, ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().MemberRemove(*id, *response));
  }
};

class MemberUpdateCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.String("peer-urls", &peer_urls_, "comma separated peer URLs for the updated member.");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    absl::StatusOr<uint64_t> id = MemberIdArg(invocation.args);
    if (!id.ok()) co_return FailWith(ctl, id.status());
    if (peer_urls_.empty()) co_return BadArgs(ctl, "member peer urls not provided");
    etcdserverpb::MemberUpdateRequest request;
    request.set_id(*id);
    for (const auto& url : SplitUrls(peer_urls_)) request.add_peerurls(url);
    absl::StatusOr<etcdserverpb::MemberUpdateResponse> response =
        co_await ctl.client().MemberUpdate(std::move(request), ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().MemberUpdate(*id, *response));
  }

 private:
  std::string peer_urls_;
};

class MemberListCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    absl::StatusOr<etcdserverpb::MemberListResponse> response =
        co_await ctl.client().MemberList(ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().MemberList(*response));
  }
};

class MemberPromoteCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    absl::StatusOr<uint64_t> id = MemberIdArg(invocation.args);
    if (!id.ok()) co_return FailWith(ctl, id.status());
    absl::StatusOr<etcdserverpb::MemberPromoteResponse> response =
        co_await ctl.client().MemberPromote(*id, ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().MemberPromote(*id, *response));
  }
};

// The endpoint commands share --cluster.
class EndpointCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("cluster", &cluster_, "use all endpoints from the cluster member list");
  }

 protected:
  bool cluster_ = false;
};

class EndpointHealthCommand : public EndpointCommand {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    absl::StatusOr<EndpointSet> set = co_await ResolveEndpoints(ctl, cluster_);
    if (!set.ok()) co_return FailWith(ctl, set.status());
    std::vector<EndpointHealthResult> results;
    bool failed = false;
    for (const auto& target : set->targets) {
      EndpointHealthResult result = co_await Check(ctl, *set->client, target);
      failed = failed || !result.error.empty();
      results.push_back(std::move(result));
    }
    const int printed = ctl.Print(ctl.printer().EndpointHealth(results));
    if (printed != kExitSuccess) co_return printed;
    if (failed) co_return ctl.Fail(kExitError, "unhealthy cluster");
    co_return kExitSuccess;
  }

 private:
  // etcdctl's check: a linearizable get of "health" (permission denied
  // counts as healthy: it went through consensus), then no active alarm.
  static Task<EndpointHealthResult> Check(Ctl& ctl, client::EtcdClient& c,
                                          const EndpointTarget& target) {
    EndpointHealthResult result;
    result.endpoint = target.shown;
    Clock& clock = ctl.env().clock();
    const TimePoint start = clock.Now();
    etcdserverpb::RangeRequest get;
    get.set_key("health");
    absl::StatusOr<etcdserverpb::RangeResponse> response =
        co_await c.UnaryAt<etcdserverpb::RangeResponse>(target.dialed, client::kRangePath, get,
                                                        ctl.Timeout());
    result.took = GoDuration(clock.Now() - start);
    if (response.ok() || response.status().message() == "etcdserver: permission denied") {
      result.health = true;
    } else {
      result.error = Ctl::ErrorText(response.status());
      co_return result;
    }
    etcdserverpb::AlarmRequest list;
    list.set_action(etcdserverpb::AlarmRequest::GET);
    absl::StatusOr<etcdserverpb::AlarmResponse> alarms =
        co_await c.UnaryAt<etcdserverpb::AlarmResponse>(target.dialed, client::kAlarmPath, list,
                                                        ctl.Timeout());
    // A member that has no alarm service (keel before its maintenance
    // work) has no alarm to raise either.
    if (!alarms.ok() && !absl::IsUnimplemented(alarms.status())) {
      result.health = false;
      result.error = "Unable to fetch the alarm list";
    } else if (alarms.ok() && alarms->alarms_size() > 0) {
      result.health = false;
      result.error = "Active Alarm(s): ";
      for (const auto& alarm : alarms->alarms()) {
        const bool known = alarm.alarm() == etcdserverpb::NOSPACE || alarm.alarm() == etcdserverpb::CORRUPT;
        result.error += StrCat(known ? etcdserverpb::AlarmType_Name(alarm.alarm()) : "UNKNOWN", " ");
      }
    }
    co_return result;
  }
};

class EndpointStatusCommand : public EndpointCommand {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    absl::StatusOr<EndpointSet> set = co_await ResolveEndpoints(ctl, cluster_);
    if (!set.ok()) co_return FailWith(ctl, set.status());
    std::vector<EndpointStatusResult> results;
    bool failed = false;
    for (const auto& target : set->targets) {
      absl::StatusOr<etcdserverpb::StatusResponse> status =
          co_await set->client->Status(target.dialed, ctl.Timeout());
      if (!status.ok()) {
        failed = true;
        ctl.Err(StrCat(ctl.UnreachableNote(*set->client), "Failed to get the status of endpoint ",
                       target.shown, " (", Ctl::ErrorText(status.status()), ")\n"));
        continue;
      }
      results.push_back(EndpointStatusResult{target.shown, std::move(*status)});
    }
    const int printed = ctl.Print(ctl.printer().EndpointStatus(results));
    co_return printed != kExitSuccess ? printed : failed ? kExitError : kExitSuccess;
  }
};

class EndpointHashKVCommand : public EndpointCommand {
 public:
  void DefineFlags(FlagSet& flags) override {
    EndpointCommand::DefineFlags(flags);
    flags.Int("rev", &rev_, "maximum revision to hash (default: all revisions)");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    absl::StatusOr<EndpointSet> set = co_await ResolveEndpoints(ctl, cluster_);
    if (!set.ok()) co_return FailWith(ctl, set.status());
    std::vector<EndpointHashKVResult> results;
    bool failed = false;
    for (const auto& target : set->targets) {
      absl::StatusOr<etcdserverpb::HashKVResponse> hash =
          co_await set->client->HashKV(target.dialed, rev_, ctl.Timeout());
      if (!hash.ok()) {
        failed = true;
        ctl.Err(StrCat(ctl.UnreachableNote(*set->client), "Failed to get the hash of endpoint ",
                       target.shown, " (", Ctl::ErrorText(hash.status()), ")\n"));
        continue;
      }
      results.push_back(EndpointHashKVResult{target.shown, std::move(*hash)});
    }
    const int printed = ctl.Print(ctl.printer().EndpointHashKV(results));
    co_return printed != kExitSuccess ? printed : failed ? kExitError : kExitSuccess;
  }

 private:
  int64_t rev_ = 0;
};

class MoveLeaderCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) co_return BadArgs(ctl, "move-leader command needs 1 argument");
    uint64_t target = 0;
    if (!ParseHexUint64(invocation.args[0], &target)) {
      co_return BadArgs(ctl, StrCat("strconv.ParseUint: parsing ", GoQuote(invocation.args[0]),
                                    ": invalid syntax"));
    }
    absl::StatusOr<EndpointSet> set = co_await ResolveEndpoints(ctl, false);
    if (!set.ok()) co_return FailWith(ctl, set.status());
    uint64_t leader = 0;
    std::string leader_endpoint;
    for (const auto& endpoint : set->targets) {
      absl::StatusOr<etcdserverpb::StatusResponse> status =
          co_await set->client->Status(endpoint.dialed, ctl.Timeout());
      if (!status.ok()) {
        ctl.Err(ctl.UnreachableNote(*set->client));
        co_return ctl.Fail(kExitError, Ctl::ErrorText(status.status()));
      }
      if (status->header().member_id() == status->leader()) {
        leader = status->leader();
        leader_endpoint = endpoint.dialed;
      }
    }
    if (leader == 0) {
      std::vector<std::string> shown;
      for (const auto& endpoint : set->targets) shown.push_back(endpoint.shown);
      co_return BadArgs(ctl, StrCat("no leader endpoint given at [", absl::StrJoin(shown, " "), "]"));
    }
    absl::StatusOr<etcdserverpb::MoveLeaderResponse> moved =
        co_await set->client->MoveLeader(leader_endpoint, target, ctl.Timeout());
    if (!moved.ok()) co_return ctl.Fail(kExitError, Ctl::ErrorText(moved.status()));
    co_return ctl.Print(ctl.printer().MoveLeader(leader, target, *moved));
  }
};

}  // namespace

void RegisterClusterCommands(CommandTable& table) {
  table.Add<MemberAddCommand>("member add", "member add <memberName> [options]",
                              "Adds a member into the cluster");
  table.Add<MemberRemoveCommand>("member remove", "member remove <memberID>",
                                 "Removes a member from the cluster");
  table.Add<MemberUpdateCommand>("member update", "member update <memberID> [options]",
                                 "Updates a member in the cluster");
  table.Add<MemberListCommand>("member list", "member list", "Lists all members in the cluster");
  table.Add<MemberPromoteCommand>("member promote", "member promote <memberID>",
                                  "Promotes a non-voting member in the cluster");
  table.Add<EndpointHealthCommand>("endpoint health", "endpoint health",
                                   "Checks the healthiness of endpoints specified in `--endpoints` flag");
  table.Add<EndpointStatusCommand>("endpoint status", "endpoint status",
                                   "Prints out the status of endpoints specified in `--endpoints` flag");
  table.Add<EndpointHashKVCommand>("endpoint hashkv", "endpoint hashkv",
                                   "Prints the KV history hash for each endpoint in --endpoints");
  table.Add<MoveLeaderCommand>("move-leader", "move-leader <transferee-member-id>",
                               "Transfers leadership to another etcd cluster member.");
}

}  // namespace keel::tools
