// WatchService: etcd's Watch RPC (/etcdserverpb.Watch/Watch), a
// bidirectional stream carrying any number of watchers (etcd's
// v3rpc/watch.go).
//
// Each call gets a WatchStream from the hub and runs, until the call ends:
//  - a receiver: create requests become watchers (created=true with the
//    id; a bad create gets created=true, canceled=true, watch_id -1 and
//    etcd's cancel_reason), cancel requests remove them (canceled=true; an
//    unknown id is ignored, as etcd does), progress requests ask the hub
//    for a stream-wide progress response (watch_id -1) that it sends once
//    every watcher is synced. The client's half-close stops only this loop:
//    as in etcd, the watchers keep streaming until the call is cancelled.
//  - a writer: the only coroutine that writes, draining the stream's
//    bounded queue in order and suspending under HTTP/2 flow control.
//    Control responses go through the same queue, so a created response
//    always precedes its watcher's events. Event responses of watchers
//    that asked for fragment=true are split as etcd splits them when they
//    reach max_response_bytes; others are never split.
//  - a progress ticker once a watcher asked for progress_notify (etcd's
//    interval plus up to a tenth of jitter);
//  - with metadata hasleader=true, a leader check: the call is refused with
//    Unavailable "etcdserver: no leader" when there is no leader at the
//    start, and ended with it after three checks in a row find none (etcd's
//    stream interceptor).
// When the call ends (cancellation destroys the frame, or the connection
// fails a write) the WatchStream goes and with it every watcher.
//
// Every response's header comes from the header source (cluster_id,
// member_id, raft_term), with the revision of the response.
#ifndef KEEL_NODE_WATCH_SERVICE_H_
#define KEEL_NODE_WATCH_SERVICE_H_

#include <array>
#include <cstddef>
#include <functional>

#include "absl/status/status.h"
#include "net/grpc_server.h"
#include "node/watch_hub.h"
#include "proto/rpc.pb.h"
#include "runtime/clock.h"
#include "runtime/random.h"
#include "runtime/task.h"
#include "runtime/time.h"

namespace keel::node {

// etcd's minWatchProgressInterval: shorter intervals are raised to it.
inline constexpr Duration kMinProgressNotifyInterval = Milliseconds(100);
// etcd's maxNoLeaderCnt: leader checks without a leader before a
// hasleader stream is ended.
inline constexpr int kMaxNoLeaderChecks = 3;

struct WatchServiceOptions {
  WatchServiceOptions() {}
  // etcd's --experimental-watch-progress-notify-interval (default 10m).
  Duration progress_notify_interval = Seconds(600);
  // How often a hasleader stream checks for a leader (etcd: one election
  // timeout, 1 s by default).
  Duration leader_check_interval = Seconds(1);
  // Fragmenting threshold (etcd: --max-request-bytes 1.5 MiB plus 512 KiB
  // of gRPC overhead).
  size_t max_response_bytes = (3 << 19) + (512 << 10);
};

class WatchService {
 public:
  // The header fields other than revision: cluster_id, member_id,
  // raft_term. Called for every response.
  using HeaderSource = std::function<etcdserverpb::ResponseHeader()>;
  // True while the member knows a leader.
  using LeaderCheck = std::function<bool()>;
  // Whether the call may watch [key, range_end) (read permission for the
  // caller its token names: node/auth_frontend.h). Asked at each create.
  using WatchPermission = std::function<bool(const net::CallContext& context,
                                             std::string_view key, std::string_view range_end)>;

  // `hub`, `clock` and `random` (progress jitter) must outlive the service;
  // the service must outlive every call it serves.
  WatchService(WatchHub& hub, Clock& clock, Random& random,
               HeaderSource header_source, LeaderCheck has_leader,
               WatchServiceOptions options = WatchServiceOptions());
  WatchService(const WatchService&) = delete;
  WatchService& operator=(const WatchService&) = delete;

  // Serves one Watch call until it is cancelled (the frame is destroyed),
  // a write fails (returns that status), the request stream fails (its
  // status) or a hasleader stream loses its leader (Unavailable
  // "etcdserver: no leader"). Suspends.
  Task<absl::Status> Serve(net::CallContext& context,
                           net::ServerStream& stream);

  // Refuses the creates `permission` refuses, as etcd does: a created and
  // canceled response naming "etcdserver: permission denied". Unset: every
  // create is permitted.
  void set_permission(WatchPermission permission) { permission_ = std::move(permission); }

  // Calls being served now.
  size_t open_streams() const { return open_streams_; }
  // Events encodings reused from the cache (a revision's events go to many
  // watchers, and are encoded once for all of them).
  uint64_t encoded_events_reused() const { return encoded_events_reused_; }

 private:
  friend class ServerWatchStream;

  // The wire bytes of `events` as WatchResponse.events (field 11, repeated),
  // which a response's other fields are simply followed by: protobuf
  // concatenates repeated fields. Cached for the last few event batches.
  const std::string& EncodedEvents(const WatchEvents& events, bool prev_kv);

  struct EncodedEventsEntry {
    WatchEvents events;  // held, so its address cannot be reused meanwhile
    bool prev_kv = false;
    std::string bytes;
  };
  // Enough for the revisions merged into one response (watch_hub.h) while
  // the writer goes from one watcher's response to the next.
  static constexpr size_t kEncodedEventsCacheSize = 64;
  std::array<EncodedEventsEntry, kEncodedEventsCacheSize> encoded_events_;
  size_t next_encoded_slot_ = 0;
  uint64_t encoded_events_reused_ = 0;

  WatchHub& hub_;
  Clock& clock_;
  Random& random_;
  HeaderSource header_source_;
  LeaderCheck has_leader_;
  WatchPermission permission_;
  const WatchServiceOptions options_;
  size_t open_streams_ = 0;
};

// Registers /etcdserverpb.Watch/Watch with `service` on `server`.
void RegisterWatchService(net::GrpcServer& server, WatchService& service);

}  // namespace keel::node

#endif  // KEEL_NODE_WATCH_SERVICE_H_
