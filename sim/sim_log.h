// SimLog: every log line of a simulated run, stamped with virtual time.
//
// Each simulated process logs through its Env's Logger into a sink that
// names its source ("n2#3": machine n2, third incarnation). Lines are kept in
// a bounded ring so a failing run can print what led up to the failure, and
// echoed to stderr as they happen with --verbose. Each line is also hashed
// into the trace: a log argument that differs between two runs of one seed
// is a determinism bug like any other.
#ifndef KEEL_SIM_SIM_LOG_H_
#define KEEL_SIM_SIM_LOG_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/log.h"
#include "runtime/time.h"
#include "sim/trace.h"

namespace keel::sim {

class SimLog {
 public:
  // `now` and `trace` belong to the world and outlive the log. Keeps the
  // last `capacity` lines.
  SimLog(const TimePoint* now, Trace* trace, size_t capacity);
  SimLog(const SimLog&) = delete;
  SimLog& operator=(const SimLog&) = delete;

  // A sink whose lines are attributed to `source`. The sink must not outlive
  // this log.
  std::unique_ptr<LogSink> NewSink(std::string source);

  // Formats, hashes, keeps and (with echo on) prints one record.
  void Append(std::string_view source, const LogRecord& record);

  // Adds a line written by the harness itself (nemesis actions, checker
  // verdicts), in the same timeline as the processes' lines.
  void Note(std::string_view source, std::string_view text);

  // The last `n` lines kept, oldest first.
  std::vector<std::string> Tail(size_t n) const;
  size_t lines_written() const { return lines_written_; }

  void set_echo(bool echo) { echo_ = echo; }

 private:
  void Keep(std::string line);

  const TimePoint* now_;
  Trace* trace_;
  size_t capacity_;
  std::deque<std::string> lines_;
  size_t lines_written_ = 0;
  bool echo_ = false;
};

}  // namespace keel::sim

#endif  // KEEL_SIM_SIM_LOG_H_
