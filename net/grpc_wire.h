// The gRPC-over-HTTP/2 wire details both keel's server and client need:
// length-prefixed message framing, the percent-encoding of grpc-message, the
// grpc-timeout header, and the mappings from HTTP status and HTTP/2 error
// codes to gRPC codes. Texts that clients may match on (size limits,
// compression, RST_STREAM) are grpc-go 1.33's, the library etcd 3.4 uses.
//
// absl::StatusCode's numbers are gRPC's codes (OK = 0 ... UNAUTHENTICATED =
// 16), so a status code travels as its integer value.
#ifndef KEEL_NET_GRPC_WIRE_H_
#define KEEL_NET_GRPC_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "runtime/time.h"

namespace keel::net {

// Every gRPC message on the wire: 1 byte compressed flag, 4 bytes big-endian
// length, then the message.
inline constexpr size_t kGrpcFrameHeaderBytes = 5;
// The largest length the 4-byte prefix can hold that grpc-go accepts.
inline constexpr size_t kGrpcMaxMessageBytes = (size_t{1} << 31) - 1;

// grpc-go's default receive limit; etcd raises it to --max-request-bytes plus
// 512 KiB of gRPC overhead.
inline constexpr size_t kDefaultMaxReceiveMessageBytes = 4 * 1024 * 1024;

// Appends `message` framed (uncompressed) to `out`.
void AppendGrpcFrame(std::string_view message, std::string* out);

// Splits a byte stream into gRPC messages. Bytes go in with Append(); each
// whole message comes out of Next(). Only uncompressed messages are accepted.
class GrpcFrameDecoder {
 public:
  explicit GrpcFrameDecoder(size_t max_message_bytes)
      : max_message_bytes_(max_message_bytes) {}

  // Takes `data` and splits off every complete message. After an error the
  // decoder refuses all further input with the same error:
  //  - ResourceExhausted "grpc: received message larger than max (N vs. M)"
  //    as soon as a prefix announces more than the limit;
  //  - Internal "grpc: compressed flag set with identity or empty encoding"
  //    for a compressed message.
  absl::Status Append(std::string_view data);

  // The next complete message, or nullopt.
  std::optional<std::string> Next();

  // Bytes of complete messages waiting in Next().
  size_t ready_bytes() const { return ready_bytes_; }
  size_t ready_count() const { return ready_.size(); }
  // True if some bytes of an unfinished message have arrived.
  bool has_partial() const { return !partial_.empty(); }

 private:
  const size_t max_message_bytes_;
  std::string partial_;  // Header and payload of the message being read.
  std::deque<std::string> ready_;
  size_t ready_bytes_ = 0;
  absl::Status error_;
};

// grpc-message encoding: printable ASCII except '%' passes through, every
// other byte is %XX (uppercase hex); an invalid UTF-8 byte becomes the
// encoded replacement character %EF%BF%BD, as grpc-go does.
std::string EncodeGrpcMessage(std::string_view message);
// Undoes EncodeGrpcMessage; a '%' not followed by two hex digits is kept.
std::string DecodeGrpcMessage(std::string_view encoded);

// Parses a grpc-timeout value ("<1-8 digits><H|M|S|m|u|n>"). nullopt if
// malformed. Hours that would overflow clamp to the largest Duration.
std::optional<Duration> ParseGrpcTimeout(std::string_view value);
// Formats `timeout` with the finest unit that fits in 8 digits, rounding up
// (grpc-go's encoding). Non-positive timeouts become "0n".
std::string FormatGrpcTimeout(Duration timeout);

// The status a client reports for a response whose :status is not 200
// (grpc-go's table: 400 Internal, 401 Unauthenticated, 403 PermissionDenied,
// 404 Unimplemented, 429/502/503/504 Unavailable, otherwise Unknown).
absl::Status StatusFromHttpStatus(int http_status);

// The status a client reports for a stream reset with HTTP/2 error `code`:
// "stream terminated by RST_STREAM with error code: CANCEL" and so on.
absl::Status StatusFromRstStream(uint32_t http2_error_code);

// The name of an HTTP/2 error code ("NO_ERROR", "CANCEL", ...).
std::string Http2ErrorName(uint32_t http2_error_code);

// A status from a wire code; codes outside 0..16 become Unknown.
absl::Status StatusFromGrpcCode(int code, std::string_view message);

// What grpc-go reports for a call whose context expired (DEADLINE_EXCEEDED
// "context deadline exceeded"), on either side: clients match the text.
absl::Status ContextDeadlineExceeded();

}  // namespace keel::net

#endif  // KEEL_NET_GRPC_WIRE_H_
