// Captured log lines: "[   1.234567s] n1#2 {json}".
#include "sim/sim_log.h"

#include <cinttypes>
#include <cstdio>

#include "runtime/assert.h"
#include "sim/sim_clock.h"

namespace keel::sim {
namespace {

class SourceSink : public LogSink {
 public:
  SourceSink(SimLog* log, std::string source)
      : log_(log), source_(std::move(source)) {}
  void Write(const LogRecord& record) override { log_->Append(source_, record); }

 private:
  SimLog* log_;
  std::string source_;
};

std::string Prefix(TimePoint now, std::string_view source) {
  const int64_t ns = ToNanoseconds(now);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "[%5" PRId64 ".%06" PRId64 "s] ",
                ns / 1'000'000'000, (ns / 1000) % 1'000'000);
  std::string line(buf);
  line.append(source);
  line.push_back(' ');
  return line;
}

}  // namespace

SimLog::SimLog(const TimePoint* now, Trace* trace, size_t capacity)
    : now_(now), trace_(trace), capacity_(capacity) {
  KEEL_ASSERT(now_ != nullptr);
  KEEL_ASSERT(trace_ != nullptr);
}

std::unique_ptr<LogSink> SimLog::NewSink(std::string source) {
  return std::make_unique<SourceSink>(this, std::move(source));
}

void SimLog::Append(std::string_view source, const LogRecord& record) {
  std::string line = Prefix(*now_, source);
  line.append(FormatLogLine(record, SimWallUnixMicros(*now_)));
  trace_->RecordText(TraceKind::kLog, line);
  Keep(std::move(line));
}

void SimLog::Note(std::string_view source, std::string_view text) {
  std::string line = Prefix(*now_, source);
  line.append(text);
  trace_->RecordText(TraceKind::kNote, line);
  Keep(std::move(line));
}

void SimLog::Keep(std::string line) {
  lines_written_++;
  if (echo_) std::fprintf(stderr, "%s\n", line.c_str());
  if (capacity_ == 0) return;
  if (lines_.size() == capacity_) lines_.pop_front();
  lines_.push_back(std::move(line));
}

std::vector<std::string> SimLog::Tail(size_t n) const {
  const size_t start = lines_.size() > n ? lines_.size() - n : 0;
  return std::vector<std::string>(lines_.begin() + start, lines_.end());
}

}  // namespace keel::sim
