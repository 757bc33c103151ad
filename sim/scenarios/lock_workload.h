// The lock workload: clients that take one lock through keel's Lock
// service and write, as holders, only through fenced txns (doc/locks.md),
// recording every acknowledged fenced write for check::CheckFencedWrites.
//
// Each round of a client: grant a lease of a few seconds; keep it alive
// (three rounds in four; in the others the lease runs out while the client
// holds or waits, as a holder that crashed or hung); Lock; read its lock
// key's create revision (the fencing token); then a few writes of the
// shared data key, each a txn `If(create_revision(lock key) == token)`,
// sometimes after a pause longer than the lease (a GC pause: a holder that
// lost the lock without knowing); Unlock. Every call has a timeout; a
// failed or timed-out call ends the round (the lease then ends on its own).
// A client's draws come from its own seed, so a run is a function of the
// seed.
//
// Once the clients have drained, RequestFinalHold() has one more client
// take the lock, calmly (lease kept alive, no pause), until one fenced
// write of it is acknowledged: the scenario's check that a healed cluster
// grants the lock, and that no run passes without a hold.
#ifndef KEEL_SIM_SCENARIOS_LOCK_WORKLOAD_H_
#define KEEL_SIM_SCENARIOS_LOCK_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "check/lock_checker.h"
#include "client/etcd_client.h"
#include "runtime/env.h"
#include "runtime/random.h"
#include "runtime/sync.h"
#include "runtime/task.h"

namespace keel::sim::cluster {

// The lock the clients contend for, and the key its holders write.
inline constexpr char kLockName[] = "lock/fenced";
inline constexpr char kLockDataKey[] = "lock-data";

class LockWorkload {
 public:
  // `seeds`: one per client.
  LockWorkload(std::vector<std::string> endpoints, std::vector<uint64_t> seeds);
  LockWorkload(const LockWorkload&) = delete;
  LockWorkload& operator=(const LockWorkload&) = delete;

  // The client machine's main(): runs every client until Drain().
  Task<void> Run(Env& env);
  // Clients start no new round and stop once their round ends.
  void Drain() { draining_ = true; }
  bool drained() const { return started_ && running_ == 0; }
  // Lets Run() do the final hold (once drained).
  void RequestFinalHold() { final_requested_.Set(); }
  bool final_hold_done() const { return final_done_; }

  const std::vector<check::FencedWrite>& writes() const { return writes_; }

  struct Stats {
    uint64_t rounds = 0, acquired = 0, fenced_ok = 0, fenced_refused = 0;
    uint64_t failed = 0, unkept_leases = 0, pauses = 0;
  };
  const Stats& stats() const { return stats_; }
  int clients() const { return static_cast<int>(seeds_.size()); }

 private:
  Task<void> RunClient(Env& env, int id);
  // One lease, one hold, its fenced writes, one unlock.
  // With `calm`: the lease kept alive, no pause, one write.
  Task<void> Round(Env& env, client::EtcdClient& client, Random& random, int id, bool calm);
  Task<void> FinalHold(Env& env);
  client::ClientOptions OptionsFor(int id) const;

  const std::vector<std::string> endpoints_;
  const std::vector<uint64_t> seeds_;
  std::vector<check::FencedWrite> writes_;
  Stats stats_;
  bool draining_ = false;
  bool started_ = false;
  int running_ = 0;
  Event final_requested_;
  bool final_done_ = false;
};

}  // namespace keel::sim::cluster

#endif  // KEEL_SIM_SCENARIOS_LOCK_WORKLOAD_H_
