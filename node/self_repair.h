// Self-repair: a member whose key space is damaged drops it and recovers
// it from its own raft log or a healthy peer, keeping its member ID and its
// raft state (doc/self-repair.md says what is repaired and why it is safe).
//
// The path: whoever finds key-space damage (LevelDB's checksums on open,
// on a read or an apply; a start-up hash check that a quorum of peers
// contradicts) records it with MarkKeySpaceForRepair() and the member
// stops, serving nothing more. On the next start BootstrapMember finds the
// marker (or the damage itself, when the key space does not open) and calls
// RepairKeySpace() before anything serves: the WAL is opened to learn who
// the member is and where its log starts, the key space is wiped and
// rebuilt, and only then does the member start as on any restart. While the
// marker exists the member never opens the damaged key space again, so no
// read is ever answered from it.
//
// Peers serve their key space for this on the peer port:
// GET /keel/repair-snapshot answers a snapshot file (node/snapshot_io.h's
// format, the one a leader streams to a lagging follower) with the index
// and term it was applied to in X-Keel-Applied-Index / -Term and the cluster
// in X-Etcd-Cluster-ID.
#ifndef KEEL_NODE_SELF_REPAIR_H_
#define KEEL_NODE_SELF_REPAIR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/http_message.h"
#include "node/key_space.h"
#include "node/member_life.h"
#include "node/server_config.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace keel::node {

// ---- The decisions, pure so that tests can table them ----

// Where damage was found.
enum class DamageSite {
  kKeySpace,      // LevelDB or the Mvcc's records (a checksum, a malformed record)
  kHashMismatch,  // this member's HashKV against its peers' at one revision
  kWal,           // the raft log or hard state
};

struct DamageFacts {
  DamageSite site = DamageSite::kKeySpace;
  // The raft log and hard state opened without error.
  bool wal_intact = true;
  // Voting members other than this one (from the raft configuration).
  int other_voters = 0;
  // kHashMismatch: the most peers that answered one same hash, other than
  // this member's, at its revision and compact revision.
  int peers_agreeing_against = 0;
};

enum class RepairAction {
  kRepairKeySpace,  // drop the key space and recover it
  kStop,            // stop (or refuse to start), as before self-repair
};

struct RepairDecision {
  RepairAction action = RepairAction::kStop;
  std::string why;
};

// The rules (doc/self-repair.md): the key space is only ever dropped when
// the raft log and hard state are intact (everything the key space held is
// committed, so a quorum has it), and a hash mismatch only condemns this
// member when a quorum of the voters, without it, agree on another hash.
// WAL damage always stops the member.
RepairDecision DecideRepair(const DamageFacts& facts);

// Whether a peer's key space at `source_applied` can replace this member's:
// the member's log must hold every entry after it (its log starts after
// `log_snapshot_index`), and it must be of this cluster. FailedPrecondition
// naming the reason otherwise.
absl::Status CheckRepairSource(uint64_t source_applied, uint64_t source_cluster_id,
                               uint64_t log_snapshot_index, uint64_t cluster_id);

// ---- Marking ----

// Tags `cause` (an error that shows the key space damaged) as key-space
// damage, which Server::OnFatal and Node::Start turn into a repair marker.
// KeySpaceDataLoss tags only a DataLoss (a checksum or a malformed record
// under a read, apply or compaction) and returns other errors unchanged.
absl::Status KeySpaceDamage(absl::Status cause);
absl::Status KeySpaceDataLoss(absl::Status cause);
bool IsKeySpaceDamage(const absl::Status& status);

// "<data-dir>/member/kv.repair": while it exists the key space is not
// trusted.
std::string RepairMarkerPath(const ServerConfig& config);
bool RepairPending(FileSystem& fs, const ServerConfig& config);
// Writes the marker (the reason inside, for an operator, and the peer
// URLs the member knew, to recover from) and makes it durable. Does not
// suspend (it runs on a fatal stop).
absl::Status MarkKeySpaceForRepair(FileSystem& fs, const ServerConfig& config,
                                   const absl::Status& reason,
                                   const std::vector<std::string>& peer_urls = {});
// The peer URLs a marker records.
std::vector<std::string> MarkedPeerUrls(FileSystem& fs, const ServerConfig& config);

// ---- The repair, at start ----

// Rebuilds the damaged key space of the member in config's data dir and
// returns it open, then removes the marker. The WAL must open cleanly (its
// identity says who the member is; its first index where the log starts).
// A log that starts at index 1 is replayed into an empty key space; else a
// peer's key space (--initial-cluster's peer URLs and the marker's) that
// covers the log's start is installed, asking in rounds for up to
// kRepairPatience. Errors (the member stops, the marker stays): the WAL's,
// FailedPrecondition when DecideRepair says stop, Unavailable when no peer
// could give a usable key space. Suspends.
Task<absl::StatusOr<std::unique_ptr<KeySpace>>> RepairKeySpace(Env& env,
                                                               const ServerConfig& config,
                                                               KeySpaceOptions options);

// ---- The peer endpoint and its client ----

struct WrittenRepairSnapshot {
  uint64_t applied_index = 0;
  uint64_t applied_term = 0;
};
// Writes the member's key space to the given path (Server::WriteSnapshotFile).
using RepairSnapshotWriter =
    std::function<Task<absl::StatusOr<WrittenRepairSnapshot>>(std::string path)>;

// Registers GET /keel/repair-snapshot on `router`. `write` and the router
// must outlive every connection; files are written under `scratch_dir`.
void RegisterRepairSnapshotEndpoint(net::HttpRouter& router, Env& env, std::string scratch_dir,
                                    uint64_t cluster_id, RepairSnapshotWriter write);

struct FetchedRepairSnapshot {
  uint64_t applied_index = 0;
  uint64_t applied_term = 0;
  uint64_t cluster_id = 0;
};
// GET /keel/repair-snapshot from `address` (host:port) into `path`
// (synced), within `timeout`. Unavailable or DeadlineExceeded if the peer
// cannot answer; DataLoss for a truncated body. Suspends.
Task<absl::StatusOr<FetchedRepairSnapshot>> FetchRepairSnapshot(Env& env, std::string address,
                                                               std::string path,
                                                               Duration timeout);

// ---- Scrubbing ----

// Every `every`, reads the whole key space (Mvcc::Hash, every block's
// checksum verified); a DataLoss stops the member for repair. Runs until
// the member stops; a root loop of `life`.
Task<void> ScrubKeySpace(Env& env, KeySpace& key_space, MemberLife& life, Duration every);

// How long a start keeps asking peers before it gives up (the member then
// exits and its supervisor starts it again; the marker stays).
inline constexpr Duration kRepairPatience = Seconds(20);
inline constexpr Duration kRepairFetchTimeout = Seconds(10);

}  // namespace keel::node

#endif  // KEEL_NODE_SELF_REPAIR_H_
