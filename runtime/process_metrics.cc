// process_* from /proc/self (see process_metrics.h).
#include "runtime/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace keel::metrics {
namespace {

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fields of /proc/self/stat after the command name (which may hold
// spaces; it ends at the last ')'): field 3 (state) is [0].
std::optional<std::vector<std::string>> StatFields() {
  std::optional<std::string> stat = ReadFile("/proc/self/stat");
  if (!stat.has_value()) return std::nullopt;
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat->substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  if (fields.size() < 22) return std::nullopt;
  return fields;
}

std::optional<double> BootTimeSeconds() {
  std::optional<std::string> stat = ReadFile("/proc/stat");
  if (!stat.has_value()) return std::nullopt;
  std::istringstream lines(*stat);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return std::nullopt;
}

std::optional<double> OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  double count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') count++;
  }
  closedir(dir);
  return count - 1;  // The directory stream's own descriptor.
}

// The soft limit of a /proc/self/limits row ("Max open files");
// "unlimited" is RLIM_INFINITY, 2^64-1, as client_golang reports it.
std::optional<double> SoftLimit(const std::string& limits, std::string_view row) {
  std::istringstream lines(limits);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(row, 0) != 0) continue;
    std::istringstream values(line.substr(row.size()));
    std::string soft;
    values >> soft;
    if (soft == "unlimited") return static_cast<double>(std::numeric_limits<uint64_t>::max());
    return std::stod(soft);
  }
  return std::nullopt;
}

}  // namespace

void WriteProcessMetrics(TextWriter& out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (std::optional<std::vector<std::string>> f = StatFields()) {
    // Fields (1-based as proc(5) numbers them) 14 utime, 15 stime, 22
    // starttime, 23 vsize, 24 rss; [0] is field 3.
    const double cpu = (std::stod((*f)[11]) + std::stod((*f)[12])) / ticks;
    out.Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                cpu);
    out.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
              std::stod((*f)[20]));
    out.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
              std::stod((*f)[21]) * page);
    if (std::optional<double> boot = BootTimeSeconds()) {
      out.Gauge("process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                *boot + std::stod((*f)[19]) / ticks);
    }
  }
  if (std::optional<double> fds = OpenFds()) {
    out.Gauge("process_open_fds", "Number of open file descriptors.", *fds);
  }
  if (std::optional<std::string> limits = ReadFile("/proc/self/limits")) {
    if (std::optional<double> max_fds = SoftLimit(*limits, "Max open files")) {
      out.Gauge("process_max_fds", "Maximum number of open file descriptors.", *max_fds);
    }
    if (std::optional<double> max_vm = SoftLimit(*limits, "Max address space")) {
      out.Gauge("process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes.", *max_vm);
    }
  }
}

}  // namespace keel::metrics
