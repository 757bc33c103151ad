// KeySpace: a member's state machine on disk and what derives from it.
//
// It owns the LevelDB environment, the Mvcc (keys, revisions, leases, the
// applied raft entry), and the views rebuilt from the Mvcc: the watch hub
// (fed by every apply), the membership (MemberStore), the lease table
// (Lessor), the alarms (AlarmStore) and users and roles (AuthStore).
// Everything that replaces the LevelDB directory under a running member
// (installing a leader's snapshot, defragmentation in the simulator) goes
// through Replace(), which reopens the
// Mvcc and re-points every view in one place; holders keep their
// references to the views, which outlive the swap.
//
// LevelDB runs synchronously on the caller's loop (its background work on a
// thread in production, queued on the loop in the simulator). Only
// Defragment() and LiveBytes() suspend: in production they run their long
// LevelDB work off the loop (Env::RunBlocking) while the loop keeps using
// the database; Replace() must not run meanwhile (WaitOffLoopIdle()), and
// their callers must not be destroyed while they run (they are root tasks
// of the member, counted by its MemberLife; node/defragmenter.h).
// LevelDB's types stay inside key_space.cc.
#ifndef KEEL_NODE_KEY_SPACE_H_
#define KEEL_NODE_KEY_SPACE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/alarm_store.h"
#include "node/auth_store.h"
#include "node/lessor.h"
#include "node/member_store.h"
#include "node/mvcc_metrics.h"
#include "node/watch_hub.h"
#include "runtime/env.h"
#include "runtime/sync.h"
#include "runtime/task.h"
#include "store/leveldb_background.h"
#include "store/mvcc.h"

namespace keel::store {
class LevelDbEnv;
}

namespace keel::node {

struct KeySpaceOptions {
  KeySpaceOptions() {}
  // The LevelDB directory ("<data-dir>/member/kv").
  std::string dir;
  store::LevelDbBackground leveldb_background = store::LevelDbBackground::kThread;
  // The memtable size. Small in the simulator (see store/leveldb_db.h).
  size_t leveldb_write_buffer_bytes = 16 << 20;
  // Revisions removed per physical compaction step (--experimental-
  // compaction-batch-limit).
  int compaction_batch_limit = 1000;
  LessorOptions lessor;
};

// The identity a snapshot install writes into the new key space: the
// installing member's own, not the sender's.
struct KeySpaceIdentity {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
};

class KeySpace {
 public:
  // Opens (creating) the key space in options.dir, first finishing or
  // undoing a directory swap a crash interrupted, and loads the views.
  // Errors: LevelDB's, DataLoss for malformed metadata or records.
  static absl::StatusOr<std::unique_ptr<KeySpace>> Open(Env& env, KeySpaceOptions options);
  // Without Close(): a kill. LevelDB's teardown writes nothing more.
  ~KeySpace();
  KeySpace(const KeySpace&) = delete;
  KeySpace& operator=(const KeySpace&) = delete;

  store::Mvcc& mvcc() { return *mvcc_; }
  const store::Mvcc& mvcc() const { return *mvcc_; }
  WatchHub& watch_hub() { return *watch_hub_; }
  MemberStore& members() { return *members_; }
  const MemberStore& members() const { return *members_; }
  Lessor& lessor() { return *lessor_; }
  const Lessor& lessor() const { return *lessor_; }
  AlarmStore& alarms() { return *alarms_; }
  const AlarmStore& alarms() const { return *alarms_; }
  AuthStore& auth() { return *auth_; }
  const AuthStore& auth() const { return *auth_; }
  // Requests counted as etcd's mvcc metrics count them; kept across
  // Replace().
  MvccMetrics& mvcc_metrics() { return mvcc_metrics_; }
  const MvccMetrics& mvcc_metrics() const { return mvcc_metrics_; }

  // Installs the snapshot file `file` (a leader's key space, written by
  // WriteSnapshotFile) as the key space at raft index >= `index`: builds it
  // beside the live one, writes `identity` into it, makes it durable, then
  // Replace()s. OK without change if the key space already holds `index`.
  // DataLoss if the file is damaged, from another cluster, or older than
  // `index`; LevelDB's errors. After an error the live key space is the old
  // one, unless Replace() failed (then the member must stop).
  absl::Status InstallSnapshot(const std::string& file, uint64_t index,
                               KeySpaceIdentity identity);

