// errno to absl::Status, as posix_errors.h documents.
#include "runtime/posix_errors.h"

#include <cerrno>
#include <cstring>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel {

absl::StatusCode ErrnoToCode(int error) {
  switch (error) {
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EEXIST:
    case EADDRINUSE:
      return absl::StatusCode::kAlreadyExists;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOBUFS:
      return absl::StatusCode::kResourceExhausted;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOTEMPTY:
    case EISDIR:
    case ENOTDIR:
    case EBADF:
    case EBUSY:
      return absl::StatusCode::kFailedPrecondition;
    case EINVAL:
    case ENAMETOOLONG:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
      return absl::StatusCode::kInvalidArgument;
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENOTCONN:
    case ETIMEDOUT:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case EAGAIN:
      return absl::StatusCode::kUnavailable;
    default:
      // EIO and everything unexpected: the device or kernel misbehaved.
      return absl::StatusCode::kInternal;
  }
}

absl::Status ErrnoToStatus(int error, std::string_view context) {
  KEEL_ASSERT(error != 0);
  char buffer[128];
  // The GNU strerror_r returns a pointer that may or may not be `buffer`.
  const char* text = strerror_r(error, buffer, sizeof(buffer));
  KEEL_ASSERT(text != nullptr);
  return absl::Status(ErrnoToCode(error), AsAbsl(StrCat(context, ": ", text)));
}

}  // namespace keel
