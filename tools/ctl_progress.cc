// ProgressLine; see ctl_progress.h.
#include "tools/ctl_progress.h"

#include "runtime/console.h"
#include "runtime/strings.h"
#include "tools/table.h"

namespace keel::tools {

ProgressLine::ProgressLine(Clock& clock)
    : clock_(clock),
      enabled_(IsTerminal(ConsoleStream::kStderr)),
      start_(clock.Now()),
      last_(start_ - Seconds(1)) {}

void ProgressLine::Update(std::string_view text) {
  if (!enabled_) return;
  const TimePoint now = clock_.Now();
  if (now - last_ < Milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  // \r and erase-to-end-of-line: the line is redrawn where it is.
  (void)WriteStderr(StrCat("\r\x1b[K", text));
}

void ProgressLine::Done() {
  if (!shown_) return;
  shown_ = false;
  (void)WriteStderr("\r\x1b[K");
}

std::string ProgressLine::BytesAndRate(uint64_t bytes) const {
  const double seconds =
      std::chrono::duration_cast<std::chrono::duration<double>>(clock_.Now() - start_).count();
  const uint64_t rate = seconds > 0 ? static_cast<uint64_t>(static_cast<double>(bytes) / seconds) : 0;
  return StrCat(HumanBytes(bytes), ", ", HumanBytes(rate), "/s");
}

}  // namespace keel::tools
