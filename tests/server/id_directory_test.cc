// IdDirectory: ids to their network and shard; removing a network takes its
// ids with it.
#include "server/id_directory.h"

#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

using Pairs = std::vector<std::pair<uint32_t, uint32_t>>;

TEST(IdDirectoryTest, ResolvesIdsThroughTheirNetworkToItsShard) {
  IdDirectory d;
  d.AddNetwork(1, 0);
  d.AddNetwork(2, 1);
  d.AddLink(10, 2);
  d.AddInterface(11, 1);
  d.AddSession(100, 2);
  ASSERT_TRUE(d.LinkOwner(10).has_value());
  EXPECT_EQ(d.LinkOwner(10)->network_id, 2u);
  EXPECT_EQ(d.LinkOwner(10)->shard, 1u);
  // An interface is a link too.
  ASSERT_TRUE(d.LinkOwner(11).has_value());
  EXPECT_EQ(d.LinkOwner(11)->shard, 0u);
  EXPECT_EQ(d.link_count(), 2u);
  EXPECT_EQ(d.interface_count(), 1u);
  EXPECT_EQ(d.SessionOwner(100)->network_id, 2u);
  EXPECT_FALSE(d.SessionOwner(101).has_value());
  EXPECT_FALSE(d.LinkOwner(12).has_value());
  EXPECT_EQ(d.ShardOf(2), 1u);
  EXPECT_FALSE(d.ShardOf(3).has_value());
  EXPECT_EQ(d.network_ids(), (std::vector<uint32_t>{1, 2}));
}

TEST(IdDirectoryTest, AnIdOfANetworkThatIsGoneResolvesToNothing) {
  IdDirectory d;
  d.AddLink(10, 7);  // network 7 was never added
  d.AddSession(5, 7);
  EXPECT_FALSE(d.LinkOwner(10).has_value());
  EXPECT_FALSE(d.SessionOwner(5).has_value());
}

TEST(IdDirectoryTest, RemovingANetworkForgetsEverythingItOwned) {
  IdDirectory d;
  d.AddNetwork(1, 0);
  d.AddNetwork(2, 0);
  d.AddInterface(12, 2);
  d.AddInterface(11, 2);
  d.AddInterface(13, 1);
  d.AddLink(20, 2);
  d.AddLink(21, 1);
  d.AddSession(100, 2);
  d.AddSession(101, 1);
  EXPECT_EQ(d.RemoveNetwork(2), (std::vector<uint32_t>{11, 12}));
  EXPECT_EQ(d.network_count(), 1u);
  EXPECT_EQ(d.link_count(), 2u);  // 13 and 21
  EXPECT_EQ(d.interface_count(), 1u);
  EXPECT_EQ(d.session_count(), 1u);
  EXPECT_FALSE(d.LinkOwner(20).has_value());
  EXPECT_TRUE(d.LinkOwner(21).has_value());
  EXPECT_EQ(d.Interfaces(0), (Pairs{{13, 1}}));
}

TEST(IdDirectoryTest, RemoveLinkForgetsTheInterfaceToo) {
  IdDirectory d;
  d.AddNetwork(1, 0);
  d.AddInterface(5, 1);
  d.RemoveLink(5);
  EXPECT_EQ(d.interface_count(), 0u);
  EXPECT_EQ(d.link_count(), 0u);
}

TEST(IdDirectoryTest, SessionsPageInIdOrderAndFilterByNetwork) {
  IdDirectory d;
  d.AddNetwork(1, 0);
  d.AddNetwork(2, 1);
  for (uint32_t id : {9u, 3u, 7u, 5u, 1u})
    d.AddSession(id, id % 4 == 1 ? 1 : 2);
  EXPECT_EQ(d.SessionsAfter(0, 0),
            (Pairs{{1, 1}, {3, 2}, {5, 1}, {7, 2}, {9, 1}}));
  EXPECT_EQ(d.SessionsAfter(3, 0), (Pairs{{5, 1}, {7, 2}, {9, 1}}));
  EXPECT_EQ(d.SessionsAfter(0, 2), (Pairs{{3, 2}, {7, 2}}));
  d.RemoveSession(7);
  EXPECT_EQ(d.SessionsAfter(3, 2), Pairs{});
  EXPECT_EQ(d.Interfaces(2), Pairs{});
}

}  // namespace
}  // namespace tcpemu::server
