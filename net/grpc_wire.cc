// gRPC framing, grpc-message and grpc-timeout encodings, and the error
// mappings of grpc-go 1.33 (see grpc_wire.h).
#include "net/grpc_wire.h"

#include <limits>

#include "net/http_message.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";
constexpr int64_t kMaxTimeoutValue = 99'999'999;  // 8 digits.

void AppendPercent(unsigned char byte, std::string* out) {
  out->push_back('%');
  out->push_back(kHexDigits[byte >> 4]);
  out->push_back(kHexDigits[byte & 0xF]);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  uint32_t min = 0;
  uint32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2, min = 0x80, cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3, min = 0x800, cp = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4, min = 0x10000, cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

void AppendGrpcFrame(std::string_view message, std::string* out) {
  KEEL_ASSERT(message.size() <= kGrpcMaxMessageBytes);
  const auto n = static_cast<uint32_t>(message.size());
  const char header[kGrpcFrameHeaderBytes] = {
      0, static_cast<char>(n >> 24), static_cast<char>(n >> 16),
      static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(header, kGrpcFrameHeaderBytes);
  out->append(message);
}

absl::Status GrpcFrameDecoder::Append(std::string_view data) {
  if (!error_.ok()) return error_;
  while (!data.empty()) {
    if (partial_.size() < kGrpcFrameHeaderBytes) {
      const size_t take =
          std::min(data.size(), kGrpcFrameHeaderBytes - partial_.size());
      partial_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (partial_.size() < kGrpcFrameHeaderBytes) break;
      if (partial_[0] != 0) {
        error_ = absl::InternalError(
            "grpc: compressed flag set with identity or empty encoding");
        return error_;
      }
    }
    const auto* h = reinterpret_cast<const unsigned char*>(partial_.data());
    const size_t length = (size_t{h[1]} << 24) | (size_t{h[2]} << 16) |
                          (size_t{h[3]} << 8) | size_t{h[4]};
    if (length > max_message_bytes_) {
      error_ = absl::ResourceExhaustedError(
          StrCat("grpc: received message larger than max (", length, " vs. ",
                 max_message_bytes_, ")"));
      return error_;
    }
    const size_t have = partial_.size() - kGrpcFrameHeaderBytes;
    const size_t take = std::min(data.size(), length - have);
    partial_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (partial_.size() - kGrpcFrameHeaderBytes < length) break;
    ready_bytes_ += length;
    ready_.push_back(partial_.substr(kGrpcFrameHeaderBytes));
    partial_.clear();
  }
  return absl::OkStatus();
}

std::optional<std::string> GrpcFrameDecoder::Next() {
  if (ready_.empty()) return std::nullopt;
  std::string message = std::move(ready_.front());
  ready_.pop_front();
  KEEL_ASSERT(ready_bytes_ >= message.size());
  ready_bytes_ -= message.size();
  return message;
}

std::string EncodeGrpcMessage(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  size_t i = 0;
  while (i < message.size()) {
    const auto c = static_cast<unsigned char>(message[i]);
    if (c < 0x80) {
      if (c >= ' ' && c <= '~' && c != '%') {
        out.push_back(static_cast<char>(c));
      } else {
        AppendPercent(c, &out);
      }
      i++;
      continue;
    }
    const size_t n = Utf8SequenceLength(message, i);
    if (n == 0) {
      // U+FFFD, as grpc-go writes for a byte that is not UTF-8.
      out.append("%EF%BF%BD");
      i++;
      continue;
    }
    for (size_t k = 0; k < n; k++) {
      AppendPercent(static_cast<unsigned char>(message[i + k]), &out);
    }
    i += n;
  }
  return out;
}

std::string DecodeGrpcMessage(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); i++) {
    if (encoded[i] == '%' && i + 2 < encoded.size() &&
        HexValue(encoded[i + 1]) >= 0 && HexValue(encoded[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(encoded[i + 1]) * 16 +
                                      HexValue(encoded[i + 2])));
      i += 2;
    } else {
      out.push_back(encoded[i]);
    }
  }
  return out;
}

