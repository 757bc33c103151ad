// GrpcServer's registry and the status for paths it does not know.
#include "net/grpc_server.h"

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::net {
namespace {

// Splits "/package.Service/Method" into service and method, as grpc-go does
// (the method is after the last '/'). False if there is no '/'.
bool SplitPath(std::string_view path, std::string_view* service,
               std::string_view* method) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return false;
  *service = path.substr(0, slash);
  *method = path.substr(slash + 1);
  return true;
}

}  // namespace

std::optional<std::string_view> CallContext::Get(std::string_view key) const {
  for (const auto& [name, value] : metadata) {
    if (name == key) return std::string_view(value);
  }
  return std::nullopt;
}

void GrpcServer::RegisterUnary(std::string path, UnaryHandler handler) {
  KEEL_ASSERT(handler != nullptr);
  std::string_view service, method;
  KEEL_ASSERT_MSG(SplitPath(path, &service, &method), "gRPC path needs a '/'");
  services_[std::string(service)]++;
  const bool inserted =
      methods_.emplace(std::move(path), Method{.unary = std::move(handler)})
          .second;
  KEEL_ASSERT_MSG(inserted, "gRPC method registered twice");
}

void GrpcServer::RegisterStream(std::string path, StreamHandler handler) {
  KEEL_ASSERT(handler != nullptr);
  std::string_view service, method;
  KEEL_ASSERT_MSG(SplitPath(path, &service, &method), "gRPC path needs a '/'");
  services_[std::string(service)]++;
  const bool inserted =
      methods_.emplace(std::move(path), Method{.stream = std::move(handler)})
          .second;
  KEEL_ASSERT_MSG(inserted, "gRPC method registered twice");
}

void GrpcServer::AddInterceptor(Interceptor interceptor) {
  KEEL_ASSERT(interceptor != nullptr);
  interceptors_.push_back(std::move(interceptor));
}

absl::Status GrpcServer::Intercept(CallContext& context,
                                   const google::protobuf::Message* request) const {
  for (const Interceptor& interceptor : interceptors_) {
    absl::Status status = interceptor(context, request);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

const GrpcServer::Method* GrpcServer::Find(std::string_view path) const {
  auto it = methods_.find(path);
  return it == methods_.end() ? nullptr : &it->second;
}

absl::Status GrpcServer::UnknownMethodStatus(std::string_view path) const {
  std::string_view service, method;
  if (!SplitPath(path, &service, &method)) {
    return absl::ResourceExhaustedError(
        AsAbsl(StrCat("malformed method name: \"", path, "\"")));
  }
  if (services_.find(service) == services_.end()) {
    return absl::UnimplementedError(AsAbsl(StrCat("unknown service ", service)));
  }
  return absl::UnimplementedError(
      AsAbsl(StrCat("unknown method ", method, " for service ", service)));
}

}  // namespace keel::net
