// Tests of the timeline: what the recorder makes of member samples, fault
// calls and nemesis events, and the structure of the HTML page it renders
// (a lane per member, a bar per operation classed by outcome, the
// violations' operations outlined and their text shown, every text from the
// history escaped, nothing fetched from elsewhere). The page in a real
// browser is tests/timeline/test_timeline.py.
#include "sim/timeline.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/strings.h"
#include "check/history_test_util.h"

namespace keel::sim {
namespace {

constexpr int64_t kMs = 1'000'000;

size_t Count(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    n++;
  }
  return n;
}

// The class attribute of the bar drawn for operation `id` ("" if none).
std::string ClassOfOp(const std::string& html, check::OpId id) {
  const size_t at = html.find("data-op=\"" + std::to_string(id) + "\"");
  if (at == std::string::npos) return "";
  const size_t rect = html.rfind("<rect class=\"", at);
  const size_t begin = rect + 13;
  return html.substr(begin, html.find('"', begin) - begin);
}

MemberState Leader(uint64_t term) { return {.role = MemberRole::kLeader, .term = term}; }
MemberState Follower(uint64_t term) { return {.role = MemberRole::kFollower, .term = term}; }

// A running, unpaused machine in its first incarnation.
void Sample(TimelineRecorder& recorder, size_t m, int64_t ns, MemberState state) {
  recorder.SampleMember(m, ns, state, /*running=*/true, /*paused=*/false, /*incarnation=*/1);
}

TEST(TimelineRecorderTest, SpansChangeOnlyWhenTheStateDoes) {
  TimelineRecorder recorder({"m1"});
  Sample(recorder, 0, 0, {.role = MemberRole::kStarting});
  Sample(recorder, 0, 100 * kMs, Follower(1));
  Sample(recorder, 0, 200 * kMs, Follower(1));
  Sample(recorder, 0, 300 * kMs, Leader(2));
  const TimelinePage page = std::move(recorder).Finish(1000 * kMs);
  ASSERT_EQ(page.lanes.size(), 1u);
  const std::vector<RoleSpan>& roles = page.lanes[0].roles;
  ASSERT_EQ(roles.size(), 3u);
  EXPECT_EQ(roles[0].state.role, MemberRole::kStarting);
  EXPECT_EQ(roles[1].start_ns, 100 * kMs);
  EXPECT_EQ(roles[1].end_ns, 300 * kMs);
  EXPECT_EQ(roles[2].state, Leader(2));
  EXPECT_EQ(roles[2].end_ns, 1000 * kMs);
}

TEST(TimelineRecorderTest, KillEndsWhenTheMachineRunsAgainAndMarksTheRestart) {
  TimelineRecorder recorder({"m1", "m2"});
  Sample(recorder, 0, 0, Leader(1));
  recorder.BeginFault(0, 10 * kMs, MarkKind::kKill, "operator: kill leader m1");
  recorder.SampleMember(0, 10 * kMs, {}, /*running=*/false, false, 1);
  recorder.SampleMember(0, 400 * kMs, {.role = MemberRole::kStarting}, true, false, 2);
  const TimelinePage page = std::move(recorder).Finish(500 * kMs);
  const std::vector<FaultMark>& marks = page.lanes[0].marks;
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[0].kind, MarkKind::kKill);
  EXPECT_EQ(marks[0].start_ns, 10 * kMs);
  EXPECT_EQ(marks[0].end_ns, 400 * kMs);
  EXPECT_EQ(marks[1].kind, MarkKind::kRestart);
  EXPECT_EQ(marks[1].start_ns, marks[1].end_ns);
  EXPECT_TRUE(page.lanes[1].marks.empty());
}