std::optional<Duration> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  switch (value.back()) {
    case 'H': {
      constexpr int64_t kMaxHours =
          std::numeric_limits<int64_t>::max() / (3600LL * 1'000'000'000LL);
      if (amount > kMaxHours) return Duration::max();
      return Seconds(amount * 3600);
    }
    case 'M':
      return Seconds(amount * 60);
    case 'S':
      return Seconds(amount);
    case 'm':
      return Milliseconds(amount);
    case 'u':
      return Microseconds(amount);
    case 'n':
      return Nanoseconds(amount);
    default:
      return std::nullopt;
  }
}

std::string FormatGrpcTimeout(Duration timeout) {
  const int64_t ns = timeout.count();
  if (ns <= 0) return "0n";
  struct Unit {
    int64_t nanos;
    char suffix;
  };
  constexpr Unit kUnits[] = {{1, 'n'},
                             {1'000, 'u'},
                             {1'000'000, 'm'},
                             {1'000'000'000, 'S'},
                             {60'000'000'000, 'M'}};
  for (const Unit& unit : kUnits) {
    const int64_t amount = ns / unit.nanos + (ns % unit.nanos > 0 ? 1 : 0);
    if (amount <= kMaxTimeoutValue) return StrCat(amount, std::string(1, unit.suffix));
  }
  constexpr int64_t kHour = 3'600'000'000'000;
  return StrCat(ns / kHour + (ns % kHour > 0 ? 1 : 0), "H");
}

absl::Status StatusFromHttpStatus(int http_status) {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  switch (http_status) {
    case 400:
      code = absl::StatusCode::kInternal;
      break;
    case 401:
      code = absl::StatusCode::kUnauthenticated;
      break;
    case 403:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case 404:
      code = absl::StatusCode::kUnimplemented;
      break;
    case 429:
    case 502:
    case 503:
    case 504:
      code = absl::StatusCode::kUnavailable;
      break;
    default:
      break;
  }
  // grpc-go's wording: "<reason>: HTTP status code <n>".
  return absl::Status(code, AsAbsl(StrCat(HttpStatusText(http_status),
                                          ": HTTP status code ", http_status)));
}

std::string Http2ErrorName(uint32_t code) {
  static constexpr const char* kNames[] = {
      "NO_ERROR",          "PROTOCOL_ERROR",     "INTERNAL_ERROR",
      "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",  "STREAM_CLOSED",
      "FRAME_SIZE_ERROR",  "REFUSED_STREAM",     "CANCEL",
      "COMPRESSION_ERROR", "CONNECT_ERROR",      "ENHANCE_YOUR_CALM",
      "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
  if (code < std::size(kNames)) return kNames[code];
  return StrCat("unknown error code 0x", absl::Hex(code));
}

absl::Status StatusFromRstStream(uint32_t code) {
  absl::StatusCode status = absl::StatusCode::kInternal;
  switch (code) {
    case 3:  // FLOW_CONTROL_ERROR
    case 11:  // ENHANCE_YOUR_CALM
      status = absl::StatusCode::kResourceExhausted;
      break;
    case 7:  // REFUSED_STREAM
      status = absl::StatusCode::kUnavailable;
      break;
    case 8:  // CANCEL
      status = absl::StatusCode::kCancelled;
      break;
    case 12:  // INADEQUATE_SECURITY
      status = absl::StatusCode::kPermissionDenied;
      break;
    default:
      break;
  }
  return absl::Status(
      status, AsAbsl(StrCat("stream terminated by RST_STREAM with error code: ",
                            Http2ErrorName(code))));
}

absl::Status StatusFromGrpcCode(int code, std::string_view message) {
  if (code < 0 || code > 16) {
    return absl::UnknownError(AsAbsl(message));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), AsAbsl(message));
}

absl::Status ContextDeadlineExceeded() {
  return absl::DeadlineExceededError("context deadline exceeded");
}

}  // namespace keel::net
