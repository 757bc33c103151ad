// The table and size formats against what etcdctl 3.4 printed.
#include "tools/table.h"

#include "gtest/gtest.h"

namespace keel::tools {
namespace {

TEST(TableTest, SnapshotStatusLooksLikeEtcdctls) {
  EXPECT_EQ(RenderTable({"hash", "revision", "total keys", "total size"},
                        {{"176b79ea", "2", "5", "20 kB"}}, CellAlign::kRight),
            "+----------+----------+------------+------------+\n"
            "|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |\n"
            "+----------+----------+------------+------------+\n"
            "| 176b79ea |        2 |          5 |      20 kB |\n"
            "+----------+----------+------------+------------+\n");
}

TEST(TableTest, LeftAlignedCellsArePaddedOnTheRight) {
  EXPECT_EQ(RenderTable({"a"}, {{"x"}, {"long"}}, CellAlign::kLeft),
            "+------+\n|  A   |\n+------+\n| x    |\n| long |\n+------+\n");
}

TEST(TableTest, SizesAreHumanisedAsGoHumanizeDoes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(9), "9 B");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1568), "1.6 kB");
  EXPECT_EQ(HumanBytes(20480), "20 kB");
  EXPECT_EQ(HumanBytes(2100000), "2.1 MB");
  EXPECT_EQ(HumanBytes(82854982), "83 MB");
}

}  // namespace
}  // namespace keel::tools
