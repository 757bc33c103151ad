// The timeline page: a TimelinePage as one self-contained HTML document.
//
// The chart is static SVG laid out here (it reads without scripts): an axis
// in simulated seconds, one group per member lane (role spans, term labels,
// and three rows of fault marks: process, network, disk), one group per
// client row (operations as bars, stacked into sub-rows where a client's
// operations overlap). Every positioned element carries its times in
// seconds (data-s, data-e), so the inline script can lay the chart out
// again at another zoom; the script also counts what the chart holds into
// the body's data attributes (what the browser test reads), shows a hovered
// element's title in a panel, and focuses the operations of a violation.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "runtime/assert.h"
#include "runtime/strings.h"
#include "sim/timeline.h"
#include "sim/timeline_assets.h"

namespace keel::sim {
namespace {

// Layout, in pixels.
constexpr double kLeft = 130;  // the label column
constexpr double kAxisHeight = 28;
constexpr double kRoleHeight = 18;
constexpr double kMarkRowHeight = 8;  // three rows under the role strip
constexpr double kLaneGap = 10;
constexpr double kOpRowHeight = 10;  // one sub-row of a client row
constexpr double kOpBarHeight = 7;
constexpr double kClientGap = 5;
constexpr double kChartWidthTarget = 1400;
constexpr double kMinPixelsPerSecond = 40;
constexpr double kMaxPixelsPerSecond = 2000;
// A term label is drawn on a role span at least this wide.
constexpr double kTermLabelMinWidth = 16;

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

double ToSeconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// "12.345678" (the data attributes) and "12.346s" (titles).
std::string SecondsAttr(int64_t ns) { return absl::StrFormat("%.6f", ToSeconds(ns)); }
std::string SecondsText(int64_t ns) { return absl::StrFormat("%.3fs", ToSeconds(ns)); }

std::string Interval(int64_t start_ns, int64_t end_ns) {
  return absl::StrFormat("%s - %s (%.1f ms)", SecondsText(start_ns), SecondsText(end_ns),
                         static_cast<double>(end_ns - start_ns) / 1e6);
}

// The axis step the script picks too: labels at least 70 px apart.
double AxisStep(double pixels_per_second) {
  static constexpr double kSteps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
                                      1,     2,     5,     10,   15,   30,   60,  120, 300};
  for (const double step : kSteps) {
    if (step * pixels_per_second >= 70) return step;
  }
  return 600;
}

class PageWriter {
 public:
  explicit PageWriter(const TimelinePage& page) : page_(page) {
    const double seconds = std::max(ToSeconds(page.end_ns), 0.001);
    pps_ = std::clamp(kChartWidthTarget / seconds, kMinPixelsPerSecond, kMaxPixelsPerSecond);
    for (const check::Violation& v : page.violations) {
      violation_ops_.insert(v.ops.begin(), v.ops.end());
    }
  }

  std::string Render();

 private:
  double X(int64_t ns) const { return kLeft + ToSeconds(ns) * pps_; }
  double Width(int64_t start_ns, int64_t end_ns, double min_width) const {
    return std::max(min_width, ToSeconds(end_ns - start_ns) * pps_);
  }
  // A rect positioned in time: data-s/-e for the script, x/width for now.
  void TimeRect(std::string_view classes, int64_t start_ns, int64_t end_ns, double y, double height,
                double min_width, std::string_view extra_attrs, std::string_view title);

  void Head();
  void Header();
  void Legend();
  void Axis(double height);
  double Lane(const MemberLane& lane, double y);
  double Clients(double y);
  double ClientRow(check::ClientId client, const std::vector<const check::Operation*>& ops,
                   double y);
  void Bar(const check::Operation& op, double y);

