// The JSON gateway: HTTP/1.1 requests turned into calls of the GrpcServer's
// own handlers.
#include "net/json_gateway.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "net/json_mapping.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

using google::protobuf::Message;

constexpr std::string_view kMetadataPrefix = "grpc-metadata-";

struct RouteInfo {
  std::string method;
  const Message* request = nullptr;   // Prototypes from the generated pool.
  const Message* response = nullptr;
  bool client_streaming = false;
  bool server_streaming = false;
  std::shared_ptr<const std::vector<std::string>> cors;
};

RouteInfo Resolve(const GatewayRoute& route,
                  std::shared_ptr<const std::vector<std::string>> cors) {
  // "/pkg.Service/Method" is "pkg.Service.Method" to the descriptor pool.
  std::string name(route.method.substr(route.method.empty() ? 0 : 1));
  std::replace(name.begin(), name.end(), '/', '.');
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  KEEL_ASSERT(descriptor != nullptr);
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  RouteInfo info;
  info.method = std::string(route.method);
  info.request = factory->GetPrototype(descriptor->input_type());
  info.response = factory->GetPrototype(descriptor->output_type());
  KEEL_ASSERT(info.request != nullptr && info.response != nullptr);
  info.client_streaming = descriptor->client_streaming();
  info.server_streaming = descriptor->server_streaming();
  info.cors = std::move(cors);
  return info;
}

// etcd's corsHandler: every answer allows "*" when any origin is allowed,
// else echoes an allowed Origin.
HttpHeaders CorsHeaders(const std::vector<std::string>& origins, const HttpRequest& request) {
  std::string allowed;
  if (origins.empty() || std::find(origins.begin(), origins.end(), "*") != origins.end()) {
    allowed = "*";
  } else if (std::optional<std::string_view> origin = request.header("origin");
             origin.has_value() &&
             std::find(origins.begin(), origins.end(), *origin) != origins.end()) {
    allowed = std::string(*origin);
  } else {
    return {};
  }
  return {{"Access-Control-Allow-Headers", "accept, content-type, authorization"},
          {"Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE"},
          {"Access-Control-Allow-Origin", allowed}};
}

// What the HTTP request carries into the call's context.
void FillContext(CallContext& context, const RouteInfo& info, const HttpRequest& request) {
  context.method = info.method;
  context.authority = std::string(request.header("host").value_or(""));
  context.peer_address = request.peer_address;
  for (const auto& [name, value] : request.headers) {
    if (name == "authorization") {
      context.metadata.emplace_back(name, value);
    } else if (name.size() > kMetadataPrefix.size() && name.starts_with(kMetadataPrefix)) {
      context.metadata.emplace_back(name.substr(kMetadataPrefix.size()), value);
    }
  }
}

HttpHeaders JsonHeaders(HttpHeaders cors) {
  cors.push_back({"Content-Type", "application/json"});
  return cors;
}

HttpResponse JsonResponse(int status, std::string body, const HttpHeaders& cors) {
  HttpResponse response;
  response.status = status;
  response.headers = JsonHeaders(cors);
  response.body = std::move(body);
  return response;
}

HttpResponse ErrorResponse(const absl::Status& status, const HttpHeaders& cors) {
  return JsonResponse(HttpStatusFromCode(status.code()), JsonErrorBody(status), cors);
}

// The answer to a request no method sees: a preflight or a method other
// than POST.
std::optional<HttpResponse> Refusal(const HttpRequest& request, const HttpHeaders& cors) {
  if (request.method == "POST") return std::nullopt;
  HttpResponse response;
  if (request.method != "OPTIONS") response = TextResponse(405, "Method Not Allowed");
  response.headers.insert(response.headers.begin(), cors.begin(), cors.end());
  return response;
}

Task<HttpResponse> ServeUnary(const RouteInfo& info, const GrpcServer& grpc,
                              HttpRequest request) {
  const HttpHeaders cors = CorsHeaders(*info.cors, request);
  if (std::optional<HttpResponse> refused = Refusal(request, cors)) {
    co_return std::move(*refused);
  }
  absl::StatusOr<std::vector<std::string>> messages =
      DecodeJsonBody(request.body, *info.request, JsonBodyShape::kOne,
                     grpc.options().max_receive_message_bytes);
  if (!messages.ok()) co_return ErrorResponse(messages.status(), cors);
  const GrpcServer::Method* method = grpc.Find(info.method);
  if (method == nullptr || !method->unary) {
    co_return ErrorResponse(grpc.UnknownMethodStatus(info.method), cors);
  }
  CallContext context;
  FillContext(context, info, request);
  absl::StatusOr<std::string> reply = co_await method->unary(context, std::move(messages->front()));
  if (!reply.ok()) co_return ErrorResponse(reply.status(), cors);
  absl::StatusOr<std::string> json = EncodeJsonMessage(*reply, *info.response);
  if (!json.ok()) co_return ErrorResponse(json.status(), cors);
  HttpResponse response = JsonResponse(200, std::move(*json), cors);
  // grpc-gateway forwards the gRPC response's headers; etcd's clients see
  // this one.
  response.headers.push_back({"Grpc-Metadata-Content-Type", "application/grpc"});
  co_return response;
}

