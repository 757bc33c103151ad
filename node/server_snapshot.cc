// Raft snapshots between members: the leader writes its key space to a
// file and streams it to a follower the log cannot catch up; the follower
// keeps the received file under member/snap until raft has persisted the
// snapshot, then installs it by swapping key-space directories.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "node/snapshot_io.h"
#include "node/server.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/snapshot_file.h"

namespace keel::node {

std::string Server::SnapDir() const {
  return JoinPath(JoinPath(config_.DataDir(), "member"), "snap");
}

std::string Server::KeySpaceDir() const {
  return JoinPath(JoinPath(config_.DataDir(), "member"), "kv");
}

std::string Server::SnapshotFilePath(uint64_t term, uint64_t index) const {
  // etcd's naming: <term>-<index>.snap, in hex.
  return JoinPath(SnapDir(), absl::StrFormat("%016x-%016x.snap", term, index));
}

Task<void> Server::SendRaftSnapshot(raft::Message message) {
  const uint64_t to = message.to();
  const std::string path = JoinPath(
      SnapDir(), absl::StrFormat("send-%016x-%016x.tmp", to,
                                 message.snapshot().metadata().index()));
  (void)env_.fs().Remove(path);
  // The key space is ahead of raft's snapshot index; the follower's applier
  // skips the entries it already holds, as after a restart.
  auto written = co_await WriteSnapshotFile(env_, *mvcc_, path, id_, cluster_id_);
  if (!written.ok() || transport_ == nullptr) {
    env_.log().Warn("failed to write a snapshot for a follower",
                    {{"to", FormatId(to)}, {"error", written.status().ToString()}});
    (void)env_.fs().Remove(path);
    if (!stopping_) ReportSnapshot(to, false);
    co_return;
  }
  auto source = FileSnapshotSource::Open(env_.fs(), path);
  if (!source.ok()) {
    ReportSnapshot(to, false);
    co_return;
  }
  env_.log().Info("sending database snapshot",
                  {{"to", FormatId(to)},
                   {"snapshot-index", message.snapshot().metadata().index()},
                   {"size", static_cast<int64_t>(written->file_bytes)}});
  message.mutable_snapshot()->clear_data();
  transport_->SendSnapshot(std::move(message), std::move(*source));
}

absl::Status Server::AcceptSnapshot(net::ReceivedSnapshot snapshot) {
  if (stopping_) return absl::UnavailableError("member is stopping");
  const auto& metadata = snapshot.message.snapshot().metadata();
  // The transfer's checksum covers what the leader read, not what it wrote:
  // a bit flipped while the leader read its file arrives intact. Once raft
  // persists this snapshot the member cannot start without the file, so
  // refuse one that fails its own checks; the leader sends it again.
  absl::StatusOr<std::unique_ptr<store::SnapshotFileReader>> verified =
      store::SnapshotFileReader::Open(env_.fs(), snapshot.path);
  if (!verified.ok()) return verified.status();
  verified->reset();
  const std::string path = SnapshotFilePath(metadata.term(), metadata.index());
  (void)env_.fs().Remove(path);
  // Kept until the key space holds it: if the member crashes after raft
  // persisted the snapshot, the restart installs it from here.
  KEEL_RETURN_IF_ERROR(env_.fs().Rename(snapshot.path, path));
  KEEL_RETURN_IF_ERROR(env_.fs().SyncDirNow(SnapDir()));
  env_.log().Info("received database snapshot",
                  {{"from", FormatId(snapshot.message.from())},
                   {"snapshot-index", metadata.index()},
                   {"size", static_cast<int64_t>(snapshot.size_bytes)}});
  ReceiveMessage(std::move(snapshot.message));
  return absl::OkStatus();
}

absl::Status Server::InstallSnapshot(uint64_t index, uint64_t term) {
  if (mvcc_->applied().index >= index) return absl::OkStatus();
  const std::string file = SnapshotFilePath(term, index);
  const std::string fresh = KeySpaceDir() + ".restore";
  KEEL_RETURN_IF_ERROR(RemoveTree(env_.fs(), fresh));
  auto metadata = RestoreSnapshotFile(env_.fs(), file, KeySpaceOptions(fresh));
  if (!metadata.ok()) {
    return absl::DataLossError(StrCat("cannot install the snapshot at index ", index,
                                      " from ", file, ": ", metadata.status().message()));
  }
  if (metadata->cluster_id != cluster_id_ || metadata->consistent_index < index) {
    return absl::DataLossError(StrCat("snapshot ", file, " is from cluster ",
                                      FormatId(metadata->cluster_id), " at index ",
                                      metadata->consistent_index, ", want index >= ",
                                      index));
  }
  // The snapshot carries the sender's identity record; this member's own must
  // be in the new key space before it replaces the live one, or a restart
  // would take this member for the sender.
  // Checked on the restored store itself, and made durable, before the
  // swap: once the live key space is replaced and the file removed, a
  // restore that silently lost writes could not be redone.
  {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::Mvcc> restored,
                          store::Mvcc::Open(KeySpaceOptions(fresh)));
    if (restored->applied().index < metadata->consistent_index) {
      return absl::DataLossError(StrCat("the key space restored from ", file, " is at index ",
                                        restored->applied().index, ", the file says ",
                                        metadata->consistent_index));
    }
    MemberStore restored_members(*restored->db());
    KEEL_RETURN_IF_ERROR(restored_members.SetIdentity(cluster_id_, id_));
    KEEL_RETURN_IF_ERROR(restored->SyncBarrier());
  }
  // Close the live key space, swap the directories, open the new one.
  mvcc_->SetListener(nullptr);
  members_.reset();
  mvcc_.reset();
  KEEL_RETURN_IF_ERROR(SwapKeySpace(env_.fs(), KeySpaceDir(), fresh));
  KEEL_RETURN_IF_ERROR(ReopenKeySpace());
  env_.log().Info("installed database snapshot",
                  {{"snapshot-index", index},
                   {"applied-index", mvcc_->applied().index},
                   {"revision", mvcc_->current_revision()}});
  RemoveOldSnapshotFiles(index + 1);
  snapshots_installed_++;
  return absl::OkStatus();
}

absl::Status Server::ReopenKeySpace() {
  KEEL_ASSIGN_OR_RETURN(mvcc_, store::Mvcc::Open(KeySpaceOptions(KeySpaceDir())));
  mvcc_->SetListener(watch_hub_.get());
  watch_hub_->Restore(mvcc_.get());
  members_ = std::make_unique<MemberStore>(*mvcc_->db());
  KEEL_RETURN_IF_ERROR(members_->Load());
  KEEL_RETURN_IF_ERROR(lessor_->Reload(*mvcc_));
  if (transport_ != nullptr) {
    for (const auto& [id, member] : members_->members()) {
      if (id != id_) UpdatePeer(member);
    }
  }
  return absl::OkStatus();
}

void Server::RemoveOldSnapshotFiles(uint64_t below_index) {
  auto names = env_.fs().List(SnapDir());
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    uint64_t term = 0, index = 0;
    if (name.size() != 38 || name.substr(33) != ".snap") continue;
    if (!ParseId(name.substr(0, 16), &term) || !ParseId(name.substr(17, 16), &index)) {
      continue;
    }
    if (index < below_index) (void)env_.fs().Remove(JoinPath(SnapDir(), name));
  }
}

}  // namespace keel::node
