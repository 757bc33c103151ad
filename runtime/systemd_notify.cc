// sd_notify through libsystemd.
#include "runtime/systemd_notify.h"

#include <string.h>
#include <systemd/sd-daemon.h>

#include "runtime/strings.h"

namespace keel {
namespace {

absl::Status Notify(const char* state) {
  // unset_environment = 0: a restart of the same process image (none today)
  // would still find the socket.
  const int told = sd_notify(0, state);
  if (told >= 0) return absl::OkStatus();
  return absl::UnavailableError(StrCat("sd_notify(", state, "): ", ::strerror(-told)));
}

}  // namespace

absl::Status NotifySystemdReady() { return Notify("READY=1"); }
absl::Status NotifySystemdStopping() { return Notify("STOPPING=1"); }

}  // namespace keel