  const TimelinePage& page_;
  double pps_ = 100;
  std::set<check::OpId> violation_ops_;
  std::string out_;
};

void PageWriter::TimeRect(std::string_view classes, int64_t start_ns, int64_t end_ns, double y,
                          double height, double min_width, std::string_view extra_attrs,
                          std::string_view title) {
  StrAppend(&out_, "<rect class=\"", classes, "\" data-s=\"", SecondsAttr(start_ns), "\" data-e=\"",
            SecondsAttr(end_ns), "\"",
            min_width != 1 ? absl::StrFormat(" data-minw=\"%g\"", min_width) : "", extra_attrs,
            absl::StrFormat(" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\">", X(start_ns),
                            y, Width(start_ns, end_ns, min_width), height),
            "<title>", Escape(title), "</title></rect>\n");
}

void PageWriter::Head() {
  StrAppend(&out_, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<title>", Escape(page_.title), "</title>\n<style>\n", kTimelineCss,
            "</style>\n</head>\n");
}

void PageWriter::Header() {
  StrAppend(&out_, "<header>\n<h1>", Escape(page_.title), "</h1>\n");
  if (!page_.command.empty()) {
    StrAppend(&out_, "<p class=\"command\"><code>", Escape(page_.command), "</code></p>\n");
  }
  if (!page_.summary.empty()) {
    StrAppend(&out_, "<p class=\"summary\">", Escape(page_.summary), "</p>\n");
  }
  if (page_.verdict.empty()) {
    out_ += "<div id=\"verdict\" class=\"verdict pass\">PASSED</div>\n";
  } else {
    // The whole message folded under its first line when the violations
    // below repeat most of it.
    const std::string_view first_line =
        std::string_view(page_.verdict).substr(0, page_.verdict.find('\n'));
    StrAppend(&out_, "<details id=\"verdict\" class=\"verdict fail\"",
              page_.violations.empty() ? " open" : "", "><summary><b>FAILED</b> ",
              Escape(first_line), "</summary><pre>", Escape(page_.verdict), "</pre></details>\n");
  }
  if (!page_.violations.empty()) {
    StrAppend(&out_, "<section id=\"violations\">\n<h2>", page_.violations.size(),
              page_.violations.size() == 1 ? " violation" : " violations",
              " (their operations are outlined in red; click one to focus them)</h2>\n");
    for (const check::Violation& v : page_.violations) {
      std::string ops;
      for (const check::OpId op : v.ops) StrAppend(&ops, ops.empty() ? "" : " ", op);
      StrAppend(&out_, "<div class=\"violation-text\" data-ops=\"", ops, "\"><pre>",
                Escape(check::FormatViolation(v)), "</pre></div>\n");
    }
    out_ += "</section>\n";
  }
  out_ += "</header>\n";
}

void PageWriter::Legend() {
  out_ += "<div id=\"legend\">\n<span class=\"group\">member role:</span>";
  for (const MemberRole role : {MemberRole::kLeader, MemberRole::kFollower, MemberRole::kCandidate,
                                MemberRole::kStarting, MemberRole::kDown}) {
    const std::string_view name = MemberRoleName(role);
    StrAppend(&out_, "<span class=\"item\"><svg width=\"16\" height=\"12\"><rect class=\"role ",
              name, "\" width=\"16\" height=\"12\"/></svg>",
              role == MemberRole::kCandidate ? "no leader (candidate)" : name, "</span>");
  }
  out_ +=
      "<span class=\"item\">(number: raft term)</span>\n<br><span class=\"group\">fault:</span>";
  for (int k = 0; k <= static_cast<int>(MarkKind::kCorrupt); k++) {
    const std::string_view name = MarkKindName(static_cast<MarkKind>(k));
    StrAppend(&out_, "<span class=\"item\"><svg width=\"16\" height=\"12\"><rect class=\"mark ",
              name, "\" width=\"16\" height=\"12\"/></svg>", name, "</span>");
  }
  out_ += "\n<br><span class=\"group\">operation:</span>";
  for (const auto& [cls, text] : std::vector<std::pair<std::string, std::string>>{
           {"op ok", "ok"},
           {"op failed", "failed (no effect)"},
           {"op unknown", "unknown outcome"},
           {"op unknown open", "never completed"},
           {"op ok violation", "named in a violation"}}) {
    StrAppend(&out_, "<span class=\"item\"><svg width=\"20\" height=\"12\"><rect class=\"", cls,
              "\" x=\"2\" y=\"2\" width=\"16\" height=\"8\"/></svg>", text, "</span>");
  }
  out_ +=
      "<span class=\"item\"><svg width=\"16\" height=\"12\"><line class=\"faults-end\" "
      "x1=\"8\" x2=\"8\" y1=\"0\" y2=\"12\"/></svg>the faults stop</span>\n</div>\n";
}

void PageWriter::Axis(double height) {
  const double step = AxisStep(pps_);
  out_ += "<g id=\"axis\">\n";
  const double end = ToSeconds(page_.end_ns);
  for (int i = 0; i * step <= end + 1e-9; i++) {
    const double s = i * step;
    const double x = kLeft + s * pps_;
    StrAppend(&out_, absl::StrFormat(
                         "<line class=\"grid\" x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" "
                         "y2=\"%.1f\"/><text class=\"tick\" x=\"%.2f\" y=\"%.1f\">%gs</text>\n",
                         x, x, kAxisHeight - 6, height, x + 2, kAxisHeight - 10, s));
  }
  out_ += "</g>\n";
}

double PageWriter::Lane(const MemberLane& lane, double y) {
  StrAppend(&out_, "<g class=\"lane\" data-member=\"", Escape(lane.name), "\">\n",
            absl::StrFormat("<text class=\"label\" x=\"6\" y=\"%.1f\">", y + 13), "member ",
            Escape(lane.name), "</text>\n");
  for (const RoleSpan& span : lane.roles) {
    if (span.end_ns <= span.start_ns) continue;
    const std::string_view role = MemberRoleName(span.state.role);
    const bool up =
        span.state.role != MemberRole::kDown && span.state.role != MemberRole::kStarting;
    const std::string title = StrCat(
        lane.name, ": ", span.state.role == MemberRole::kCandidate ? "no leader" : role,
        up ? StrCat(", term ", span.state.term) : "", "\n", Interval(span.start_ns, span.end_ns));
    TimeRect(StrCat("role ", role), span.start_ns, span.end_ns, y, kRoleHeight, 1,
             StrCat(" data-term=\"", span.state.term, "\""), title);
    if (up) {
      const bool fits = Width(span.start_ns, span.end_ns, 0) >= kTermLabelMinWidth;
      StrAppend(&out_, "<text class=\"term\" data-s=\"", SecondsAttr(span.start_ns), "\" data-e=\"",
                SecondsAttr(span.end_ns), "\" data-dx=\"2\"", fits ? "" : " display=\"none\"",
                absl::StrFormat(" x=\"%.2f\" y=\"%.1f\">", X(span.start_ns) + 2, y + 13),
                span.state.term, "</text>\n");
    }
  }
  for (const FaultMark& mark : lane.marks) {
    int row = 1;  // network
    if (mark.kind == MarkKind::kKill || mark.kind == MarkKind::kCrash ||
        mark.kind == MarkKind::kRestart || mark.kind == MarkKind::kPause) {
      row = 0;
    } else if (mark.kind == MarkKind::kDisk || mark.kind == MarkKind::kCorrupt) {
      row = 2;
    }
    const double mark_y = y + kRoleHeight + 2 + row * kMarkRowHeight;
    const bool instant = mark.end_ns == mark.start_ns;
    TimeRect(StrCat("mark ", MarkKindName(mark.kind), instant ? " instant" : ""), mark.start_ns,
             mark.end_ns, mark_y, kMarkRowHeight - 1, instant ? 2 : 1, "",
             StrCat(lane.name, ": ", mark.text, "\n",
                    instant ? SecondsText(mark.start_ns) : Interval(mark.start_ns, mark.end_ns)));
  }
  out_ += "</g>\n";
  return y + kRoleHeight + 2 + 3 * kMarkRowHeight + kLaneGap;
}

void PageWriter::Bar(const check::Operation& op, double y) {
  const bool open = op.complete_ns == check::kNever;
  const int64_t end_ns = open ? page_.end_ns : op.complete_ns;
  std::string classes = "op";
  switch (op.outcome) {
    case check::Outcome::kOk:
      classes += " ok";
      break;
    case check::Outcome::kError:
      classes += " failed";
      break;
    case check::Outcome::kUnknown:
      classes += " unknown";
      break;
  }
  if (open) classes += " open";
  if (op.type() == check::OpType::kWatch) classes += " watch";
  if (op.final_read) classes += " final-read";
  const bool in_violation = violation_ops_.count(op.id) > 0;
  if (in_violation) classes += " violation";
  const std::string key = TimelineOpKey(op);
  std::string title =
      StrCat("op ", op.id, ", client ", op.client, ": ", check::DescribeRequest(op.request), "\n");
  if (!key.empty()) StrAppend(&title, "key: ", key, "\n");
  StrAppend(&title, "result: ", TimelineOpResult(op), "\n");
  if (op.outcome == check::Outcome::kOk && op.type() != check::OpType::kWatch) {
    StrAppend(&title, "revision: ", op.revision, "\n");
  }
  StrAppend(&title, open ? StrCat(SecondsText(op.invoke_ns), " - never completed")
                         : Interval(op.invoke_ns, op.complete_ns));
  if (in_violation) {
    StrAppend(
        &out_, "<text class=\"vmark\" data-s=\"", SecondsAttr(op.invoke_ns), "\" data-dx=\"-4\"",
        absl::StrFormat(" x=\"%.2f\" y=\"%.1f\">", X(op.invoke_ns) - 4, y + 1), "&#9660;</text>\n");
  }
  TimeRect(classes, op.invoke_ns, end_ns, y + (kOpRowHeight - kOpBarHeight) / 2, kOpBarHeight, 1,
           StrCat(" data-op=\"", op.id, "\""), title);
}

double PageWriter::ClientRow(check::ClientId client,
                             const std::vector<const check::Operation*>& ops, double y) {
  // Sub-rows: each operation goes to the first whose last bar ended before
  // it began (one sub-row for a client that waits for each response).
  std::vector<int64_t> row_end;
  std::vector<size_t> row_of(ops.size());
  for (size_t i = 0; i < ops.size(); i++) {
    const int64_t end_ns = std::min(ops[i]->complete_ns, page_.end_ns);
    size_t row = 0;
    while (row < row_end.size() && row_end[row] > ops[i]->invoke_ns) row++;
    if (row == row_end.size()) row_end.push_back(0);
    row_end[row] = end_ns;
    row_of[i] = row;
  }
  const auto named = page_.client_names.find(client);
  const std::string label =
      named != page_.client_names.end() ? named->second : StrCat("client ", client);
  StrAppend(&out_, "<g class=\"client\" data-client=\"", client, "\">\n",
            absl::StrFormat("<text class=\"label\" x=\"6\" y=\"%.1f\">", y + 9), Escape(label),
            "</text>\n");
  for (size_t i = 0; i < ops.size(); i++) {
    Bar(*ops[i], y + static_cast<double>(row_of[i]) * kOpRowHeight);
  }
  out_ += "</g>\n";
  return y + static_cast<double>(std::max<size_t>(row_end.size(), 1)) * kOpRowHeight + kClientGap;
}

double PageWriter::Clients(double y) {
  std::map<check::ClientId, std::vector<const check::Operation*>> by_client;
  for (const check::Operation& op : page_.history.ops) by_client[op.client].push_back(&op);
  for (auto& [client, ops] : by_client) {
    std::stable_sort(ops.begin(), ops.end(),
                     [](const check::Operation* a, const check::Operation* b) {
                       return a->invoke_ns < b->invoke_ns;
                     });
    y = ClientRow(client, ops, y);
  }
  return y;
}

std::string PageWriter::Render() {
  Head();
  out_ += "<body>\n";
  Header();
  Legend();
  out_ += kTimelineControls;
  // The chart is drawn first and the axis (which spans its height) put
  // before it afterwards, so the grid lies under the bars.
  const size_t chart_start = out_.size();
  double y = kAxisHeight + 4;
  out_ += "<g id=\"lanes\">\n";
  for (const MemberLane& lane : page_.lanes) y = Lane(lane, y);
  out_ += "</g>\n<g id=\"clients\">\n";
  y = Clients(y + kLaneGap);
  out_ += "</g>\n";
  if (page_.faults_end_ns > 0) {
    StrAppend(&out_, "<line class=\"faults-end\" data-s=\"", SecondsAttr(page_.faults_end_ns), "\"",
              absl::StrFormat(" x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" y2=\"%.1f\">",
                              X(page_.faults_end_ns), X(page_.faults_end_ns), kAxisHeight - 6, y),
              "<title>the faults stop, the cluster heals: ", SecondsText(page_.faults_end_ns),
              "</title></line>\n");
  }
  std::string chart = out_.substr(chart_start);
  out_.resize(chart_start);
  const double height = y + 6;
  StrAppend(&out_, "<div id=\"chart-box\">\n",
            absl::StrFormat("<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                            "width=\"%.0f\" height=\"%.0f\" data-left=\"%g\" data-pps=\"%g\" "
                            "data-end=\"%s\">\n",
                            X(page_.end_ns) + 30, height, kLeft, pps_, SecondsAttr(page_.end_ns)));
  Axis(height);
  StrAppend(&out_, chart,
            "</svg>\n</div>\n<div id=\"info\">Hover over the chart for details.</div>\n",
            "<script>\n", kTimelineScript, "</script>\n</body>\n</html>\n");
  return std::move(out_);
}

}  // namespace

std::string RenderTimelineHtml(const TimelinePage& page) { return PageWriter(page).Render(); }

absl::StatusOr<size_t> WriteTimelineFile(const std::string& path, const TimelinePage& page) {
  const std::string html = RenderTimelineHtml(page);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return absl::InternalError(StrCat("cannot create ", path));
  const size_t written = std::fwrite(html.data(), 1, html.size(), file);
  const bool closed = std::fclose(file) == 0;
  if (written != html.size() || !closed) {
    return absl::InternalError(StrCat("cannot write ", path));
  }
  return html.size();
}

}  // namespace keel::sim
