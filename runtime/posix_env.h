// PosixEnv: the Env a production keel process runs on.
//
// It bundles the epoll loop, the I/O pool, a clock on CLOCK_MONOTONIC (wall
// time from the system clock for log lines), a Random seeded once from the
// OS, TCP networking, POSIX files, a logger writing etcd-style JSON lines to
// stderr, and the Process every task of this Env belongs to. A binary builds
// one PosixEnv first thing in main (before starting any thread, so the
// shutdown signals stay blocked everywhere) and hands it a main task:
//
//   PosixEnv env;
//   return env.RunMain(ServeMain(env));
#ifndef KEEL_RUNTIME_POSIX_ENV_H_
#define KEEL_RUNTIME_POSIX_ENV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "runtime/clock.h"
#include "runtime/env.h"
#include "runtime/io_pool.h"
#include "runtime/log.h"
#include "runtime/posix_fs.h"
#include "runtime/posix_loop.h"
#include "runtime/posix_network.h"
#include "runtime/process.h"
#include "runtime/random.h"
#include "runtime/task.h"

namespace keel {

// Now() is MonotonicNow(); WallUnixMicros() reads the system clock.
class PosixClock final : public Clock {
 public:
  explicit PosixClock(Executor& executor) : Clock(executor) {}
  TimePoint Now() const override { return MonotonicNow(); }
  int64_t WallUnixMicros() const override;
};

// Writes each record as one line (FormatLog) to every output with a single
// write(2) each, so lines from several threads do not interleave. The
// outputs are descriptors OpenLogOutputs (runtime/log_outputs.h) opened, or
// stderr.
class FdLogSink final : public LogSink {
 public:
  FdLogSink(const Clock& clock, std::vector<int> fds, LogFormat format)
      : clock_(clock), fds_(std::move(fds)), format_(format) {}
  void Write(const LogRecord& record) override;

 private:
  const Clock& clock_;
  const std::vector<int> fds_;
  const LogFormat format_;
};

// 64 bits from the kernel's random source (getrandom), for seeding Random.
uint64_t SeedFromOs();

struct PosixEnvOptions {
  std::string process_name = "keel";
  int io_threads = IoPool::kDefaultThreads;
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kJson;
  // Where log lines go (--log-outputs, opened by OpenLogOutputs). The Env
  // does not close them: stdio, or files that live as long as the process.
  std::vector<int> log_fds = {2};
  // SIGINT/SIGTERM become loop().shutdown_requested().
  bool handle_signals = true;
};

class PosixEnv final : public Env {
 public:
  explicit PosixEnv(PosixEnvOptions options = {});
  // Kills the process (destroying every frame, closing its sockets and
  // files), lets syncs in flight finish on the pool, then stops the loop.
  ~PosixEnv() override;

  Clock& clock() override { return clock_; }
  Random& random() override { return random_; }
  Network& net() override { return net_; }
  FileSystem& fs() override { return fs_; }
  Logger& log() override { return logger_; }
  Process& process() override { return process_; }

  // Runs `work` on the I/O pool; the caller suspends, the loop does not.
  Task<void> RunBlocking(absl::AnyInvocable<void() &&> work) override;

  // Runs `main` as a root of process() until it returns and returns its
  // value (the exit code). Tasks it spawned keep running until the Env is
  // destroyed or the caller runs the loop again.
  int RunMain(Task<int> main) {
    return loop_.RunInProcess(process_, std::move(main));
  }

  PosixLoop& loop() { return loop_; }
  IoPool& io_pool() { return pool_; }

 private:
  // Order matters: each member may use the ones above it, and destruction
  // runs upwards (process first, loop last).
  PosixLoop loop_;
  IoPool pool_;
  PosixClock clock_;
  Random random_;
  PosixNetwork net_;
  PosixFileSystem fs_;
  FdLogSink sink_;
  Logger logger_;
  Process process_;
};

}  // namespace keel

#endif  // KEEL_RUNTIME_POSIX_ENV_H_
