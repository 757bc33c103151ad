// Ctl (the context commands run in) and the command table.
#include "tools/ctl_command.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_join.h"
#include "runtime/console.h"
#include "runtime/strings.h"
#include "tools/ctl_format.h"

namespace keel::tools {
namespace {

// grpc-go's names of the status codes, as "rpc error: code = X" shows them.
const char* GoCodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return "OK";
    case absl::StatusCode::kCancelled: return "Canceled";
    case absl::StatusCode::kUnknown: return "Unknown";
    case absl::StatusCode::kInvalidArgument: return "InvalidArgument";
    case absl::StatusCode::kDeadlineExceeded: return "DeadlineExceeded";
    case absl::StatusCode::kNotFound: return "NotFound";
    case absl::StatusCode::kAlreadyExists: return "AlreadyExists";
    case absl::StatusCode::kPermissionDenied: return "PermissionDenied";
    case absl::StatusCode::kResourceExhausted: return "ResourceExhausted";
    case absl::StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case absl::StatusCode::kAborted: return "Aborted";
    case absl::StatusCode::kOutOfRange: return "OutOfRange";
    case absl::StatusCode::kUnimplemented: return "Unimplemented";
    case absl::StatusCode::kInternal: return "Internal";
    case absl::StatusCode::kUnavailable: return "Unavailable";
    case absl::StatusCode::kDataLoss: return "DataLoss";
    case absl::StatusCode::kUnauthenticated: return "Unauthenticated";
    default: return "Unknown";
  }
}

}  // namespace

Ctl::Ctl(PosixEnv& env, GlobalConfig config)
    : env_(env),
      config_(std::move(config)),
      printer_(config_.format, config_.hex, [](std::string_view text) { (void)WriteStdout(text); },
               [](std::string_view text) { (void)WriteStderr(text); }) {}

Ctl::~Ctl() = default;

client::EtcdClient& Ctl::client() {
  if (client_ == nullptr) client_ = NewClient(config_.endpoints);
  return *client_;
}

std::unique_ptr<client::EtcdClient> Ctl::NewClient(std::vector<std::string> endpoints) {
  return std::make_unique<client::EtcdClient>(env_, ClientOptionsFor(config_, std::move(endpoints)));
}

void Ctl::Out(std::string_view text) { (void)WriteStdout(text); }
void Ctl::Err(std::string_view text) { (void)WriteStderr(text); }

int Ctl::Fail(int code, absl::string_view message) {
  Err(StrCat("Error: ", message, "\n"));
  return code;
}

std::string Ctl::ErrorText(const absl::Status& status) {
  const std::string message(status.message());
  // clientv3 turns an expired or cancelled context into the context's own
  // error, and etcd's errors (all "etcdserver: ...") into their message.
  if (absl::IsDeadlineExceeded(status) && message == "context deadline exceeded") return message;
  if (absl::IsCancelled(status) && message == "context canceled") return message;
  // No endpoint could be dialled before the deadline: clientv3 waits for a
  // connection until its context expires, so etcdctl says the deadline
  // passed (UnreachableNote says why).
  if (absl::IsUnavailable(status) &&
      (message.starts_with("dial ") || message == "there is no address available")) {
    return "context deadline exceeded";
  }
  if (message.starts_with("etcdserver: ") || message.starts_with("mvcc: ") ||
      message.starts_with("auth: ")) {
    return message;
  }
  return StrCat("rpc error: code = ", GoCodeName(status.code()), " desc = ", message);
}

std::string Ctl::UnreachableNote(const client::EtcdClient& c) const {
  std::vector<std::string> failures;
  for (const std::string& endpoint : c.endpoints()) {
    const absl::Status dial = c.last_dial_error(endpoint);
    if (!dial.ok()) failures.push_back(std::string(dial.message()));
  }
  if (failures.empty()) return "";
  // The shape of clientv3's warning line, so log collectors take it alike.
  return StrCat("{\"level\":\"warn\",\"caller\":\"keelctl\",\"msg\":\"endpoints unreachable\","
                "\"error\":",
                JsonString(StrCat(absl::StrJoin(failures, "; "), " (dial timeout ",
                                  GoDuration(config_.dial_timeout), ", command timeout ",
                                  GoDuration(config_.command_timeout), ")")),
                "}\n");
}

void Ctl::NoteUnreachable(const absl::Status& status) {
  if ((absl::IsDeadlineExceeded(status) || absl::IsUnavailable(status)) && client_ != nullptr) {
    Err(UnreachableNote(*client_));
  }
}

int Ctl::FailCall(const absl::Status& status) {
  NoteUnreachable(status);
  // etcdctl authenticates while it makes its client, and a client it
  // cannot make is a bad connection.
  const bool authentication = !config_.user.empty() &&
                              status.message() ==
                                  "etcdserver: authentication failed, invalid user ID or password";
  return Fail(authentication ? kExitBadConnection : kExitError, ErrorText(status));
}

int Ctl::Print(const absl::Status& printed) {
  if (printed.ok()) return kExitSuccess;
  return Fail(kExitBadFeature, printed.message());
}

namespace {
constexpr char kExitPayload[] = "keelctl/exit-code";
}  // namespace

absl::Status ExitError(int code, std::string_view message) {
  absl::Status status = absl::InvalidArgumentError(AsAbsl(message));
  status.SetPayload(kExitPayload, absl::Cord(StrCat(code)));
  return status;
}

int ExitCodeOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kExitPayload);
  int64_t code = kExitError;
  if (payload.has_value()) (void)ParseInt(std::string(*payload), &code);
  return static_cast<int>(code);
}

int FailWith(Ctl& ctl, const absl::Status& status) {
  return ctl.Fail(ExitCodeOf(status), status.message());
}

const CommandSpec* CommandTable::Find(const std::string& path) const {
  auto it = specs_.find(path);
  return it == specs_.end() ? nullptr : &it->second;
}

bool CommandTable::IsGroup(const std::string& group) const {
  auto it = specs_.lower_bound(group + " ");
  return it != specs_.end() && it->first.starts_with(group + " ");
}

}  // namespace keel::tools
