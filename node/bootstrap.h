// Bootstrap: opening or creating a member's state as one step (the role of
// etcd 3.5's bootstrap.go).
//
// From the data directory and the flags it decides who this member is (the
// identity recorded in its key space, or a new member of the cluster
// --initial-cluster describes), opens its key space and raft log, checks
// that they belong together (same cluster, same member, the log covering
// what the key space applied), finishes a snapshot install a crash
// interrupted, and hands back everything a Server needs to run. Nothing
// runs yet: no loop, no listener.
#ifndef KEEL_NODE_BOOTSTRAP_H_
#define KEEL_NODE_BOOTSTRAP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/key_space.h"
#include "node/log_store.h"
#include "node/membership.h"
#include "node/server_config.h"
#include "raft/raw_node.h"
#include "runtime/env.h"
#include "store/leveldb_background.h"

namespace keel::node {

// How a member's storage is opened: what differs between production, the
// simulator and unit tests.
struct StorageOptions {
  // LevelDB's background work: a thread in production, the loop (after
  // each call) in the simulator.
  store::LevelDbBackground leveldb_background = store::LevelDbBackground::kThread;
  // The memtable size. Small in the simulator (see store/leveldb_db.h).
  size_t leveldb_write_buffer_bytes = 16 << 20;
  // How often the member reads its whole key space to verify LevelDB's
  // checksums, so damage to data nobody reads is found and repaired
  // (node/self_repair.h). Zero: never. Not a flag yet: the scan runs on
  // the member's loop, which a large key space would stall; the simulator
  // sets it.
  Duration key_space_scrub_interval = Duration::zero();
};

// Where a member keeps what, under its --data-dir and --wal-dir.
std::string SnapDir(const ServerConfig& config);      // <data-dir>/member/snap
std::string KeySpaceDir(const ServerConfig& config);  // <data-dir>/member/kv

struct BootstrappedMember {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  std::unique_ptr<KeySpace> key_space;
  std::unique_ptr<LogStore> log;
  // Non-empty when raft must start a new group (the log is empty): one peer
  // per member of --initial-cluster.
  std::vector<raft::Peer> raft_peers;
  // The members of --initial-cluster when this start bootstrapped (with
  // the running cluster's IDs when it joined one).
  std::vector<Member> initial_members;
  // A new member of a running cluster (--initial-cluster-state existing):
  // raft starts with an empty log and no configuration and waits for the
  // leader.
  bool joining = false;
  // This start rebuilt a damaged key space (node/self_repair.h).
  bool repaired = false;
  // StorageOptions::key_space_scrub_interval.
  Duration key_space_scrub_interval = Duration::zero();
};

// How long a joining member waits for one peer's /members.
inline constexpr Duration kJoinFetchTimeout = Seconds(10);

// Opens the member's state from its data directory, or bootstraps a new
// member from the configuration (which must be valid). FailedPrecondition
// if the data belongs to another cluster or member, or the flags changed
// before a bootstrap finished, a joining member's peers cannot be reached
// or do not list it, or the member was removed from its cluster; DataLoss
// if it is damaged or partial. Suspends (the WAL's recovery, a joining
// member's /members requests).
Task<absl::StatusOr<BootstrappedMember>> BootstrapMember(Env& env, const ServerConfig& config,
                                                         const StorageOptions& storage);

// The key space's options for `config` (its directory, LevelDB's settings,
// the lessor's).
KeySpaceOptions KeySpaceOptionsFor(const ServerConfig& config, const StorageOptions& storage);

}  // namespace keel::node

#endif  // KEEL_NODE_BOOTSTRAP_H_
