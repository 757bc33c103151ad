// Go-style flag parsing for keel's binaries.
#include "tools/flags.h"

#include <optional>

#include <cctype>

#include "runtime/assert.h"
#include "runtime/strings.h"

namespace keel::tools {

void FlagSet::Add(std::string_view name, Kind kind, void* target,
                  std::string_view help, std::string_view shorthand) {
  Flag flag{std::string(name), std::string(shorthand), std::string(help), "", kind, target};
  flag.default_text = ValueText(flag);
  if (kind == Kind::kString || kind == Kind::kList) {
    flag.default_text = "'" + flag.default_text + "'";
  }
  const bool added = flags_.emplace(std::string(name), std::move(flag)).second;
  KEEL_ASSERT(added);  // Each flag is registered once.
}

void FlagSet::String(std::string_view name, std::string* target,
                     std::string_view help, std::string_view shorthand) {
  Add(name, Kind::kString, target, help, shorthand);
}
void FlagSet::Int(std::string_view name, int64_t* target, std::string_view help,
                  std::string_view shorthand) {
  Add(name, Kind::kInt, target, help, shorthand);
}
void FlagSet::Uint(std::string_view name, uint64_t* target,
                   std::string_view help, std::string_view shorthand) {
  Add(name, Kind::kUint, target, help, shorthand);
}
void FlagSet::Bool(std::string_view name, bool* target, std::string_view help,
                   std::string_view shorthand) {
  Add(name, Kind::kBool, target, help, shorthand);
}
void FlagSet::Double(std::string_view name, double* target,
                     std::string_view help, std::string_view shorthand) {
  Add(name, Kind::kDouble, target, help, shorthand);
}
void FlagSet::List(std::string_view name, std::vector<std::string>* target,
                   std::string_view help, std::string_view shorthand) {
  Add(name, Kind::kList, target, help, shorthand);
}

FlagSet::Flag* FlagSet::Find(std::string_view name, bool shorthand) {
  if (!shorthand) {
    auto it = flags_.find(std::string(name));
    return it == flags_.end() ? nullptr : &it->second;
  }
  for (auto& [_, flag] : flags_) {
    if (!flag.shorthand.empty() && flag.shorthand == name) return &flag;
  }
  // Go's flag package treats -name like --name.
  return Find(name, false);
}

absl::Status FlagSet::Set(Flag& flag, std::string_view value,
                          std::string_view spelled) {
  auto bad = [&] {
    return absl::InvalidArgumentError(StrCat("invalid value \"", value,
                                             "\" for flag ", spelled));
  };
  switch (flag.kind) {
    case Kind::kString:
      *static_cast<std::string*>(flag.target) = std::string(value);
      break;
    case Kind::kInt:
      if (!ParseInt(value, static_cast<int64_t*>(flag.target))) return bad();
      break;
    case Kind::kUint:
      if (!ParseInt(value, static_cast<uint64_t*>(flag.target))) return bad();
      break;
    case Kind::kBool:
      if (value == "true" || value == "1" || value == "t" || value == "TRUE" ||
          value == "True") {
        *static_cast<bool*>(flag.target) = true;
      } else if (value == "false" || value == "0" || value == "f" ||
                 value == "FALSE" || value == "False") {
        *static_cast<bool*>(flag.target) = false;
      } else {
        return bad();
      }
      break;
    case Kind::kDouble:
      if (!absl::SimpleAtod(AsAbsl(value), static_cast<double*>(flag.target))) {
        return bad();
      }
      break;
    case Kind::kList: {
      auto* list = static_cast<std::vector<std::string>*>(flag.target);
      if (!flag.changed) list->clear();
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        if (comma > start) list->emplace_back(value.substr(start, comma - start));
        start = comma + 1;
      }
      break;
    }
  }
  flag.changed = true;
  return absl::OkStatus();
}

