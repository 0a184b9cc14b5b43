// End-to-end transfers across an emulated link in virtual time.
#include "engine/sim/network.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(NetworkTest, LosslessTransferClosesThroughTimeWait) {
  Network net(42);
  PathSpec p;
  p.delay = 10 * kMillisecond;
  p.rate_bps = 100'000'000;
  auto link = net.CreateLink(p, p);
  ASSERT_TRUE(link.ok()) << link.status();
  SessionSpec spec;
  spec.link_id = *link;
  auto sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok()) << sid.status();
  ASSERT_TRUE(net.SetSource(*sid, Endpoint::kClient, 1 << 20, true).ok());
  EXPECT_TRUE(net.RunUntilIdle(600 * kSecond));
  auto info = net.GetSession(*sid);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->destroyed);
  EXPECT_EQ(info->client.bytes_written, 1u << 20);
  EXPECT_EQ(info->server.bytes_read, 1u << 20);
  EXPECT_EQ(info->client.write_digest, info->server.read_digest);
  EXPECT_EQ(info->client.error, ErrorCode::kNone);
}

}  // namespace
}  // namespace tcpemu
