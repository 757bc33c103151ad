// Logger: structured log lines in the shape etcd's zap logger prints.
//
// Server code logs through env.log(), never to stdio: in production the sink
// writes one JSON object per line to stderr with wall time; in the simulator
// it records lines with virtual time, shown on failure or with --verbose.
#ifndef KEEL_RUNTIME_LOG_H_
#define KEEL_RUNTIME_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/strings.h"

namespace keel {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// How a production sink renders lines: zap's JSON encoder (etcd's default,
// what log shippers parse) or zap's console encoder (tab-separated, for a
// person reading a terminal: `make run`). etcd 3.6's --log-format values.
enum class LogFormat { kJson, kConsole };

std::string_view LogLevelName(LogLevel level);
// Parses etcd's --log-level values: debug, info, warn, error.
bool ParseLogLevel(std::string_view text, LogLevel* level);
// Parses --log-format values: json, console.
bool ParseLogFormat(std::string_view text, LogFormat* format);

// One key/value of a log line. Numbers are kept as numbers in the JSON.
struct LogField {
  template <typename V>
  LogField(std::string_view k, const V& v) : key(k) {
    if constexpr (std::is_arithmetic_v<V> && !std::is_same_v<V, bool>) {
      value = StrCat(v);
      quoted = false;
    } else if constexpr (std::is_same_v<V, bool>) {
      value = v ? "true" : "false";
      quoted = false;
    } else {
      value = std::string(std::string_view(v));
    }
  }
  std::string key;
  std::string value;
  bool quoted = true;
};

struct LogRecord {
  LogLevel level;
  std::string_view message;
  const std::vector<LogField>* fields;
  std::source_location location;
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(const LogRecord& record) = 0;
};

class Logger {
 public:
  Logger(LogSink* sink, LogLevel level) : sink_(sink), level_(level) {}

  bool enabled(LogLevel level) const {
    return sink_ != nullptr && level >= level_;
  }
  void set_level(LogLevel level) { level_ = level; }

  void Log(LogLevel level, std::string_view message,
           std::vector<LogField> fields = {},
           std::source_location location = std::source_location::current()) {
    if (!enabled(level)) return;
    sink_->Write(LogRecord{level, message, &fields, location});
  }
  void Debug(std::string_view message, std::vector<LogField> fields = {},
             std::source_location l = std::source_location::current()) {
    Log(LogLevel::kDebug, message, std::move(fields), l);
  }
  void Info(std::string_view message, std::vector<LogField> fields = {},
            std::source_location l = std::source_location::current()) {
    Log(LogLevel::kInfo, message, std::move(fields), l);
  }
  void Warn(std::string_view message, std::vector<LogField> fields = {},
            std::source_location l = std::source_location::current()) {
    Log(LogLevel::kWarn, message, std::move(fields), l);
  }
  void Error(std::string_view message, std::vector<LogField> fields = {},
             std::source_location l = std::source_location::current()) {
    Log(LogLevel::kError, message, std::move(fields), l);
  }

 private:
  LogSink* sink_;
  LogLevel level_;
};

// Formats a record as etcd's JSON log line (without the trailing newline):
// {"level":"info","ts":"2026-11-23T13:09:13.123Z","caller":"node/server.cc:42","msg":"...",...}
std::string FormatLogLine(const LogRecord& record, int64_t wall_unix_micros);

// Formats a record as zap's console encoder does (without the newline):
// 2026-11-23T13:09:13.123Z\tINFO\tnode/server.cc:42\tmsg\t{"k":"v",...}
// The fields, if any, are one JSON object, as in zap.
std::string FormatConsoleLine(const LogRecord& record, int64_t wall_unix_micros);

// FormatLogLine or FormatConsoleLine.
std::string FormatLog(LogFormat format, const LogRecord& record, int64_t wall_unix_micros);

// Appends `text` to `out` as a JSON string body (no quotes), escaping what
// JSON requires.
void AppendJsonEscaped(std::string* out, std::string_view text);

}  // namespace keel

#endif  // KEEL_RUNTIME_LOG_H_
