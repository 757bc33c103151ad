// A one-line progress report for long keelctl commands (snapshot save,
// defrag --cluster, make-mirror, check perf), redrawn in place on stderr
// when stderr is a terminal and silent otherwise, so piped and scripted
// runs print exactly what etcdctl prints.
#ifndef KEEL_TOOLS_CTL_PROGRESS_H_
#define KEEL_TOOLS_CTL_PROGRESS_H_

#include <string>
#include <string_view>

#include "runtime/clock.h"

namespace keel::tools {

class ProgressLine {
 public:
  // Shows nothing unless stderr is a terminal.
  explicit ProgressLine(Clock& clock);
  ~ProgressLine() { Done(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }
  // Replaces the line with `text`, at most ten times a second.
  void Update(std::string_view text);
  // Clears the line (idempotent).
  void Done();

  // "12 MB, 3.4 MB/s": bytes so far and the rate since construction.
  std::string BytesAndRate(uint64_t bytes) const;
  Duration elapsed() const { return clock_.Now() - start_; }

 private:
  Clock& clock_;
  bool enabled_;
  bool shown_ = false;
  TimePoint start_;
  TimePoint last_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_CTL_PROGRESS_H_
