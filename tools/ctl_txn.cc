// keelctl txn: a transaction read from standard input in etcdctl's grammar.
//
//   <compare>*        one per line, ended by an empty line:
//                     value("key") = "v", version|ver, create|c, mod|m,
//                     lease; operators = != < >
//   <request>*        success branch: put/get/del lines with their flags
//   <request>*        failure branch
//
// With -i, etcdctl's prompts go to stdout before each part. Input that
// ends early is "Error: EOF"; a line that does not parse is etcdctl's
// message; both exit 3 (ExitInvalidInput).
#include <cctype>

#include "runtime/console.h"
#include "runtime/strings.h"
#include "tools/ctl_command.h"
#include "tools/ctl_format.h"
#include "tools/ctl_kv.h"

namespace keel::tools {
namespace {

// Reads lines as bufio.Reader.ReadString('\n') does: a line without its
// newline at the end of input is an EOF error.
class LineReader {
 public:
  explicit LineReader(std::string input) : input_(std::move(input)) {}
  absl::StatusOr<std::string> Next() {
    const size_t newline = input_.find('\n', offset_);
    if (newline == std::string::npos) return ExitError(kExitInvalidInput, "EOF");
    std::string line = input_.substr(offset_, newline - offset_);
    offset_ = newline + 1;
    return line;
  }

