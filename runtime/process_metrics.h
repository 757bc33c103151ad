// process_* metrics of the running process, read from /proc as
// client_golang's process collector reads them (etcd exposes the same
// families). Nondeterministic by nature, so here in runtime/: tools/keel
// hands it to the member as a callback; keel-sim's members have none.
#ifndef KEEL_RUNTIME_PROCESS_METRICS_H_
#define KEEL_RUNTIME_PROCESS_METRICS_H_

#include "runtime/metrics.h"

namespace keel::metrics {

// Writes process_cpu_seconds_total, process_open_fds, process_max_fds,
// process_virtual_memory_bytes, process_virtual_memory_max_bytes,
// process_resident_memory_bytes and process_start_time_seconds. A family
// whose /proc file cannot be read is left out (client_golang does the same).
void WriteProcessMetrics(TextWriter& out);

}  // namespace keel::metrics

#endif  // KEEL_RUNTIME_PROCESS_METRICS_H_
