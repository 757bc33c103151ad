// Timeline: one simulated run drawn as a self-contained HTML page
// (keel-sim --timeline FILE.html).
//
// The page has one lane per member, showing its raft role and term over
// simulated time and the faults applied to it (kills, crashes, restarts,
// pauses, partitions, clogs, disk faults) as marked intervals; one row per
// client with each operation as a bar from invoke to completion, coloured
// by outcome, its title giving the request, key, result and revision; the
// operations a checker violation names outlined, and the violations' text;
// a legend and an axis in simulated seconds. Everything is inline (CSS,
// SVG, a little JS for zoom and focus), so the file opens anywhere offline.
//
// A scenario fills a TimelineRecorder while it runs, from hooks that only
// look (SimWorld::set_step_observer, NemesisOptions::on_event, its own
// fault calls), then Finish()es it into a TimelinePage with the history,
// the checkers' violations and the verdict, and renders that.
//
//   TimelineRecorder recorder({"m1", "m2", "m3"});
//   recorder.SampleMember(0, now_ns, {.role = MemberRole::kLeader, .term = 2});
//   recorder.OnNemesisEvent(event);
//   TimelinePage page = recorder.Finish(end_ns);
//   page.history = std::move(history);
//   std::string html = RenderTimelineHtml(page);
#ifndef KEEL_SIM_TIMELINE_H_
#define KEEL_SIM_TIMELINE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "check/history.h"
#include "check/violation.h"
#include "sim/nemesis.h"

namespace keel::sim {

// What a member lane shows at one instant. The member's raft role as the
// simulator can see it from outside the server: a leader; a follower that
// knows its leader; a member up without a leader (kCandidate: campaigning,
// or a follower that lost its leader and has not heard of a new one); a
// machine whose member is still starting (or stopped); a machine down.
enum class MemberRole : uint8_t { kDown, kStarting, kCandidate, kFollower, kLeader };

std::string_view MemberRoleName(MemberRole role);

struct MemberState {
  MemberRole role = MemberRole::kDown;
  uint64_t term = 0;  // the member's raft term (0 while down or starting)
  bool operator==(const MemberState&) const = default;
};

// A stretch of time one member spent in one state; [start_ns, end_ns).
struct RoleSpan {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  MemberState state;
};

// What a fault mark on a lane shows.
enum class MarkKind : uint8_t {
  kKill,
  kCrash,
  kRestart,  // an instant: the machine started again
  kPause,
  kPartition,
  kIsolate,
  kOneWay,
  kClog,
  kDisk,
  kCorrupt,
};

std::string_view MarkKindName(MarkKind kind);

// A fault on one member's machine; an instant when start_ns == end_ns.
struct FaultMark {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  MarkKind kind = MarkKind::kKill;
  std::string text;  // "nemesis: partition [ m1 ] | [ m2 m3 ]"
};

struct MemberLane {
  std::string name;
  std::vector<RoleSpan> roles;  // in time order, gap-free from time 0
  std::vector<FaultMark> marks;
};

// Everything the page shows. The recorder fills the lanes; the scenario
// adds the rest.
struct TimelinePage {
  std::string title;    // "keel-sim cluster, seed 1"
  std::string command;  // the command line that replays the run
  std::string summary;  // the scenario's figures line
  // Empty for a run that passed; the failure message otherwise.
  std::string verdict;
  int64_t end_ns = 0;         // the run's simulated length
  int64_t faults_end_ns = 0;  // when the faults stopped (0: not marked)
  std::vector<MemberLane> lanes;
  check::History history;
  // Row labels by client id ("watcher 7"); others read "client N".
  std::map<check::ClientId, std::string> client_names;
  std::vector<check::Violation> violations;
};

class TimelineRecorder {
 public:
  explicit TimelineRecorder(std::vector<std::string> member_names);
  TimelineRecorder(const TimelineRecorder&) = delete;
  TimelineRecorder& operator=(const TimelineRecorder&) = delete;

  // The member on machine `m` is in `state` at `now_ns` (a no-op if that is
  // its current state). `running`/`paused`: the machine's process state,
  // which ends kill, crash and pause marks the moment it is up again;
  // `incarnation`: its start count, a change of which marks a restart.
  // Times must not run backwards.
  void SampleMember(size_t m, int64_t now_ns, MemberState state, bool running, bool paused,
                    uint64_t incarnation);

  // A fault on machine `m` begins; it lasts until EndFault with the same
  // kind and text, until the machine is up again (kill, crash, pause), or
  // until HealAll / Finish.
  void BeginFault(size_t m, int64_t now_ns, MarkKind kind, std::string text);
  // Ends the open fault on `m` begun with `kind` and `text` (no-op if none,
  // e.g. a heal-all ended it first).
  void EndFault(size_t m, int64_t now_ns, MarkKind kind, std::string_view text);
  // A fault with a known length (a clog), or an instant (length zero).
  void AddFault(size_t m, int64_t start_ns, int64_t end_ns, MarkKind kind, std::string text);
  // Every network fault in force ends (the network healed: clogs lift
  // early), and so does every open disk fault; kills, crashes and pauses end
  // when their machine comes back.
  void HealAll(int64_t now_ns);
  // The nemesis's begin, end and heal-all events, as the calls above.
  void OnNemesisEvent(const NemesisEvent& event);

  // Closes every span and mark at `end_ns` and returns the lanes, with the
  // page's end_ns set.
  TimelinePage Finish(int64_t end_ns) &&;

 private:
  struct Lane {
    MemberLane lane;
    bool sampled = false;
    uint64_t incarnation = 0;
    std::vector<FaultMark> open;  // marks without an end yet
  };

  void Close(Lane& lane, size_t open_index, int64_t now_ns);

  std::vector<Lane> lanes_;
  int64_t last_ns_ = 0;
};

// The page as one HTML document: no external references, every text from
// the history HTML-escaped.
std::string RenderTimelineHtml(const TimelinePage& page);

// Renders the page into `path`; returns its size in bytes. Internal if the
// file cannot be written.
absl::StatusOr<size_t> WriteTimelineFile(const std::string& path, const TimelinePage& page);

// For the page's titles: the operation's key ("" for lease requests),
// printable; and its outcome for humans ("ok: 2 kvs ...", "failed: ...",
// "unknown: ...").
std::string TimelineOpKey(const check::Operation& op);
std::string TimelineOpResult(const check::Operation& op);

}  // namespace keel::sim

#endif  // KEEL_SIM_TIMELINE_H_
