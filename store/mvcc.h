// Mvcc: etcd's multi-version key space on LevelDB.
//
// The model is etcd's (seeds/004 "data model"; etcd 3.4 mvcc/): every
// change gets a revision {main, sub}; each write request (put, delete
// range, txn, lease revoke) that changes anything takes the next main
// revision, starting from 1 on an empty store; each key carries its
// create_revision, mod_revision, version and lease; a delete ends the key's
// generation with a tombstone; ranges read any revision not yet compacted.
// The table layout is in key_codec.h: the latest version of every key is
// stored by key, so reads at the current revision never consult history,
// and no index of keys lives in memory.
//
// Applies. Every write method takes the raft entry it applies and writes
// that entry's index and term in the same LevelDB WriteBatch as its
// changes, unsynced. An entry at or below applied().index is refused with
// ErrAlreadyApplied and changes nothing, so replaying the log after a crash
// is safe. A request that fails (ErrKeyNotFound, ErrCompacted, ...) still
// consumes its entry; entries that change nothing are recorded in memory
// and reach disk with the next write or SyncBarrier(). SyncBarrier() makes
// everything applied so far durable with one synced write.
//
// Errors other than those in mvcc_errors.h come from LevelDB (Internal, or
// DataLoss on corruption); after one from a write method the in-memory
// state is unchanged but the server must not go on applying.
//
// Single-threaded; nothing here suspends. Each call runs LevelDB
// synchronously, with the after_db_call hook after every DB call.
#ifndef KEEL_STORE_MVCC_H_
#define KEEL_STORE_MVCC_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/failpoints.h"
#include "store/mvcc_db.h"
#include "store/mvcc_types.h"
#include "store/revision.h"

namespace keel::store {

class Mvcc;
class MvccWrite;

#if KEEL_FAILPOINTS
namespace failpoints {
// What Txn would return if `request` were applied to `mvcc` now, without
// applying it: no entry consumed, nothing written, no events. Txn's errors.
// Only the cluster scenario's deliberate ack-before-sync defect uses it
// (node::failpoints::ServerBugs); a correct server answers from the applied
// result. Failpoint build only (runtime/failpoints.h).
absl::StatusOr<TxnResult> PreviewTxn(Mvcc& mvcc, const TxnRequest& request);
}  // namespace failpoints
#endif

class Mvcc {
 public:
  // Opens or creates the store at options.path and reads back its applied
  // entry, revisions, leases and any unfinished compaction. Errors: LevelDB's,
  // DataLoss if the metadata is malformed.
  static absl::StatusOr<std::unique_ptr<Mvcc>> Open(MvccOptions options);
  // Opens the store on an already opened database (snapshot restore).
  static absl::StatusOr<std::unique_ptr<Mvcc>> Open(MvccOptions options,
                                                    std::unique_ptr<MvccDb> db);
  ~Mvcc();
  Mvcc(const Mvcc&) = delete;
  Mvcc& operator=(const Mvcc&) = delete;

  // The revision of the latest change (1 on an empty store).
  int64_t current_revision() const { return current_revision_; }
  // The revision compacted at; -1 if never (etcd's initial value).
  int64_t compact_revision() const { return compact_revision_; }
  // The last raft entry applied (recorded in memory; on disk once written).
  EntryId applied() const { return applied_; }

  // Receives the events of every apply that changes keys. Not owned; null
  // to stop.
  void SetListener(MvccListener* listener) { listener_ = listener; }

  // ---- reads (no raft entry) ----

  // etcd's Range at the current revision or a past one. Errors:
  // ErrEmptyKey, ErrFutureRev, ErrCompacted, LevelDB's.
  absl::StatusOr<RangeResult> Range(const RangeRequest& request);

  // Every change with a revision in (after_revision, until_revision] to a
  // key in [key, range_end) (etcd's range_end rules), in revision order;
  // stops after the main revision at which `max_events` is reached, and
  // reports the last revision covered so the caller can continue from it.
  // until_revision 0 means the current revision. ErrCompacted if
  // after_revision + 1 is below the compacted revision; at the compacted
  // revision itself deletions are gone and prev_kv is left out, as in etcd.
  // ErrFutureRev if until_revision is past the current one.
  absl::StatusOr<EventBatch> Events(std::string_view key,
                                    std::string_view range_end,
                                    int64_t after_revision,
                                    int64_t until_revision, size_t max_events);

  // A txn whose operations are all ranges (IsReadOnlyTxn), served without
  // a raft entry as etcd serves it. InvalidArgument if it writes; otherwise
  // Txn's errors.
  absl::StatusOr<TxnResult> ReadOnlyTxn(const TxnRequest& request);

  // etcd's HashKV: CRC-32C of the key bucket as etcd lays it out (revision
  // bytes and marshaled KeyValue of every change up to `revision`, leaving
  // out what compaction removes), so it matches etcd's value for the same
  // history. 0 = the current revision. ErrCompacted if revision is at or
  // below the compacted revision; ErrFutureRev past the current one.
  absl::StatusOr<KvHash> HashKV(int64_t revision);
  // CRC-32C of the current key space (every live key's KeyValue in key
  // order). Equal on members at equal revision whatever their compaction
  // progress.
  absl::StatusOr<KvHash> Hash();

  // The keys attached to `lease`, in key order.
  absl::StatusOr<std::vector<std::string>> KeysOfLease(int64_t lease);
  // The persisted lease table, by id.
  absl::StatusOr<std::vector<LeaseRecord>> Leases();

