// Http1RequestParser: HTTP/1.1 requests out of a byte stream, on Node's
// http-parser, without any I/O.
//
// Feed() takes bytes and stops after each complete request, so a connection
// answers pipelined requests one at a time; bytes it did not consume are fed
// again after the response. Limits are enforced while parsing, so no
// request grows past them in memory.
#ifndef KEEL_NET_HTTP1_PARSER_H_
#define KEEL_NET_HTTP1_PARSER_H_

#include <http_parser.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/http_message.h"

namespace keel::net {

// Request line plus headers.
inline constexpr size_t kMaxHttp1HeaderBytes = 64 * 1024;
// Default body limit (the gateway's requests are etcd requests, limited to
// 1.5 MiB by default; this leaves room for base64 and JSON).
inline constexpr size_t kDefaultMaxHttp1BodyBytes = 4 * 1024 * 1024;

class Http1RequestParser {
 public:
  explicit Http1RequestParser(size_t max_body_bytes = kDefaultMaxHttp1BodyBytes);
  Http1RequestParser(const Http1RequestParser&) = delete;
  Http1RequestParser& operator=(const Http1RequestParser&) = delete;

  // Parses from `data` and returns how many bytes were consumed: all of them,
  // or fewer if a request completed (take it with TakeRequest(), then feed
  // the rest). Errors, after which the parser is dead:
  //  - InvalidArgument: not HTTP/1.x (the http-parser error name in the text);
  //  - ResourceExhausted: headers over kMaxHttp1HeaderBytes or a body over
  //    the limit (the message says which, for a 431 or 413 answer).
  absl::StatusOr<size_t> Feed(std::string_view data);

  // The request that completed, once.
  std::optional<HttpRequest> TakeRequest();

  // True once, when the headers of a request carrying
  // "Expect: 100-continue" are complete (the server then sends 100 Continue).
  bool TakeExpectContinue();

  // True between the first byte of a request and its completion.
  bool in_message() const { return in_message_; }
  // The last request used an Upgrade; nothing after it can be parsed.
  bool upgraded() const { return upgraded_; }
  // Whether the error was a body over the limit (413) or headers (431).
  bool body_too_large() const { return body_too_large_; }

 private:
  struct Hooks;
  friend struct Hooks;

  const size_t max_body_bytes_;
  http_parser parser_;
  http_parser_settings settings_;
  HttpRequest current_;
  std::string header_name_;
  std::string header_value_;
  bool in_header_value_ = false;
  size_t header_bytes_ = 0;
  bool in_message_ = false;
  bool expect_continue_ = false;
  bool upgraded_ = false;
  bool body_too_large_ = false;
  bool headers_too_large_ = false;
  std::optional<HttpRequest> complete_;
  absl::Status error_;
};

}  // namespace keel::net

#endif  // KEEL_NET_HTTP1_PARSER_H_
