// The cluster scenario's clients: etcd clients (client::EtcdClient over
// keel's gRPC client) on a simulated machine of their own, issuing a mix of
// KV requests and watches against every member's endpoint and recording
// each request, its outcome and its times in a history (check/) that the
// checkers read at the end.
//
// The KV mix follows etcd's robustness traffic over a few contended keys:
// puts, linearizable and serializable gets, prefix range scans, reads at a
// past revision, deletes, compare-and-swap txns on a key's mod revision,
// rare compactions, and leases (grants of a few seconds, keys attached to
// them, keepalives, time-to-live queries, revocations, and expiry when a
// client stops keeping one alive). Values are unique per write (the checker relies on
// it to tell writes apart). Each request has a timeout; a failed write
// whose effect the client cannot know (timeout, lost connection, "request
// timed out") is recorded as unknown, one refused before it was proposed as
// failed, and a failed read as failed (a read has no effect).
//
// Watchers open a Watch stream on their pinned member, create one watch on
// the key prefix or a single key, from now or from a recent revision (with
// or without prev_kv), record every response for a while, then close it
// and start another. Some watches ask for progress notifications: on the
// server's ticker (progress_notify; the simulated members tick often), by
// WatchProgressRequest now and then, or both; the history keeps them (the
// watch checker's bookmarkable and reliable properties read them).
//
// The KV clients follow a plan (sim/plan.h): each has a seed and a list of
// operation slots it runs in order, one request each; a slot's request,
// timeout and think time come from a Random seeded by the client's seed and
// the slot's index, so dropping a slot leaves the others' draws alone (what
// they ask can still depend on what the client saw: its leases, revisions).
// A client that runs out of slots stops.
//
// Lifecycle: Run() is the client machine's main(); it runs the clients
// until Drain(), then waits for every request in flight to end, then waits
// for RequestFinalRead() and reads the whole key space once (linearizable,
// retried until it succeeds), recording it as the history's final
// read-out. Everything runs in the client machine's process.
#ifndef KEEL_SIM_SCENARIOS_CLUSTER_WORKLOAD_H_
#define KEEL_SIM_SCENARIOS_CLUSTER_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/etcd_client.h"
#include "client/streams.h"
#include "runtime/env.h"
#include "runtime/random.h"
#include "runtime/sync.h"
#include "runtime/task.h"
#include "check/history.h"
#include "check/history_recorder.h"
#include "sim/plan.h"

namespace keel::sim::cluster {

// Every key the clients use starts with this.
inline constexpr char kKeyPrefix[] = "key/";
inline constexpr char kKeyPrefixEnd[] = "key0";

// Deliberate defects (keel-sim --inject-bug), to show the checks fail:
//   stale-read  linearizable gets are sent serializable (a member answers
//               them from its own store, as a follower that skipped the
//               ReadIndex would) but recorded as linearizable;
//   watch-skip  each watcher drops one event it received;
//   progress-early  each watch records a progress notification at the
//               header revision of the first response with events, just
//               before that response (as a server that announces progress
//               before sending the events it holds).
struct WorkloadBugs {
  bool stale_read = false;
  bool watch_skip = false;
  bool progress_early = false;
};

class ClusterWorkload {
 public:
  ClusterWorkload(std::vector<std::string> endpoints, std::vector<PlanClient> clients,
                  int watchers, int keys, WorkloadBugs bugs);
  ClusterWorkload(const ClusterWorkload&) = delete;
  ClusterWorkload& operator=(const ClusterWorkload&) = delete;

  // The client machine's main(). Suspends until the final read is done.
  Task<void> Run(Env& env);
  // Clients issue no new requests and watchers close their streams.
  void Drain() { draining_ = true; }
  // Whether every client and watcher has finished (after Drain()).
  bool drained() const { return running_ == 0 && started_; }
  // Lets Run() do the final read-out (once drained).
  void RequestFinalRead() { final_read_requested_.Set(); }
  // Set once the final read-out succeeded.
  bool final_read_done() const { return final_read_done_; }

  const check::HistoryRecorder& recorder() const { return recorder_; }
  // Ends the recording (requests still pending become unknown).
  check::History TakeHistory() { return std::move(recorder_).Finish(); }

  // Figures for the summary line.
  struct Stats {
    uint64_t ok = 0, failed = 0, unknown = 0;
    uint64_t watches = 0, watch_events = 0, watch_progress = 0;
    uint64_t leases_granted = 0, leases_seen_ended = 0;
  };
  const Stats& stats() const { return stats_; }
  // The KV clients (watchers not counted).
  int clients() const { return static_cast<int>(plan_.size()); }
  // The first watcher's client id (the final read's is after the watchers).
  check::ClientId first_watcher() const { return watcher_base_; }
  // The clients' plans cut to the slots they started.
  std::vector<PlanClient> SlotsRun() const;

 private:
  // What one client knows: the newest revision it saw, each key's last
  // seen mod revision (0: seen absent), and its write counter.
  struct ClientState {
    ClientState(Env& env, check::ClientId id, client::ClientOptions options, uint64_t seed)
        : env(env), id(id), client(env, std::move(options)), random(seed) {}
    Env& env;
    check::ClientId id;
    client::EtcdClient client;
    Random random;
    int64_t last_revision = 1;
    std::map<std::string, int64_t> mod_revisions;
    uint64_t writes = 0;
    // Leases this client was granted and has not seen end, oldest first.
    std::vector<int64_t> leases;
  };

  Task<void> RunClient(Env& env, size_t index);
  Task<void> RunWatcher(Env& env, check::ClientId id, uint64_t seed);
  Task<void> WatchOnce(ClientState& state);
  // Records the responses of `op`'s stream until `until`, the stream's end
  // or Drain().
  Task<void> ReceiveWatch(ClientState& state, client::WatchStream& stream, check::OpId op,
                          TimePoint until);
  // Sends a progress request every so often; returns never (the caller
  // cancels it).
  Task<void> RequestProgressNowAndThen(ClientState& state, client::WatchStream& stream);
  Task<void> FinalRead(Env& env);
  // Draws the next request of the mix.
  check::Request NextRequest(ClientState& state);
  // Draws a lease request (grant, keepalive, time-to-live, revoke, or a
  // put attached to a lease).
  check::Request NextLeaseRequest(ClientState& state);
  // Sends a lease request; sets *is_write for the outcome rule.
  Task<absl::Status> IssueLease(ClientState& state, const check::Request& request,
                                client::RequestOptions options, check::Response* response,
                                int64_t* revision, bool* is_write);
  // Sends `request`, records it and learns from the response.
  Task<void> Issue(ClientState& state, check::Request request);
  // Learns revisions from a successful response.
  void Observe(ClientState& state, const check::Request& request,
               const check::Response& response, int64_t revision);
  void Record(check::OpId op, const absl::Status& status, bool is_write, ClientState& state);
  client::ClientOptions OptionsFor(size_t first_endpoint) const;
  std::string KeyOf(ClientState& state);
  int64_t NowNs(const ClientState& state) const;

  const std::vector<std::string> endpoints_;
  const std::vector<PlanClient> plan_;
  std::vector<size_t> slots_run_;  // per client
  const check::ClientId watcher_base_;
  const int watchers_;
  const int keys_;
  const WorkloadBugs bugs_;
  check::HistoryRecorder recorder_;
  Stats stats_;
  bool draining_ = false;
  bool started_ = false;
  int running_ = 0;
  Event final_read_requested_;
  bool final_read_done_ = false;
};

}  // namespace keel::sim::cluster

#endif  // KEEL_SIM_SCENARIOS_CLUSTER_WORKLOAD_H_
