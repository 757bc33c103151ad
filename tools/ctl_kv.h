// The requests of keelctl's get, put and del, built from their flags and
// arguments as etcdctl's getGetOp / getPutOp / getDelOp build them. The
// commands (ctl_kv.cc) and txn's request lines (ctl_txn.cc) share them.
#ifndef KEEL_TOOLS_CTL_KV_H_
#define KEEL_TOOLS_CTL_KV_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/rpc.pb.h"
#include "tools/flags.h"

namespace keel::tools {

struct GetFlags {
  std::string consistency = "l";
  std::string order;
  std::string sort_by;
  int64_t limit = 0;
  bool prefix = false;
  bool from_key = false;
  int64_t rev = 0;
  bool keys_only = false;
  bool count_only = false;
  bool print_value_only = false;
  void Define(FlagSet& flags);
};

struct PutFlags {
  std::string lease = "0";
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
  void Define(FlagSet& flags);
};

struct DelFlags {
  bool prefix = false;
  bool prev_kv = false;
  bool from_key = false;
  void Define(FlagSet& flags);
};

// Errors carry etcdctl's exit code (ExitError in ctl_command.h).
absl::StatusOr<etcdserverpb::RangeRequest> BuildGet(const GetFlags& flags,
                                                    const std::vector<std::string>& args);
// `stdin_value` is read only when the value is not an argument (put's
// value may come from standard input); it returns the whole input.
absl::StatusOr<etcdserverpb::PutRequest> BuildPut(
    const PutFlags& flags, const std::vector<std::string>& args,
    const std::function<absl::StatusOr<std::string>()>& stdin_value);
absl::StatusOr<etcdserverpb::DeleteRangeRequest> BuildDel(const DelFlags& flags,
                                                          const std::vector<std::string>& args);

// clientv3.GetPrefixRangeEnd: the end of the range of keys starting with
// `prefix` ("\0", every key, if there is none).
std::string PrefixRangeEnd(std::string_view prefix);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_CTL_KV_H_