  // Closes the live key space (store::Mvcc::Close: snapshots being
  // streamed from it abandon it), moves the complete LevelDB directory
  // `fresh_dir` into its place (crash-safe: see SwapKeySpace) and reopens
  // it; the watch hub, members, lessor and alarms then read the new one.
  // Errors: the swap's and the reopen's; the member must stop then, and
  // until it has, mvcc() is the closed store, which answers every call
  // with Unavailable and keeps its last revision (never a dangling one).
  absl::Status Replace(const std::string& fresh_dir);

  // Defragmentation, online: drops what overwrites, deletes and MVCC
  // compaction left behind in LevelDB, so the files on disk shrink to the
  // live data (etcd's defrag rewrites its bbolt file for the same reason,
  // but stops the member meanwhile). Production: LevelDB's CompactRange over
  // the whole key range on the I/O pool while the loop keeps reading and
  // writing. Simulator (no LevelDB thread to wait for): a copy of every
  // live entry into a fresh directory and Replace(), without suspending, so
  // no write falls between. LevelDB's errors.
  Task<absl::Status> Defragment();
  // Bytes of the live LevelDB entries, keys plus values (store::MvccDb::
  // LiveBytes): what the key space would take on disk right after a
  // Defragment(), before LevelDB's framing. This is "in use" for Status's
  // dbSizeInUse, against SizeBytes()'s files on disk. A scan of the whole
  // key space, off the loop in production.
  Task<absl::StatusOr<int64_t>> LiveBytes();
  // Waits until no Defragment() or LiveBytes() runs off the loop (before
  // Replace()). Suspends.
  Task<void> WaitOffLoopIdle();
  bool off_loop_busy() const { return off_loop_jobs_ > 0; }

  // One synced write: everything applied so far survives a crash.
  absl::Status SyncBarrier() { return mvcc_->SyncBarrier(); }

  // A clean stop: syncs and lets LevelDB close its files normally when the
  // key space is destroyed. Returns the sync's error (logged by the caller).
  absl::Status Close();

  // Bytes of the LevelDB files on disk (etcd's backend size). Read from the
  // file system at most every kSizeRefresh (the quota asks on every write).
  int64_t SizeBytes() const;

  const std::string& dir() const { return options_.dir; }

 private:
  KeySpace(Env& env, KeySpaceOptions options);
  store::MvccOptions MvccOptionsAt(std::string path) const;
  // Opens the Mvcc in options_.dir and (re)attaches every view to it.
  // With `same_state` (a defragmented copy of the live store) the lessor
  // keeps its leader's expiry state: only the store behind it changed.
  absl::Status OpenMvcc(bool same_state = false);
  absl::Status SwapIn(const std::string& fresh_dir, bool same_state);
  // The simulator's Defragment(): copies the live entries into a fresh
  // directory and swaps it in, all without suspending.
  absl::Status DefragmentByCopy();

  Env& env_;
  const KeySpaceOptions options_;
  std::unique_ptr<store::LevelDbEnv> leveldb_env_;
  std::unique_ptr<store::Mvcc> mvcc_;
  // Stores closed by Replace(), kept until the key space goes: whoever
  // still points at one (a snapshot stream, a view) gets errors, not a
  // dangling pointer. One per replacement; each holds no database.
  std::vector<std::unique_ptr<store::Mvcc>> retired_;
  // The views: created once, re-pointed by Replace().
  std::unique_ptr<WatchHub> watch_hub_;
  std::unique_ptr<MemberStore> members_;
  std::unique_ptr<Lessor> lessor_;
  std::unique_ptr<AlarmStore> alarms_;
  std::unique_ptr<AuthStore> auth_;
  bool closed_ = false;
  MvccMetrics mvcc_metrics_;
  // Defragment() and LiveBytes() calls whose LevelDB work runs off the loop.
  int off_loop_jobs_ = 0;
  WaitQueue off_loop_done_;
  // Where the pool writes the result of each LiveBytes() running (a list:
  // stable addresses).
  std::list<absl::StatusOr<int64_t>> live_bytes_;
  mutable int64_t size_bytes_ = 0;
  mutable std::optional<TimePoint> size_read_at_;
};

// How long KeySpace::SizeBytes() keeps a figure.
inline constexpr Duration kKeySpaceSizeRefresh = Milliseconds(100);

}  // namespace keel::node

#endif  // KEEL_NODE_KEY_SPACE_H_
