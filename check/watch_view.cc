// WatchView; see watch_view.h.
#include "check/watch_view.h"

#include <algorithm>

#include "runtime/strings.h"

namespace keel::check {

std::vector<WatchView> BuildWatchViews(const History& history) {
  std::vector<WatchView> views;
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Operation& op = history.ops[i];
    if (op.type() != OpType::kWatch || op.outcome != Outcome::kOk) continue;
    WatchView v;
    v.op = static_cast<int32_t>(i);
    v.request = &std::get<WatchRequest>(op.request);
    const auto& responses = std::get<WatchResult>(op.response).responses;
    int64_t created_header = 0;
    bool have_created = false;
    for (size_t r = 0; r < responses.size(); ++r) {
      const WatchResponse& resp = responses[r];
      if (resp.created && !have_created) {
        have_created = true;
        created_header = resp.revision;
      }
      if (resp.compact_revision != 0 && v.compact_revision == 0) {
        v.compact_revision = resp.compact_revision;
      }
      if (resp.IsProgressNotify()) v.upto = std::max(v.upto, resp.revision);
      for (const Event& e : resp.events) {
        v.events.push_back(WatchView::Received{&e, static_cast<int32_t>(r)});
        v.upto = std::max(v.upto, e.kv.mod_revision);
      }
    }
    if (v.request->start_revision > 0) {
      v.start = v.request->start_revision;
    } else if (have_created) {
      v.start = created_header + 1;
    } else if (!v.events.empty()) {
      v.start = v.events.front().event->kv.mod_revision;
    }
    views.push_back(std::move(v));
  }
  return views;
}

bool WatchSees(const WatchRequest& request, const Event& event) {
  if (!InRange(event.kv.key, request.key, request.range_end)) return false;
  if (event.type == Event::Type::kPut && request.filter_noput) return false;
  if (event.type == Event::Type::kDelete && request.filter_nodelete) return false;
  return true;
}

bool SameEvent(const Event& a, const Event& b) {
  if (a.type != b.type || a.kv.key != b.kv.key ||
      a.kv.mod_revision != b.kv.mod_revision) {
    return false;
  }
  if (a.type == Event::Type::kDelete) return true;
  return a.kv.value == b.kv.value && a.kv.create_revision == b.kv.create_revision &&
         a.kv.version == b.kv.version && a.kv.lease == b.kv.lease;
}

std::string DescribeEvent(const Event& e) {
  if (e.type == Event::Type::kDelete) {
    return StrCat("delete ", Printable(e.kv.key), " at ", e.kv.mod_revision);
  }
  return StrCat("put ", DescribeKv(e.kv));
}

}  // namespace keel::check
