// Tests of how etcd's errors are classified by what they say about a
// request's effect (client/outcome.h), with etcd's codes and messages.
#include "client/outcome.h"

#include "gtest/gtest.h"

namespace keel::client {
namespace {

TEST(OutcomeTest, RefusalsBeforeProposingHadNoEffect) {
  EXPECT_FALSE(MayHaveTakenEffect(absl::OkStatus()));
  EXPECT_FALSE(MayHaveTakenEffect(
      absl::OutOfRangeError("etcdserver: mvcc: required revision has been compacted")));
  EXPECT_FALSE(MayHaveTakenEffect(absl::NotFoundError("etcdserver: requested lease not found")));
  EXPECT_FALSE(MayHaveTakenEffect(absl::InvalidArgumentError("etcdserver: key is not provided")));
  EXPECT_FALSE(MayHaveTakenEffect(absl::ResourceExhaustedError("etcdserver: too many requests")));
  EXPECT_FALSE(MayHaveTakenEffect(
      absl::FailedPreconditionError("etcdserver: lease already exists")));
}

TEST(OutcomeTest, TimeoutsAndLostConnectionsMayHaveTakenEffect) {
  EXPECT_TRUE(MayHaveTakenEffect(absl::UnavailableError("etcdserver: request timed out")));
  EXPECT_TRUE(MayHaveTakenEffect(absl::UnavailableError("etcdserver: leader changed")));
  EXPECT_TRUE(MayHaveTakenEffect(absl::UnavailableError("connection reset")));
  EXPECT_TRUE(MayHaveTakenEffect(absl::DeadlineExceededError("context deadline exceeded")));
  EXPECT_TRUE(MayHaveTakenEffect(absl::CancelledError("context canceled")));
  EXPECT_TRUE(MayHaveTakenEffect(absl::InternalError("server closed the stream")));
}

TEST(OutcomeTest, OnlyUnavailableReadsAreRetried) {
  EXPECT_TRUE(IsRetryableRead(absl::UnavailableError("etcdserver: no leader")));
  EXPECT_FALSE(IsRetryableRead(absl::DeadlineExceededError("context deadline exceeded")));
  EXPECT_FALSE(IsRetryableRead(
      absl::OutOfRangeError("etcdserver: mvcc: required revision has been compacted")));
}

}  // namespace
}  // namespace keel::client
