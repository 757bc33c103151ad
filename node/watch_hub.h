// WatchHub: every watcher of a member, fed by the Mvcc (etcd's
// watchableStore), and WatchStream: one client stream's watchers and the
// bounded queue of responses its writer drains (etcd's watchStream).
//
// Delivery. The hub is the Mvcc's listener: after each apply it gives the
// revision's events to every *synced* watcher whose range holds them, one
// response per watcher per revision (never split), with NOPUT/NODELETE
// filters applied. Responses go into the watcher's stream queue, which holds
// at most `stream_buffer_responses` event responses (etcd's chanBufLen).
//
// Catch-up. A watcher created with a start revision at or below the
// current one is *unsynced*: Run(), a background task, reads its history
// with Mvcc::Events in batches of at most `max_events_per_sync` events
// (whole revisions) for at most `max_watchers_per_sync` watchers per step,
// yielding between steps so applies are never held up for long. Everything
// is single-threaded and a step does not suspend, so a watcher that reads
// history up to the current revision R and joins the synced set in the
// same step gets R + 1 from the next apply: no gap, no duplicate. A watcher
// whose next revision is below the compacted revision gets one response
// with compact_revision set and ends (etcd: minRev < compactRev; the
// compacted revision itself is still readable).
//
// Slow consumers. Nothing here waits on a consumer. A watcher whose stream
// queue is full when it has something to deliver becomes a *victim*: it
// leaves the synced set and remembers the first revision it missed. Once
// its stream's writer has drained the queue to half, its victims rejoin the
// unsynced set and catch up from history exactly where they stopped (or
// learn that it was compacted meanwhile). Other watchers, on other streams,
// are not affected.
//
// Merging. While a watcher's event response still waits in its stream's
// queue, the events of its later revisions join that response (as further
// event batches, whole revisions in order) instead of taking queue slots of
// their own, up to max_merged_event_bytes; a control or progress response for
// the watcher closes it to merging, so nothing overtakes it. A busy stream
// thus sends fewer, larger responses, as etcd's catch-up does, and its
// watchers fall behind into history reads less often. Events only ever
// move earlier in the stream, never later: every stream-wide progress
// response still follows everything it vouches for.
//
// Progress. RequestProgressAll answers (watch_id -1, the current revision)
// only when every live watcher of the stream is synced, because then every
// event up to that revision is already ahead of it in the queue; otherwise
// it is deferred until they are (etcd 3.4.25+/3.5's fix for issue 15220).
// Progress responses are dropped, not made victims, when the queue is full.
//
// The hub and its streams are single-threaded; only Run(), Next() and
// WaitForRoom() suspend. A stream must be destroyed before its hub, or the
// hub detaches it on destruction and the stream refuses new watches.
#ifndef KEEL_NODE_WATCH_HUB_H_
#define KEEL_NODE_WATCH_HUB_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/watch_group.h"
#include "runtime/executor.h"
#include "runtime/task.h"
#include "store/mvcc.h"
#include "store/mvcc_types.h"

