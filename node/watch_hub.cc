// WatchHub: synced delivery on apply, catch-up from history, victims.
// WatchStream: a stream's watchers, ids and response queue.
#include "node/watch_hub.h"

#include <algorithm>
#include <string_view>
#include <tuple>
#include <utility>

#include "node/errors.h"
#include "runtime/assert.h"

namespace keel::node {
namespace {

// The events of `all` that `watcher`'s filters let through; null if none.
WatchEvents Filter(const Watcher& watcher, const WatchEvents& all) {
  if (!watcher.no_put && !watcher.no_delete) return all;
  std::vector<store::Event> kept;
  for (const store::Event& event : *all) {
    if (watcher.no_put && event.type == store::EventType::kPut) continue;
    if (watcher.no_delete && event.type == store::EventType::kDelete) continue;
    kept.push_back(event);
  }
  if (kept.empty()) return nullptr;
  if (kept.size() == all->size()) return all;
  return std::make_shared<const std::vector<store::Event>>(std::move(kept));
}

WatchResponse EventResponse(const Watcher& watcher, int64_t revision,
                            WatchEvents events) {
  WatchResponse response;
  response.watch_id = watcher.id;
  response.revision = revision;
  response.events = std::move(events);
  response.prev_kv = watcher.prev_kv;
  response.fragment = watcher.fragment;
  return response;
}

constexpr std::string_view kNulKey("\0", 1);

// Whether later events of the same watcher may join this response.
bool Mergeable(const WatchResponse& response) {
  return response.events != nullptr && !response.created && !response.canceled &&
         response.compact_revision == 0 && !response.fragment &&
         response.cancel_reason.empty();
}

// Key and value bytes of `events` as the watcher gets them.
size_t EventBytes(const std::vector<store::Event>& events, bool with_prev_kv) {
  size_t bytes = 0;
  for (const store::Event& event : events) {
    bytes += event.kv.key.size() + event.kv.value.size();
    if (with_prev_kv && event.prev_kv) {
      bytes += event.prev_kv->key.size() + event.prev_kv->value.size();
    }
  }
  return bytes;
}

}  // namespace

// ---- WatchHub ----------------------------------------------------------

WatchHub::WatchHub(store::Mvcc* mvcc, WatchHubOptions options)
    : mvcc_(mvcc), options_(options) {
  KEEL_ASSERT(mvcc_ != nullptr);
  KEEL_ASSERT(options_.stream_buffer_responses > 0);
  KEEL_ASSERT(options_.max_watchers_per_sync > 0);
  KEEL_ASSERT(options_.max_events_per_sync > 0);
  last_revision_ = mvcc_->current_revision();
}

WatchHub::~WatchHub() {
  for (auto& [serial, stream] : streams_) stream->Detach();
}

std::unique_ptr<WatchStream> WatchHub::NewStream() {
  const uint64_t serial = next_serial_++;
  std::unique_ptr<WatchStream> stream(new WatchStream(this, serial));
  streams_.emplace(serial, stream.get());
  return stream;
}

void WatchHub::OnApply(int64_t revision, std::span<const store::Event> events) {
  KEEL_ASSERT(revision > last_revision_);
  last_revision_ = revision;
  if (synced_.empty()) return;
  // Collect, per set of identical watchers, the events it matches, in the
  // order the apply made them.
  apply_stamp_++;
  matches_.clear();
  for (const store::Event& event : events) {
    synced_.ForEachMatch(event.kv.key, [&](WatcherSet* set) {
      if (set->stamp != apply_stamp_) {
        set->stamp = apply_stamp_;
        set->slot = matches_.size();
        matches_.push_back(Match{set, {}});
      }
      matches_[set->slot].events.push_back(event);
    });
  }
  new_victims_.clear();
  for (Match& match : matches_) {
    const WatchEvents all = std::make_shared<const std::vector<store::Event>>(
        std::move(match.events));
    for (const auto& [serial, watcher] : match.set->watchers) {
      KEEL_ASSERT(watcher->state == WatcherState::kSynced);
      if (revision < watcher->min_revision) continue;  // a future start
      WatchEvents mine = Filter(*watcher, all);
      if (mine == nullptr) continue;
      if (!watcher->stream->TryPush(
              watcher, EventResponse(*watcher, revision, std::move(mine)))) {
        new_victims_.push_back(watcher);
      }
    }
  }
  // Out of the loop: a victim leaves the set being iterated.
  for (Watcher* watcher : new_victims_) MakeVictim(watcher, revision);
}

Task<void> WatchHub::Run() {
  while (true) {
    if (unsynced_.empty()) {
      co_await sync_waiters_.Wait();
      continue;
    }
    SyncStep();
    // Let applies and writers run between steps.
    co_await Yield();
  }
}

void WatchHub::Restore(store::Mvcc* mvcc) {
  KEEL_ASSERT(mvcc != nullptr);
  mvcc_ = mvcc;
  // Synced watchers have everything up to last_revision_; the rest comes
  // from the new store's history (or they learn it is compacted).
  std::vector<Watcher*> synced;
  for (const auto& [serial, stream] : streams_) {
    for (const auto& [id, watcher] : stream->watchers_) {
      if (watcher->state == WatcherState::kSynced) synced.push_back(watcher.get());
    }
  }
  for (Watcher* watcher : synced) {
    synced_.Remove(watcher);
    watcher->min_revision = std::max(watcher->min_revision, last_revision_ + 1);
    MakeUnsynced(watcher);
  }
  last_revision_ = mvcc_->current_revision();
}

void WatchHub::AddWatcher(Watcher* watcher) {
  const int64_t current = mvcc_->current_revision();
  watcher_count_++;
  if (watcher->min_revision == 0 || watcher->min_revision > current) {
    watcher->min_revision = std::max(watcher->min_revision, current + 1);
    MakeSynced(watcher);
  } else {
    MakeUnsynced(watcher);
  }
}

void WatchHub::RemoveWatcher(Watcher* watcher) {
  KEEL_ASSERT(watcher_count_ > 0);
  switch (watcher->state) {
    case WatcherState::kSynced:
      synced_.Remove(watcher);
      break;
    case WatcherState::kUnsynced: {
      const size_t erased = unsynced_.erase(watcher->serial);
      KEEL_ASSERT(erased == 1);
      break;
    }
    case WatcherState::kVictim: {
      const size_t erased = watcher->stream->victims_.erase(watcher->serial);
      KEEL_ASSERT(erased == 1);
      KEEL_ASSERT(victim_count_ > 0);
      victim_count_--;
      break;
    }
    case WatcherState::kEnded:
      break;
  }
  watcher_count_--;
}

void WatchHub::MakeVictim(Watcher* watcher, int64_t missed_revision) {
  KEEL_ASSERT(watcher->state == WatcherState::kSynced ||
              watcher->state == WatcherState::kUnsynced);
  if (watcher->state == WatcherState::kSynced) {
    synced_.Remove(watcher);
  } else {
    unsynced_.erase(watcher->serial);
  }
  watcher->state = WatcherState::kVictim;
  watcher->min_revision = missed_revision;
  watcher->stream->victims_.emplace(watcher->serial, watcher);
  victim_count_++;
}

void WatchHub::MakeUnsynced(Watcher* watcher) {
  watcher->state = WatcherState::kUnsynced;
  const bool inserted = unsynced_.emplace(watcher->serial, watcher).second;
  KEEL_ASSERT(inserted);
  if (!sync_waiters_.empty()) sync_waiters_.WakeAll();
}

void WatchHub::MakeSynced(Watcher* watcher) {
  KEEL_ASSERT(watcher->min_revision > mvcc_->current_revision());
  watcher->state = WatcherState::kSynced;
  synced_.Add(watcher);
  watcher->stream->MaybeSendDeferredProgress();
}

void WatchHub::ResumeVictims(WatchStream* stream) {
  std::vector<Watcher*> victims;
  for (const auto& [serial, watcher] : stream->victims_) {
    victims.push_back(watcher);
  }
  stream->victims_.clear();
  KEEL_ASSERT(victim_count_ >= victims.size());
  victim_count_ -= victims.size();
  for (Watcher* watcher : victims) MakeUnsynced(watcher);
}

void WatchHub::SyncStep() {
  // Up to max_watchers_per_sync watchers, from the cursor round to it.
  std::vector<Watcher*> chosen;
  for (auto it = unsynced_.lower_bound(sync_cursor_);
       it != unsynced_.end() && chosen.size() < options_.max_watchers_per_sync;
       ++it) {
    chosen.push_back(it->second);
  }
  for (auto it = unsynced_.begin();
       it != unsynced_.end() && it->first < sync_cursor_ &&
       chosen.size() < options_.max_watchers_per_sync;
       ++it) {
    chosen.push_back(it->second);
  }
  KEEL_ASSERT(!chosen.empty());
  sync_cursor_ = chosen.back()->serial + 1;
  // Watchers with the same range and next revision share one read.
  using GroupKey = std::tuple<std::string_view, std::string_view, int64_t>;
  absl::btree_map<GroupKey, std::vector<Watcher*>> groups;
  for (Watcher* watcher : chosen) {
    groups[GroupKey(watcher->key, watcher->range_end, watcher->min_revision)]
        .push_back(watcher);
  }
  for (const auto& [key, group] : groups) SyncGroup(group);
}

void WatchHub::SyncGroup(const std::vector<Watcher*>& group) {
  const int64_t current = mvcc_->current_revision();
  const int64_t compacted = mvcc_->compact_revision();
  const Watcher& first = *group.front();
  const int64_t min_revision = first.min_revision;
  KEEL_ASSERT(min_revision > 0);
  if (min_revision > current) {
    // Possible after Restore to an older store: wait for the revision.
    for (Watcher* watcher : group) {
      unsynced_.erase(watcher->serial);
      MakeSynced(watcher);
    }
    return;
  }
  if (min_revision < compacted) {
    for (Watcher* watcher : group) {
      WatchResponse response;
      response.watch_id = watcher->id;
      response.compact_revision = compacted;
      response.canceled = true;
      if (watcher->stream->TryPush(watcher, std::move(response))) {
        unsynced_.erase(watcher->serial);
        watcher->state = WatcherState::kEnded;
      } else {
        MakeVictim(watcher, min_revision);
      }
    }
    return;
  }
  absl::StatusOr<store::EventBatch> batch =
      mvcc_->Events(first.key, first.range_end, min_revision - 1, current,
                    options_.max_events_per_sync);
  if (!batch.ok()) {
    // The store failed to read its own history: end these watchers with
    // the reason rather than skip revisions silently.
    for (Watcher* watcher : group) {
      WatchResponse response;
      response.watch_id = watcher->id;
      response.revision = current;
      response.canceled = true;
      response.cancel_reason = std::string(batch.status().message());
      watcher->stream->Push(std::move(response));
      unsynced_.erase(watcher->serial);
      watcher->state = WatcherState::kEnded;
    }
    return;
  }
  KEEL_ASSERT(batch->last_revision >= min_revision - 1);
  const int64_t next = batch->last_revision + 1;
  const WatchEvents all =
      std::make_shared<const std::vector<store::Event>>(std::move(batch->events));
  for (Watcher* watcher : group) {
    if (!all->empty()) {
      WatchEvents mine = Filter(*watcher, all);
      // etcd's header revision for catch-up responses is the current one.
      if (mine != nullptr &&
          !watcher->stream->TryPush(
              watcher, EventResponse(*watcher, current, std::move(mine)))) {
        MakeVictim(watcher, min_revision);
        continue;
      }
    }
    watcher->min_revision = next;
    if (next > current) {
      unsynced_.erase(watcher->serial);
      MakeSynced(watcher);
    }
  }
}

// ---- WatchStream -------------------------------------------------------

WatchStream::~WatchStream() {
  if (hub_ == nullptr) return;
  for (auto& [id, watcher] : watchers_) hub_->RemoveWatcher(watcher.get());
  KEEL_ASSERT(victims_.empty());
  hub_->streams_.erase(serial_);
}

void WatchStream::Detach() {
  hub_ = nullptr;
  victims_.clear();
  if (!room_waiters_.empty()) room_waiters_.WakeAll();
}

absl::StatusOr<int64_t> WatchStream::Watch(WatchOptions options) {
  if (hub_ == nullptr) return MakeError(EtcdError::kStopped);
  // As etcd's v3rpc: an empty key is the smallest key, "\0".
  if (options.key.empty()) options.key = std::string(1, '\0');
  if (!options.range_end.empty() && options.range_end != kNulKey &&
      options.key >= options.range_end) {
    return absl::InvalidArgumentError("mvcc: watcher range is empty");
  }
  int64_t id = options.id;
  if (id == kAutoWatchId) {
    while (watchers_.count(next_id_) != 0) next_id_++;
    id = next_id_++;
  } else if (watchers_.count(id) != 0) {
    return absl::AlreadyExistsError(
        "mvcc: duplicate watch ID provided on the WatchStream");
  }
  auto watcher = std::make_unique<Watcher>();
  watcher->serial = hub_->next_serial_++;
  watcher->id = id;
  watcher->stream = this;
  watcher->key = std::move(options.key);
  watcher->range_end = std::move(options.range_end);
  watcher->min_revision = std::max<int64_t>(options.start_revision, 0);
  watcher->no_put = options.no_put;
  watcher->no_delete = options.no_delete;
  watcher->prev_kv = options.prev_kv;
  watcher->fragment = options.fragment;
  watcher->progress_notify = options.progress_notify;
  Watcher* raw = watcher.get();
  watchers_.emplace(id, std::move(watcher));
  hub_->AddWatcher(raw);
  return id;
}

absl::Status WatchStream::Cancel(int64_t id) {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) {
    return absl::NotFoundError("mvcc: watcher does not exist");
  }
  if (hub_ != nullptr) hub_->RemoveWatcher(it->second.get());
  watchers_.erase(it);
  MaybeSendDeferredProgress();
  return absl::OkStatus();
}

