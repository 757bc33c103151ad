// HttpRouter lookups and the small helpers of http_message.h.
#include "net/http_message.h"

#include "runtime/assert.h"

namespace keel::net {

std::optional<std::string_view> HttpRequest::header(
    std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

HttpResponse TextResponse(int status, std::string_view text) {
  HttpResponse response;
  response.status = status;
  response.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                      {"X-Content-Type-Options", "nosniff"}};
  response.body = std::string(text) + "\n";
  return response;
}

void HttpRouter::Handle(std::string path, HttpHandler handler) {
  KEEL_ASSERT(handler != nullptr);
  exact_[std::move(path)] = Route{.handler = std::move(handler)};
}

void HttpRouter::HandleStream(std::string path, HttpStreamHandler handler) {
  KEEL_ASSERT(handler != nullptr);
  exact_[std::move(path)] = Route{.streaming = std::move(handler)};
}

void HttpRouter::HandlePrefix(std::string prefix, HttpHandler handler) {
  KEEL_ASSERT(handler != nullptr);
  prefixes_[std::move(prefix)] = Route{.handler = std::move(handler)};
}

void HttpRouter::HandleStreamPrefix(std::string prefix,
                                    HttpStreamHandler handler) {
  KEEL_ASSERT(handler != nullptr);
  prefixes_[std::move(prefix)] = Route{.streaming = std::move(handler)};
}

const HttpRouter::Route* HttpRouter::Find(std::string_view path) const {
  if (auto it = exact_.find(path); it != exact_.end()) return &it->second;
  const Route* best = nullptr;
  size_t best_length = 0;
  for (const auto& [prefix, route] : prefixes_) {
    if (path.substr(0, prefix.size()) == prefix &&
        (best == nullptr || prefix.size() > best_length)) {
      best = &route;
      best_length = prefix.size();
    }
  }
  return best;
}

std::string_view HttpStatusText(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

}  // namespace keel::net