namespace keel::node {

// etcd's clientv3.AutoWatchID: a create with this id gets the stream's
// next free id.
inline constexpr int64_t kAutoWatchId = 0;
// etcd's clientv3.InvalidWatchID: the id of a failed create's response and
// of a progress response meant for every watcher of the stream.
inline constexpr int64_t kInvalidWatchId = -1;

// Events of one response, immutable and shared by every watcher that gets
// exactly these (prev_kv is always present when the store had one; the
// writer drops it for watchers that did not ask).
using WatchEvents = std::shared_ptr<const std::vector<store::Event>>;

// One message for a stream, without its header (the service adds cluster,
// member and term; `revision` becomes the header revision).
struct WatchResponse {
  WatchResponse() {}
  int64_t watch_id = 0;
  int64_t revision = 0;
  int64_t compact_revision = 0;
  bool created = false;
  bool canceled = false;
  std::string cancel_reason;
  WatchEvents events;     // null: no events (control or progress)
  // Later revisions' events merged in while queued (see Merging), in order.
  std::vector<WatchEvents> more_events;
  size_t merged_bytes = 0;  // key and value bytes of every event, once merged
  bool prev_kv = false;   // the watcher asked for prev_kv
  bool fragment = false;  // the watcher allows fragmented responses
};

// A create request, as WatchCreateRequest carries it.
struct WatchOptions {
  WatchOptions() {}
  int64_t id = kAutoWatchId;
  // As the wire has them: an empty key means "\0"; range_end "" watches
  // the key alone, "\0" every key >= key, anything else [key, range_end).
  std::string key;
  std::string range_end;
  // 0: from the next revision. A future revision waits for it.
  int64_t start_revision = 0;
  bool no_put = false;
  bool no_delete = false;
  bool prev_kv = false;
  bool fragment = false;
  bool progress_notify = false;
};

struct WatchHubOptions {
  WatchHubOptions() {}
  // Event responses a stream queues before its watchers become victims
  // (etcd's chanBufLen).
  size_t stream_buffer_responses = 128;
  // Unsynced watchers one catch-up step serves (etcd's maxWatchersPerSync).
  size_t max_watchers_per_sync = 512;
  // Events one history read returns, rounded up to a whole revision.
  size_t max_events_per_sync = 1000;
  // Later revisions join a watcher's queued event response (see Merging)
  // while its events' keys and values stay within this many bytes; 0 turns
  // merging off (one response per revision, as the tests of delivery and
  // victims want). Below the 4 MiB gRPC clients accept by default.
  size_t max_merged_event_bytes = 1 << 20;
};

class WatchStream;

class WatchHub final : public store::MvccListener {
 public:
  // `mvcc` is not owned and must outlive the hub (or be replaced with
  // Restore). The caller registers the hub: mvcc->SetListener(&hub).
  explicit WatchHub(store::Mvcc* mvcc, WatchHubOptions options = {});
  ~WatchHub() override;
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Delivers one apply's events to the synced watchers. Never suspends or
  // calls into the Mvcc.
  void OnApply(int64_t revision, std::span<const store::Event> events) override;

  // The catch-up loop. Spawn it once in the server's process; it never
  // returns (destroying its frame stops it).
  Task<void> Run();

  // A new stream. Owned by the caller; destroying it removes its watchers.
  std::unique_ptr<WatchStream> NewStream();

  // After the store was replaced (snapshot restore): every synced watcher
  // catches up against `mvcc` from its next revision, as etcd's Restore.
  void Restore(store::Mvcc* mvcc);

  int64_t current_revision() const { return mvcc_->current_revision(); }
  const WatchHubOptions& options() const { return options_; }

  size_t watcher_count() const { return watcher_count_; }
  size_t synced_count() const { return synced_.size(); }
  size_t unsynced_count() const { return unsynced_.size(); }
  size_t victim_count() const { return victim_count_; }
  size_t stream_count() const { return streams_.size(); }

 private:
  friend class WatchStream;

  // Adds a new watcher to the synced or the unsynced set.
  void AddWatcher(Watcher* watcher);
  // Takes `watcher` out of whichever set holds it.
  void RemoveWatcher(Watcher* watcher);
  void MakeVictim(Watcher* watcher, int64_t missed_revision);
  void MakeUnsynced(Watcher* watcher);
  void MakeSynced(Watcher* watcher);
  // Victims of `stream` rejoin the unsynced set.
  void ResumeVictims(WatchStream* stream);

  // One catch-up step over up to max_watchers_per_sync unsynced watchers.
  void SyncStep();
  // Serves one group of unsynced watchers with the same range and next
  // revision from one history read.
  void SyncGroup(const std::vector<Watcher*>& group);