// The call's side of a streaming request: requests from the decoded body,
// responses as JSON lines on the chunked body.
class GatewayStream final : public ServerStream {
 public:
  GatewayStream(std::vector<std::string> requests, const Message& response,
                HttpResponseStream& out, HttpHeaders headers)
      : requests_(std::move(requests)), response_(response), out_(out),
        headers_(std::move(headers)) {}

  Task<std::optional<std::string>> Read() override {
    if (next_ == requests_.size()) co_return std::nullopt;
    co_return std::move(requests_[next_++]);
  }

  Task<absl::Status> Write(std::string message) override {
    absl::StatusOr<std::string> json = EncodeJsonMessage(message, response_);
    if (!json.ok()) co_return json.status();
    KEEL_CO_RETURN_IF_ERROR(co_await Start(200));
    co_return co_await out_.Write(StrCat("{\"result\":", *json, "}\n"));
  }

  // Sends the status line and headers unless already sent.
  Task<absl::Status> Start(int status) {
    if (started_) co_return absl::OkStatus();
    started_ = true;
    co_return co_await out_.Start(status, headers_);
  }

  bool started() const { return started_; }

 private:
  std::vector<std::string> requests_;
  size_t next_ = 0;
  const Message& response_;
  HttpResponseStream& out_;
  HttpHeaders headers_;
  bool started_ = false;
};

Task<absl::Status> WriteWhole(HttpResponseStream& out, HttpResponse response) {
  KEEL_CO_RETURN_IF_ERROR(co_await out.Start(response.status, response.headers));
  co_return co_await out.Write(std::move(response.body));
}

Task<absl::Status> ServeStream(const RouteInfo& info, const GrpcServer& grpc,
                               HttpRequest request, HttpResponseStream& out) {
  const HttpHeaders cors = CorsHeaders(*info.cors, request);
  if (std::optional<HttpResponse> refused = Refusal(request, cors)) {
    co_return co_await WriteWhole(out, std::move(*refused));
  }
  absl::StatusOr<std::vector<std::string>> messages = DecodeJsonBody(
      request.body, *info.request,
      info.client_streaming ? JsonBodyShape::kMany : JsonBodyShape::kOne,
      grpc.options().max_receive_message_bytes);
  if (!messages.ok()) co_return co_await WriteWhole(out, ErrorResponse(messages.status(), cors));
  const GrpcServer::Method* method = grpc.Find(info.method);
  if (method == nullptr || !method->stream) {
    co_return co_await WriteWhole(out, ErrorResponse(grpc.UnknownMethodStatus(info.method), cors));
  }
  CallContext context;
  FillContext(context, info, request);
  GatewayStream stream(std::move(*messages), *info.response, out, JsonHeaders(cors));
  const absl::Status status = co_await method->stream(context, stream);
  if (status.ok()) co_return co_await stream.Start(200);
  // grpc-gateway's stream error: the status follows the code if nothing was
  // sent yet; the body ends with one error line either way.
  KEEL_CO_RETURN_IF_ERROR(co_await stream.Start(HttpStatusFromCode(status.code())));
  co_return co_await out.Write(JsonStreamErrorLine(status));
}

}  // namespace

void RegisterJsonGateway(HttpRouter& http, const GrpcServer& grpc,
                         std::span<const GatewayRoute> routes,
                         const JsonGatewayOptions& options) {
  auto cors = std::make_shared<const std::vector<std::string>>(options.cors_origins);
  for (const GatewayRoute& route : routes) {
    auto info = std::make_shared<const RouteInfo>(Resolve(route, cors));
    const bool streaming = info->client_streaming || info->server_streaming;
    for (const std::string& prefix : options.prefixes) {
      std::string path = StrCat(prefix, route.path);
      if (streaming) {
        http.HandleStream(std::move(path), [info, &grpc](HttpRequest request,
                                                         HttpResponseStream& out) {
          return ServeStream(*info, grpc, std::move(request), out);
        });
      } else {
        http.Handle(std::move(path), [info, &grpc](HttpRequest request) {
          return ServeUnary(*info, grpc, std::move(request));
        });
      }
    }
  }
}

}  // namespace keel::net
