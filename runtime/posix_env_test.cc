// Tests of the production Env's wiring and of the console helpers: the main
// task and what it spawns run on the loop, log lines reach stderr as etcd's
// JSON, RunBlocking leaves the loop thread, clocks and the OS seed behave,
// and the console reads and writes the standard descriptors (swapped for
// pipes here) and the environment.
#include "runtime/posix_env.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/console.h"

namespace keel {
namespace {

constexpr Duration kPatience = Seconds(30);

PosixEnvOptions TestOptions() {
  return PosixEnvOptions{.process_name = "test", .handle_signals = false};
}

TEST(PosixEnvTest, RunMainRunsTheMainTaskAndWhatItSpawns) {
  PosixEnv env(TestOptions());
  bool spawned_ran = false;
  const int code = env.RunMain([](PosixEnv* env, bool* flag) -> Task<int> {
    Event done;
    env->Spawn([](Env* env, bool* flag, Event* done) -> Task<void> {
      co_await env->clock().Sleep(Milliseconds(1));
      *flag = true;
      done->Set();
    }(env, flag, &done));
    co_await done.Wait();
    co_return 3;
  }(&env, &spawned_ran));
  EXPECT_EQ(code, 3);
  EXPECT_TRUE(spawned_ran);
}

TEST(PosixEnvTest, LogLinesAreEtcdJsonOnStderr) {
  PosixEnv env(TestOptions());
  testing::internal::CaptureStderr();
  env.log().Debug("hidden at info level");
  env.log().Info("member started", {{"name", "infra1"}, {"port", 2379}});
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.rfind("{\"level\":\"info\",\"ts\":\"", 0), 0u) << out;
  EXPECT_NE(out.find("\"caller\":\"runtime/posix_env_test.cc:"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\"msg\":\"member started\",\"name\":\"infra1\",\"port\":2379}\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line";
}

TEST(PosixEnvTest, RunBlockingRunsOffTheLoopThread) {
  PosixEnv env(TestOptions());
  std::thread::id ran_on;
  env.RunMain([](PosixEnv* env, std::thread::id* ran_on) -> Task<int> {
    auto work = [ran_on] { *ran_on = std::this_thread::get_id(); };
    co_await env->RunBlocking(std::move(work));
    co_return 0;
  }(&env, &ran_on));
  EXPECT_NE(ran_on, std::thread::id());
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(PosixEnvTest, ClockIsMonotonicAndWallTimeIsRecent) {
  PosixEnv env(TestOptions());
  const TimePoint before = env.clock().Now();
  env.RunMain([](Env* env) -> Task<int> {
    co_await env->clock().Sleep(Milliseconds(3));
    co_return 0;
  }(&env));
  EXPECT_GE(env.clock().Now() - before, Milliseconds(3));
  // After 2023-11-14 (1.7e15 microseconds since the epoch).
  EXPECT_GT(env.clock().WallUnixMicros(), 1'700'000'000'000'000);
}

TEST(PosixEnvTest, EachEnvIsSeededFromTheOs) {
  PosixEnv first(TestOptions());
  PosixEnv second(TestOptions());
  EXPECT_NE(first.random().Next(), second.random().Next());
  EXPECT_NE(SeedFromOs(), SeedFromOs());
}

TEST(PosixEnvTest, DestroyingTheEnvKillsItsProcess) {
  bool started = false;
  bool destroyed = false;
  struct SetOnDestroy {
    bool* flag;
    ~SetOnDestroy() { *flag = true; }
  };
  {
    PosixEnv env(TestOptions());
    env.Spawn([](Env* env, bool* started, bool* destroyed) -> Task<void> {
      SetOnDestroy guard{destroyed};
      *started = true;
      co_await env->clock().Sleep(Seconds(3600));
    }(&env, &started, &destroyed));
    ASSERT_TRUE(env.loop().RunUntil([&] { return started; }, kPatience));
    EXPECT_FALSE(destroyed);
  }
  EXPECT_TRUE(destroyed);
}

// Puts a pipe in place of descriptor `target` while alive.
class PipeInPlaceOf {
 public:
  explicit PipeInPlaceOf(int target) : target_(target) {
    KEEL_ASSERT(pipe2(fds_, O_CLOEXEC) == 0);
    saved_ = dup(target);
    const int end = target == STDIN_FILENO ? fds_[0] : fds_[1];
    KEEL_ASSERT(dup2(end, target) == target);
    ::close(end);
  }
  ~PipeInPlaceOf() { Restore(); }
  void Restore() {
    if (saved_ < 0) return;
    dup2(saved_, target_);
    ::close(saved_);
    saved_ = -1;
  }
  int other_end() const { return target_ == STDIN_FILENO ? fds_[1] : fds_[0]; }

 private:
  int target_;
  int fds_[2];
  int saved_ = -1;
};

TEST(ConsoleTest, WriteStdoutReachesDescriptorOne) {
  PipeInPlaceOf pipe(STDOUT_FILENO);
  ASSERT_TRUE(WriteStdout("to stdout\n").ok());
  pipe.Restore();
  char buffer[64];
  const ssize_t n = read(pipe.other_end(), buffer, sizeof(buffer));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, n), "to stdout\n");
  ::close(pipe.other_end());
}

TEST(ConsoleTest, ReadStdinReadsToTheEnd) {
  PipeInPlaceOf pipe(STDIN_FILENO);
  const std::string input = "line one\nline two\n";
  ASSERT_EQ(write(pipe.other_end(), input.data(), input.size()),
            static_cast<ssize_t>(input.size()));
  ::close(pipe.other_end());
  EXPECT_FALSE(IsTerminal(ConsoleStream::kStdin));
  auto got = ReadStdin();
  pipe.Restore();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, input);
}

TEST(ConsoleTest, GetEnvVarSeesTheEnvironment) {
  ASSERT_EQ(setenv("KEEL_CONSOLE_TEST_VAR", "value", 1), 0);
  EXPECT_EQ(GetEnvVar("KEEL_CONSOLE_TEST_VAR"), "value");
  ASSERT_EQ(unsetenv("KEEL_CONSOLE_TEST_VAR"), 0);
  EXPECT_EQ(GetEnvVar("KEEL_CONSOLE_TEST_VAR"), std::nullopt);
}

}  // namespace
}  // namespace keel
