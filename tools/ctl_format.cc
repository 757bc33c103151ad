// Go's quoting, JSON and duration formats; see ctl_format.h.
#include "tools/ctl_format.h"

#include <cctype>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::tools {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Decodes one UTF-8 sequence at text[i]; returns its length, or 0 if the
// byte does not start a valid sequence (Go treats it as one bad byte).
size_t Utf8Length(std::string_view text, size_t i, uint32_t* rune) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  uint32_t r = 0;
  if (c < 0x80) {
    *rune = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2, r = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, r = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, r = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    r = (r << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid in Go.
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (r < kMin[n] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return 0;
  *rune = r;
  return n;
}

void AppendJsonValue(std::string& out, const Message& message, const FieldDescriptor& field,
                     int index);

bool FieldIsEmpty(const Message& message, const FieldDescriptor& field) {
  const Reflection& reflection = *message.GetReflection();
  if (field.is_repeated()) return reflection.FieldSize(message, &field) == 0;
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return !reflection.HasField(message, &field);
  }
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return reflection.GetInt32(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_INT64:
      return reflection.GetInt64(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_UINT32:
      return reflection.GetUInt32(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_UINT64:
      return reflection.GetUInt64(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_BOOL:
      return !reflection.GetBool(message, &field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return reflection.GetEnumValue(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_STRING:
      return reflection.GetString(message, &field).empty();
    default:
      return true;
  }
}

// "request" -> "Request", as protoc-gen-gogo names a oneof's Go field.
std::string GoFieldName(std::string_view proto_name) {
  std::string out;
  bool upper = true;
  for (char c : proto_name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    upper = false;
  }
  return out;
}

void AppendMembers(std::string& out, const Message& message) {
  const auto& descriptor = *message.GetDescriptor();
  const Reflection& reflection = *message.GetReflection();
  bool first = true;
  auto comma = [&] {
    if (!first) out += ",";
    first = false;
  };
  for (int i = 0; i < descriptor.field_count(); i++) {
    const FieldDescriptor& field = *descriptor.field(i);
    if (const auto* oneof = field.real_containing_oneof()) {
      // The oneof's Go field sits where its first member is declared, and
      // has no omitempty: unset, it is null.
      if (oneof->field(0) != &field) continue;
      comma();
      out += JsonString(GoFieldName(oneof->name())) + ":";
      const FieldDescriptor* set = reflection.GetOneofFieldDescriptor(message, oneof);
      if (set == nullptr) {
        out += "null";
        continue;
      }
      out += "{" + JsonString(GoFieldName(set->name())) + ":";
      AppendJsonValue(out, message, *set, -1);
      out += "}";
      continue;
    }
    if (FieldIsEmpty(message, field)) continue;
    comma();
    out += JsonString(field.name()) + ":";
    if (field.is_repeated()) {
      out += "[";
      for (int k = 0; k < reflection.FieldSize(message, &field); k++) {
        if (k > 0) out += ",";
        AppendJsonValue(out, message, field, k);
      }
      out += "]";
    } else {
      AppendJsonValue(out, message, field, -1);
    }
  }
}

void AppendJsonValue(std::string& out, const Message& message, const FieldDescriptor& field,
                     int index) {
  const Reflection& reflection = *message.GetReflection();
  const bool repeated = index >= 0;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      out += StrCat(repeated ? reflection.GetRepeatedInt32(message, &field, index)
                             : reflection.GetInt32(message, &field));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      out += StrCat(repeated ? reflection.GetRepeatedInt64(message, &field, index)
                             : reflection.GetInt64(message, &field));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      out += StrCat(repeated ? reflection.GetRepeatedUInt32(message, &field, index)
                             : reflection.GetUInt32(message, &field));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      out += StrCat(repeated ? reflection.GetRepeatedUInt64(message, &field, index)
                             : reflection.GetUInt64(message, &field));
      return;
    case FieldDescriptor::CPPTYPE_BOOL: {
      const bool value = repeated ? reflection.GetRepeatedBool(message, &field, index)
                                  : reflection.GetBool(message, &field);
      out += value ? "true" : "false";
      return;
    }
    case FieldDescriptor::CPPTYPE_ENUM:
      out += StrCat(repeated ? reflection.GetRepeatedEnumValue(message, &field, index)
                             : reflection.GetEnumValue(message, &field));
      return;
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string value = repeated ? reflection.GetRepeatedString(message, &field, index)
                                         : reflection.GetString(message, &field);
      out += field.type() == FieldDescriptor::TYPE_BYTES ? "\"" + Base64(value) + "\""
                                                          : JsonString(value);
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& inner = repeated ? reflection.GetRepeatedMessage(message, &field, index)
                                      : reflection.GetMessage(message, &field);
      out += "{";
      AppendMembers(out, inner);
      out += "}";
      return;
    }
    default:
      KEEL_UNREACHABLE();
  }
}

}  // namespace

std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    uint32_t rune = 0;
    const size_t n = Utf8Length(text, i, &rune);
    if (n == 0) {
      out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(text[i]));
      i++;
      continue;
    }
    if (n > 1) {
      // Printable beyond ASCII but for the C1 controls and a few spaces.
      if (rune < 0xA0 || rune == 0xAD || rune == 0x2028 || rune == 0x2029 || rune == 0xFEFF) {
        out += rune <= 0xFFFF ? absl::StrFormat("\\u%04x", rune) : absl::StrFormat("\\U%08x", rune);
      } else {
        out.append(text.substr(i, n));
      }
      i += n;
      continue;
    }
    const char c = text[i++];
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    uint32_t rune = 0;
    const size_t n = Utf8Length(text, i, &rune);
    if (n == 0) {
      out += "\\ufffd";
      i++;
      continue;
    }
    if (n > 1) {
      if (rune == 0x2028 || rune == 0x2029) {
        out += absl::StrFormat("\\u%04x", rune);
      } else {
        out.append(text.substr(i, n));
      }
      i += n;
      continue;
    }
    const char c = text[i++];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      // encoding/json escapes these for HTML safety.
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

std::string GoJson(const Message& message) {
  std::string out = "{";
  AppendMembers(out, message);
  return out + "}";
}

std::string GoJsonMembers(const Message& message) {
  std::string out;
  AppendMembers(out, message);
  return out;
}

std::string Base64(std::string_view bytes) { return absl::Base64Escape(AsAbsl(bytes)); }

std::string HexBytes(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += absl::StrFormat("\\x%02x", c);
  return out;
}

std::string GoDuration(Duration duration) {
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  const uint64_t u = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  // Below a second: the largest unit that keeps the integer part non-zero,
  // with as many fraction digits as needed (Go trims trailing zeros).
  auto fraction = [](uint64_t value, uint64_t unit) {
    std::string text = StrCat(value / unit);
    uint64_t rest = value % unit;
    if (rest == 0) return text;
    std::string digits;
    for (uint64_t scale = unit / 10; scale > 0; scale /= 10) {
      digits.push_back(static_cast<char>('0' + (rest / scale) % 10));
    }
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    return text + "." + digits;
  };
  if (u < 1000) return sign + StrCat(u) + "ns";
  if (u < 1000'000) return sign + fraction(u, 1000) + "\xc2\xb5s";
  if (u < 1000'000'000) return sign + fraction(u, 1000'000) + "ms";
  const uint64_t hours = u / 3600'000'000'000ULL;
  const uint64_t minutes = (u / 60'000'000'000ULL) % 60;
  const uint64_t rest = u % 60'000'000'000ULL;
  std::string out = sign;
  if (hours > 0) out += StrCat(hours, "h");
  if (hours > 0 || minutes > 0) out += StrCat(minutes, "m");
  return out + fraction(rest, 1000'000'000) + "s";
}

bool ParseHexUint64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    if (value > (UINT64_MAX >> 4)) return false;
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  *out = value;
  return true;
}

bool ParseHexInt64(std::string_view text, int64_t* out) {
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  if (!ParseHexUint64(text, &magnitude)) return false;
  if (magnitude > (negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1)) return false;
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

}  // namespace keel::tools
