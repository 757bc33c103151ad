// HistoryRecorder; see history_recorder.h.
#include "check/history_recorder.h"

#include <utility>

#include "runtime/assert.h"

namespace keel::check {

HistoryRecorder::HistoryRecorder(int64_t revision, std::vector<KeyValue> kvs) {
  KEEL_ASSERT(revision >= kFirstRevision);
  history_.initial_revision = revision;
  history_.initial_kvs = std::move(kvs);
}

OpId HistoryRecorder::Invoke(ClientId client, Request request, int64_t now_ns) {
  KEEL_ASSERT(request.index() != static_cast<size_t>(OpType::kWatch));
  Operation op;
  op.id = static_cast<OpId>(history_.ops.size());
  op.client = client;
  op.invoke_ns = now_ns;
  op.outcome = Outcome::kUnknown;
  op.response = EmptyResponse(static_cast<OpType>(request.index()));
  op.request = std::move(request);
  history_.ops.push_back(std::move(op));
  done_.push_back(false);
  ++pending_;
  return history_.ops.back().id;
}

Operation& HistoryRecorder::Pending(OpId id) {
  KEEL_ASSERT(id >= 0 && id < static_cast<OpId>(history_.ops.size()));
  KEEL_ASSERT_MSG(!done_[id], "operation completed twice");
  return history_.ops[id];
}

void HistoryRecorder::Ok(OpId id, Response response, int64_t revision,
                         int64_t now_ns) {
  Operation& op = Pending(id);
  KEEL_ASSERT_MSG(response.index() == op.request.index(),
                  "response type does not match the request");
  KEEL_ASSERT(now_ns >= op.invoke_ns);
  op.outcome = Outcome::kOk;
  op.response = std::move(response);
  op.revision = revision;
  op.complete_ns = now_ns;
  done_[id] = true;
  --pending_;
}

void HistoryRecorder::Fail(OpId id, std::string error, int64_t now_ns) {
  Operation& op = Pending(id);
  KEEL_ASSERT(now_ns >= op.invoke_ns);
  op.outcome = Outcome::kError;
  op.error = std::move(error);
  op.complete_ns = now_ns;
  done_[id] = true;
  --pending_;
}

void HistoryRecorder::Unknown(OpId id, std::string error, int64_t now_ns) {
  Operation& op = Pending(id);
  KEEL_ASSERT(now_ns >= op.invoke_ns);
  op.outcome = Outcome::kUnknown;
  op.error = std::move(error);
  // The time the client gave up; it does not bound when the request applies.
  op.complete_ns = now_ns;
  done_[id] = true;
  --pending_;
}

void HistoryRecorder::MarkFinalRead(OpId id) {
  KEEL_ASSERT(id >= 0 && id < static_cast<OpId>(history_.ops.size()));
  Operation& op = history_.ops[id];
  KEEL_ASSERT(op.type() == OpType::kRange);
  op.final_read = true;
}

OpId HistoryRecorder::StartWatch(ClientId client, WatchRequest request,
                                 int64_t now_ns) {
  Operation op;
  op.id = static_cast<OpId>(history_.ops.size());
  op.client = client;
  op.invoke_ns = now_ns;
  op.outcome = Outcome::kOk;
  op.request = std::move(request);
  op.response = WatchResult{};
  history_.ops.push_back(std::move(op));
  done_.push_back(false);
  return history_.ops.back().id;
}

void HistoryRecorder::WatchReceived(OpId id, WatchResponse response) {
  Operation& op = Pending(id);
  KEEL_ASSERT(op.type() == OpType::kWatch);
  auto& result = std::get<WatchResult>(op.response);
  if (!result.responses.empty()) {
    KEEL_ASSERT(response.time_ns >= result.responses.back().time_ns);
  }
  result.responses.push_back(std::move(response));
}

void HistoryRecorder::EndWatch(OpId id, int64_t now_ns) {
  Operation& op = Pending(id);
  KEEL_ASSERT(op.type() == OpType::kWatch);
  op.complete_ns = now_ns;
  done_[id] = true;
}

History HistoryRecorder::Finish() && {
  for (size_t i = 0; i < history_.ops.size(); ++i) {
    Operation& op = history_.ops[i];
    if (done_[i] || op.type() == OpType::kWatch) continue;
    op.outcome = Outcome::kUnknown;
    op.error = "pending at end of history";
    op.complete_ns = kNever;
  }
  pending_ = 0;
  return std::move(history_);
}

}  // namespace keel::check
