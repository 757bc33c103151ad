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

std::string_view GrpcTypeName(GrpcType type) {
  switch (type) {
    case GrpcType::kUnary: return "unary";
    case GrpcType::kClientStream: return "client_stream";
    case GrpcType::kServerStream: return "server_stream";
    case GrpcType::kBidiStream: return "bidi_stream";
  }
  return "unary";
}

std::string_view GrpcCodeName(int code) {
  static constexpr std::string_view kNames[kGrpcCodeCount] = {
      "OK",       "Canceled",          "Unknown",           "InvalidArgument",
      "DeadlineExceeded", "NotFound",  "AlreadyExists",     "PermissionDenied",
      "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
      "Unimplemented", "Internal",     "Unavailable",       "DataLoss",
      "Unauthenticated"};
  KEEL_ASSERT(code >= 0 && code < kGrpcCodeCount);
  return kNames[code];
}

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
  Method entry{.unary = std::move(handler)};
  entry.stats.type = GrpcType::kUnary;
  const bool inserted = methods_.emplace(std::move(path), std::move(entry)).second;
  KEEL_ASSERT_MSG(inserted, "gRPC method registered twice");
}

void GrpcServer::RegisterStream(std::string path, StreamHandler handler, GrpcType type) {
  KEEL_ASSERT(handler != nullptr);
  std::string_view service, method;
  KEEL_ASSERT_MSG(SplitPath(path, &service, &method), "gRPC path needs a '/'");
  services_[std::string(service)]++;
  Method entry{.stream = std::move(handler)};
  entry.stats.type = type;
  const bool inserted = methods_.emplace(std::move(path), std::move(entry)).second;
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

void GrpcServer::WriteMetrics(metrics::TextWriter& out, bool handling_time) const {
  using metrics::MetricType;
  // Labels in go-grpc-prometheus's order as client_golang sorts them.
  auto each = [&](auto&& emit) {
    for (const auto& [path, method] : methods_) {
      std::string_view service, name;
      const bool split = SplitPath(path, &service, &name);
      KEEL_ASSERT(split);
      emit(service, name, GrpcTypeName(method.stats.type), method.stats);
    }
  };
  out.Family("grpc_server_handled_total",
             "Total number of RPCs completed on the server, regardless of success or failure.",
             MetricType::kCounter);
  each([&](auto service, auto name, auto type, const GrpcMethodStats& stats) {
    for (int code = 0; code < kGrpcCodeCount; code++) {
      out.Sample("grpc_server_handled_total",
                 {{"grpc_code", GrpcCodeName(code)}, {"grpc_method", name},
                  {"grpc_service", service}, {"grpc_type", type}},
                 static_cast<double>(stats.handled[code].value()));
    }
  });
  if (handling_time) {
    out.Family("grpc_server_handling_seconds",
               "Histogram of response latency (seconds) of gRPC that had been "
               "application-level handled by the server.",
               MetricType::kHistogram);
    each([&](auto service, auto name, auto type, const GrpcMethodStats& stats) {
      out.HistogramSamples(
          "grpc_server_handling_seconds",
          {{"grpc_method", name}, {"grpc_service", service}, {"grpc_type", type}},
          stats.handling_seconds);
    });
  }
  struct Simple {
    std::string_view name;
    std::string_view help;
    metrics::Counter GrpcMethodStats::*counter;
  };
  for (const Simple& family :
       {Simple{"grpc_server_msg_received_total",
               "Total number of RPC stream messages received on the server.",
               &GrpcMethodStats::msg_received},
        Simple{"grpc_server_msg_sent_total",
               "Total number of gRPC stream messages sent by the server.",
               &GrpcMethodStats::msg_sent},
        Simple{"grpc_server_started_total", "Total number of RPCs started on the server.",
               &GrpcMethodStats::started}}) {
    out.Family(family.name, family.help, MetricType::kCounter);
    each([&](auto service, auto name, auto type, const GrpcMethodStats& stats) {
      out.Sample(family.name,
                 {{"grpc_method", name}, {"grpc_service", service}, {"grpc_type", type}},
                 static_cast<double>((stats.*family.counter).value()));
    });
  }
}

uint64_t GrpcServer::received_bytes() const {
  uint64_t total = 0;
  for (const auto& [path, method] : methods_) total += method.stats.received_bytes.value();
  return total;
}

uint64_t GrpcServer::sent_bytes() const {
  uint64_t total = 0;
  for (const auto& [path, method] : methods_) total += method.stats.sent_bytes.value();
  return total;
}

}  // namespace keel::net
