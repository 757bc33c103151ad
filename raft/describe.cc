// etcd-style descriptions of raft's types.
#include "raft/describe.h"

#include "absl/strings/str_join.h"
#include "raft/confchange.h"
#include "runtime/strings.h"

namespace keel::raft {
namespace {

template <typename Ids>
std::string IdList(const Ids& ids) {
  return StrCat("[", absl::StrJoin(ids, " "), "]");
}

}  // namespace

std::string QuoteData(std::string_view data) {
  std::string out = "\"";
  for (char c : data) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  out += '"';
  return out;
}

std::string DescribeHardState(const HardState& state) {
  std::string out = StrCat("Term:", state.term());
  if (state.vote() != 0) StrAppend(&out, " Vote:", state.vote());
  StrAppend(&out, " Commit:", state.commit());
  return out;
}

std::string DescribeSoftState(const SoftState& state) {
  return StrCat("Lead:", state.lead, " State:", StateTypeName(state.state));
}

std::string DescribeConfState(const ConfState& state) {
  return StrCat("Voters:", IdList(state.voters()),
                " VotersOutgoing:", IdList(state.voters_outgoing()),
                " Learners:", IdList(state.learners()),
                " LearnersNext:", IdList(state.learners_next()),
                " AutoLeave:", state.auto_leave() ? "true" : "false");
}

std::string DescribeSnapshot(const raftpb::Snapshot& snapshot) {
  const auto& metadata = snapshot.metadata();
  return StrCat("Index:", metadata.index(), " Term:", metadata.term(),
                " ConfState:", DescribeConfState(metadata.conf_state()));
}

std::string DescribeEntry(const Entry& entry, const EntryFormatter& format) {
  std::string formatted;
  switch (entry.type()) {
    case raftpb::EntryNormal:
      formatted = format ? format(entry.data()) : QuoteData(entry.data());
      break;
    case raftpb::EntryConfChange: {
      ConfChange change;
      if (!change.ParseFromString(entry.data())) {
        formatted = "<undecodable ConfChange>";
      } else {
        ConfChangeV2 v2 = AsV2(change);
        formatted = ConfChangesToString(v2.changes());
      }
      break;
    }
    case raftpb::EntryConfChangeV2: {
      ConfChangeV2 change;
      if (!change.ParseFromString(entry.data())) {
        formatted = "<undecodable ConfChangeV2>";
      } else {
        formatted =
            ConfChangesToString(change.changes());
      }
      break;
    }
    default:
      formatted = "<unknown entry type>";
  }
  if (!formatted.empty()) formatted = " " + formatted;
  return StrCat(entry.term(), "/", entry.index(), " ",
                raftpb::EntryType_Name(entry.type()), formatted);
}

std::string DescribeEntries(const std::vector<Entry>& entries,
                            const EntryFormatter& format) {
  std::string out;
  for (const Entry& entry : entries) {
    StrAppend(&out, DescribeEntry(entry, format), "\n");
  }
  return out;
}

std::string DescribeMessage(const Message& m, const EntryFormatter& format) {
  std::string out =
      StrCat(m.from(), "->", m.to(), " ", raftpb::MessageType_Name(m.type()),
             " Term:", m.term(), " Log:", m.log_term(), "/", m.index());
  if (m.reject()) StrAppend(&out, " Rejected (Hint: ", m.reject_hint(), ")");
  if (m.commit() != 0) StrAppend(&out, " Commit:", m.commit());
  if (m.entries_size() > 0) {
    out += " Entries:[";
    for (int i = 0; i < m.entries_size(); i++) {
      if (i > 0) out += ", ";
      out += DescribeEntry(m.entries(i), format);
    }
    out += "]";
  }
  if (!IsEmptySnapshot(m.snapshot())) {
    StrAppend(&out, " Snapshot: ", DescribeSnapshot(m.snapshot()));
  }
  if (!m.context().empty()) StrAppend(&out, " Context:", QuoteData(m.context()));
  return out;
}

std::string DescribeReady(const Ready& ready, const EntryFormatter& format) {
  std::string out;
  if (ready.soft_state.has_value()) {
    StrAppend(&out, DescribeSoftState(*ready.soft_state), "\n");
  }
  if (ready.hard_state.has_value()) {
    StrAppend(&out, "HardState ", DescribeHardState(*ready.hard_state), "\n");
  }
  if (!ready.read_states.empty()) {
    out += "ReadStates";
    for (const ReadState& state : ready.read_states) {
      StrAppend(&out, " {Index:", state.index,
                " Context:", QuoteData(state.request_context), "}");
    }
    out += "\n";
  }
  if (!ready.entries.empty()) {
    StrAppend(&out, "Entries:\n", DescribeEntries(ready.entries, format));
  }
  if (ready.snapshot.has_value()) {
    StrAppend(&out, "Snapshot ", DescribeSnapshot(*ready.snapshot), "\n");
  }
  if (!ready.committed_entries.empty()) {
    StrAppend(&out, "CommittedEntries:\n",
              DescribeEntries(ready.committed_entries, format));
  }
  if (!ready.messages.empty()) {
    out += "Messages:\n";
    for (const Message& m : ready.messages) {
      StrAppend(&out, DescribeMessage(m, format), "\n");
    }
  }
  if (out.empty()) return "<empty Ready>";
  return StrCat("Ready MustSync=", ready.must_sync ? "true" : "false", ":\n",
                out);
}

}  // namespace keel::raft
