// Member and cluster IDs must be etcd's for the same flags.
#include "node/membership.h"

#include "gtest/gtest.h"

namespace keel::node {
namespace {

TEST(MembershipTest, DefaultSingleMemberHasEtcdsIds) {
  ServerConfig config;
  auto members = BootstrapMembers(config);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ(FormatId((*members)[0].id), "8e9e05c52164694d");
  EXPECT_EQ(FormatId(ComputeClusterId({(*members)[0].id})), "cdf818194e3a8c32");
}

TEST(MembershipTest, IdsDoNotDependOnUrlOrder) {
  EXPECT_EQ(ComputeMemberId({"http://a:1", "http://b:2"}, "t"),
            ComputeMemberId({"http://b:2", "http://a:1"}, "t"));
  EXPECT_NE(ComputeMemberId({"http://a:1"}, "t1"), ComputeMemberId({"http://a:1"}, "t2"));
  EXPECT_EQ(ComputeClusterId({3, 1, 2}), ComputeClusterId({1, 2, 3}));
}

TEST(MembershipTest, ThreeMembersAreSortedById) {
  ServerConfig config;
  config.name = "infra1";
  config.initial_cluster =
      "infra1=http://127.0.0.1:2380,infra2=http://127.0.0.1:22380,infra3=http://127.0.0.1:32380";
  auto members = BootstrapMembers(config);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 3u);
  EXPECT_LT((*members)[0].id, (*members)[1].id);
  EXPECT_LT((*members)[1].id, (*members)[2].id);
}

TEST(MembershipTest, DuplicatePeerUrlsAreRefused) {
  ServerConfig config;
  config.initial_cluster = "default=http://localhost:2380,other=http://localhost:2380";
  EXPECT_FALSE(BootstrapMembers(config).ok());
}

TEST(MembershipTest, IdsRoundTripThroughHex) {
  uint64_t id = 0;
  EXPECT_TRUE(ParseId("8e9e05c52164694d", &id));
  EXPECT_EQ(id, 0x8e9e05c52164694dULL);
  EXPECT_FALSE(ParseId("xyz", &id));
  EXPECT_FALSE(ParseId("", &id));
}

}  // namespace
}  // namespace keel::node
