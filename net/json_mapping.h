// grpc-gateway's JSON mapping, as etcd 3.4's gateway applies it (measured:
// ../shared/notes/leveldb-grpc-gateway-findings.md), on protobuf's own JSON
// utilities:
//  - out: proto field names as written in the .proto (`cluster_id`, `ID`,
//    `dbSize`), int64/uint64 as strings, bytes as base64, enums by name,
//    zero values and empty fields omitted;
//  - in: proto or lowerCamel names, int64 as string or number, enums by
//    name or number. Unlike etcd (whose gateway ignores them), an unknown
//    field is refused: the issue asks for a clear 400 rather than a request
//    that silently does less than the client meant.
//  - errors: HTTP status from the gRPC code (grpc-gateway v1's table) and
//    the body {"error","message","code"}; on a stream after it started, one
//    {"error":{"grpc_code","http_code","message","http_status"}} line.
// Nothing here suspends or touches I/O: the fuzz target calls it directly.
#ifndef KEEL_NET_JSON_MAPPING_H_
#define KEEL_NET_JSON_MAPPING_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace keel::net {

// How a request body is split into messages.
enum class JsonBodyShape {
  kOne,   // A unary or server-streaming call: exactly one object; an empty
          // body is the empty message (as grpc-gateway reads io.EOF).
  kMany,  // A client stream: zero or more objects one after another
          // (whitespace between them), as grpc-gateway's json.Decoder reads.
};

// Parses `body` into serialized `prototype`-typed messages. Each message's
// binary size must not exceed `max_message_bytes` (the gRPC receive limit).
// Errors are InvalidArgument with a text that names the problem (the
// gateway answers them 400).
absl::StatusOr<std::vector<std::string>> DecodeJsonBody(
    std::string_view body, const google::protobuf::Message& prototype,
    JsonBodyShape shape, size_t max_message_bytes);

// `bytes` (a serialized `prototype`-typed message) as the gateway prints it.
// Internal if the bytes do not parse.
absl::StatusOr<std::string> EncodeJsonMessage(std::string_view bytes,
                                              const google::protobuf::Message& prototype);

// grpc-gateway v1's HTTPStatusFromCode (etcd 3.4 answers FailedPrecondition
// with 412, NotFound with 404, InvalidArgument and OutOfRange with 400).
int HttpStatusFromCode(absl::StatusCode code);

// {"error":"m","message":"m","code":N} for `status`.
std::string JsonErrorBody(const absl::Status& status);

// The line a stream ends with when its call fails after it started:
// {"error":{"grpc_code":N,"http_code":H,"message":"m","http_status":"T"}}.
std::string JsonStreamErrorLine(const absl::Status& status);

// `text` as a JSON string literal, quotes included; bytes that are not
// valid UTF-8 become U+FFFD.
std::string JsonQuote(std::string_view text);

}  // namespace keel::net

#endif  // KEEL_NET_JSON_MAPPING_H_
