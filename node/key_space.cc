// KeySpace: opening the key space, installing a leader's snapshot into it,
// and replacing it under the views that derive from it.
#include "node/key_space.h"

#include <utility>

#include "node/membership.h"
#include "node/snapshot_io.h"
#include "runtime/status_macros.h"
#include "runtime/strings.h"
#include "store/leveldb_env.h"
#include "leveldb/write_batch.h"

namespace keel::node {

KeySpace::KeySpace(Env& env, KeySpaceOptions options)
    : env_(env), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<KeySpace>> KeySpace::Open(Env& env,
                                                         KeySpaceOptions options) {
  KEEL_ASSERT(!options.dir.empty());
  std::unique_ptr<KeySpace> space(new KeySpace(env, std::move(options)));
  space->leveldb_env_ = std::make_unique<store::LevelDbEnv>(
      env.fs(), env.clock(), env.log(), space->options_.leveldb_background);
  KEEL_RETURN_IF_ERROR(RecoverKeySpaceSwap(env.fs(), space->options_.dir));
  KEEL_RETURN_IF_ERROR(space->OpenMvcc());
  return space;
}

KeySpace::~KeySpace() {
  // A kill: the process is gone, so LevelDB must not write its teardown.
  if (!closed_ && leveldb_env_ != nullptr) leveldb_env_->Abandon();
  if (mvcc_ != nullptr) mvcc_->SetListener(nullptr);
  // The views hold pointers into the Mvcc: they go first.
  auth_.reset();
  alarms_.reset();
  lessor_.reset();
  members_.reset();
  watch_hub_.reset();
  mvcc_.reset();
  retired_.clear();
}

store::MvccOptions KeySpace::MvccOptionsAt(std::string path) const {
  store::MvccOptions options;
  options.path = std::move(path);
  options.env = leveldb_env_.get();
  if (options_.leveldb_background == store::LevelDbBackground::kQueue) {
    store::LevelDbEnv* leveldb_env = leveldb_env_.get();
    options.after_db_call = [leveldb_env] { leveldb_env->RunPending(); };
  }
  options.write_buffer_bytes = options_.leveldb_write_buffer_bytes;
  options.compaction_batch_limit = options_.compaction_batch_limit;
  return options;
}

absl::Status KeySpace::OpenMvcc(bool same_state) {
  KEEL_ASSERT(mvcc_ == nullptr || mvcc_->closed());
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::Mvcc> opened,
                        store::Mvcc::Open(MvccOptionsAt(options_.dir)));
  if (mvcc_ != nullptr) retired_.push_back(std::move(mvcc_));
  mvcc_ = std::move(opened);
  store::MvccDb& db = *mvcc_->db();
  if (watch_hub_ == nullptr) {
    // First open: build the views.
    watch_hub_ = std::make_unique<WatchHub>(mvcc_.get());
    members_ = std::make_unique<MemberStore>(db);
    lessor_ = std::make_unique<Lessor>(env_.clock(), *mvcc_, options_.lessor);
    alarms_ = std::make_unique<AlarmStore>(db);
    auth_ = std::make_unique<AuthStore>(db);
    mvcc_->SetListener(watch_hub_.get());
    KEEL_RETURN_IF_ERROR(members_->Load());
    KEEL_RETURN_IF_ERROR(lessor_->Load());
    KEEL_RETURN_IF_ERROR(auth_->Load());
    return alarms_->Load();
  }
  // A replacement: the same views read the new store.
  mvcc_->SetListener(watch_hub_.get());
  watch_hub_->Restore(mvcc_.get());
  KEEL_RETURN_IF_ERROR(members_->Reload(db));
  if (same_state) {
    lessor_->Repoint(*mvcc_);
  } else {
    KEEL_RETURN_IF_ERROR(lessor_->Reload(*mvcc_));
  }
  KEEL_RETURN_IF_ERROR(auth_->Reload(db));
  return alarms_->Reload(db);
}

