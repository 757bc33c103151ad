// Test vocabulary for the Mvcc: a store on LevelDB's in-memory Env that
// survives reopening, entries numbered automatically, and one-line helpers
// for each request.
#ifndef KEEL_STORE_MVCC_TEST_UTIL_H_
#define KEEL_STORE_MVCC_TEST_UTIL_H_

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "leveldb/env.h"
#include "leveldb/helpers/memenv.h"
#include "store/mvcc.h"
#include "store/mvcc_errors.h"

namespace keel::store {

class MvccTest : public ::testing::Test {
 protected:
  MvccTest() : env_(leveldb::NewMemEnv(leveldb::Env::Default())) {
    options_.path = "/mvcc";
    options_.env = env_.get();
    options_.write_buffer_bytes = 64 << 10;
    Open();
  }

  void Open() {
    absl::StatusOr<std::unique_ptr<Mvcc>> opened = Mvcc::Open(options_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    mvcc_ = std::move(*opened);
  }
  void Reopen() {
    mvcc_.reset();
    Open();
  }

  EntryId NextEntry() { return EntryId{++index_, 1}; }

  absl::StatusOr<PutResult> TryPut(PutRequest request) {
    return mvcc_->Put(NextEntry(), request);
  }
  PutResult Put(std::string key, std::string value, int64_t lease = 0) {
    absl::StatusOr<PutResult> r = TryPut(
        PutRequest{.key = std::move(key), .value = std::move(value),
                   .lease = lease});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : PutResult{};
  }
  DeleteRangeResult Delete(std::string key, std::string range_end = "",
                           bool prev_kv = false) {
    absl::StatusOr<DeleteRangeResult> r = mvcc_->DeleteRange(
        NextEntry(), DeleteRangeRequest{.key = std::move(key),
                                        .range_end = std::move(range_end),
                                        .prev_kv = prev_kv});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : DeleteRangeResult{};
  }
  absl::StatusOr<TxnResult> Txn(const TxnRequest& request) {
    return mvcc_->Txn(NextEntry(), request);
  }
  RangeResult Range(RangeRequest request) {
    absl::StatusOr<RangeResult> r = mvcc_->Range(request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RangeResult{};
  }
  RangeResult Get(std::string key, int64_t revision = 0) {
    return Range(RangeRequest{.key = std::move(key), .revision = revision});
  }
  // The keys of a range between key and range_end at `revision`.
  std::vector<std::string> Keys(std::string key, std::string range_end,
                                int64_t revision = 0) {
    std::vector<std::string> keys;
    for (const KeyValue& kv : Range(RangeRequest{.key = std::move(key),
                                                 .range_end = std::move(range_end),
                                                 .revision = revision})
                                  .kvs) {
      keys.push_back(kv.key);
    }
    return keys;
  }
  void GrantLease(int64_t id, int64_t ttl = 60) {
    LeaseRecord lease{id, ttl, ttl};
    ASSERT_TRUE(mvcc_->PutLeases(NextEntry(), {&lease, 1}).ok());
  }
  void CompactFully() {
    for (int i = 0; i < 1000; ++i) {
      absl::StatusOr<bool> done = mvcc_->CompactStep();
      ASSERT_TRUE(done.ok()) << done.status();
      if (*done) return;
    }
    FAIL() << "compaction did not finish";
  }

  std::unique_ptr<leveldb::Env> env_;
  MvccOptions options_;
  std::unique_ptr<Mvcc> mvcc_;
  uint64_t index_ = 0;
};

inline RequestOp PutOp(std::string key, std::string value, int64_t lease = 0) {
  return RequestOp{PutRequest{.key = std::move(key), .value = std::move(value),
                              .lease = lease}};
}
inline RequestOp DeleteOp(std::string key, std::string range_end = "") {
  return RequestOp{DeleteRangeRequest{.key = std::move(key),
                                      .range_end = std::move(range_end)}};
}
inline RequestOp RangeOp(std::string key, std::string range_end = "",
                         int64_t revision = 0) {
  return RequestOp{RangeRequest{.key = std::move(key),
                                .range_end = std::move(range_end),
                                .revision = revision}};
}
inline RequestOp TxnOp(TxnRequest txn) { return RequestOp{std::move(txn)}; }

inline Compare CompareNumber(std::string key, CompareTarget target,
                             CompareResult result, int64_t number) {
  return Compare{.result = result, .target = target, .key = std::move(key),
                 .number = number};
}
inline Compare CompareValue(std::string key, CompareResult result,
                            std::string value) {
  return Compare{.result = result, .target = CompareTarget::kValue,
                 .key = std::move(key), .value = std::move(value)};
}

// The i-th response of a txn, as the kind it must be.
inline const RangeResult& RangeAt(const TxnResult& t, size_t i) {
  return std::get<RangeResult>(t.responses.at(i).response);
}
inline const PutResult& PutAt(const TxnResult& t, size_t i) {
  return std::get<PutResult>(t.responses.at(i).response);
}
inline const DeleteRangeResult& DeleteAt(const TxnResult& t, size_t i) {
  return std::get<DeleteRangeResult>(t.responses.at(i).response);
}

}  // namespace keel::store

#endif  // KEEL_STORE_MVCC_TEST_UTIL_H_
