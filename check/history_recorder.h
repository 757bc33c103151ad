// HistoryRecorder: the in-memory API clients use to record a history as they
// run (the simulator's clients, or a harness driving a real cluster).
//
//   HistoryRecorder rec;
//   OpId op = rec.Invoke(client, PutRequest{.key = "a", .value = "1"}, now);
//   ...
//   rec.Ok(op, PutResponse{}, header.revision(), now);   // or Fail / Unknown
//   History h = std::move(rec).Finish();
//
// Ids are assigned 0, 1, 2, ... in invocation order. Misuse (completing an op
// twice, a response of the wrong type, time running backwards for an op) is a
// programmer error and asserts. Not thread-safe: keel records from one thread.
#ifndef KEEL_CHECK_HISTORY_RECORDER_H_
#define KEEL_CHECK_HISTORY_RECORDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "check/history.h"

namespace keel::check {

class HistoryRecorder {
 public:
  // Starts from etcd's fresh store (revision 1, no keys).
  HistoryRecorder() = default;
  // Starts from a store already holding `kvs` at `revision` (for a harness
  // that attaches to a cluster with data: read the key space first).
  HistoryRecorder(int64_t revision, std::vector<KeyValue> kvs);

  // Records that `client` sent `request` at `now_ns`. Returns the new op id.
  // Use StartWatch for watches.
  OpId Invoke(ClientId client, Request request, int64_t now_ns);

  // The request succeeded: `response` must have the request's type;
  // `revision` is the response header revision.
  void Ok(OpId id, Response response, int64_t revision, int64_t now_ns);
  // The request definitely failed without effect (etcd returned an error
  // that guarantees it, e.g. compacted, lease not found, compare failed is
  // NOT one of these: that is an Ok txn with succeeded=false).
  void Fail(OpId id, std::string error, int64_t now_ns);
  // The client gave up without knowing (timeout, connection lost). The
  // request may still take effect later.
  void Unknown(OpId id, std::string error, int64_t now_ns);

  // Marks a completed range as part of the final read-out of the key space
  // (the durability checker compares it with every acknowledged write).
  void MarkFinalRead(OpId id);

  // A watch stream: StartWatch when the create request is sent, WatchReceived
  // for each response in arrival order, EndWatch when the stream ends.
  OpId StartWatch(ClientId client, WatchRequest request, int64_t now_ns);
  void WatchReceived(OpId id, WatchResponse response);
  void EndWatch(OpId id, int64_t now_ns);

  // Number of ops still waiting for an outcome.
  int64_t pending() const { return pending_; }
  const History& history() const { return history_; }

  // Ends the recording. Ops still pending become kUnknown ("pending at end
  // of history"); open watches stay open (complete_ns = kNever).
  History Finish() &&;

 private:
  Operation& Pending(OpId id);

  History history_;
  std::vector<bool> done_;
  int64_t pending_ = 0;
};

}  // namespace keel::check

#endif  // KEEL_CHECK_HISTORY_RECORDER_H_
