// Address parsing shared by every Network.
#include "runtime/network.h"

#include "runtime/strings.h"

namespace keel {

absl::Status SplitHostPort(std::string_view address, std::string* host,
                           uint16_t* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        StrCat("address ", address, ": missing host or port"));
  }
  std::string_view host_part = address.substr(0, colon);
  if (host_part.size() >= 2 && host_part.front() == '[' &&
      host_part.back() == ']') {
    host_part = host_part.substr(1, host_part.size() - 2);
  }
  uint32_t value = 0;
  if (!ParseInt(address.substr(colon + 1), &value) || value > 65535) {
    return absl::InvalidArgumentError(
        StrCat("address ", address, ": bad port"));
  }
  *host = std::string(host_part);
  *port = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

}  // namespace keel