void WatchStream::RequestProgress(int64_t id) {
  auto it = watchers_.find(id);
  if (it == watchers_.end() || hub_ == nullptr) return;
  if (it->second->state == WatcherState::kSynced) TryPushProgress(id);
}

void WatchStream::RequestProgressAll() {
  if (hub_ == nullptr || watchers_.empty() || progress_deferred_) return;
  progress_deferred_ = true;
  MaybeSendDeferredProgress();
}

void WatchStream::ProgressTick() {
  for (auto& [id, watcher] : watchers_) {
    if (!watcher->progress_notify) continue;
    if (watcher->progress_due) RequestProgress(id);
    watcher->progress_due = true;
  }
}

void WatchStream::MaybeSendDeferredProgress() {
  if (!progress_deferred_ || hub_ == nullptr) return;
  if (watchers_.empty()) {
    progress_deferred_ = false;
    return;
  }
  if (AllSynced() && TryPushProgress(kInvalidWatchId)) {
    progress_deferred_ = false;
  }
}

bool WatchStream::AllSynced() const {
  for (const auto& [id, watcher] : watchers_) {
    if (watcher->state != WatcherState::kSynced &&
        watcher->state != WatcherState::kEnded) {
      return false;
    }
  }
  return true;
}

bool WatchStream::TryPush(Watcher* watcher, WatchResponse response) {
  KEEL_ASSERT(hub_ != nullptr);
  if (MergeQueued(response)) {
    watcher->progress_due = false;
    return true;
  }
  if (queue_.size() >= hub_->options_.stream_buffer_responses) return false;
  if (response.events != nullptr) watcher->progress_due = false;
  Push(std::move(response));
  return true;
}

