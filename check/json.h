// A small JSON value, parser and string escaper for history files.
//
// Histories are JSON Lines written by keel's own recorder or by a harness
// driving a real cluster, so the parser must treat its input as untrusted:
// every malformed document is an InvalidArgument naming the byte offset,
// nesting is bounded (kMaxJsonDepth) so hostile input cannot exhaust the
// stack, and nothing here asserts on input. Numbers keep full int64
// precision (revisions and nanosecond times need it); fractions and
// exponents parse as doubles.
#ifndef KEEL_CHECK_JSON_H_
#define KEEL_CHECK_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace keel::check {

inline constexpr int kMaxJsonDepth = 64;

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue Bool(bool b);
  static JsonValue Int(int64_t i);
  static JsonValue Double(double d);
  static JsonValue String(std::string s);
  static JsonValue Array(std::vector<JsonValue> items);
  static JsonValue Object(std::vector<Member> members);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool bool_value() const { return bool_; }
  int64_t int_value() const { return int_; }
  double double_value() const { return double_; }
  const std::string& string_value() const { return string_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }

  // The member named `name` of an object, or nullptr if absent (or if this
  // is not an object). Objects are small, so this is a linear scan.
  const JsonValue* Find(std::string_view name) const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

// Parses exactly one JSON document (surrounding whitespace allowed).
// InvalidArgument with "offset N: ..." on any syntax error, duplicate object
// member, unpaired surrogate, control character in a string, or nesting
// deeper than kMaxJsonDepth.
absl::StatusOr<JsonValue> ParseJson(std::string_view text);

// Appends `s` as a JSON string literal (quotes included), escaping quotes,
// backslashes and control characters.
void AppendJsonString(std::string* out, std::string_view s);

// Appends the compact serialisation of `value`.
void AppendJson(std::string* out, const JsonValue& value);

}  // namespace keel::check

#endif  // KEEL_CHECK_JSON_H_
