// keelctl get, put, del and compaction.
#include "tools/ctl_kv.h"

#include "absl/strings/ascii.h"
#include "runtime/console.h"
#include "runtime/strings.h"
#include "tools/ctl_command.h"
#include "tools/ctl_format.h"

namespace keel::tools {

std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(end.back() + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

void GetFlags::Define(FlagSet& flags) {
  flags.String("consistency", &consistency, "Linearizable(l) or Serializable(s)");
  flags.String("order", &order, "Order of results; ASCEND or DESCEND (ASCEND by default)");
  flags.String("sort-by", &sort_by, "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION");
  flags.Int("limit", &limit, "Maximum number of results");
  flags.Bool("prefix", &prefix, "Get keys with matching prefix");
  flags.Bool("from-key", &from_key,
             "Get keys that are greater than or equal to the given key using byte compare");
  flags.Int("rev", &rev, "Specify the kv revision");
  flags.Bool("keys-only", &keys_only, "Get only the keys");
  flags.Bool("count-only", &count_only, "Get only the count");
  flags.Bool("print-value-only", &print_value_only,
             "Only write values when using the \"simple\" output format");
}

void PutFlags::Define(FlagSet& flags) {
  flags.String("lease", &lease, "lease ID (in hexadecimal) to attach to the key");
  flags.Bool("prev-kv", &prev_kv, "return the previous key-value pair before modification");
  flags.Bool("ignore-value", &ignore_value, "updates the key using its current value");
  flags.Bool("ignore-lease", &ignore_lease, "updates the key using its current lease");
}

void DelFlags::Define(FlagSet& flags) {
  flags.Bool("prefix", &prefix, "delete keys with matching prefix");
  flags.Bool("prev-kv", &prev_kv, "return deleted key-value pairs");
  flags.Bool("from-key", &from_key,
             "delete keys that are greater than or equal to the given key using byte compare");
}

absl::StatusOr<etcdserverpb::RangeRequest> BuildGet(const GetFlags& f,
                                                    const std::vector<std::string>& args) {
  using etcdserverpb::RangeRequest;
  if (args.empty()) {
    return ExitError(kExitBadArgs,
                     "get command needs one argument as key and an optional argument as range_end");
  }
  if (f.prefix && f.from_key) {
    return ExitError(kExitBadArgs,
                     "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  }
  if (f.keys_only && f.count_only) {
    return ExitError(kExitBadArgs,
                     "`--keys-only` and `--count-only` cannot be set at the same time, choose one");
  }
  RangeRequest request;
  if (f.consistency == "s") {
    request.set_serializable(true);
  } else if (f.consistency != "l") {
    return ExitError(kExitBadFeature, StrCat("unknown consistency flag ", GoQuote(f.consistency)));
  }
  std::string key = args[0];
  if (args.size() > 1) {
    if (f.prefix || f.from_key) {
      return ExitError(kExitBadArgs,
                       "too many arguments, only accept one argument when `--prefix` or "
                       "`--from-key` is set");
    }
    request.set_range_end(args[1]);
  }
  request.set_limit(f.limit);
  if (f.rev > 0) request.set_revision(f.rev);
  RangeRequest::SortOrder order = RangeRequest::NONE;
  const std::string order_text = absl::AsciiStrToUpper(f.order);
  if (order_text == "ASCEND") {
    order = RangeRequest::ASCEND;
  } else if (order_text == "DESCEND") {
    order = RangeRequest::DESCEND;
  } else if (!order_text.empty()) {
    return ExitError(kExitBadFeature, StrCat("bad sort order ", f.order));
  }
  RangeRequest::SortTarget target = RangeRequest::KEY;
  const std::string target_text = absl::AsciiStrToUpper(f.sort_by);
  if (target_text == "CREATE") {
    target = RangeRequest::CREATE;
  } else if (target_text == "MODIFY") {
    target = RangeRequest::MOD;
  } else if (target_text == "VALUE") {
    target = RangeRequest::VALUE;
  } else if (target_text == "VERSION") {
    target = RangeRequest::VERSION;
  } else if (!target_text.empty() && target_text != "KEY") {
    return ExitError(kExitBadFeature, StrCat("bad sort target ", f.sort_by));
  }
  // clientv3.WithSort: keys come sorted ascending anyway, so that order is
  // sent as NONE (which lets the server apply the limit early).
  if (target == RangeRequest::KEY && order == RangeRequest::ASCEND) order = RangeRequest::NONE;
  request.set_sort_order(order);
  request.set_sort_target(target);
  if (f.prefix) {
    if (key.empty()) {
      key = std::string(1, '\0');
      request.set_range_end(std::string(1, '\0'));
    } else {
      request.set_range_end(PrefixRangeEnd(key));
    }
  }
  if (f.from_key) {
    if (key.empty()) key = std::string(1, '\0');
    request.set_range_end(std::string(1, '\0'));
  }
  request.set_key(key);
  request.set_keys_only(f.keys_only);
  request.set_count_only(f.count_only);
  return request;
}

absl::StatusOr<etcdserverpb::PutRequest> BuildPut(
    const PutFlags& f, const std::vector<std::string>& args,
    const std::function<absl::StatusOr<std::string>()>& stdin_value) {
  constexpr std::string_view kNeedsArgs =
      "put command needs 1 argument and input from stdin or 2 arguments";
  if (args.empty()) return ExitError(kExitBadArgs, kNeedsArgs);
  etcdserverpb::PutRequest request;
  request.set_key(args[0]);
  if (f.ignore_value && args.size() > 1) {
    return ExitError(kExitBadArgs, "put command needs only 1 argument when 'ignore-value' is set");
  }
  if (!f.ignore_value) {
    if (args.size() > 1) {
      request.set_value(args[1]);
    } else {
      absl::StatusOr<std::string> value = stdin_value();
      if (!value.ok() || value->empty()) return ExitError(kExitBadArgs, kNeedsArgs);
      request.set_value(*value);
    }
  }
  int64_t lease = 0;
  if (!ParseHexInt64(f.lease, &lease)) {
    return ExitError(kExitBadArgs,
                     StrCat("bad lease ID (strconv.ParseInt: parsing ", GoQuote(f.lease),
                            ": invalid syntax), expecting ID in Hex"));
  }
  request.set_lease(lease);
  request.set_prev_kv(f.prev_kv);
  request.set_ignore_value(f.ignore_value);
  request.set_ignore_lease(f.ignore_lease);
  return request;
}

absl::StatusOr<etcdserverpb::DeleteRangeRequest> BuildDel(const DelFlags& f,
                                                          const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2) {
    return ExitError(kExitBadArgs,
                     "del command needs one argument as key and an optional argument as range_end");
  }
  if (f.prefix && f.from_key) {
    return ExitError(kExitBadArgs,
                     "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  }
  etcdserverpb::DeleteRangeRequest request;
  std::string key = args[0];
  if (args.size() > 1) {
    if (f.prefix || f.from_key) {
      return ExitError(kExitBadArgs,
                       "too many arguments, only accept one argument when `--prefix` or "
                       "`--from-key` is set");
    }
    request.set_range_end(args[1]);
  }
  if (f.prefix) {
    if (key.empty()) {
      key = std::string(1, '\0');
      request.set_range_end(std::string(1, '\0'));
    } else {
      request.set_range_end(PrefixRangeEnd(key));
    }
  }
  request.set_prev_kv(f.prev_kv);
  if (f.from_key) {
    if (key.empty()) key = std::string(1, '\0');
    request.set_range_end(std::string(1, '\0'));
  }
  request.set_key(key);
  return request;
}

namespace {

class GetCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override { flags_.Define(flags); }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    absl::StatusOr<etcdserverpb::RangeRequest> request = BuildGet(flags_, invocation.args);
    if (!request.ok()) co_return FailWith(ctl, request.status());
    absl::StatusOr<etcdserverpb::RangeResponse> response =
        co_await ctl.client().Range(std::move(*request), ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    if (flags_.count_only && ctl.config().format != OutputFormat::kFields) {
      co_return ctl.Fail(kExitBadArgs, "--count-only is only for `--write-out=fields`");
    }
    if (flags_.print_value_only) {
      if (ctl.config().format != OutputFormat::kSimple) {
        co_return ctl.Fail(kExitBadArgs, "print-value-only is only for `--write-out=simple`");
      }
      ctl.printer().set_value_only(true);
    }
    co_return ctl.Print(ctl.printer().Get(*response));
  }

 private:
  GetFlags flags_;
};

class PutCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override { flags_.Define(flags); }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    absl::StatusOr<etcdserverpb::PutRequest> request =
        BuildPut(flags_, invocation.args, [] { return ReadStdin(); });
    if (!request.ok()) co_return FailWith(ctl, request.status());
    absl::StatusOr<etcdserverpb::PutResponse> response =
        co_await ctl.client().Put(std::move(*request), ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().Put(*response));
  }

 private:
  PutFlags flags_;
};

class DelCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override { flags_.Define(flags); }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    absl::StatusOr<etcdserverpb::DeleteRangeRequest> request = BuildDel(flags_, invocation.args);
    if (!request.ok()) co_return FailWith(ctl, request.status());
    absl::StatusOr<etcdserverpb::DeleteRangeResponse> response =
        co_await ctl.client().DeleteRange(std::move(*request), ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    co_return ctl.Print(ctl.printer().Del(*response));
  }

 private:
  DelFlags flags_;
};

class CompactionCommand : public Command {
 public:
  void DefineFlags(FlagSet& flags) override {
    flags.Bool("physical", &physical_,
               "'true' to wait for compaction to physically remove all old revisions");
  }
  Task<int> Run(Ctl& ctl, Invocation invocation) override {
    if (invocation.args.size() != 1) {
      co_return BadArgs(ctl, "compaction command needs 1 argument");
    }
    int64_t revision = 0;
    if (!ParseInt(invocation.args[0], &revision)) {
      co_return ctl.Fail(kExitError, StrCat("strconv.ParseInt: parsing ",
                                            GoQuote(invocation.args[0]), ": invalid syntax"));
    }
    etcdserverpb::CompactionRequest request;
    request.set_revision(revision);
    request.set_physical(physical_);
    absl::StatusOr<etcdserverpb::CompactionResponse> response =
        co_await ctl.client().Compact(std::move(request), ctl.Timeout());
    if (!response.ok()) co_return ctl.FailCall(response.status());
    ctl.Out(StrCat("compacted revision ", revision, "\n"));
    co_return kExitSuccess;
  }

 private:
  bool physical_ = false;
};

}  // namespace

void RegisterKvCommands(CommandTable& table) {
  table.Add<GetCommand>("get", "get [options] <key> [range_end]", "Gets the key or a range of keys");
  table.Add<PutCommand>("put",
                        "put [options] <key> <value> (<value> can also be given from stdin)",
                        "Puts the given key into the store");
  table.Add<DelCommand>("del", "del [options] <key> [range_end]",
                        "Removes the specified key or range of keys [key, range_end)");
  table.Add<CompactionCommand>("compaction", "compaction [options] <revision>",
                               "Compacts the event history in etcd");
}

}  // namespace keel::tools
