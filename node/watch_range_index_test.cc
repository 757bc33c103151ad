// WatchRangeIndex: a few named cases (unbounded ends, nesting, order of
// matches, erase), then a RapidCheck property comparing every stab, find
// and size against a plain list of ranges under random inserts and erases.
#include "node/watch_range_index.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include <rapidcheck/gtest.h>

namespace keel::node {
namespace {

// Payloads are the range's position in `names`, so a test can print them.
class WatchRangeIndexTest : public ::testing::Test {
 protected:
  void Insert(std::string start, std::string end) {
    names_.push_back(start + ".." + (end.empty() ? "inf" : end));
    index_.Insert(std::move(start), std::move(end),
                  reinterpret_cast<void*>(names_.size()));
  }
  std::vector<std::string> Stab(std::string_view key) {
    std::vector<std::string> found;
    index_.Stab(key, [&](void* payload) {
      found.push_back(names_[reinterpret_cast<size_t>(payload) - 1]);
    });
    return found;
  }

  WatchRangeIndex index_;
  std::vector<std::string> names_;
};

TEST_F(WatchRangeIndexTest, StabFindsEveryContainingRangeInOrder) {
  Insert("a", "c");
  Insert("b", "d");
  Insert("b", "");  // unbounded
  Insert("x", "z");
  EXPECT_EQ(Stab("a"), (std::vector<std::string>{"a..c"}));
  EXPECT_EQ(Stab("b"), (std::vector<std::string>{"a..c", "b..d", "b..inf"}));
  EXPECT_EQ(Stab("c"), (std::vector<std::string>{"b..d", "b..inf"}));
  EXPECT_EQ(Stab("y"), (std::vector<std::string>{"b..inf", "x..z"}));
  EXPECT_EQ(Stab("z"), (std::vector<std::string>{"b..inf"}));
  EXPECT_TRUE(Stab("0").empty());
}

TEST_F(WatchRangeIndexTest, EndIsExclusiveAndStartInclusive) {
  Insert("foo", "foo0");
  EXPECT_EQ(Stab("foo").size(), 1u);
  EXPECT_EQ(Stab("foo/bar").size(), 1u);
  EXPECT_TRUE(Stab("foo0").empty());
  EXPECT_TRUE(Stab("fo").empty());
}

TEST_F(WatchRangeIndexTest, EraseRemovesOnlyTheExactRange) {
  Insert("a", "m");
  Insert("a", "");
  EXPECT_FALSE(index_.Erase("a", "z"));
  EXPECT_TRUE(index_.Erase("a", "m"));
  EXPECT_FALSE(index_.Erase("a", "m"));
  EXPECT_EQ(index_.size(), 1u);
  EXPECT_EQ(Stab("b"), (std::vector<std::string>{"a..inf"}));
  EXPECT_NE(index_.Find("a", ""), nullptr);
  EXPECT_EQ(index_.Find("a", "m"), nullptr);
}

// The model: a list of distinct ranges.
struct ModelRange {
  std::string start;
  std::string end;
  bool Contains(const std::string& key) const {
    return start <= key && (end.empty() || key < end);
  }
  bool operator<(const ModelRange& o) const {
    if (start != o.start) return start < o.start;
    if (end.empty() != o.end.empty()) return o.end.empty();
    return end < o.end;
  }
  bool operator==(const ModelRange& o) const = default;
};

std::string SmallKey(int n) { return std::string(1, static_cast<char>('a' + n)); }

RC_GTEST_PROP(WatchRangeIndexProperty, AgreesWithAListOfRanges, ()) {
  WatchRangeIndex index;
  std::vector<ModelRange> model;  // payload i+1 <-> ranges[i]
  std::vector<ModelRange> ranges;
  const int steps = *rc::gen::inRange(1, 300);
  for (int step = 0; step < steps; step++) {
    const int a = *rc::gen::inRange(0, 12);
    const int b = *rc::gen::inRange(0, 13);
    ModelRange range{SmallKey(a), b == 12 ? "" : SmallKey(b)};
    if (!range.end.empty() && range.end <= range.start) continue;
    auto it = std::find(model.begin(), model.end(), range);
    if (*rc::gen::inRange(0, 3) > 0 && it == model.end()) {
      ranges.push_back(range);
      index.Insert(range.start, range.end,
                   reinterpret_cast<void*>(ranges.size()));
      model.push_back(range);
    } else if (it != model.end()) {
      RC_ASSERT(index.Erase(range.start, range.end));
      model.erase(it);
    } else {
      RC_ASSERT(!index.Erase(range.start, range.end));
    }
    RC_ASSERT(index.size() == model.size());
    for (int k = 0; k < 14; k++) {
      const std::string key = SmallKey(k);
      std::vector<ModelRange> want;
      for (const ModelRange& r : model) {
        if (r.Contains(key)) want.push_back(r);
      }
      std::sort(want.begin(), want.end());
      std::vector<ModelRange> got;
      index.Stab(key, [&](void* payload) {
        got.push_back(ranges[reinterpret_cast<size_t>(payload) - 1]);
      });
      RC_ASSERT(got == want);
    }
  }
  for (const ModelRange& r : model) {
    const bool found = index.Find(r.start, r.end) != nullptr;
    RC_ASSERT(found);
  }
}

}  // namespace
}  // namespace keel::node
