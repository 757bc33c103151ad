// keelctl alarm list | disarm, defrag, snapshot save.
#include <cctype>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/streams.h"
#include "runtime/strings.h"
#include "tools/ctl_command.h"
#include "tools/ctl_endpoints.h"
#include "tools/ctl_format.h"
#include "tools/ctl_progress.h"
#include "tools/table.h"

namespace keel::tools {
namespace {

class AlarmListCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (!invocation.args.empty()) co_return BadArgs(ctl, "alarm list command accepts no arguments");
    etcdserverpb::AlarmRequest request;
    request.set_action(etcdserverpb::AlarmRequest::GET);
    absl::StatusOr<etcdserverpb::AlarmResponse> response =
        co_await ctl.client().Alarm(std::move(request), ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().Alarm(*response));
  }
};

// clientv3's AlarmDisarm of every alarm: the list, then one deactivation
// per alarm; the answer holds the alarms deactivated and no header.
class AlarmDisarmCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (!invocation.args.empty()) co_return BadArgs(ctl, "alarm disarm command accepts no arguments");
    etcdserverpb::AlarmRequest list;
    list.set_action(etcdserverpb::AlarmRequest::GET);
    absl::StatusOr<etcdserverpb::AlarmResponse> alarms =
        co_await ctl.client().Alarm(std::move(list), ctl.Timeout());
    if (!alarms.ok()) co_return ctl.FailCall(alarms.status());
    etcdserverpb::AlarmResponse disarmed;
    for (const auto& alarm : alarms->alarms()) {
      etcdserverpb::AlarmRequest request;
      request.set_action(etcdserverpb::AlarmRequest::DEACTIVATE);
      request.set_memberid(alarm.memberid());
      request.set_alarm(alarm.alarm());
      absl::StatusOr<etcdserverpb::AlarmResponse> response =
          co_await ctl.client().Alarm(std::move(request), ctl.Timeout());
      if (!response.ok()) co_return ctl.FailCall(response.status());
      for (const auto& done : response->alarms()) *disarmed.add_alarms() = done;
    }
    co_return ctl.Print(ctl.printer().Alarm(disarmed));
  }
};

class DefragCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("cluster", &cluster_, "use all endpoints from the cluster member list");
    flags.String("data-dir", &data_dir_,
                 "Optional. If present, defragments a data directory not in use by etcd.");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    (void)invocation;
    if (!data_dir_.empty()) {
      co_return ctl.Fail(kExitError,
                         "keelctl does not defragment a data directory: use `keelutl defrag "
                         "--data-dir` (etcd 3.5 moved it to etcdutl too)");
    }
    absl::StatusOr<EndpointSet> set = co_await ResolveEndpoints(ctl, cluster_);
    if (!set.ok()) co_return FailWith(ctl, set.status());
    ProgressLine progress(ctl.env().clock());
    int failures = 0;
    for (size_t i = 0; i < set->targets.size(); i++) {
      const EndpointTarget& target = set->targets[i];
      progress.Update(absl::StrFormat("defragmenting %s (%d of %d)", target.shown, i + 1,
                                      set->targets.size()));
      absl::StatusOr<etcdserverpb::DefragmentResponse> response =
          co_await set->client->Defragment(target.dialed, ctl.Timeout());
      progress.Done();
      if (!response.ok()) {
        failures++;
        ctl.Err(StrCat(ctl.UnreachableNote(*set->client),
                       "Failed to defragment etcd member[", target.shown, "] (",
                       Ctl::ErrorText(response.status()), ")\n"));
      } else {
        ctl.Out(StrCat("Finished defragmenting etcd member[", target.shown, "]\n"));
      }
    }
    co_return failures == 0 ? kExitSuccess : kExitError;
  }

 private:
  bool cluster_ = false;
  std::string data_dir_;
};

// Go's syscall errors are lower case ("no such file or directory").
std::string GoError(absl::string_view message) {
  std::string text(message);
  const size_t colon = text.rfind(": ");
  const size_t at = colon == std::string::npos ? 0 : colon + 2;
  if (at < text.size()) text[at] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[at])));
  return text;
}

// etcd's snapshot file ends with the SHA-256 of what precedes it; a
// transfer of any other length was cut short.
bool HasChecksum(uint64_t size) { return size % 512 == 32; }

// clientv3's snapshot logger lines (zap's production JSON on stderr).
std::string InfoLine(Clock& clock, std::string_view msg, std::string_view fields) {
  (void)clock;
  return StrCat("{\"level\":\"info\",\"caller\":\"snapshot/v3_snapshot.go\",\"msg\":",
                JsonString(msg), fields.empty() ? "" : ",", fields, "}\n");
}

