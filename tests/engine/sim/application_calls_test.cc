// Network's application calls: what they answer with, as values.
#include <optional>
#include <vector>

#include "engine/sim/network.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(ApplicationCallsTest, ValueCallsReportWritesReadsAndTheEndpoint) {
  Network net(7);
  PathSpec p;
  p.delay = kMillisecond;
  auto link = net.CreateLink(p, p);
  ASSERT_TRUE(link.ok());
  SessionSpec spec;
  spec.link_id = *link;
  spec.client.send_buffer = 16 * 1024;
  spec.server_reader.mode = ReaderMode::kManual;
  auto sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok());
  net.RunUntil(10 * kMillisecond);
  std::optional<EndpointStatus> c = net.GetEndpoint(*sid, Endpoint::kClient);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->state, TcpState::kEstablished);
  EXPECT_EQ(c->send_buffer_free, 16u * 1024);
  EXPECT_TRUE(c->can_write);
  EXPECT_GT(c->mss, 0u);
  ASSERT_TRUE(net.GetTcb(*sid, Endpoint::kClient).has_value());

  // More than the buffer holds: only what fits is taken.
  std::vector<uint8_t> data(40 * 1024, 1);
  absl::StatusOr<WriteResult> w =
      net.WriteAvailable(*sid, Endpoint::kClient, data, true);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->accepted, 16u * 1024);
  EXPECT_EQ(w->after.send_buffer_free, 0u);
  // A full buffer takes nothing, and that is no error.
  w = net.WriteGeneratedAvailable(*sid, Endpoint::kClient, 100, false);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->accepted, 0u);

  net.RunUntil(200 * kMillisecond);
  std::optional<EndpointStatus> s = net.GetEndpoint(*sid, Endpoint::kServer);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->readable, 16u * 1024);
  std::vector<uint8_t> out(1000);
  absl::StatusOr<ReadResult> r =
      net.ReadAvailable(*sid, Endpoint::kServer, absl::MakeSpan(out));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, 1000u);
  EXPECT_FALSE(r->eof);

  ASSERT_TRUE(net.Abort(*sid, Endpoint::kClient).ok());
  std::optional<EndpointStatus> aborted =
      net.GetEndpoint(*sid, Endpoint::kClient);
  ASSERT_TRUE(aborted.has_value());  // until the RST reaches the server
  EXPECT_TRUE(aborted->finished);
  EXPECT_FALSE(aborted->can_write);
  net.RunUntil(kSecond);
  // The session is over: no endpoint, and writes say so.
  EXPECT_FALSE(net.GetEndpoint(*sid, Endpoint::kClient).has_value());
  EXPECT_EQ(
      net.WriteAvailable(*sid, Endpoint::kClient, data, true).status().code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST(ApplicationCallsTest, CallsOnAHostsSideOrAnUnknownSessionFail) {
  Network net(1);
  EXPECT_EQ(net.CheckEndpoint(42, Endpoint::kClient).code(),
            absl::StatusCode::kNotFound);
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(net.ReadAvailable(42, Endpoint::kServer, absl::MakeSpan(buf))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(net.GetEndpoint(42, Endpoint::kClient).has_value());
  EXPECT_FALSE(net.GetTcb(42, Endpoint::kClient).has_value());
}

}  // namespace
}  // namespace tcpemu
