// The production Env's clock, log sink, seed and wiring.
#include "runtime/posix_env.h"

#include <errno.h>
#include <sys/random.h>
#include <unistd.h>

#include <chrono>

#include "runtime/assert.h"

namespace keel {

int64_t PosixClock::WallUnixMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void FdLogSink::Write(const LogRecord& record) {
  std::string line = FormatLog(format_, record, clock_.WallUnixMicros());
  line.push_back('\n');
  for (const int fd : fds_) {
    size_t written = 0;
    while (written < line.size()) {
      const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR) continue;
      // Nowhere to report a failing log output; drop the rest of the line
      // there and still write it to the others.
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
  }
}

uint64_t SeedFromOs() {
  uint64_t seed = 0;
  auto* bytes = reinterpret_cast<char*>(&seed);
  size_t got = 0;
  while (got < sizeof(seed)) {
    const ssize_t n = getrandom(bytes + got, sizeof(seed) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    KEEL_ASSERT_MSG(n > 0, "getrandom failed");
    got += static_cast<size_t>(n);
  }
  return seed;
}

PosixEnv::PosixEnv(PosixEnvOptions options)
    : loop_(PosixLoopOptions{.handle_signals = options.handle_signals}),
      pool_(options.io_threads),
      clock_(loop_.executor()),
      random_(SeedFromOs()),
      net_(loop_),
      fs_(loop_, pool_),
      sink_(clock_, std::move(options.log_fds), options.log_format),
      logger_(&sink_, options.log_level),
      process_(loop_.executor(), options.process_name) {}

PosixEnv::~PosixEnv() {
  // Explicit, though the members' order would do it: frames reference the
  // network, files and pool, so they must die while those still exist.
  process_.Kill();
}

Task<void> PosixEnv::RunBlocking(absl::AnyInvocable<void() &&> work) {
  return RunOnPool(loop_, pool_, std::move(work));
}

}  // namespace keel
