// Shorthand for hand-written histories in tests, recorded through the
// public HistoryRecorder API.
#ifndef KEEL_CHECK_HISTORY_TEST_UTIL_H_
#define KEEL_CHECK_HISTORY_TEST_UTIL_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "check/history.h"
#include "check/history_recorder.h"

namespace keel::check::testing {

inline KeyValue Kv(std::string key, std::string value, int64_t create, int64_t mod,
                   int64_t version, int64_t lease = 0) {
  return KeyValue{std::move(key), create, mod, version, std::move(value), lease};
}

class HistoryBuilder {
 public:
  HistoryRecorder& rec() { return rec_; }

  OpId Put(ClientId c, std::string key, std::string value, int64_t invoke,
           int64_t complete, int64_t revision, int64_t lease = 0) {
    OpId id = rec_.Invoke(c, PutRequest{std::move(key), std::move(value), lease}, invoke);
    rec_.Ok(id, PutResponse{}, revision, complete);
    return id;
  }
  OpId PutPrev(ClientId c, std::string key, std::string value, int64_t invoke,
               int64_t complete, int64_t revision, std::optional<KeyValue> prev) {
    PutRequest p{std::move(key), std::move(value)};
    p.prev_kv = true;
    OpId id = rec_.Invoke(c, std::move(p), invoke);
    rec_.Ok(id, PutResponse{std::move(prev)}, revision, complete);
    return id;
  }
  OpId PutUnknown(ClientId c, std::string key, std::string value, int64_t invoke,
                  int64_t lease = 0) {
    OpId id = rec_.Invoke(c, PutRequest{std::move(key), std::move(value), lease}, invoke);
    rec_.Unknown(id, "context deadline exceeded", invoke + 1);
    return id;
  }
  OpId PutFailed(ClientId c, std::string key, std::string value, int64_t invoke,
                 int64_t complete) {
    OpId id = rec_.Invoke(c, PutRequest{std::move(key), std::move(value)}, invoke);
    rec_.Fail(id, "etcdserver: lease not found", complete);
    return id;
  }
  // A get of one key; `kv` is what it returned (nullopt: absent).
  OpId Get(ClientId c, std::string key, int64_t invoke, int64_t complete,
           int64_t header, std::optional<KeyValue> kv, bool serializable = false,
           int64_t at_revision = 0) {
    RangeRequest r;
    r.key = std::move(key);
    r.serializable = serializable;
    r.revision = at_revision;
    OpId id = rec_.Invoke(c, std::move(r), invoke);
    RangeResponse resp;
    if (kv) {
      resp.kvs.push_back(*kv);
      resp.count = 1;
    }
    rec_.Ok(id, std::move(resp), header, complete);
    return id;
  }
  OpId Range(ClientId c, std::string key, std::string end, int64_t invoke,
             int64_t complete, int64_t header, std::vector<KeyValue> kvs,
             bool final_read = false) {
    RangeRequest r;
    r.key = std::move(key);
    r.range_end = std::move(end);
    OpId id = rec_.Invoke(c, std::move(r), invoke);
    RangeResponse resp;
    resp.count = static_cast<int64_t>(kvs.size());
    resp.kvs = std::move(kvs);
    rec_.Ok(id, std::move(resp), header, complete);
    if (final_read) rec_.MarkFinalRead(id);
    return id;
  }
  OpId Delete(ClientId c, std::string key, int64_t invoke, int64_t complete,
              int64_t revision, int64_t deleted) {
    OpId id = rec_.Invoke(c, DeleteRequest{std::move(key)}, invoke);
    rec_.Ok(id, DeleteResponse{deleted, {}}, revision, complete);
    return id;
  }
  OpId DeleteUnknown(ClientId c, std::string key, int64_t invoke) {
    OpId id = rec_.Invoke(c, DeleteRequest{std::move(key)}, invoke);
    rec_.Unknown(id, "connection lost", invoke + 1);
    return id;
  }
  static TxnRequest CasRequest(std::string key, std::string expect, std::string value) {
    TxnRequest t;
    Compare c;
    c.key = key;
    c.target = CompareTarget::kValue;
    c.result = CompareResult::kEqual;
    c.value = std::move(expect);
    t.compare.push_back(std::move(c));
    t.success.push_back(PutRequest{key, std::move(value)});
    RangeRequest get;
    get.key = std::move(key);
    t.failure.push_back(std::move(get));
    return t;
  }
  // if value(key) == expect then put key=value else get key.
  OpId Cas(ClientId c, std::string key, std::string expect, std::string value,
           int64_t invoke, int64_t complete, int64_t revision, bool succeeded,
           std::optional<KeyValue> current = std::nullopt) {
    OpId id = rec_.Invoke(c, CasRequest(std::move(key), std::move(expect), std::move(value)),
                          invoke);
    TxnResponse resp;
    resp.succeeded = succeeded;
    if (succeeded) {
      resp.responses.push_back(PutResponse{});
    } else {
      RangeResponse r;
      if (current) {
        r.kvs.push_back(*current);
        r.count = 1;
      }
      resp.responses.push_back(std::move(r));
    }
    rec_.Ok(id, std::move(resp), revision, complete);
    return id;
  }
  OpId CasUnknown(ClientId c, std::string key, std::string expect, std::string value,
                  int64_t invoke) {
    OpId id = rec_.Invoke(c, CasRequest(std::move(key), std::move(expect), std::move(value)),
                          invoke);
    rec_.Unknown(id, "timeout", invoke + 1);
    return id;
  }
  OpId Grant(ClientId c, int64_t lease, int64_t ttl, int64_t invoke, int64_t complete,
             int64_t header) {
    OpId id = rec_.Invoke(c, LeaseGrantRequest{ttl, lease}, invoke);
    rec_.Ok(id, LeaseGrantResponse{lease, ttl}, header, complete);
    return id;
  }
  OpId KeepAlive(ClientId c, int64_t lease, int64_t ttl, int64_t invoke, int64_t complete,
                 int64_t header) {
    OpId id = rec_.Invoke(c, LeaseKeepAliveRequest{lease}, invoke);
    rec_.Ok(id, LeaseKeepAliveResponse{ttl}, header, complete);
    return id;
  }
  OpId Revoke(ClientId c, int64_t lease, int64_t invoke, int64_t complete, int64_t header) {
    OpId id = rec_.Invoke(c, LeaseRevokeRequest{lease}, invoke);
    rec_.Ok(id, LeaseRevokeResponse{}, header, complete);
    return id;
  }
  OpId TimeToLive(ClientId c, int64_t lease, int64_t ttl, int64_t granted, int64_t invoke,
                  int64_t complete, int64_t header) {
    OpId id = rec_.Invoke(c, LeaseTimeToLiveRequest{lease, false}, invoke);
    rec_.Ok(id, LeaseTimeToLiveResponse{ttl, granted, {}}, header, complete);
    return id;
  }
  OpId Compact(ClientId c, int64_t revision, int64_t invoke, int64_t complete,
               int64_t header) {
    OpId id = rec_.Invoke(c, CompactRequest{revision, false}, invoke);
    rec_.Ok(id, CompactResponse{}, header, complete);
    return id;
  }

  History Build() { return std::move(rec_).Finish(); }

 private:
  HistoryRecorder rec_;
};

inline Event PutEvent(KeyValue kv) { return Event{Event::Type::kPut, std::move(kv), std::nullopt}; }
inline Event DeleteEvent(std::string key, int64_t revision) {
  Event e{Event::Type::kDelete, KeyValue{}, std::nullopt};
  e.kv.key = std::move(key);
  e.kv.mod_revision = revision;
  return e;
}
inline WatchResponse Created(int64_t time, int64_t header) {
  WatchResponse r;
  r.time_ns = time;
  r.revision = header;
  r.created = true;
  return r;
}
inline WatchResponse Events(int64_t time, int64_t header, std::vector<Event> events) {
  WatchResponse r;
  r.time_ns = time;
  r.revision = header;
  r.events = std::move(events);
  return r;
}
inline WatchResponse Progress(int64_t time, int64_t header) {
  WatchResponse r;
  r.time_ns = time;
  r.revision = header;
  return r;
}

}  // namespace keel::check::testing

#endif  // KEEL_CHECK_HISTORY_TEST_UTIL_H_
