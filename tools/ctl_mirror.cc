// keelctl make-mirror: copies the keys under --prefix to a destination
// cluster, then follows every change (etcd's mirror.Syncer): the keys at
// one revision in pages, then a watch from the revision after, each
// revision's events applied as one transaction. Runs until the source
// watch ends (a compaction: "etcdserver: mvcc: required revision has been
// compacted"), printing the count of keys copied every 30 seconds, and on
// a terminal a progress line.
#include "absl/strings/str_format.h"
#include "client/streams.h"
#include "runtime/strings.h"
#include "runtime/when.h"
#include "tools/ctl_command.h"
#include "tools/ctl_endpoints.h"
#include "tools/ctl_kv.h"
#include "tools/ctl_progress.h"

namespace keel::tools {
namespace {

// mirror.Syncer reads the base in pages of this many keys.
constexpr int64_t kBatchLimit = 1000;

class MakeMirrorCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.String("prefix", &prefix_, "Key-value prefix to mirror");
    flags.String("dest-prefix", &dest_prefix_,
                 "destination prefix to mirror a prefix to a different prefix in the destination "
                 "cluster");
    flags.Bool("no-dest-prefix", &no_dest_prefix_,
               "mirror key-values to the root of the destination cluster");
    flags.String("dest-cert", &dest_cert_,
                 "Identify secure client using this TLS certificate file for the destination "
                 "cluster");
    flags.String("dest-key", &dest_key_, "Identify secure client using this TLS key file");
    flags.String("dest-cacert", &dest_cacert_,
                 "Verify certificates of TLS enabled secure servers using this CA bundle");
    flags.Bool("dest-insecure-transport", &dest_insecure_,
               "Disable transport security for client connections");
    flags.String("dest-user", &dest_user_,
                 "Destination username[:password] for authentication (prompt if password is not "
                 "supplied)");
    flags.String("dest-password", &dest_password_,
                 "Destination password for authentication (if this option is used, --user option "
                 "shouldn't include password)");
  }

  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "make-mirror takes one destination argument");
    }
    if (!dest_cert_.empty() || !dest_key_.empty() || !dest_cacert_.empty() || !dest_insecure_) {
      co_return ctl.Fail(kExitBadFeature, "TLS is not supported yet: drop the --dest-cert, "
                                          "--dest-key and --dest-cacert flags");
    }
    if (no_dest_prefix_ && !dest_prefix_.empty()) {
      co_return BadArgs(ctl, "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same "
                             "time, choose one");
    }
    if (!no_dest_prefix_ && dest_prefix_.empty()) dest_prefix_ = prefix_;
    GlobalConfig dest_config = ctl.config();
    dest_config.user = dest_user_;
    dest_config.password = dest_password_;
    if (!dest_user_.empty() && dest_password_.empty()) {
      const size_t colon = dest_user_.find(':');
      if (colon != std::string::npos) {
        dest_config.user = dest_user_.substr(0, colon);
        dest_config.password = dest_user_.substr(colon + 1);
      }
    }
    client::EtcdClient dest(ctl.env(),
                            ClientOptionsFor(dest_config, {DialAddress(invocation.args[0])}));
    ProgressLine progress(ctl.env().clock());
    absl::Status status;
    std::vector<Task<void>> race;
    race.push_back(Mirror(ctl, dest, progress, &status));
    race.push_back(Report(ctl));
    co_await WhenAny(std::move(race));
    progress.Done();
    co_return ctl.Fail(kExitError, Ctl::ErrorText(status));
  }

 private:
  std::string Modify(const std::string& key) const {
    const size_t at = key.find(prefix_);
    if (at == std::string::npos) return key;
    return key.substr(0, at) + dest_prefix_ + key.substr(at + prefix_.size());
  }

  Task<void> Report(Ctl& ctl) {
    while (true) {
      co_await ctl.env().clock().Sleep(Seconds(30));
      ctl.Out(StrCat(total_, "\n"));
    }
  }

  Task<void> Mirror(Ctl& ctl, client::EtcdClient& dest, ProgressLine& progress,
                    absl::Status* status) {
    // The base: every key under the prefix at one revision.
    etcdserverpb::RangeRequest page;
    page.set_key(prefix_.empty() ? std::string(1, '\0') : prefix_);
    page.set_range_end(PrefixRangeEnd(prefix_));
    page.set_limit(kBatchLimit);
    int64_t revision = 0;
    while (true) {
      page.set_revision(revision);
      absl::StatusOr<etcdserverpb::RangeResponse> got =
          co_await ctl.client().Range(page, ctl.Timeout());
      if (!got.ok()) {
        *status = got.status();
        co_return;
      }
      if (revision == 0) revision = got->header().revision();
      for (const auto& kv : got->kvs()) {
        etcdserverpb::PutRequest put;
        put.set_key(Modify(kv.key()));
        put.set_value(kv.value());
        absl::StatusOr<etcdserverpb::PutResponse> done = co_await dest.Put(put, ctl.Timeout());
        if (!done.ok()) {
          *status = done.status();
          co_return;
        }
        total_++;
        progress.Update(StrCat("make-mirror: ", total_, " keys copied"));
      }
      if (!got->more() || got->kvs_size() == 0) break;
      page.set_key(got->kvs(got->kvs_size() - 1).key() + std::string(1, '\0'));
    }
    // The updates after it.
    client::RequestOptions watch_options = ctl.Timeout();
    watch_options.require_leader = true;
    absl::StatusOr<std::unique_ptr<client::WatchStream>> stream =
        co_await ctl.client().Watch(watch_options);
    if (!stream.ok()) {
      *status = stream.status();
      co_return;
    }
    etcdserverpb::WatchCreateRequest create;
    create.set_key(prefix_.empty() ? std::string(1, '\0') : prefix_);
    create.set_range_end(PrefixRangeEnd(prefix_));
    create.set_start_revision(revision + 1);
    absl::Status created = co_await (*stream)->Create(std::move(create));
    if (!created.ok()) {
      *status = created;
      co_return;
    }
    while (true) {
      std::optional<etcdserverpb::WatchResponse> response = co_await (*stream)->Receive();
      if (!response.has_value()) {
        *status = (*stream)->status().value_or(absl::UnavailableError("watch ended"));
        co_return;
      }
      if (response->compact_revision() != 0) {
        *status = absl::OutOfRangeError("etcdserver: mvcc: required revision has been compacted");
        co_return;
      }
      absl::Status applied = co_await Apply(ctl, dest, *response);
      if (!applied.ok()) {
        *status = applied;
        co_return;
      }
      progress.Update(StrCat("make-mirror: ", total_, " keys copied"));
    }
  }

  // One transaction per revision of the response's events.
  Task<absl::Status> Apply(Ctl& ctl, client::EtcdClient& dest,
                           const etcdserverpb::WatchResponse& response) {
    etcdserverpb::TxnRequest txn;
    int64_t last = 0;
    for (const auto& event : response.events()) {
      const int64_t next = event.kv().mod_revision();
      if (last != 0 && next > last) {
        absl::StatusOr<etcdserverpb::TxnResponse> done = co_await dest.Txn(txn, ctl.Timeout());
        if (!done.ok()) co_return done.status();
        txn.Clear();
      }
      last = next;
      if (event.type() == mvccpb::Event::PUT) {
        auto* put = txn.add_success()->mutable_request_put();
        put->set_key(Modify(event.kv().key()));
        put->set_value(event.kv().value());
      } else {
        txn.add_success()->mutable_request_delete_range()->set_key(Modify(event.kv().key()));
      }
      total_++;
    }
    if (txn.success_size() > 0) {
      absl::StatusOr<etcdserverpb::TxnResponse> done = co_await dest.Txn(txn, ctl.Timeout());
      if (!done.ok()) co_return done.status();
    }
    co_return absl::OkStatus();
  }

  std::string prefix_;
  std::string dest_prefix_;
  bool no_dest_prefix_ = false;
  std::string dest_cert_;
  std::string dest_key_;
  std::string dest_cacert_;
  bool dest_insecure_ = true;
  std::string dest_user_;
  std::string dest_password_;
  int64_t total_ = 0;
};

}  // namespace

void RegisterMirrorCommand(CommandTable& table) {
  table.Add<MakeMirrorCommand>("make-mirror", "make-mirror [options] <destination>",
                               "Makes a mirror at the destination etcd cluster");
}

}  // namespace keel::tools
