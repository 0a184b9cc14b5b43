// End-to-end transfers across an emulated link in virtual time.
#include "engine/sim/network.h"

#include "engine/trace/trace_hash.h"
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

namespace tcpemu {
namespace {

TEST(NetworkTest, BadInputNamesTheFieldAndChangesNothing) {
  Network::Limits limits;
  limits.max_sessions = 2;
  limits.max_links = 1;
  Network net(1, nullptr, limits);
  PathSpec bad;
  bad.loss.model = LossSpec::Model::kRandom;
  bad.loss.p = 1.5;
  auto l = net.CreateLink(bad, PathSpec());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(l.status().message().find("forward.loss.p"),
            absl::string_view::npos)
      << l.status();

  auto link = net.CreateLink(PathSpec(), PathSpec());
  ASSERT_TRUE(link.ok());
  auto second = net.CreateLink(PathSpec(), PathSpec());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);

  SessionSpec spec;
  spec.link_id = *link;
  auto good = net.OpenSession(spec);
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(net.SetSource(*good, Endpoint::kClient, 100000, true).ok());

  SessionSpec wrong = spec;
  wrong.client.mtu = 20;
  auto s = net.OpenSession(wrong);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("client.mtu"), absl::string_view::npos)
      << s.status();
  wrong = spec;
  wrong.server.rto_min = 0;
  s = net.OpenSession(wrong);
  EXPECT_NE(s.status().message().find("server.rto_min"),
            absl::string_view::npos)
      << s.status();
  wrong = spec;
  wrong.link_id = 99;
  EXPECT_EQ(net.OpenSession(wrong).status().code(),
            absl::StatusCode::kNotFound);
  wrong = spec;
  wrong.client_port = 40000;
  ASSERT_TRUE(net.OpenSession(wrong).ok());
  EXPECT_EQ(net.OpenSession(wrong).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(net.Write(1234, Endpoint::kClient, {}, false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(net.DeleteLink(*link).code(),
            absl::StatusCode::kFailedPrecondition);
  FaultRule rule;
  rule.probability = 2;
  EXPECT_EQ(net.AddFault(*link, Direction::kForward, rule).status().code(),
            absl::StatusCode::kInvalidArgument);

  // The first session never noticed.
  EXPECT_TRUE(net.RunUntilIdle(600 * kSecond));
  auto info = net.GetSession(*good);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->destroyed);
  EXPECT_EQ(info->server.bytes_read, 100000u);
  EXPECT_EQ(info->client.write_digest, info->server.read_digest);
}

TEST(NetworkTest, SynToClosedPortIsRefused) {
  Network net(3);
  auto link = net.CreateLink(PathSpec(), PathSpec());
  ASSERT_TRUE(link.ok());
  SessionSpec spec;
  spec.link_id = *link;
  spec.server_listens = false;
  auto sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok());
  EXPECT_TRUE(net.RunUntilIdle(10 * kSecond));
  auto info = net.GetSession(*sid);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->destroyed);
  EXPECT_EQ(info->client.error, ErrorCode::kRefused);
}

TEST(NetworkTest, FaultDroppingDataSegmentsIsRepairedByRetransmission) {
  Network net(5);
  PathSpec p;
  p.delay = 10 * kMillisecond;
  auto link = net.CreateLink(p, p);
  ASSERT_TRUE(link.ok());
  FaultRule drop;
  drop.action = FaultAction::kDrop;
  drop.match.payload_only = true;
  drop.count = 3;
  ASSERT_TRUE(net.AddFault(*link, Direction::kForward, drop).ok());
  SessionSpec spec;
  spec.link_id = *link;
  auto sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok());
  ASSERT_TRUE(net.SetSource(*sid, Endpoint::kClient, 200000, true).ok());
  EXPECT_TRUE(net.RunUntilIdle(600 * kSecond));
  auto info = net.GetSession(*sid);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->client.write_digest, info->server.read_digest);
  const ConnectionCounters& c = info->client.counters;
  EXPECT_GE(c.retransmits_rto + c.retransmits_fast, 3u);
  EXPECT_EQ(net.path(*link, Direction::kForward)->counters().dropped_fault, 3u);
}

}  // namespace
}  // namespace tcpemu

namespace tcpemu {
namespace {

// Builds the same lossy transfer in `net`; returns its session id.
uint32_t StartLossyTransfer(Network& net) {
  PathSpec p;
  p.delay = 5 * kMillisecond;
  p.rate_bps = 50'000'000;
  p.loss.model = LossSpec::Model::kRandom;
  p.loss.p = 0.02;
  auto link = net.CreateLink(p, p);
  EXPECT_TRUE(link.ok()) << link.status();
  SessionSpec spec;
  spec.link_id = *link;
  auto sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok()) << sid.status();
  EXPECT_TRUE(net.SetSource(*sid, Endpoint::kClient, 2 << 20, true).ok());
  return *sid;
}

TEST(NetworkTest, RunUntilBoundedInStepsGivesTheTraceOfOneRunUntil) {
  TraceHasher whole_trace;
  Network whole(7, &whole_trace);
  StartLossyTransfer(whole);
  const TimeNs end = 20 * kSecond;
  whole.RunUntil(end);

  TraceHasher stepped_trace;
  Network stepped(7, &stepped_trace);
  StartLossyTransfer(stepped);
  int steps = 0;
  TimeNs last = 0;
  while (!stepped.RunUntilBounded(end, 13)) {
    ++steps;
    EXPECT_GE(stepped.now(), last);
    EXPECT_LT(stepped.now(), end);
    last = stepped.now();
  }
  EXPECT_GT(steps, 100);
  EXPECT_EQ(stepped.now(), end);
  EXPECT_EQ(whole.now(), end);
  EXPECT_GT(whole_trace.event_count(), 1000u);
  EXPECT_EQ(stepped_trace.event_count(), whole_trace.event_count());
  EXPECT_EQ(stepped_trace.HexDigest(), whole_trace.HexDigest());
}

TEST(NetworkTest, RunUntilBoundedWithNothingDueReachesTheTarget) {
  Network net(1);
  EXPECT_TRUE(net.RunUntilBounded(5 * kSecond, 1));
  EXPECT_EQ(net.now(), 5 * kSecond);
  // A target in the past leaves the clock where it is.
  EXPECT_TRUE(net.RunUntilBounded(kSecond, 1));
  EXPECT_EQ(net.now(), 5 * kSecond);
}

}  // namespace
}  // namespace tcpemu

namespace tcpemu {
namespace {

TEST(NetworkTest, ValidatedSpecsAreTakenAsTheyAre) {
  Network net(3);
  PathSpec p;
  p.delay = 2 * kMillisecond;
  absl::StatusOr<ValidPathSpec> v = ValidPathSpec::Check(p);
  ASSERT_TRUE(v.ok());
  auto link = net.CreateLink(*v, ValidPathSpec());
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(net.path(*link, Direction::kForward)->spec().delay, p.delay);
  p.delay = 3 * kMillisecond;
  ASSERT_TRUE(
      net.UpdateLink(*link, *ValidPathSpec::Check(p), ValidPathSpec()).ok());
  EXPECT_EQ(net.path(*link, Direction::kForward)->spec().delay, p.delay);
  EXPECT_EQ(net.UpdateLink(99, ValidPathSpec(), ValidPathSpec()).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tcpemu