bool WatchStream::MergeQueued(WatchResponse& response) {
  if (hub_->options_.max_merged_event_bytes == 0 || !Mergeable(response)) return false;
  auto it = open_events_.find(response.watch_id);
  if (it == open_events_.end()) return false;
  KEEL_ASSERT(it->second >= popped_ && it->second - popped_ < queue_.size());
  WatchResponse& target = queue_[it->second - popped_];
  KEEL_ASSERT(target.watch_id == response.watch_id && Mergeable(target));
  if (target.merged_bytes == 0) {
    target.merged_bytes = EventBytes(*target.events, target.prev_kv);
  }
  const size_t bytes = EventBytes(*response.events, response.prev_kv);
  if (target.merged_bytes + bytes > hub_->options_.max_merged_event_bytes) return false;
  target.merged_bytes += bytes;
  target.more_events.push_back(std::move(response.events));
  target.revision = std::max(target.revision, response.revision);
  return true;
}

bool WatchStream::TryPushProgress(int64_t watch_id) {
  KEEL_ASSERT(hub_ != nullptr);
  if (queue_.size() >= hub_->options_.stream_buffer_responses) return false;
  WatchResponse response;
  response.watch_id = watch_id;
  response.revision = hub_->current_revision();
  Push(std::move(response));
  return true;
}

