// The MVCC errors: one code and one exact message each.
#include "store/mvcc_errors.h"

namespace keel::store {
namespace {

struct ErrorSpec {
  absl::StatusCode code;
  const char* message;
};

constexpr ErrorSpec kCompacted{absl::StatusCode::kOutOfRange,
                               "mvcc: required revision has been compacted"};
constexpr ErrorSpec kFutureRev{absl::StatusCode::kOutOfRange,
                               "mvcc: required revision is a future revision"};
constexpr ErrorSpec kKeyNotFound{absl::StatusCode::kInvalidArgument,
                                 "etcdserver: key not found"};
constexpr ErrorSpec kEmptyKey{absl::StatusCode::kInvalidArgument,
                              "etcdserver: key is not provided"};
constexpr ErrorSpec kValueProvided{absl::StatusCode::kInvalidArgument,
                                   "etcdserver: value is provided"};
constexpr ErrorSpec kLeaseProvided{absl::StatusCode::kInvalidArgument,
                                   "etcdserver: lease is provided"};
constexpr ErrorSpec kDuplicateKey{
    absl::StatusCode::kInvalidArgument,
    "etcdserver: duplicate key given in txn request"};
constexpr ErrorSpec kLeaseNotFound{absl::StatusCode::kNotFound,
                                   "lease not found"};
constexpr ErrorSpec kAlreadyApplied{absl::StatusCode::kFailedPrecondition,
                                    "mvcc: entry already applied"};

absl::Status Make(const ErrorSpec& spec) {
  return absl::Status(spec.code, spec.message);
}

bool Matches(const absl::Status& status, const ErrorSpec& spec) {
  return status.code() == spec.code && status.message() == spec.message;
}

}  // namespace

absl::Status ErrCompacted() { return Make(kCompacted); }
absl::Status ErrFutureRev() { return Make(kFutureRev); }
absl::Status ErrKeyNotFound() { return Make(kKeyNotFound); }
absl::Status ErrEmptyKey() { return Make(kEmptyKey); }
absl::Status ErrValueProvided() { return Make(kValueProvided); }
absl::Status ErrLeaseProvided() { return Make(kLeaseProvided); }
absl::Status ErrDuplicateKey() { return Make(kDuplicateKey); }
absl::Status ErrLeaseNotFound() { return Make(kLeaseNotFound); }
absl::Status ErrAlreadyApplied() { return Make(kAlreadyApplied); }

bool IsCompacted(const absl::Status& s) { return Matches(s, kCompacted); }
bool IsFutureRev(const absl::Status& s) { return Matches(s, kFutureRev); }
bool IsKeyNotFound(const absl::Status& s) { return Matches(s, kKeyNotFound); }
bool IsEmptyKey(const absl::Status& s) { return Matches(s, kEmptyKey); }
bool IsValueProvided(const absl::Status& s) {
  return Matches(s, kValueProvided);
}
bool IsLeaseProvided(const absl::Status& s) {
  return Matches(s, kLeaseProvided);
}
bool IsDuplicateKey(const absl::Status& s) { return Matches(s, kDuplicateKey); }
bool IsLeaseNotFound(const absl::Status& s) {
  return Matches(s, kLeaseNotFound);
}
bool IsAlreadyApplied(const absl::Status& s) {
  return Matches(s, kAlreadyApplied);
}

}  // namespace keel::store
