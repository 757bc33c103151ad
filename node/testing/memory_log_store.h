// MemoryLogStore: a LogStore that keeps the raft log in memory only.
//
// For tests of the server's logic that never restart a member; nothing here
// survives the process. Production and the simulator use store/Wal.
#ifndef KEEL_NODE_TESTING_MEMORY_LOG_STORE_H_
#define KEEL_NODE_TESTING_MEMORY_LOG_STORE_H_

#include "node/log_store.h"
#include "raft/storage.h"

namespace keel::node {

class MemoryLogStore : public LogStore {
 public:
  raft::Storage& storage() override { return storage_; }

  Task<absl::Status> Save(const raft::Ready& ready) override {
    if (ready.snapshot.has_value()) {
      absl::Status status = storage_.ApplySnapshot(*ready.snapshot);
      if (!status.ok()) co_return status;
    }
    if (!ready.entries.empty()) {
      absl::Status status = storage_.Append(ready.entries);
      if (!status.ok()) co_return status;
    }
    if (ready.hard_state.has_value()) storage_.SetHardState(*ready.hard_state);
    saves_++;
    co_return absl::OkStatus();
  }

  Task<absl::Status> Compact(uint64_t index, raft::ConfState conf_state) override {
    auto snapshot = storage_.CreateSnapshot(index, &conf_state, "");
    if (!snapshot.ok()) co_return snapshot.status();
    co_return storage_.Compact(index);
  }

  int saves() const { return saves_; }

 private:
  raft::MemoryStorage storage_;
  int saves_ = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_TESTING_MEMORY_LOG_STORE_H_