class SnapshotSaveCommand : public Command {
 public:
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) co_return BadArgs(ctl, "snapshot save expects one argument");
    const std::string path = invocation.args[0];
    const std::vector<std::string>& endpoints = ctl.config().endpoints;
    if (endpoints.size() != 1) {
      co_return ctl.Fail(kExitInterrupted,
                         StrCat("snapshot must be requested to one selected node, not multiple [",
                                absl::StrJoin(endpoints, " "), "]"));
    }
    const std::string part = path + ".part";
    FileSystem& fs = ctl.env().fs();
    Clock& clock = ctl.env().clock();
    OpenOptions open;
    open.create = true;
    open.truncate = true;
    absl::StatusOr<std::unique_ptr<File>> file = fs.Open(part, open);
    if (!file.ok()) {
      co_return ctl.Fail(kExitInterrupted,
                         StrCat("could not open ", part, " (", GoError(file.status().message()), ")"));
    }
    ctl.Err(InfoLine(clock, "created temporary db file", StrCat("\"path\":", JsonString(part))));
    const int result = co_await Fetch(ctl, **file, endpoints[0]);
    file->reset();
    if (result != kExitSuccess) {
      (void)fs.Remove(part);
      co_return result;
    }
    absl::Status renamed = fs.Rename(part, path);
    if (!renamed.ok()) {
      (void)fs.Remove(part);
      co_return ctl.Fail(kExitInterrupted, StrCat("could not rename ", part, " to ", path, " (",
                                                  renamed.message(), ")"));
    }
    ctl.Err(InfoLine(clock, "saved", StrCat("\"path\":", JsonString(path))));
    ctl.Out(StrCat("Snapshot saved at ", path, "\n"));
    co_return kExitSuccess;
  }

 private:
  Task<int> Fetch(Ctl& ctl, File& file, const std::string& endpoint) {
    Clock& clock = ctl.env().clock();
    const TimePoint start = clock.Now();
    // etcdctl 3.5 puts no bound on a snapshot unless --command-timeout is given.
    client::RequestOptions options;
    options.timeout = ctl.config().dial_timeout + ctl.config().command_timeout;
    absl::StatusOr<std::unique_ptr<client::ServerStream<etcdserverpb::SnapshotResponse>>> stream =
        co_await ctl.client().Snapshot(endpoint, options);
    if (!stream.ok()) {
      ctl.NoteUnreachable(stream.status());
      co_return ctl.Fail(kExitInterrupted, Ctl::ErrorText(stream.status()));
    }
    ctl.Err(InfoLine(clock, "opened snapshot stream; downloading", ""));
    ctl.Err(InfoLine(clock, "fetching snapshot", StrCat("\"endpoint\":", JsonString(endpoint))));
    ProgressLine progress(clock);
    uint64_t size = 0;
    while (true) {
      std::optional<etcdserverpb::SnapshotResponse> chunk = co_await (*stream)->Receive();
      if (!chunk.has_value()) break;
      absl::Status written = file.Append(chunk->blob());
      if (!written.ok()) co_return ctl.Fail(kExitInterrupted, written.message());
      size += chunk->blob().size();
      progress.Update(StrCat("snapshot ", endpoint, ": ", progress.BytesAndRate(size),
                             chunk->remaining_bytes() > 0
                                 ? StrCat(", ", HumanBytes(chunk->remaining_bytes()), " to go")
                                 : ""));
    }
    progress.Done();
    ctl.Err(InfoLine(clock, "completed snapshot read; closing", ""));
    const absl::Status ended = (*stream)->status().value_or(absl::OkStatus());
    if (!ended.ok()) co_return ctl.Fail(kExitInterrupted, Ctl::ErrorText(ended));
    if (!HasChecksum(size)) {
      co_return ctl.Fail(kExitInterrupted,
                         StrCat("sha256 checksum not found [bytes: ", size, "]"));
    }
    absl::Status synced = co_await file.Sync();
    if (!synced.ok()) co_return ctl.Fail(kExitInterrupted, synced.message());
    ctl.Err(InfoLine(clock, "fetched snapshot",
                     StrCat("\"endpoint\":", JsonString(endpoint), ",\"size\":",
                            JsonString(HumanBytes(size)), ",\"took\":",
                            JsonString(GoDuration(clock.Now() - start)))));
    co_return kExitSuccess;
  }
};

}  // namespace

void RegisterMaintenanceCommands(CommandTable& table) {
  table.Add<AlarmListCommand>("alarm list", "alarm list", "Lists all alarms");
  table.Add<AlarmDisarmCommand>("alarm disarm", "alarm disarm", "Disarms all alarms");
  table.Add<DefragCommand>("defrag", "defrag",
                           "Defragments the storage of the etcd members with given endpoints");
  table.Add<SnapshotSaveCommand>("snapshot save", "snapshot save <filename>",
                                 "Stores an etcd node backend snapshot to a given file");
}

}  // namespace keel::tools