TEST(TimelineRecorderTest, NemesisEventsBecomeMarksAndHealAllEndsThem) {
  TimelineRecorder recorder({"m1", "m2", "m3"});
  auto event = [](int64_t ms, bool begin, Fault fault, std::vector<size_t> machines,
                  std::string text) {
    return NemesisEvent{.at = TimePoint{} + Milliseconds(ms),
                        .begin = begin,
                        .heal_all = false,
                        .fault = fault,
                        .machines = std::move(machines),
                        .description = std::move(text)};
  };
  // A partition names one side; every lane is marked.
  recorder.OnNemesisEvent(event(100, true, Fault::kPartition, {0}, "partition [ m1 ] | [ m2 m3 ]"));
  recorder.OnNemesisEvent(event(150, true, Fault::kDisk, {2}, "disk m3: sync_error=0.1"));
  NemesisEvent clog = event(200, true, Fault::kClog, {1}, "clog m2 for 5s");
  clog.one_shot = true;
  clog.lasts = Seconds(5);
  recorder.OnNemesisEvent(clog);
  recorder.OnNemesisEvent(
      event(300, false, Fault::kPartition, {0}, "partition [ m1 ] | [ m2 m3 ]"));
  NemesisEvent heal = event(600, false, Fault::kPartition, {}, "heal all");
  heal.heal_all = true;
  recorder.OnNemesisEvent(heal);
  // The disk fault's own end comes after the heal-all ended it: no-op.
  recorder.OnNemesisEvent(event(900, false, Fault::kDisk, {2}, "disk m3: sync_error=0.1"));
  const TimelinePage page = std::move(recorder).Finish(2000 * kMs);
  for (const MemberLane& lane : page.lanes) {
    ASSERT_FALSE(lane.marks.empty()) << lane.name;
    EXPECT_EQ(lane.marks[0].kind, MarkKind::kPartition) << lane.name;
    EXPECT_EQ(lane.marks[0].end_ns, 300 * kMs) << lane.name;
    EXPECT_EQ(lane.marks[0].text, "nemesis: partition [ m1 ] | [ m2 m3 ]");
  }
  ASSERT_EQ(page.lanes[1].marks.size(), 2u);
  EXPECT_EQ(page.lanes[1].marks[1].kind, MarkKind::kClog);
  EXPECT_EQ(page.lanes[1].marks[1].end_ns, 600 * kMs);  // lifted early by the heal
  ASSERT_EQ(page.lanes[2].marks.size(), 2u);
  EXPECT_EQ(page.lanes[2].marks[1].kind, MarkKind::kDisk);
  EXPECT_EQ(page.lanes[2].marks[1].end_ns, 600 * kMs);
}

// A page with three members, two clients and a violation naming ops 1, 2.
class TimelinePageTest : public ::testing::Test {
 protected:
  TimelinePageTest() {
    TimelineRecorder recorder({"m1", "m2", "m3"});
    for (size_t m = 0; m < 3; m++) Sample(recorder, m, 0, m == 0 ? Leader(2) : Follower(2));
    recorder.BeginFault(2, 100 * kMs, MarkKind::kPause, "nemesis: pause m3");
    page_ = std::move(recorder).Finish(3000 * kMs);
    page_.title = "keel-sim cluster, seed 1";
    page_.faults_end_ns = 2000 * kMs;
    ops_.push_back(builder_.Put(0, "key/1", "a", 10 * kMs, 20 * kMs, 2));
    ops_.push_back(builder_.Put(0, "key/1", "b", 30 * kMs, 40 * kMs, 3));
    ops_.push_back(builder_.Get(1, "key/1", 50 * kMs, 60 * kMs, 3,
                                check::testing::Kv("key/1", "a", 2, 2, 1), true));
    ops_.push_back(builder_.PutFailed(1, "key/2", "c", 70 * kMs, 80 * kMs));
    ops_.push_back(builder_.PutUnknown(0, "key/2", "d", 90 * kMs));
  }

  std::string Render() {
    page_.history = std::move(builder_.rec()).Finish();
    return RenderTimelineHtml(page_);
  }

  check::testing::HistoryBuilder builder_;
  std::vector<check::OpId> ops_;
  TimelinePage page_;
};

TEST_F(TimelinePageTest, HasALanePerMemberAndABarPerOperation) {
  const std::string html = Render();
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_EQ(Count(html, "<g class=\"lane\""), 3u);
  for (const char* name : {"m1", "m2", "m3"}) {
    EXPECT_EQ(Count(html, StrCat("<g class=\"lane\" data-member=\"", name, "\">")), 1u) << name;
  }
  // Chart elements carry their times (data-s); the legend's swatches do not.
  EXPECT_EQ(Count(html, "<rect class=\"role leader\" data-s="), 1u);
  EXPECT_EQ(Count(html, "<rect class=\"role follower\" data-s="), 2u);
  EXPECT_EQ(Count(html, "<rect class=\"mark pause\" data-s="), 1u);
  EXPECT_EQ(Count(html, "<g class=\"client\""), 2u);
  EXPECT_EQ(Count(html, " data-op=\""), ops_.size());
  EXPECT_EQ(ClassOfOp(html, ops_[0]), "op ok");
  EXPECT_EQ(ClassOfOp(html, ops_[3]), "op failed");
  EXPECT_EQ(ClassOfOp(html, ops_[4]), "op unknown");
  EXPECT_EQ(Count(html, "<line class=\"faults-end\" data-s="), 1u);
  EXPECT_EQ(Count(html, "<g id=\"axis\">"), 1u);
  EXPECT_NE(html.find(">1s</text>"), std::string::npos);
  EXPECT_NE(html.find("id=\"legend\""), std::string::npos);
  EXPECT_NE(html.find("class=\"verdict pass\""), std::string::npos);
}

