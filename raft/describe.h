// Human-readable one-line forms of raft's types, in etcd's format, for logs,
// test transcripts (raft/testdata) and failure messages:
//
//   1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal "foo"]
#ifndef KEEL_RAFT_DESCRIBE_H_
#define KEEL_RAFT_DESCRIBE_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/raw_node.h"
#include "raft/types.h"

namespace keel::raft {

// Formats an entry's payload; the default quotes it ("foo").
using EntryFormatter = std::function<std::string(std::string_view)>;

std::string QuoteData(std::string_view data);

std::string DescribeHardState(const HardState& state);
std::string DescribeSoftState(const SoftState& state);
std::string DescribeConfState(const ConfState& state);
std::string DescribeSnapshot(const raftpb::Snapshot& snapshot);
// "1/3 EntryNormal \"foo\"", "1/4 EntryConfChangeV2 v2 l3".
std::string DescribeEntry(const Entry& entry, const EntryFormatter& format = {});
// One entry per line, each ending in '\n'.
std::string DescribeEntries(const std::vector<Entry>& entries,
                            const EntryFormatter& format = {});
std::string DescribeMessage(const Message& m, const EntryFormatter& format = {});
// A multi-line account of a Ready, or "<empty Ready>".
std::string DescribeReady(const Ready& ready, const EntryFormatter& format = {});

}  // namespace keel::raft

#endif  // KEEL_RAFT_DESCRIBE_H_
