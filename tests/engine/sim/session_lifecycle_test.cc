// Network's session lifecycle: ports, ids, and what a finished or deleted
// session leaves.
#include "engine/sim/network.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(SessionLifecycleTest, EphemeralPortsAreDistinctAndAnExplicitOneIsChecked) {
  Network net(5);
  auto link = net.CreateLink(PathSpec(), PathSpec());
  ASSERT_TRUE(link.ok());
  SessionSpec spec;
  spec.link_id = *link;
  auto a = net.OpenSession(spec);
  auto b = net.OpenSession(spec);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ia = net.GetSession(*a);
  auto ib = net.GetSession(*b);
  ASSERT_TRUE(ia.ok() && ib.ok());
  EXPECT_EQ(ia->client_port, 49152);
  EXPECT_EQ(ib->client_port, 49153);
  spec.client_port = ia->client_port;
  auto dup = net.OpenSession(spec);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(dup.status().message().find("client_port 49152"),
            absl::string_view::npos)
      << dup.status();
  EXPECT_EQ(net.live_session_count(), 2u);
  EXPECT_EQ(net.link_session_count(*link), 2u);
}

TEST(SessionLifecycleTest, AFinishedSessionKeepsItsStatsUntilDeleted) {
  Network net(6);
  auto link = net.CreateLink(PathSpec(), PathSpec());
  ASSERT_TRUE(link.ok());
  SessionSpec spec;
  spec.link_id = *link;
  spec.id = 77;
  auto sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok());
  EXPECT_EQ(*sid, 77u);
  EXPECT_EQ(net.OpenSession(spec).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(net.SetSource(77, Endpoint::kClient, 5000, true).ok());
  EXPECT_TRUE(net.RunUntilIdle(600 * kSecond));
  auto info = net.GetSession(77);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->destroyed);
  EXPECT_EQ(info->client.bytes_written, 5000u);
  EXPECT_EQ(info->server.bytes_read, 5000u);
  EXPECT_EQ(info->client.write_digest, info->server.read_digest);
  EXPECT_EQ(net.live_session_count(), 0u);
  EXPECT_EQ(net.link_session_count(*link), 0u);
  EXPECT_EQ(net.connection(77, Endpoint::kClient), nullptr);
  ASSERT_TRUE(net.DeleteSession(77).ok());
  EXPECT_EQ(net.GetSession(77).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(net.DeleteSession(77).code(), absl::StatusCode::kNotFound);
  // The link is free to go now.
  EXPECT_TRUE(net.DeleteLink(*link).ok());
}

}  // namespace
}  // namespace tcpemu