absl::Status KeySpace::InstallSnapshot(const std::string& file, uint64_t index,
                                       KeySpaceIdentity identity) {
  KEEL_ASSERT(identity.cluster_id != 0);
  KEEL_ASSERT(identity.member_id != 0);
  if (mvcc_->applied().index >= index) return absl::OkStatus();
  const std::string fresh = options_.dir + ".restore";
  KEEL_RETURN_IF_ERROR(RemoveTree(env_.fs(), fresh));
  auto metadata = RestoreSnapshotFile(env_.fs(), file, MvccOptionsAt(fresh));
  if (!metadata.ok()) {
    return absl::DataLossError(StrCat("cannot install the snapshot at index ", index,
                                      " from ", file, ": ", metadata.status().message()));
  }
  if (metadata->cluster_id != identity.cluster_id || metadata->consistent_index < index) {
    return absl::DataLossError(StrCat("snapshot ", file, " is from cluster ",
                                      FormatId(metadata->cluster_id), " at index ",
                                      metadata->consistent_index, ", want index >= ",
                                      index));
  }
  // The snapshot carries the sender's identity record; this member's own
  // must be in the new key space before it replaces the live one, or a
  // restart would take this member for the sender. Checked on the restored
  // store itself, and made durable, before the swap: once the live key
  // space is replaced and the file removed, a restore that silently lost
  // writes could not be redone.
  {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::Mvcc> restored,
                          store::Mvcc::Open(MvccOptionsAt(fresh)));
    if (restored->applied().index < metadata->consistent_index) {
      return absl::DataLossError(StrCat("the key space restored from ", file, " is at index ",
                                        restored->applied().index, ", the file says ",
                                        metadata->consistent_index));
    }
    MemberStore restored_members(*restored->db());
    KEEL_RETURN_IF_ERROR(restored_members.SetIdentity(identity.cluster_id, identity.member_id));
    KEEL_RETURN_IF_ERROR(restored->SyncBarrier());
  }
  KEEL_RETURN_IF_ERROR(Replace(fresh));
  KEEL_ASSERT(mvcc_->applied().index >= index);
  KEEL_ASSERT(members_->local_id() == identity.member_id);
  return absl::OkStatus();
}

absl::Status KeySpace::Replace(const std::string& fresh_dir) {
  return SwapIn(fresh_dir, /*same_state=*/false);
}

absl::Status KeySpace::SwapIn(const std::string& fresh_dir, bool same_state) {
  KEEL_ASSERT(!closed_);
  // LevelDB work off the loop would outlive the database it uses.
  KEEL_ASSERT(off_loop_jobs_ == 0);
  mvcc_->SetListener(nullptr);
  mvcc_->Close();
  KEEL_RETURN_IF_ERROR(SwapKeySpace(env_.fs(), options_.dir, fresh_dir));
  size_read_at_.reset();
  KEEL_RETURN_IF_ERROR(OpenMvcc(same_state));
  KEEL_ASSERT(!mvcc_->closed());
  return absl::OkStatus();
}

namespace {

// Counts a call whose LevelDB work may run off the loop.
class OffLoopJob {
 public:
  OffLoopJob(int& jobs, WaitQueue& done) : jobs_(jobs), done_(done) { jobs_++; }
  ~OffLoopJob() {
    KEEL_ASSERT(jobs_ > 0);
    jobs_--;
    done_.WakeAll();
  }
  OffLoopJob(const OffLoopJob&) = delete;
  OffLoopJob& operator=(const OffLoopJob&) = delete;

 private:
  int& jobs_;
  WaitQueue& done_;
};

// Entries copied per LevelDB batch by DefragmentByCopy.
constexpr int kCopyBatchEntries = 1000;

}  // namespace

Task<absl::Status> KeySpace::Defragment() {
  KEEL_ASSERT(!closed_);
  if (mvcc_->closed()) co_return store::ClosedDbError();
  if (options_.leveldb_background == store::LevelDbBackground::kQueue) {
    co_return DefragmentByCopy();
  }
  {
    OffLoopJob job(off_loop_jobs_, off_loop_done_);
    store::MvccDb* db = mvcc_->db();
    // The database stays open: Replace() waits for off_loop_jobs_, and the
    // caller is a root task the member's stop waits for.
    absl::AnyInvocable<void() &&> work = [db] { db->CompactAllBlocking(); };
    co_await env_.RunBlocking(std::move(work));
  }
  size_read_at_.reset();
  // LevelDB records a failed background compaction and refuses writes
  // after it; a sync shows whether that happened.
  co_return mvcc_->SyncBarrier();
}