void WatchStream::Push(WatchResponse response) {
  if (Mergeable(response)) {
    open_events_[response.watch_id] = popped_ + queue_.size();
  } else {
    // Nothing of this watcher's may overtake this response.
    open_events_.erase(response.watch_id);
  }
  queue_.push_back(std::move(response));
  if (!readers_.empty()) readers_.WakeAll();
}

void WatchStream::Enqueue(WatchResponse response) { Push(std::move(response)); }

Task<void> WatchStream::WaitForRoom() {
  while (hub_ != nullptr &&
         queue_.size() >= hub_->options_.stream_buffer_responses) {
    co_await room_waiters_.Wait();
  }
}

Task<WatchResponse> WatchStream::Next() {
  while (queue_.empty()) co_await readers_.Wait();
  std::optional<WatchResponse> response = TryNext();
  KEEL_ASSERT(response.has_value());
  co_return std::move(*response);
}

std::optional<WatchResponse> WatchStream::TryNext() {
  if (queue_.empty()) return std::nullopt;
  WatchResponse response = std::move(queue_.front());
  queue_.pop_front();
  auto open = open_events_.find(response.watch_id);
  if (open != open_events_.end() && open->second == popped_) open_events_.erase(open);
  popped_++;
  if (hub_ != nullptr) {
    const size_t capacity = hub_->options_.stream_buffer_responses;
    if (queue_.size() < capacity && !room_waiters_.empty()) {
      room_waiters_.WakeAll();
    }
    // Victims come back once there is room for a good batch, not at the
    // first free slot, so they do not bounce in and out.
    if (!victims_.empty() && queue_.size() <= capacity / 2) {
      hub_->ResumeVictims(this);
    }
    MaybeSendDeferredProgress();
  }
  return response;
}

int64_t WatchStream::current_revision() const {
  return hub_ == nullptr ? 0 : hub_->current_revision();
}

std::optional<WatcherState> WatchStream::watcher_state(int64_t id) const {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return std::nullopt;
  return it->second->state;
}

}  // namespace keel::node