TEST_F(TimelinePageTest, TitlesGiveTheRequestKeyResultAndRevision) {
  const std::string html = Render();
  EXPECT_NE(html.find("<title>op 2, client 1: range &quot;key/1&quot; serializable\n"
                      "key: &quot;key/1&quot;\n"
                      "result: ok, 1 kv: &quot;key/1&quot;=&quot;a&quot;@2\n"
                      "revision: 3\n"
                      "0.050s - 0.060s (10.0 ms)</title>"),
            std::string::npos);
  EXPECT_NE(html.find("result: failed: etcdserver: lease not found"), std::string::npos);
  EXPECT_NE(html.find("result: unknown outcome: context deadline exceeded"), std::string::npos);
}

TEST_F(TimelinePageTest, ViolationOperationsAreOutlinedAndTheViolationShown) {
  page_.verdict = "the history fails its checks";
  page_.violations.push_back(check::Violation{.checker = "linearizability",
                                              .property = "real-time",
                                              .ops = {ops_[1], ops_[2]},
                                              .explanation = "read a value overwritten before"});
  const std::string html = Render();
  EXPECT_EQ(ClassOfOp(html, ops_[0]), "op ok");
  EXPECT_EQ(ClassOfOp(html, ops_[1]), "op ok violation");
  EXPECT_EQ(ClassOfOp(html, ops_[2]), "op ok violation");
  EXPECT_EQ(Count(html, "<text class=\"vmark\""), 2u);
  EXPECT_NE(html.find("<div class=\"violation-text\" data-ops=\"1 2\"><pre>"
                      "[linearizability/real-time] ops 1, 2: read a value overwritten before"),
            std::string::npos);
  EXPECT_NE(html.find("class=\"verdict fail\""), std::string::npos);
}

TEST_F(TimelinePageTest, TextFromTheHistoryIsEscaped) {
  const check::OpId op = builder_.Put(1, "<k&\"'>", "</script><b>", 100 * kMs, 110 * kMs, 4);
  page_.violations.push_back(check::Violation{.checker = "watch",
                                              .property = "<ordered>",
                                              .ops = {op},
                                              .explanation = "key <k&\"'> & </script>"});
  page_.verdict = "<b>failed</b> & \"quoted\"";
  page_.lanes[0].name = "m<1>";
  const std::string html = Render();
  // Printable quotes the key and backslashes its quote; Escape does the rest.
  EXPECT_NE(html.find("key: &quot;&lt;k&amp;\\&quot;&#39;&gt;&quot;\n"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;&lt;b&gt;"), std::string::npos);
  EXPECT_NE(html.find("[watch/&lt;ordered&gt;] op 5: key &lt;k&amp;&quot;&#39;&gt; &amp; "
                      "&lt;/script&gt;"),
            std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;failed&lt;/b&gt; &amp; &quot;quoted&quot;"), std::string::npos);
  EXPECT_NE(html.find("data-member=\"m&lt;1&gt;\""), std::string::npos);
  EXPECT_EQ(html.find("<k&"), std::string::npos);
  EXPECT_EQ(html.find("<b>failed"), std::string::npos);
  EXPECT_EQ(Count(html, "<script"), 1u);
  EXPECT_EQ(Count(html, "</script>"), 1u);
}

TEST_F(TimelinePageTest, FetchesNothing) {
  const std::string html = Render();
  EXPECT_EQ(Count(html, "src="), 0u);
  EXPECT_EQ(Count(html, "href="), 0u);
  EXPECT_EQ(Count(html, "url("), 0u);
  EXPECT_EQ(Count(html, "@import"), 0u);
  // The one URL is the SVG namespace, which is a name, not a fetch.
  EXPECT_EQ(Count(html, "http"), Count(html, "http://www.w3.org/2000/svg"));
}

}  // namespace
}  // namespace keel::sim
