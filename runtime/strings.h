// String helpers that bridge std::string_view and Debian's Abseil.
//
// Debian builds Abseil with its own absl::string_view (ABSL_OPTION_USE_STD_
// STRING_VIEW is 0), and absl::StrCat, SimpleAtoi and the Status factories do
// not accept a std::string_view. keel's interfaces use std::string_view, so
// call keel::StrCat / keel::StrAppend / keel::ParseInt here instead of the
// absl ones, and AsAbsl() / AsStd() at any other boundary.
#ifndef KEEL_RUNTIME_STRINGS_H_
#define KEEL_RUNTIME_STRINGS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace keel {

inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view AsStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

namespace internal {
template <typename T>
decltype(auto) StrArg(const T& value) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return AsAbsl(value);
  } else {
    return (value);
  }
}
}  // namespace internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(internal::StrArg(args)...);
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  absl::StrAppend(out, internal::StrArg(args)...);
}

// Parses a whole decimal integer. False on anything else (including
// overflow, empty text or trailing characters).
template <typename Int>
bool ParseInt(std::string_view text, Int* out) {
  return absl::SimpleAtoi(AsAbsl(text), out);
}

}  // namespace keel

#endif  // KEEL_RUNTIME_STRINGS_H_
