// Standard base64 (RFC 4648, with padding), the encoding etcd's JSON gateway
// uses for keys and values. Histories store keys and values as base64 so that
// arbitrary bytes survive a JSON text file.
#ifndef KEEL_CHECK_BASE64_H_
#define KEEL_CHECK_BASE64_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keel::check {

// Encodes any bytes. Never fails.
std::string Base64Encode(std::string_view bytes);

// Decodes padded standard base64. InvalidArgument on a character outside the
// alphabet, a length that is not a multiple of 4, misplaced padding or
// non-zero trailing bits (so every byte string has exactly one encoding).
absl::StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace keel::check

#endif  // KEEL_CHECK_BASE64_H_