absl::Status FlagSet::Parse(int argc, const char* const* argv,
                            bool allow_interspersed) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; i++) args.emplace_back(argv[i]);
  return Parse(args, allow_interspersed);
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args,
                            bool allow_interspersed) {
  for (size_t i = 0; i < args.size(); i++) {
    std::string_view arg = args[i];
    if (arg == "--") {
      for (size_t j = i + 1; j < args.size(); j++) args_.push_back(args[j]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (!allow_interspersed) {
        for (size_t j = i; j < args.size(); j++) args_.push_back(args[j]);
        break;
      }
      args_.emplace_back(arg);
      continue;
    }
    const bool long_form = arg.substr(0, 2) == "--";
    std::string_view body = arg.substr(long_form ? 2 : 1);
    std::optional<std::string_view> value;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    Flag* flag = Find(body, !long_form);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          StrCat("flag provided but not defined: -", body));
    }
    if (!value.has_value()) {
      if (flag->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            StrCat("flag needs an argument: -", body));
      }
    }
    KEEL_ASSERT(value.has_value());
    absl::Status status = Set(*flag, *value, arg.substr(0, arg.find('=')));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status FlagSet::ApplyEnvironment(
    std::string_view prefix,
    const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  for (auto& [name, flag] : flags_) {
    std::string variable(prefix);
    for (char c : name) {
      variable.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
    }
    std::optional<std::string> value = lookup(variable);
    if (!value.has_value() || flag.changed) continue;
    absl::Status status = Set(flag, *value, variable);
    if (!status.ok()) return status;
    flag.from_environment = true;
  }
  return absl::OkStatus();
}

const char* FlagSet::TypeOf(std::string_view name, bool shorthand) const {
  const Flag* found = nullptr;
  for (const auto& [flag_name, flag] : flags_) {
    if (shorthand ? flag.shorthand == name : flag_name == name) found = &flag;
  }
  if (found == nullptr && shorthand) return TypeOf(name, false);
  if (found == nullptr) return nullptr;
  switch (found->kind) {
    case Kind::kString: return "string";
    case Kind::kInt: return "int";
    case Kind::kUint: return "uint";
    case Kind::kBool: return "bool";
    case Kind::kDouble: return "float64";
    case Kind::kList: return "list";
  }
  return nullptr;
}

bool FlagSet::Changed(std::string_view name) const {
  auto it = flags_.find(std::string(name));
  return it != flags_.end() && it->second.changed;
}

bool FlagSet::FromEnvironment(std::string_view name) const {
  auto it = flags_.find(std::string(name));
  return it != flags_.end() && it->second.from_environment;
}

bool FlagSet::Has(std::string_view name) const {
  return flags_.find(std::string(name)) != flags_.end();
}

std::string FlagSet::ValueText(const Flag& flag) {
  switch (flag.kind) {
    case Kind::kString:
      return *static_cast<const std::string*>(flag.target);
    case Kind::kInt:
      return StrCat(*static_cast<const int64_t*>(flag.target));
    case Kind::kUint:
      return StrCat(*static_cast<const uint64_t*>(flag.target));
    case Kind::kBool:
      return *static_cast<const bool*>(flag.target) ? "true" : "false";
    case Kind::kDouble:
      return StrCat(*static_cast<const double*>(flag.target));
    case Kind::kList: {
      std::string joined;
      for (const auto& v : *static_cast<const std::vector<std::string>*>(flag.target)) {
        StrAppend(&joined, joined.empty() ? "" : ",", v);
      }
      return joined;
    }
  }
  return "";
}

std::string FlagSet::Value(std::string_view name) const {
  auto it = flags_.find(std::string(name));
  KEEL_ASSERT(it != flags_.end());
  return ValueText(it->second);
}

std::string FlagSet::Usage() const {
  std::string out = StrCat("Usage of ", program_, ":\n");
  for (const auto& [name, flag] : flags_) {
    StrAppend(&out, "  --", name);
    if (!flag.shorthand.empty()) StrAppend(&out, ", -", flag.shorthand);
    StrAppend(&out, "\n\t", flag.help, " (default ", flag.default_text, ")\n");
  }
  return out;
}

}  // namespace keel::tools
