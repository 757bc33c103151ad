// Http1RequestParser: http-parser callbacks that assemble an HttpRequest.
#include "net/http1_parser.h"

#include <algorithm>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

std::string Lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

// Splits a request target into path and query. An absolute-form target
// ("http://host/path?q") keeps only its path and query.
void SplitTarget(std::string_view target, std::string* path, std::string* query) {
  if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
    const size_t scheme_end = target.find("://") + 3;
    const size_t slash = target.find('/', scheme_end);
    target = slash == std::string_view::npos ? std::string_view("/")
                                             : target.substr(slash);
  }
  const size_t question = target.find('?');
  if (question == std::string_view::npos) {
    *path = std::string(target);
    query->clear();
  } else {
    *path = std::string(target.substr(0, question));
    *query = std::string(target.substr(question + 1));
  }
}

}  // namespace

struct Http1RequestParser::Hooks {
  static Http1RequestParser* Self(http_parser* p) {
    return static_cast<Http1RequestParser*>(p->data);
  }

  // Counts header bytes; false once over the limit.
  static bool Charge(Http1RequestParser* self, size_t n) {
    self->header_bytes_ += n;
    if (self->header_bytes_ <= kMaxHttp1HeaderBytes) return true;
    self->headers_too_large_ = true;
    return false;
  }

  static void FlushHeader(Http1RequestParser* self) {
    if (!self->in_header_value_) return;
    self->current_.headers.emplace_back(Lowercase(self->header_name_),
                                        std::move(self->header_value_));
    self->header_name_.clear();
    self->header_value_.clear();
    self->in_header_value_ = false;
  }

  static int OnMessageBegin(http_parser* p) {
    Http1RequestParser* self = Self(p);
    self->current_ = HttpRequest();
    self->header_bytes_ = 0;
    self->in_message_ = true;
    return 0;
  }

  static int OnUrl(http_parser* p, const char* at, size_t length) {
    Http1RequestParser* self = Self(p);
    if (!Charge(self, length)) return 1;
    self->current_.target.append(at, length);
    return 0;
  }

  static int OnHeaderField(http_parser* p, const char* at, size_t length) {
    Http1RequestParser* self = Self(p);
    if (!Charge(self, length)) return 1;
    FlushHeader(self);
    self->header_name_.append(at, length);
    return 0;
  }

  static int OnHeaderValue(http_parser* p, const char* at, size_t length) {
    Http1RequestParser* self = Self(p);
    if (!Charge(self, length)) return 1;
    self->in_header_value_ = true;
    self->header_value_.append(at, length);
    return 0;
  }

  static int OnHeadersComplete(http_parser* p) {
    Http1RequestParser* self = Self(p);
    FlushHeader(self);
    HttpRequest& request = self->current_;
    request.method = http_method_str(static_cast<http_method>(p->method));
    request.http_major = p->http_major;
    request.http_minor = p->http_minor;
    request.keep_alive = http_should_keep_alive(p) != 0;
    SplitTarget(request.target, &request.path, &request.query);
    if (p->content_length != ULLONG_MAX && p->content_length > self->max_body_bytes_) {
      self->body_too_large_ = true;
      return -1;
    }
    if (std::optional<std::string_view> expect = request.header("expect")) {
      self->expect_continue_ = Lowercase(*expect) == "100-continue";
    }
    return 0;
  }

  static int OnBody(http_parser* p, const char* at, size_t length) {
    Http1RequestParser* self = Self(p);
    if (self->current_.body.size() + length > self->max_body_bytes_) {
      self->body_too_large_ = true;
      return 1;
    }
    self->current_.body.append(at, length);
    return 0;
  }

  static int OnMessageComplete(http_parser* p) {
    Http1RequestParser* self = Self(p);
    self->in_message_ = false;
    self->expect_continue_ = false;
    if (p->upgrade) {
      self->upgraded_ = true;
      self->current_.keep_alive = false;
    }
    self->complete_ = std::move(self->current_);
    // Stop here: the caller answers this request before parsing the next.
    http_parser_pause(p, 1);
    return 0;
  }
};

Http1RequestParser::Http1RequestParser(size_t max_body_bytes)
    : max_body_bytes_(max_body_bytes) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &Hooks::OnMessageBegin;
  settings_.on_url = &Hooks::OnUrl;
  settings_.on_header_field = &Hooks::OnHeaderField;
  settings_.on_header_value = &Hooks::OnHeaderValue;
  settings_.on_headers_complete = &Hooks::OnHeadersComplete;
  settings_.on_body = &Hooks::OnBody;
  settings_.on_message_complete = &Hooks::OnMessageComplete;
}

absl::StatusOr<size_t> Http1RequestParser::Feed(std::string_view data) {
  if (!error_.ok()) return error_;
  KEEL_ASSERT(!complete_.has_value());
  if (upgraded_) {
    error_ = absl::InvalidArgumentError("http: bytes after an upgrade");
    return error_;
  }
  if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED) http_parser_pause(&parser_, 0);
  if (data.empty()) return size_t{0};
  const size_t consumed =
      http_parser_execute(&parser_, &settings_, data.data(), data.size());
  const auto error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_OK || error == HPE_PAUSED) {
    KEEL_ASSERT(consumed <= data.size());
    return consumed;
  }
  if (body_too_large_) {
    error_ = absl::ResourceExhaustedError("http: request body too large");
  } else if (headers_too_large_ || error == HPE_HEADER_OVERFLOW) {
    headers_too_large_ = true;
    error_ = absl::ResourceExhaustedError("http: request headers too large");
  } else {
    error_ = absl::InvalidArgumentError(
        AsAbsl(StrCat("http: malformed request: ", http_errno_name(error))));
  }
  return error_;
}

std::optional<HttpRequest> Http1RequestParser::TakeRequest() {
  std::optional<HttpRequest> request = std::move(complete_);
  complete_.reset();
  return request;
}

bool Http1RequestParser::TakeExpectContinue() {
  // Only while the body is still to come: a body already complete needs no
  // invitation.
  const bool expect = expect_continue_ && in_message_;
  expect_continue_ = false;
  return expect;
}

}  // namespace keel::net