  store::Mvcc* mvcc_;
  const WatchHubOptions options_;
  WatcherGroup synced_;
  absl::btree_map<uint64_t, Watcher*> unsynced_;  // by serial
  // Where the next catch-up step starts, so that watchers with long
  // histories do not starve the others.
  uint64_t sync_cursor_ = 0;
  WaitQueue sync_waiters_;
  std::map<uint64_t, WatchStream*> streams_;
  uint64_t next_serial_ = 1;
  // The revision of the latest apply seen: synced watchers have everything
  // up to it.
  int64_t last_revision_ = 0;
  size_t watcher_count_ = 0;
  size_t victim_count_ = 0;

  // OnApply scratch, kept to reuse its memory.
  struct Match {
    WatcherSet* set;
    std::vector<store::Event> events;
  };
  std::vector<Match> matches_;
  std::vector<Watcher*> new_victims_;
  uint64_t apply_stamp_ = 0;
};

class WatchStream {
 public:
  ~WatchStream();
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Starts a watcher and returns its id. Errors (etcd's, as the create
  // response's cancel_reason): InvalidArgument "mvcc: watcher range is
  // empty" if range_end is set and not after key; AlreadyExists "mvcc:
  // duplicate watch ID provided on the WatchStream" if options.id is in use;
  // Unavailable if the hub is gone. Queues nothing: the caller queues the
  // created response (with Enqueue) before anything can be delivered.
  absl::StatusOr<int64_t> Watch(WatchOptions options);

  // Removes watcher `id`. NotFound "mvcc: watcher does not exist" if there
  // is none. Responses already queued for it stay queued.
  absl::Status Cancel(int64_t id);

  // Queues a progress response for watcher `id` if it is synced and the
  // queue has room (etcd's RequestProgress).
  void RequestProgress(int64_t id);
  // Queues a progress response for the whole stream (watch_id -1) once
  // every live watcher is synced: now if they are, otherwise when they are.
  // Nothing is sent for a stream without watchers (as etcd).
  void RequestProgressAll();
  // The progress_notify tick: each watcher that asked for progress_notify
  // and got no events since the previous tick gets a progress response.
  void ProgressTick();

  // Queues a control response (created, canceled). Never fails; callers
  // bound these by awaiting WaitForRoom() first.
  void Enqueue(WatchResponse response);
  // Suspends while the queue is at capacity.
  Task<void> WaitForRoom();
  // The next response, suspending while there is none.
  Task<WatchResponse> Next();
  std::optional<WatchResponse> TryNext();

  // The hub's current revision (0 once detached).
  int64_t current_revision() const;
  size_t queued() const { return queue_.size(); }
  size_t watcher_count() const { return watchers_.size(); }
  bool has_watcher(int64_t id) const { return watchers_.count(id) != 0; }
  // The watcher's state, for tests and introspection.
  std::optional<WatcherState> watcher_state(int64_t id) const;

 private:
  friend class WatchHub;
  explicit WatchStream(WatchHub* hub, uint64_t serial)
      : hub_(hub), serial_(serial) {}

  // Queues an event (or compaction) response unless the queue is full.
  bool TryPush(Watcher* watcher, WatchResponse response);
  // Queues a progress response unless the queue is full.
  bool TryPushProgress(int64_t watch_id);
  void Push(WatchResponse response);
  // Adds the events of `response` to its watcher's queued event response,
  // if there is one open to merging with room. Returns whether it did.
  bool MergeQueued(WatchResponse& response);
  // Answers a deferred RequestProgressAll if every watcher is now synced.
  void MaybeSendDeferredProgress();
  bool AllSynced() const;
  void Detach();

  WatchHub* hub_;
  const uint64_t serial_;
  std::map<int64_t, std::unique_ptr<Watcher>> watchers_;
  absl::btree_map<uint64_t, Watcher*> victims_;  // by serial
  int64_t next_id_ = 0;
  bool progress_deferred_ = false;
  std::deque<WatchResponse> queue_;
  uint64_t popped_ = 0;  // responses taken so far: the sequence of front()
  // Watch id -> sequence of its queued event response open to merging.
  absl::flat_hash_map<int64_t, uint64_t> open_events_;
  WaitQueue readers_;
  WaitQueue room_waiters_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_WATCH_HUB_H_
