// Flags: command-line parsing in the manner of Go's flag and pflag packages,
// which etcd, etcdctl and etcd's benchmark tool use, so keel's binaries
// accept the same spellings: --name value, --name=value, -name value, short
// aliases (-w json), bare booleans (--pre-vote, --pre-vote=false), and `--`
// to end flags. Values may also come from the environment (ETCD_NAME for
// --name), as etcd allows; a flag on the command line wins.
#ifndef KEEL_TOOLS_FLAGS_H_
#define KEEL_TOOLS_FLAGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace keel::tools {

class FlagSet {
 public:
  explicit FlagSet(std::string program) : program_(std::move(program)) {}

  // Registers a flag bound to `target`, which holds the default. `shorthand`
  // may be empty. The help text is printed by Usage().
  void String(std::string_view name, std::string* target, std::string_view help,
              std::string_view shorthand = "");
  void Int(std::string_view name, int64_t* target, std::string_view help,
           std::string_view shorthand = "");
  void Uint(std::string_view name, uint64_t* target, std::string_view help,
            std::string_view shorthand = "");
  void Bool(std::string_view name, bool* target, std::string_view help,
            std::string_view shorthand = "");
  void Double(std::string_view name, double* target, std::string_view help,
              std::string_view shorthand = "");
  // A comma-separated list, appended to by repeated flags.
  void List(std::string_view name, std::vector<std::string>* target,
            std::string_view help, std::string_view shorthand = "");

  // Parses argv[1..]. Positional arguments are collected in args(). Unknown
  // flags and bad values are InvalidArgument with Go's wording
  // ("flag provided but not defined: -foo"). With `allow_interspersed`,
  // positional arguments may appear between flags (pflag); otherwise the
  // first positional argument ends flag parsing (Go flag).
  absl::Status Parse(int argc, const char* const* argv,
                     bool allow_interspersed = true);
  absl::Status Parse(const std::vector<std::string>& args,
                     bool allow_interspersed = true);

  // Fills every flag not given on the command line from the environment
  // variable `prefix` + NAME_IN_UPPER_CASE (dashes become underscores).
  // `lookup` returns the variable's value or nullopt.
  absl::Status ApplyEnvironment(
      std::string_view prefix,
      const std::function<std::optional<std::string>(const std::string&)>& lookup);

  // Whether the flag was given, on the command line or (then also
  // FromEnvironment) by its environment variable.
  bool Changed(std::string_view name) const;
  bool FromEnvironment(std::string_view name) const;
  // Whether `name` is registered.
  bool Has(std::string_view name) const;
  // The flag's current value as text: what a string holds, an integer in
  // decimal, a bool as true or false, a list joined with commas. The flag
  // must be registered.
  std::string Value(std::string_view name) const;
  // The Go type of flag `name` ("bool", "int", "uint", "string", "list",
  // "float64"), looked up by shorthand if `shorthand`; nullptr if unknown.
  // Callers that scan a command line before parsing it use this to know
  // which flags take a value.
  const char* TypeOf(std::string_view name, bool shorthand) const;
  const std::vector<std::string>& args() const { return args_; }

  // "Usage of keel:\n  --name string\n\thuman-readable name ... (default ...)".
  std::string Usage() const;

 private:
  enum class Kind { kString, kInt, kUint, kBool, kDouble, kList };
  struct Flag {
    std::string name;
    std::string shorthand;
    std::string help;
    std::string default_text;
    Kind kind;
    void* target;
    bool changed = false;
    bool from_environment = false;
  };

  static std::string ValueText(const Flag& flag);

  void Add(std::string_view name, Kind kind, void* target, std::string_view help,
           std::string_view shorthand);
  absl::Status Set(Flag& flag, std::string_view value, std::string_view spelled);
  Flag* Find(std::string_view name, bool shorthand);

  std::string program_;
  std::map<std::string, Flag> flags_;  // Sorted, for Usage().
  std::vector<std::string> args_;
};

}  // namespace keel::tools

#endif  // KEEL_TOOLS_FLAGS_H_
