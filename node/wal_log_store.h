// WalLogStore: the LogStore of a real member, on WalRaftStorage.
#ifndef KEEL_NODE_WAL_LOG_STORE_H_
#define KEEL_NODE_WAL_LOG_STORE_H_

#include <memory>

#include "node/log_store.h"
#include "node/wal_raft_storage.h"
#include "runtime/sync.h"

namespace keel::node {

class WalLogStore final : public LogStore {
 public:
  // `no_fsync` is --unsafe-no-fsync: entries and hard states are written
  // but not synced (data loss on power failure, as etcd warns); see
  // WalRaftStorage::set_unsafe_no_fsync for what is still synced.
  WalLogStore(std::unique_ptr<WalRaftStorage> storage, bool no_fsync)
      : storage_(std::move(storage)) {
    storage_->set_unsafe_no_fsync(no_fsync);
  }

  raft::Storage& storage() override { return *storage_; }
  const metrics::Histogram* fsync_seconds() const override {
    return &storage_->fsync_seconds();
  }

  // The raft loop saves while the apply loop compacts; the WAL takes one
  // caller at a time, so the two take turns.
  Task<absl::Status> Save(const raft::Ready& ready) override {
    Mutex::Guard guard = co_await lock_.Lock();
    co_return co_await storage_->Save(
        ready.hard_state.value_or(raftpb::HardState{}), ready.entries,
        ready.snapshot.value_or(raftpb::Snapshot{}), ready.must_sync);
  }

  Task<absl::Status> Compact(uint64_t index, raft::ConfState conf_state) override {
    Mutex::Guard guard = co_await lock_.Lock();
    co_return co_await storage_->Compact(index, std::move(conf_state));
  }

  WalRaftStorage& wal_storage() { return *storage_; }

 private:
  std::unique_ptr<WalRaftStorage> storage_;
  Mutex lock_;
};

}  // namespace keel::node

#endif  // KEEL_NODE_WAL_LOG_STORE_H_
