// HealthService: grpc.health.v1 Check and Watch over the method registry.
#include "net/health_service.h"

namespace keel::net {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthService::HealthService() { statuses_[""] = HealthCheckResponse::SERVING; }

void HealthService::SetStatus(const std::string& service, ServingStatus status) {
  statuses_[service] = status;
  version_++;
  changed_.WakeAll();
}

HealthService::ServingStatus HealthService::StatusOf(
    const std::string& service) const {
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN
                               : it->second;
}

void HealthService::Register(GrpcServer& server) {
  server.AddUnary<HealthCheckRequest, HealthCheckResponse>(
      "/grpc.health.v1.Health/Check",
      [this](CallContext&, HealthCheckRequest request)
          -> Task<absl::StatusOr<HealthCheckResponse>> {
        auto it = statuses_.find(request.service());
        if (it == statuses_.end()) {
          co_return absl::NotFoundError("unknown service");
        }
        HealthCheckResponse response;
        response.set_status(it->second);
        co_return response;
      });
  server.AddServerStream<HealthCheckRequest, HealthCheckResponse>(
      "/grpc.health.v1.Health/Watch",
      [this](CallContext&, HealthCheckRequest request,
             TypedServerStream<HealthCheckRequest, HealthCheckResponse>& stream)
          -> Task<absl::Status> {
        std::optional<ServingStatus> last;
        while (true) {
          const ServingStatus now = StatusOf(request.service());
          if (!last.has_value() || *last != now) {
            HealthCheckResponse response;
            response.set_status(now);
            KEEL_CO_RETURN_IF_ERROR(co_await stream.Write(response));
            last = now;
          }
          const uint64_t seen = version_;
          while (version_ == seen) co_await changed_.Wait();
        }
      });
}

}  // namespace keel::net
