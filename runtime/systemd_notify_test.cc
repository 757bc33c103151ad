// Tests that sd_notify reaches a socket named by NOTIFY_SOCKET, as systemd
// sets it for a Type=notify unit, and that without it nothing is sent and
// nothing fails.
#include "runtime/systemd_notify.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace keel {
namespace {

class SystemdNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/keel-notify-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/notify.sock";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    ASSERT_LT(path_.size(), sizeof(address.sun_path));
    path_.copy(address.sun_path, path_.size());
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  std::string Receive() {
    char buffer[256];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    return n <= 0 ? std::string() : std::string(buffer, static_cast<size_t>(n));
  }

  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

TEST_F(SystemdNotifyTest, ReadyAndStoppingReachTheSocket) {
  ASSERT_EQ(::setenv("NOTIFY_SOCKET", path_.c_str(), 1), 0);
  ASSERT_TRUE(NotifySystemdReady().ok());
  EXPECT_EQ(Receive(), "READY=1");
  ASSERT_TRUE(NotifySystemdStopping().ok());
  EXPECT_EQ(Receive(), "STOPPING=1");
}

TEST_F(SystemdNotifyTest, WithoutSystemdNothingIsSent) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(NotifySystemdReady().ok());
  EXPECT_EQ(Receive(), "");
}

TEST_F(SystemdNotifyTest, AnUnreachableSocketIsAnError) {
  ASSERT_EQ(::setenv("NOTIFY_SOCKET", (dir_ + "/nobody.sock").c_str(), 1), 0);
  const absl::Status status = NotifySystemdReady();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("sd_notify(READY=1)"), std::string::npos) << status;
}

}  // namespace
}  // namespace keel