 private:
  std::string input_;
  size_t offset_ = 0;
};

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// strconv.Unquote of a "..." or `...` literal at the start of `text`; sets
// *consumed. False if there is none.
bool ScanQuoted(std::string_view text, std::string* out, size_t* consumed) {
  if (text.empty()) return false;
  if (text[0] == '`') {
    const size_t end = text.find('`', 1);
    if (end == std::string_view::npos) return false;
    *out = std::string(text.substr(1, end - 1));
    *consumed = end + 1;
    return true;
  }
  if (text[0] != '"') return false;
  std::string value;
  for (size_t i = 1; i < text.size(); i++) {
    const char c = text[i];
    if (c == '"') {
      *out = value;
      *consumed = i + 1;
      return true;
    }
    if (c != '\\') {
      value.push_back(c);
      continue;
    }
    if (++i >= text.size()) return false;
    switch (text[i]) {
      case 'n': value.push_back('\n'); break;
      case 't': value.push_back('\t'); break;
      case 'r': value.push_back('\r'); break;
      case 'a': value.push_back('\a'); break;
      case 'b': value.push_back('\b'); break;
      case 'f': value.push_back('\f'); break;
      case 'v': value.push_back('\v'); break;
      case '\\': value.push_back('\\'); break;
      case '"': value.push_back('"'); break;
      case '\'': value.push_back('\''); break;
      case 'x': {
        uint64_t byte = 0;
        if (i + 2 >= text.size() || !ParseHexUint64(text.substr(i + 1, 2), &byte)) return false;
        value.push_back(static_cast<char>(byte));
        i += 2;
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

// fmt.Sscanf(text, "%q) %s %q", &key, &op, &val): how many were scanned.
int ScanCompare(std::string_view text, std::string* key, std::string* op, std::string* val) {
  auto skip_spaces = [&] {
    while (!text.empty() && (text[0] == ' ' || text[0] == '\t')) text.remove_prefix(1);
  };
  size_t used = 0;
  skip_spaces();
  if (!ScanQuoted(text, key, &used)) return 0;
  text.remove_prefix(used);
  if (text.empty() || text[0] != ')') return 1;
  text.remove_prefix(1);
  skip_spaces();
  size_t end = 0;
  while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) end++;
  if (end == 0) return 1;
  *op = std::string(text.substr(0, end));
  text.remove_prefix(end);
  skip_spaces();
  if (!ScanQuoted(text, val, &used)) return 2;
  return 3;
}

absl::StatusOr<etcdserverpb::Compare> ParseCompare(std::string_view line) {
  using etcdserverpb::Compare;
  const size_t paren = line.find('(');
  if (paren == std::string_view::npos) {
    return ExitError(kExitInvalidInput, StrCat("malformed comparison: ", line));
  }
  const std::string target(line.substr(0, paren));
  std::string key, op, val;
  const int scanned = ScanCompare(line.substr(paren + 1), &key, &op, &val);
  if (scanned != 3) {
    return ExitError(kExitInvalidInput, StrCat("malformed comparison: ", line, "; got ", target,
                                               "(", GoQuote(key), ") ", op, " ", GoQuote(val)));
  }
  Compare compare;
  compare.set_key(key);
  int64_t number = 0;
  const bool numeric = ParseInt(val, &number);
  const auto invalid = [&] {
    return ExitError(kExitInvalidInput, StrCat("invalid txn compare request: ", line));
  };
  if (target == "ver" || target == "version") {
    if (!numeric) return invalid();
    compare.set_target(Compare::VERSION);
    compare.set_version(number);
  } else if (target == "c" || target == "create") {
    if (!numeric) return invalid();
    compare.set_target(Compare::CREATE);
    compare.set_create_revision(number);
  } else if (target == "m" || target == "mod") {
    if (!numeric) return invalid();
    compare.set_target(Compare::MOD);
    compare.set_mod_revision(number);
  } else if (target == "val" || target == "value") {
    compare.set_target(Compare::VALUE);
    compare.set_value(val);
  } else if (target == "lease") {
    if (!numeric) return invalid();
    compare.set_target(Compare::LEASE);
    compare.set_lease(number);
  } else {
    return ExitError(kExitInvalidInput, StrCat("malformed comparison: ", line, " (unknown target ",
                                               target, ")"));
  }
  if (op == "=") {
    compare.set_result(Compare::EQUAL);
  } else if (op == "!=") {
    compare.set_result(Compare::NOT_EQUAL);
  } else if (op == "<") {
    compare.set_result(Compare::LESS);
  } else if (op == ">") {
    compare.set_result(Compare::GREATER);
  } else {
    return ExitError(kExitInvalidInput,
                     StrCat("malformed comparison: ", line, " (unknown result op ", op, ")"));
  }
  return compare;
}

// etcdctl's argify: words, "double quoted" (Go-unquoted) or 'single quoted'.
std::vector<std::string> Argify(std::string_view line) {
  std::vector<std::string> args;
  size_t i = 0;
  while (i < line.size()) {
    if (std::isspace(static_cast<unsigned char>(line[i]))) {
      i++;
      continue;
    }
    if (line[i] == '"') {
      size_t j = i + 1;
      while (j < line.size() && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
      if (j < line.size()) {
        const std::string_view quoted = line.substr(i, j + 1 - i);
        std::string value;
        size_t used = 0;
        args.push_back(ScanQuoted(quoted, &value, &used)
                           ? value
                           : std::string(quoted.substr(1, quoted.size() - 2)));
        i = j + 1;
        continue;
      }
      i++;
      continue;
    }
    if (line[i] == '\'') {
      const size_t end = line.find('\'', i + 1);
      if (end != std::string_view::npos) {
        args.emplace_back(line.substr(i + 1, end - i - 1));
        i = end + 1;
        continue;
      }
      i++;
      continue;
    }
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) j++;
    args.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return args;
}

// One request line: a put, get or del command with its own flags.
absl::StatusOr<etcdserverpb::RequestOp> ParseRequest(std::string_view line) {
  const std::vector<std::string> words = Argify(line);
  if (words.size() < 2) {
    return ExitError(kExitInvalidInput, StrCat("invalid txn compare request: ", line));
  }
  const auto invalid = [&] {
    return ExitError(kExitInvalidInput, StrCat("invalid txn request: ", line));
  };
  const std::vector<std::string> rest(words.begin() + 1, words.end());
  etcdserverpb::RequestOp op;
  if (words[0] == "put") {
    PutFlags flags;
    FlagSet set("put");
    flags.Define(set);
    if (!set.Parse(rest).ok()) return invalid();
    absl::StatusOr<etcdserverpb::PutRequest> put = BuildPut(
        flags, set.args(), [] { return absl::StatusOr<std::string>(std::string()); });
    if (!put.ok()) return put.status();
    *op.mutable_request_put() = std::move(*put);
  } else if (words[0] == "get") {
    GetFlags flags;
    FlagSet set("get");
    flags.Define(set);
    if (!set.Parse(rest).ok()) return invalid();
    absl::StatusOr<etcdserverpb::RangeRequest> get = BuildGet(flags, set.args());
    if (!get.ok()) return get.status();
    *op.mutable_request_range() = std::move(*get);
  } else if (words[0] == "del" || words[0] == "delete") {
    DelFlags flags;
    FlagSet set("del");
    flags.Define(set);
    if (!set.Parse(rest).ok()) return invalid();
    absl::StatusOr<etcdserverpb::DeleteRangeRequest> del = BuildDel(flags, set.args());
    if (!del.ok()) return del.status();
    *op.mutable_request_delete_range() = std::move(*del);
  } else {
    return invalid();
  }
  return op;
}

absl::StatusOr<etcdserverpb::TxnRequest> ReadTxn(Ctl& ctl, bool interactive, std::string input) {
  LineReader reader(std::move(input));
  etcdserverpb::TxnRequest txn;
  const auto prompt = [&](std::string_view text) {
    if (interactive) ctl.Out(StrCat(text, "\n"));
  };
  prompt("compares:");
  while (true) {
    absl::StatusOr<std::string> line = reader.Next();
    if (!line.ok()) return line.status();
    const std::string_view trimmed = TrimSpace(*line);
    if (trimmed.empty()) break;
    absl::StatusOr<etcdserverpb::Compare> compare = ParseCompare(trimmed);
    if (!compare.ok()) return compare.status();
    *txn.add_compare() = std::move(*compare);
  }
  for (int branch = 0; branch < 2; branch++) {
    prompt(branch == 0 ? "success requests (get, put, del):" : "failure requests (get, put, del):");
    while (true) {
      absl::StatusOr<std::string> line = reader.Next();
      if (!line.ok()) return line.status();
      const std::string_view trimmed = TrimSpace(*line);
      if (trimmed.empty()) break;
      absl::StatusOr<etcdserverpb::RequestOp> op = ParseRequest(trimmed);
      if (!op.ok()) return op.status();
      *(branch == 0 ? txn.add_success() : txn.add_failure()) = std::move(*op);
    }
  }
  return txn;
}

class TxnCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("interactive", &interactive_, "Input transaction in interactive mode", "i");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (!invocation.args.empty()) co_return BadArgs(ctl, "txn command does not accept argument");
    // Interactive input is read line by line as it is typed; piped input
    // is read whole, as the lines are the same.
    std::string input;
    const bool terminal = interactive_ && IsTerminal(ConsoleStream::kStdin);
    if (terminal) {
      input = co_await ReadInteractively(ctl);
    } else {
      absl::StatusOr<std::string> all = ReadStdin();
      if (!all.ok()) co_return ctl.Fail(kExitInvalidInput, all.status().message());
      input = std::move(*all);
    }
    absl::StatusOr<etcdserverpb::TxnRequest> txn = ReadTxn(ctl, interactive_ && !terminal, std::move(input));
    if (!txn.ok()) co_return FailWith(ctl, txn.status());
    absl::StatusOr<etcdserverpb::TxnResponse> response =
        co_await ctl.client().Txn(std::move(*txn), ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().Txn(*response));
  }

 private:
  // Reads the three blank-line-terminated parts from a terminal, with the
  // prompts shown as each part is due (ReadTxn prints them again for a
  // pipe only, so they appear once).
  Task<std::string> ReadInteractively(Ctl& ctl) {
    std::string input;
    const char* prompts[] = {"compares:", "success requests (get, put, del):",
                             "failure requests (get, put, del):"};
    for (const char* prompt : prompts) {
      ctl.Out(StrCat(prompt, "\n"));
      while (true) {
        absl::StatusOr<std::optional<std::string>> line = ReadStdinLine();
        if (!line.ok() || !line->has_value()) co_return input;
        input += **line + "\n";
        if (TrimSpace(**line).empty()) break;
      }
    }
    co_return input;
  }

  bool interactive_ = false;
};

}  // namespace

void RegisterTxnCommand(CommandTable& table) {
  table.Add<TxnCommand>("txn", "txn [options]",
                        "Txn processes all the requests in one transaction");
}

}  // namespace keel::tools