absl::Status KeySpace::DefragmentByCopy() {
  const std::string fresh = options_.dir + ".restore";
  KEEL_RETURN_IF_ERROR(RemoveTree(env_.fs(), fresh));
  // Everything applied so far is in the copy: nothing suspends from here
  // to the swap, so no entry is applied in between.
  KEEL_RETURN_IF_ERROR(mvcc_->SyncBarrier());
  {
    store::MvccOptions copy_options = MvccOptionsAt(fresh);
    copy_options.error_if_exists = true;
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<store::MvccDb> copy,
                          store::MvccDb::Open(copy_options));
    std::unique_ptr<store::DbIterator> it = mvcc_->db()->NewIterator();
    leveldb::WriteBatch batch;
    int in_batch = 0;
    for (it->Seek(""); it->Valid(); it->Next()) {
      batch.Put(leveldb::Slice(it->key().data(), it->key().size()),
                leveldb::Slice(it->value().data(), it->value().size()));
      if (++in_batch == kCopyBatchEntries) {
        KEEL_RETURN_IF_ERROR(copy->Write(&batch, /*sync=*/false));
        batch.Clear();
        in_batch = 0;
      }
    }
    KEEL_RETURN_IF_ERROR(it->status());
    KEEL_RETURN_IF_ERROR(copy->Write(&batch, /*sync=*/true));
  }
  const int64_t revision = mvcc_->current_revision();
  const uint64_t applied = mvcc_->applied().index;
  KEEL_RETURN_IF_ERROR(SwapIn(fresh, /*same_state=*/true));
  KEEL_ASSERT(mvcc_->current_revision() == revision);
  KEEL_ASSERT(mvcc_->applied().index == applied);
  return absl::OkStatus();
}

Task<absl::StatusOr<int64_t>> KeySpace::LiveBytes() {
  KEEL_ASSERT(!closed_);
  if (mvcc_->closed()) co_return store::ClosedDbError();
  store::MvccDb* db = mvcc_->db();
  if (options_.leveldb_background == store::LevelDbBackground::kQueue) {
    co_return db->LiveBytes();
  }
  OffLoopJob job(off_loop_jobs_, off_loop_done_);
  // The result lands in a member, and the work captures only pointers: a
  // callable with a non-trivial capture (a shared_ptr) crashed on the pool
  // thread when destroyed there after the loop had resumed. The key space
  // outlives the work (see the header).
  auto slot = live_bytes_.emplace(live_bytes_.end(), absl::InternalError("not counted"));
  absl::StatusOr<int64_t>* out = &*slot;
  absl::AnyInvocable<void() &&> work = [db, out] { *out = db->LiveBytes(); };
  co_await env_.RunBlocking(std::move(work));
  absl::StatusOr<int64_t> bytes = std::move(*out);
  live_bytes_.erase(slot);
  co_return bytes;
}

Task<void> KeySpace::WaitOffLoopIdle() {
  while (off_loop_jobs_ > 0) co_await off_loop_done_.Wait();
}

absl::Status KeySpace::Close() {
  KEEL_ASSERT(!closed_);
  absl::Status synced = mvcc_->closed() ? absl::OkStatus() : mvcc_->SyncBarrier();
  closed_ = true;
  return synced;
}

int64_t KeySpace::SizeBytes() const {
  const TimePoint now = env_.clock().Now();
  if (size_read_at_.has_value() && now - *size_read_at_ < kKeySpaceSizeRefresh) {
    return size_bytes_;
  }
  size_read_at_ = now;
  auto names = env_.fs().List(options_.dir);
  if (!names.ok()) return size_bytes_;
  int64_t total = 0;
  for (const std::string& name : *names) {
    auto info = env_.fs().Stat(JoinPath(options_.dir, name));
    if (info.ok() && !info->is_directory) total += static_cast<int64_t>(info->size);
  }
  size_bytes_ = total;
  return total;
}

}  // namespace keel::node
