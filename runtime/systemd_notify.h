// Telling systemd about the service's state (sd_notify), for units of
// Type=notify: READY=1 once the member serves clients, STOPPING=1 when it
// begins to shut down, as etcd does. Outside systemd (NOTIFY_SOCKET unset)
// these do nothing.
#ifndef KEEL_RUNTIME_SYSTEMD_NOTIFY_H_
#define KEEL_RUNTIME_SYSTEMD_NOTIFY_H_

#include "absl/status/status.h"

namespace keel {

// OK when told or when there is no one to tell; the error otherwise (the
// caller logs it: a unit that never hears READY=1 times out, which is
// systemd's to report).
absl::Status NotifySystemdReady();
absl::Status NotifySystemdStopping();

}  // namespace keel

#endif  // KEEL_RUNTIME_SYSTEMD_NOTIFY_H_
