// OpenLogOutputs: --log-outputs to descriptors.
#include "runtime/log_outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/strings.h"

namespace keel {

absl::StatusOr<std::vector<int>> OpenLogOutputs(const std::vector<std::string>& outputs) {
  if (outputs.empty()) return absl::InvalidArgumentError("--log-outputs is empty");
  if (outputs.size() > 1 && std::find(outputs.begin(), outputs.end(), "default") != outputs.end()) {
    // etcd's own words.
    return absl::InvalidArgumentError("multi logoutput for \"default\" is not supported yet");
  }
  std::vector<int> fds;
  std::vector<int> opened;
  auto fail = [&opened](absl::Status status) {
    for (const int fd : opened) ::close(fd);
    return status;
  };
  for (const std::string& output : outputs) {
    int fd = -1;
    if (output == "default" || output == "stderr") {
      fd = STDERR_FILENO;
    } else if (output == "stdout") {
      fd = STDOUT_FILENO;
    } else if (output == "journal") {
      return fail(absl::InvalidArgumentError(
          "--log-outputs=journal is not supported (keel has no systemd journal writer; "
          "use stderr, which systemd collects into the journal)"));
    } else if (output.empty()) {
      return fail(absl::InvalidArgumentError("--log-outputs holds an empty path"));
    } else {
      fd = ::open(output.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) {
        return fail(absl::InvalidArgumentError(
            StrCat("cannot open log output \"", output, "\": ", ::strerror(errno))));
      }
      opened.push_back(fd);
    }
    if (std::find(fds.begin(), fds.end(), fd) == fds.end()) fds.push_back(fd);
  }
  return fds;
}

}  // namespace keel
