// RaftStateMachine: what the `raft` scenario's members apply committed
// entries to, and its file format.
//
// The state is small on purpose: the index and term of the last entry
// applied, a running hash of every entry applied (MixRaftState, which the
// checker recomputes over the canonical history to judge snapshots), and
// the membership the conf changes made (where each member listens, who was
// removed), so that a member installing a snapshot learns its peers.
//
// One file format serves as the member's durable state (written before the
// raft log behind it is released) and as the snapshot a leader streams to a
// follower:
//
//   keel-raft-state v1
//   applied <index> <term>
//   hash <hash>
//   peer <id> <host:port>          (one line per member known)
//   removed <id>                   (one line per member removed)
//   crc <masked crc32c of every byte above>
//
// A file whose checksum or syntax is wrong is refused (DataLoss): a
// damaged snapshot is never installed, and a member never starts on a
// damaged state.
#ifndef KEEL_SIM_SCENARIOS_RAFT_STATE_MACHINE_H_
#define KEEL_SIM_SCENARIOS_RAFT_STATE_MACHINE_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/raft.pb.h"
#include "runtime/filesystem.h"

namespace keel::sim {

class RaftStateMachine {
 public:
  uint64_t applied_index() const { return applied_index_; }
  uint64_t applied_term() const { return applied_term_; }
  uint64_t hash() const { return hash_; }
  // Where each member known listens ("host:port").
  const std::map<uint64_t, std::string>& peers() const { return peers_; }
  const std::set<uint64_t>& removed() const { return removed_; }

  // Applies the entry after applied_index(): the hash takes it in.
  void Apply(const raftpb::Entry& entry);
  // A conf change applied: member `id` was added at `address` (empty: an
  // address already known, as a promotion carries none), or removed.
  void AddMember(uint64_t id, const std::string& address);
  void RemoveMember(uint64_t id);

  // The file's bytes. `stale` is the deliberate bug of --inject-bug
  // stale-snapshot: the file claims applied_index() but holds the hash of
  // the state one entry before it.
  std::string Encode(bool stale) const;
  // DataLoss if `data` is not a whole, intact state file.
  static absl::StatusOr<RaftStateMachine> Decode(std::string_view data);

 private:
  uint64_t applied_index_ = 0;
  uint64_t applied_term_ = 0;
  uint64_t hash_ = 0;
  uint64_t previous_hash_ = 0;  // before the last entry applied
  std::map<uint64_t, std::string> peers_;
  std::set<uint64_t> removed_;
};

// Writes `data` to `path` durably and atomically: "<path>.tmp", synced,
// renamed over `path`, the directory synced. The disk's error otherwise.
absl::Status WriteStateFile(FileSystem& fs, const std::string& path, std::string_view data);
// Reads and decodes the state file at `path`. A read may flip a bit the
// disk does not hold, so a file that fails its checks is read again (up to
// kStateFileReadAttempts) before it is judged damaged (DataLoss). NotFound
// if there is no file.
absl::StatusOr<RaftStateMachine> ReadStateFile(FileSystem& fs, const std::string& path);
inline constexpr int kStateFileReadAttempts = 8;

}  // namespace keel::sim

#endif  // KEEL_SIM_SCENARIOS_RAFT_STATE_MACHINE_H_
