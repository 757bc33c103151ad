// JSON log lines shaped like etcd's zap output.
#include "runtime/log.h"

#include <cstdio>

#include "absl/time/time.h"

namespace keel {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") {
    *level = LogLevel::kDebug;
  } else if (text == "info") {
    *level = LogLevel::kInfo;
  } else if (text == "warn") {
    *level = LogLevel::kWarn;
  } else if (text == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

bool ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "json") {
    *format = LogFormat::kJson;
  } else if (text == "console") {
    *format = LogFormat::kConsole;
  } else {
    return false;
  }
  return true;
}

void AppendJsonEscaped(std::string* out, std::string_view text) {
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
}

namespace {
std::string_view ShortFile(std::string_view path) {
  // Keep "folder/file.cc" so callers read as etcd's "pkg/file.go:line".
  size_t last = path.rfind('/');
  if (last == std::string_view::npos || last == 0) return path;
  size_t prev = path.rfind('/', last - 1);
  return prev == std::string_view::npos ? path : path.substr(prev + 1);
}

// zap's ISO8601 time in UTC, to the millisecond.
void AppendTime(std::string* out, int64_t wall_unix_micros) {
  out->append(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMicros(wall_unix_micros),
                               absl::UTCTimeZone()));
}

// `,"key":value` for each field (the leading comma included).
void AppendJsonFields(std::string* out, const std::vector<LogField>& fields) {
  for (const LogField& field : fields) {
    out->append(",\"");
    AppendJsonEscaped(out, field.key);
    out->append("\":");
    if (field.quoted) {
      out->push_back('"');
      AppendJsonEscaped(out, field.value);
      out->push_back('"');
    } else {
      out->append(field.value);
    }
  }
}

}  // namespace

std::string FormatLogLine(const LogRecord& record, int64_t wall_unix_micros) {
  std::string line = "{\"level\":\"";
  line.append(LogLevelName(record.level));
  line.append("\",\"ts\":\"");
  AppendTime(&line, wall_unix_micros);
  line.append("\",\"caller\":\"");
  AppendJsonEscaped(&line, ShortFile(record.location.file_name()));
  StrAppend(&line, ":", record.location.line(), "\",\"msg\":\"");
  AppendJsonEscaped(&line, record.message);
  line.push_back('"');
  AppendJsonFields(&line, *record.fields);
  line.push_back('}');
  return line;
}

std::string FormatConsoleLine(const LogRecord& record, int64_t wall_unix_micros) {
  std::string line;
  AppendTime(&line, wall_unix_micros);
  line.push_back('\t');
  // zap's CapitalLevelEncoder.
  for (char c : LogLevelName(record.level)) line.push_back(static_cast<char>(c - 'a' + 'A'));
  StrAppend(&line, "\t", ShortFile(record.location.file_name()), ":", record.location.line(),
            "\t", record.message);
  if (!record.fields->empty()) {
    std::string fields;
    AppendJsonFields(&fields, *record.fields);
    fields[0] = '{';  // The first field's comma opens the object.
    StrAppend(&line, "\t", fields, "}");
  }
  return line;
}

std::string FormatLog(LogFormat format, const LogRecord& record, int64_t wall_unix_micros) {
  return format == LogFormat::kJson ? FormatLogLine(record, wall_unix_micros)
                                    : FormatConsoleLine(record, wall_unix_micros);
}

}  // namespace keel
