// RaftNode: snapshots between members and log compaction.
//
// A leader writes the state machine to a file (the host's format) and
// streams it to a follower the log cannot catch up; the follower checks the
// received file and keeps it under the snap directory until raft has
// persisted the snapshot and the applier has installed it from there. The
// log is compacted behind the applier once the state machine is durable.
//
// Raft asks for a snapshot labelled with the log's compaction point and its
// configuration there. The snapshot sent is labelled instead with the
// applier's position, the term of that entry and the configuration as
// applied (etcd's createMergedSnapshotMessage): that is what the file
// holds (or less: a state machine ahead of the applier after a restart
// holds more, and the follower skips what it holds), and a learner added
// since the last compaction is in that configuration, where raft on the
// learner looks for itself before it takes a snapshot.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "node/membership.h"
#include "node/raft_node.h"
#include "node/self_repair.h"
#include "node/snapshot_io.h"
#include "raft/errors.h"
#include "runtime/buggify.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"

namespace keel::node {

std::string RaftNode::SnapshotFilePath(uint64_t term, uint64_t index) const {
  return node::SnapshotFilePath(config_.snap_dir, term, index);
}

Task<void> RaftNode::SendSnapshot(raft::Message message) {
  const uint64_t to = message.to();
  // The label, taken before the host reads its state: the file holds at
  // least this much.
  raftpb::SnapshotMetadata label;
  label.set_index(applied_index_);
  *label.mutable_conf_state() = conf_state_;
#if KEEL_FAILPOINTS
  // The deliberate defect: the configuration of the last compaction, which
  // lacks every change applied since.
  if (config_.failpoint_snapshot_stale_conf) *label.mutable_conf_state() = snapshot_conf_state_;
#endif
  absl::StatusOr<uint64_t> term = log_->storage().Term(applied_index_);
  if (!term.ok() || applied_index_ == 0) {
    // The applier has not caught up with a leader's snapshot this member
    // took just before it was elected: raft asks again.
    env_.log().Info("cannot label a snapshot for a follower yet",
                    {{"to", FormatId(to)},
                     {"applied-index", applied_index_},
                     {"error", term.ok() ? "nothing applied" : term.status().ToString()}});
    raw_->ReportSnapshot(to, false);
    Wake();
    co_return;
  }
  label.set_term(*term);
  const std::string path = JoinPath(
      config_.snap_dir, absl::StrFormat("send-%016x-%016x.tmp", to, label.index()));
  (void)env_.fs().Remove(path);
  absl::StatusOr<WrittenSnapshot> written = co_await host_.WriteSnapshotFile(path);
  if (!written.ok() || transport_ == nullptr) {
    env_.log().Warn("failed to write a snapshot for a follower",
                    {{"to", FormatId(to)},
                     {"error", written.ok() ? "stopping" : written.status().ToString()}});
    (void)env_.fs().Remove(path);
    if (!written.ok() && written.status().code() == absl::StatusCode::kDataLoss) {
      // The key space failed its checksums while being read whole: this
      // member stops and repairs it (node/self_repair.h).
      life_.Fail(KeySpaceDataLoss(written.status()));
      co_return;
    }
    if (!life_.stopping() && transport_ != nullptr) {
      raw_->ReportSnapshot(to, false);
      Wake();
    }
    co_return;
  }
  KEEL_ASSERT(written->applied_index >= label.index());
  auto source = FileSnapshotSource::Open(env_.fs(), path);
  if (!source.ok()) {
    raw_->ReportSnapshot(to, false);
    Wake();
    co_return;
  }
  env_.log().Info("sending database snapshot",
                  {{"to", FormatId(to)},
                   {"snapshot-index", label.index()},
                   {"snapshot-term", label.term()},
                   {"log-snapshot-index", message.snapshot().metadata().index()},
                   {"state-applied-index", written->applied_index},
                   {"size", static_cast<int64_t>(written->size_bytes)}});
  message.mutable_snapshot()->clear_data();
  *message.mutable_snapshot()->mutable_metadata() = std::move(label);
  transport_->SendSnapshot(std::move(message), std::move(*source));
}

absl::Status RaftNode::AcceptSnapshot(net::ReceivedSnapshot snapshot) {
  if (life_.stopping()) return absl::UnavailableError("member is stopping");
  const auto& metadata = snapshot.message.snapshot().metadata();
  // The transfer's checksum covers what the leader read, not what it wrote:
  // a bit flipped while the leader read its file arrives intact. Once raft
  // persists this snapshot the member cannot start without the file, so
  // refuse one that fails its own checks; the leader sends it again.
  KEEL_RETURN_IF_ERROR(host_.CheckSnapshotFile(snapshot.path));
  const std::string path = SnapshotFilePath(metadata.term(), metadata.index());
  (void)env_.fs().Remove(path);
  // Kept until the state machine holds it: if the member crashes after raft
  // persisted the snapshot, the restart installs it from here.
  KEEL_RETURN_IF_ERROR(env_.fs().Rename(snapshot.path, path));
  KEEL_RETURN_IF_ERROR(env_.fs().SyncDirNow(config_.snap_dir));
  env_.log().Info("received database snapshot",
                  {{"from", FormatId(snapshot.message.from())},
                   {"snapshot-index", metadata.index()},
                   {"size", static_cast<int64_t>(snapshot.size_bytes)}});
  Receive(std::move(snapshot.message));
  return absl::OkStatus();
}

void RaftNode::PurgeSnapshotFiles(uint64_t installed_index) {
  auto names = env_.fs().List(config_.snap_dir);
  if (!names.ok()) return;
  for (const std::string& name :
       SnapshotFilesToPurge(*names, installed_index, config_.max_snapshots)) {
    // A file left behind is purged with the next snapshot installed.
    (void)env_.fs().Remove(JoinPath(config_.snap_dir, name));
  }
}

Task<absl::Status> RaftNode::MaybeCompactLog() {
  // Only up to the applier: the configuration is known as of there, and
  // the state machine holds at least that much.
  const uint64_t applied_index = applied_index_;
  // Buggify: legal but tiny thresholds (a compaction every few entries,
  // few kept behind), so slow followers need snapshots.
  const bool tiny = Buggify();
  const uint64_t count =
      tiny ? std::min<uint64_t>(config_.snapshot_count, 8) : config_.snapshot_count;
  if (applied_index - snapshot_index_ <= count) co_return absl::OkStatus();
  // Keep the catch-up entries behind so a follower that is a little behind
  // catches up from the log instead of needing a snapshot.
  const uint64_t keep = tiny ? std::min<uint64_t>(config_.snapshot_catchup_entries, 2)
                             : config_.snapshot_catchup_entries;
  absl::StatusOr<uint64_t> last_index = log_->storage().LastIndex();
  if (!last_index.ok()) co_return last_index.status();
  // The log can only be compacted up to what it holds: after a leader's
  // snapshot the state machine may be ahead of the log.
  const uint64_t applied_in_log = std::min(applied_index, *last_index);
  if (applied_in_log <= keep) co_return absl::OkStatus();
  const uint64_t index = applied_in_log - keep;
  if (index <= snapshot_index_) co_return absl::OkStatus();
  KEEL_ASSERT(index <= *last_index);
  // The configuration at `index`: the last change at or before it.
  raft::ConfState conf_state = snapshot_conf_state_;
  for (auto it = conf_history_.begin(); it != conf_history_.end() && it->first <= index;
       it = conf_history_.erase(it)) {
    snapshot_conf_state_ = it->second;
    conf_state = it->second;
  }
  // The state machine must be durable up to the compaction point before the
  // raft log that also holds those entries is released.
  absl::Status synced = host_.SyncAppliedState();
  if (!synced.ok()) co_return synced;
  absl::Status status = co_await log_->Compact(index, conf_state);
  // A leader's snapshot persisted while this waited for the log moved the
  // log past `index`; the applier installs it next.
  if (raft::IsError(status, raft::Error::kSnapshotOutOfDate)) co_return absl::OkStatus();
  if (!status.ok()) co_return status;
  env_.log().Info("compacted raft log",
                  {{"compact-index", index}, {"applied-index", applied_index}});
  KEEL_ASSERT(index > snapshot_index_);
  snapshot_index_ = index;
  co_return absl::OkStatus();
}

}  // namespace keel::node
