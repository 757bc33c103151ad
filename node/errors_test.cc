// The error table must carry etcd's exact codes and strings: clients match
// on the text.
#include "node/errors.h"

#include "gtest/gtest.h"

namespace keel::node {
namespace {

TEST(ErrorsTest, CarryEtcdsCodeAndText) {
  absl::Status s = MakeError(EtcdError::kCompacted);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "etcdserver: mvcc: required revision has been compacted");
  EXPECT_EQ(MakeError(EtcdError::kLeaseNotFound).message(),
            "etcdserver: requested lease not found");
  EXPECT_EQ(MakeError(EtcdError::kLeaseNotFound).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MakeError(EtcdError::kNoLeader).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(MakeError(EtcdError::kWatchCanceled).code(), absl::StatusCode::kCancelled);
}

TEST(ErrorsTest, IsErrorNeedsCodeAndText) {
  EXPECT_TRUE(IsError(MakeError(EtcdError::kEmptyKey), EtcdError::kEmptyKey));
  EXPECT_FALSE(IsError(absl::InvalidArgumentError("etcdserver: key not found"),
                       EtcdError::kEmptyKey));
  EXPECT_FALSE(IsError(absl::InternalError("etcdserver: key is not provided"),
                       EtcdError::kEmptyKey));
}

}  // namespace
}  // namespace keel::node
