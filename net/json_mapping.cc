// The gateway's JSON mapping: splitting bodies, protobuf's JSON utilities
// with grpc-gateway's options, and its error shapes.
#include "net/json_mapping.h"

#include <memory>

#include "google/protobuf/util/json_util.h"
#include "net/http_message.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view text, size_t at) {
  while (at < text.size() && IsJsonSpace(text[at])) at++;
  return at;
}

// The end (one past the closing brace) of the object that starts at
// `begin`, found by counting braces outside strings, without recursion so
// that deep nesting costs no stack; protobuf's parser judges the rest.
absl::StatusOr<size_t> ObjectEnd(std::string_view text, size_t begin) {
  if (text[begin] != '{') {
    return absl::InvalidArgumentError(
        StrCat("invalid request body: expected a JSON object at offset ", begin));
  }
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = begin; i < text.size(); i++) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (depth == 0) break;  // Unbalanced: protobuf's parser names it.
      if (--depth == 0) return i + 1;
    }
  }
  // Go's json.Decoder says this of a truncated value; so does etcd.
  if (depth > 0 || in_string) return absl::InvalidArgumentError("unexpected EOF");
  return absl::InvalidArgumentError(
      StrCat("invalid request body: unbalanced JSON object at offset ", begin));
}

absl::StatusOr<std::string> DecodeOne(std::string_view json,
                                      const google::protobuf::Message& prototype,
                                      size_t max_message_bytes) {
  std::unique_ptr<google::protobuf::Message> message(prototype.New());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message.get(), options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        StrCat("invalid request body: ", std::string(parsed.message())));
  }
  const size_t size = message->ByteSizeLong();
  if (size > max_message_bytes) {
    // gRPC's text for what its receive limit refuses.
    return absl::InvalidArgumentError(
        StrCat("grpc: received message larger than max (", size, " vs. ", max_message_bytes,
               ")"));
  }
  return message->SerializeAsString();
}

// The length of the UTF-8 sequence at `at`, or 0 if it is not valid there.
size_t Utf8Length(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  size_t length;
  uint32_t code;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (size_t i = 1; i < length; i++) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(at + i) & 0x3F);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  if (overlong || surrogate || code > 0x10FFFF) return 0;
  return length;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> DecodeJsonBody(
    std::string_view body, const google::protobuf::Message& prototype, JsonBodyShape shape,
    size_t max_message_bytes) {
  std::vector<std::string> messages;
  size_t at = SkipSpace(body, 0);
  if (at == body.size()) {
    if (shape == JsonBodyShape::kOne) messages.push_back(std::string());
    return messages;
  }
  while (at < body.size()) {
    absl::StatusOr<size_t> end = ObjectEnd(body, at);
    if (!end.ok()) return end.status();
    absl::StatusOr<std::string> message =
        DecodeOne(body.substr(at, *end - at), prototype, max_message_bytes);
    if (!message.ok()) return message.status();
    messages.push_back(std::move(*message));
    at = SkipSpace(body, *end);
    if (shape == JsonBodyShape::kOne && at < body.size()) {
      return absl::InvalidArgumentError(
          StrCat("invalid request body: unexpected data after the request at offset ", at));
    }
  }
  return messages;
}

absl::StatusOr<std::string> EncodeJsonMessage(std::string_view bytes,
                                              const google::protobuf::Message& prototype) {
  std::unique_ptr<google::protobuf::Message> message(prototype.New());
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError(
        StrCat("gateway: cannot parse the ", prototype.GetTypeName(), " response"));
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = false;
  options.always_print_enums_as_ints = false;
  std::string json;
  auto printed = google::protobuf::util::MessageToJsonString(*message, &json, options);
  if (!printed.ok()) {
    return absl::InternalError(
        StrCat("gateway: cannot print the response: ", std::string(printed.message())));
  }
  return json;
}

int HttpStatusFromCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kCancelled: return 408;
    case absl::StatusCode::kUnknown: return 500;
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists: return 409;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kFailedPrecondition: return 412;
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kInternal: return 500;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDataLoss: return 500;
    default: return 500;
  }
}

std::string JsonErrorBody(const absl::Status& status) {
  const std::string message = JsonQuote(AsStd(status.message()));
  return StrCat("{\"error\":", message, ",\"message\":", message,
                ",\"code\":", static_cast<int>(status.code()), "}");
}

std::string JsonStreamErrorLine(const absl::Status& status) {
  const int http = HttpStatusFromCode(status.code());
  return StrCat("{\"error\":{\"grpc_code\":", static_cast<int>(status.code()),
                ",\"http_code\":", http, ",\"message\":", JsonQuote(AsStd(status.message())),
                ",\"http_status\":", JsonQuote(HttpStatusText(http)), "}}\n");
}

std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = Utf8Length(text, i);
      if (length == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD
        i++;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20) {
          constexpr char kHex[] = "0123456789abcdef";
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    i++;
  }
  out.push_back('"');
  return out;
}

}  // namespace keel::net