  // ---- applies (each takes its raft entry; ErrAlreadyApplied if old) ----

  // etcd's Put. Errors: ErrEmptyKey, ErrValueProvided, ErrLeaseProvided,
  // ErrLeaseNotFound (lease not in the lease table), ErrKeyNotFound
  // (ignore_value/ignore_lease on a missing key).
  absl::StatusOr<PutResult> Put(EntryId entry, const PutRequest& request);
  // etcd's DeleteRange; takes a revision only if it deletes something.
  absl::StatusOr<DeleteRangeResult> DeleteRange(
      EntryId entry, const DeleteRangeRequest& request);
  // etcd's Txn: compares on the state before the txn, then one branch, all
  // at one revision (none if nothing changes); later operations see earlier
  // ones. Errors, before anything runs: CheckTxn's, and for operations on
  // the chosen path ErrKeyNotFound, ErrLeaseNotFound, ErrFutureRev,
  // ErrCompacted.
  absl::StatusOr<TxnResult> Txn(EntryId entry, const TxnRequest& request);
  // Schedules compaction at `revision` and returns the current revision.
  // The removal itself is CompactStep()'s. ErrCompacted if revision is at
  // or below the compacted revision; ErrFutureRev past the current one.
  absl::StatusOr<int64_t> Compact(EntryId entry, int64_t revision);
  // Grants or checkpoints leases: stores each record, replacing any with
  // the same id.
  absl::Status PutLeases(EntryId entry, std::span<const LeaseRecord> leases);
  // Deletes the keys attached to `lease` (in key order, at one revision)
  // and the lease itself. ErrLeaseNotFound if it is not in the table.
  absl::StatusOr<DeleteRangeResult> RevokeLease(EntryId entry, int64_t lease);
  // Records an entry that changes nothing here (conf changes, empty
  // entries, requests the server refused at apply).
  absl::Status SkipEntry(EntryId entry);

  // ---- compaction and durability (not raft entries) ----

  // True while a scheduled compaction still has revisions to remove.
  bool compaction_pending() const;
  // Removes up to compaction_batch_limit revisions' worth of superseded
  // versions in one write; true once the scheduled compaction is complete.
  // Reads at or above the compacted revision are unaffected at any point.
  absl::StatusOr<bool> CompactStep();

  // One synced write recording applied(): everything applied so far
  // survives a crash.
  absl::Status SyncBarrier();

  // The database, for snapshots (mvcc_snapshot.h).
  MvccDb* db() { return db_.get(); }

  // Closes the database under everyone who still points at this store (the
  // key space is being replaced): snapshots being streamed abandon it, and
  // every later call fails with Unavailable "mvcc: the key space is closed"
  // while the revision figures keep their last values. Idempotent.
  void Close() { db_->Close(); }
  bool closed() const { return db_->closed(); }

 private:
#if KEEL_FAILPOINTS
  friend absl::StatusOr<TxnResult> failpoints::PreviewTxn(Mvcc& mvcc,
                                                          const TxnRequest& request);
#endif

  explicit Mvcc(MvccOptions options, std::unique_ptr<MvccDb> db);

  absl::Status Load();
  // ErrAlreadyApplied unless `entry` follows applied().
  absl::Status CheckEntry(EntryId entry) const;
  // For a request the store refuses: the entry is consumed unless the
  // error is the DB's.
  absl::Status Refuse(EntryId entry, absl::Status status);
  std::unique_ptr<MvccWrite> BeginWrite(bool track_overlay);
  // Writes the staged changes (if any) with the applied entry and the new
  // revision, then publishes them: revision, applied entry, events.
  absl::Status Commit(EntryId entry, MvccWrite* write, bool force);
  void StageCompactMeta(MvccWrite* write, int64_t compact_revision) const;

  // Txn and ReadOnlyTxn: checks, then the ops at the next revision. The
  // caller commits. Errors are the request's or the DB's.
  absl::StatusOr<TxnResult> RunTxn(const TxnRequest& request,
                                   MvccWrite* write);
  absl::StatusOr<TxnResult> ApplyTxn(MvccWrite* write, const TxnRequest& t,
                                     const std::vector<bool>& path,
                                     size_t* path_index, bool top);
  absl::StatusOr<PutResult> ApplyPut(MvccWrite* write, const PutRequest& r);
  absl::StatusOr<DeleteRangeResult> ApplyDelete(MvccWrite* write,
                                                const DeleteRangeRequest& r);
  // etcd's checkRequests over the ops on `path`: the puts' (check_puts) or
  // the ranges' preconditions.
  absl::Status CheckTxnPath(const TxnRequest& t, const std::vector<bool>& path,
                            size_t* path_index, bool check_puts);
  absl::Status CheckLease(int64_t lease) const;

  // The version of `key` written at exactly `rev` (a put), from 'l' or 'h'.
  absl::StatusOr<KeyValue> VersionAt(std::string_view key, Revision rev);

  MvccOptions options_;
  std::unique_ptr<MvccDb> db_;
  MvccListener* listener_ = nullptr;
  EntryId applied_;
  int64_t current_revision_ = 1;
  int64_t compact_revision_ = -1;
  // The first revision CompactStep() has not yet processed.
  Revision compact_next_{0, 0};
  absl::btree_set<int64_t> lease_ids_;
};

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_H_
