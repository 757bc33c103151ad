// LogStore: the durable raft log of one member, as the raft loop uses it.
//
// store/Wal implements it on segment files; raft reads the log back through
// storage(). Save() is the persistence step of raft's Ready contract: it
// must be durable (when the Ready says must_sync) before any message of that
// Ready is sent.
#ifndef KEEL_NODE_LOG_STORE_H_
#define KEEL_NODE_LOG_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "raft/raw_node.h"
#include "raft/storage.h"
#include "runtime/metrics.h"
#include "runtime/task.h"

namespace keel::node {

class LogStore {
 public:
  virtual ~LogStore() = default;

  // What raft reads its stable log from. Lives as long as the LogStore.
  virtual raft::Storage& storage() = 0;

  // The time of each fsync of the log, if it keeps one (for /metrics).
  virtual const metrics::Histogram* fsync_seconds() const { return nullptr; }

  // Persists a Ready's snapshot (if any), entries (truncating a conflicting
  // tail) and hard state (if any), with one sync when `must_sync`. Suspends
  // for the sync. An error means nothing after the last good Save may be
  // assumed durable: the member must stop.
  virtual Task<absl::Status> Save(const raft::Ready& ready) = 0;

  // Records that the state machine durably holds everything up to `index`,
  // whose configuration is `conf_state`: raft's snapshot moves there (raft
  // may send it to followers) and the entries up to `index` are released.
  // The caller has made the state machine durable up to `index` first.
  // Suspends.
  virtual Task<absl::Status> Compact(uint64_t index,
                                     raft::ConfState conf_state) = 0;
};

}  // namespace keel::node

#endif  // KEEL_NODE_LOG_STORE_H_
