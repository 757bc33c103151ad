// Tests of the production log lines: zap's JSON and console encodings of
// one record, and --log-outputs opened to descriptors (files appended to,
// stdio named twice written once, etcd's refusals by name). File tests work
// in their own directory under /tmp and remove it.
#include "runtime/log.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/log_outputs.h"

namespace keel {
namespace {

// 2026-11-23T13:09:13.123Z
constexpr int64_t kWallMicros = 1795439353123456;

LogRecord Record(const std::vector<LogField>& fields, LogLevel level = LogLevel::kWarn) {
  return LogRecord{level, "lost leader", &fields, std::source_location::current()};
}

TEST(LogLineTest, JsonHasZapsKeysInZapsOrder) {
  const std::vector<LogField> fields = {{"term", 7}, {"to", "m2"}};
  const LogRecord record = Record(fields);
  const std::string line = FormatLogLine(record, kWallMicros);
  EXPECT_EQ(line, StrCat("{\"level\":\"warn\",\"ts\":\"2026-11-23T13:09:13.123Z\",\"caller\":"
                         "\"runtime/log_test.cc:",
                         record.location.line(),
                         "\",\"msg\":\"lost leader\",\"term\":7,\"to\":\"m2\"}"));
  EXPECT_EQ(FormatLog(LogFormat::kJson, record, kWallMicros), line);
}

TEST(LogLineTest, ConsoleIsTabSeparatedWithFieldsAsOneObject) {
  const std::vector<LogField> fields = {{"term", 7}, {"to", "m\"2"}};
  const LogRecord record = Record(fields);
  EXPECT_EQ(FormatConsoleLine(record, kWallMicros),
            StrCat("2026-11-23T13:09:13.123Z\tWARN\truntime/log_test.cc:", record.location.line(),
                   "\tlost leader\t{\"term\":7,\"to\":\"m\\\"2\"}"));
  const std::vector<LogField> none;
  const LogRecord bare = Record(none, LogLevel::kDebug);
  EXPECT_EQ(FormatLog(LogFormat::kConsole, bare, kWallMicros),
            StrCat("2026-11-23T13:09:13.123Z\tDEBUG\truntime/log_test.cc:", bare.location.line(),
                   "\tlost leader"));
}

TEST(LogLineTest, ParsesTheFormatsItHas) {
  LogFormat format = LogFormat::kJson;
  EXPECT_TRUE(ParseLogFormat("console", &format));
  EXPECT_EQ(format, LogFormat::kConsole);
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("logfmt", &format));
  EXPECT_EQ(format, LogFormat::kJson);
}

class LogOutputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/keel-log-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
};

TEST_F(LogOutputsTest, StdioByNameOnceEach) {
  auto fds = OpenLogOutputs({"default"});
  ASSERT_TRUE(fds.ok()) << fds.status();
  EXPECT_EQ(*fds, std::vector<int>{STDERR_FILENO});
  fds = OpenLogOutputs({"stderr", "stdout", "stderr"});
  ASSERT_TRUE(fds.ok()) << fds.status();
  EXPECT_EQ(*fds, (std::vector<int>{STDERR_FILENO, STDOUT_FILENO}));
}

TEST_F(LogOutputsTest, FilesAreCreatedThenAppendedTo) {
  const std::string path = dir_ + "/member.log";
  {
    std::ofstream existing(path);
    existing << "earlier line\n";
  }
  auto fds = OpenLogOutputs({path, "stderr"});
  ASSERT_TRUE(fds.ok()) << fds.status();
  ASSERT_EQ(fds->size(), 2u);
  ASSERT_EQ(::write((*fds)[0], "next line\n", 10), 10);
  ::close((*fds)[0]);
  EXPECT_EQ(Read(path), "earlier line\nnext line\n");
  // A new file is the member's own: logs name keys and peers.
  const std::string fresh = dir_ + "/fresh.log";
  fds = OpenLogOutputs({fresh});
  ASSERT_TRUE(fds.ok()) << fds.status();
  ::close((*fds)[0]);
  EXPECT_EQ(std::filesystem::status(fresh).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(LogOutputsTest, RefusalsNameWhatIsRefused) {
  auto status = OpenLogOutputs({"default", "stderr"}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "multi logoutput for \"default\" is not supported yet");
  status = OpenLogOutputs({"journal"}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("--log-outputs=journal is not supported"), std::string::npos)
      << status;
  status = OpenLogOutputs({}).status();
  EXPECT_EQ(status.message(), "--log-outputs is empty");
  status = OpenLogOutputs({dir_ + "/no/such/dir/m.log"}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("cannot open log output \"" + dir_ + "/no/such/dir/m.log\": No "
                                  "such file or directory"),
            std::string::npos)
      << status;
}

TEST_F(LogOutputsTest, AFailureClosesWhatItOpened) {
  auto open_fds = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                         std::filesystem::directory_iterator{});
  };
  const auto before = open_fds();
  auto status = OpenLogOutputs({dir_ + "/a.log", dir_ + "/missing/b.log"}).status();
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/a.log"));
  EXPECT_EQ(open_fds(), before);
}

}  // namespace
}  // namespace keel
