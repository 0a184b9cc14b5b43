// CUBIC (RFC 9438) on a simulated ACK clock: the reduction by beta, the
// cubic curve back to W_max in K seconds (concave, then convex), the
// Reno-friendly region, fast convergence, timeouts, and a whole transfer.
#include "engine/tcp/cubic.h"

#include <cmath>

#include "engine/sim/network.h"
#include "gtest/gtest.h"
#include "tests/engine/tcp/cc_test_util.h"

namespace tcpemu {
namespace {

constexpr uint32_t kMss = 1000;

// Drives `cc` in congestion avoidance: every RTT, one ACK per segment of
// the window. Returns the time reached.
TimeNs Clock(Cubic& cc, TimeNs start, DurationNs rtt, int rtts,
             std::vector<double>* windows = nullptr) {
  TimeNs now = start;
  for (int i = 0; i < rtts; ++i) {
    now += rtt;
    const uint32_t segments = cc.cwnd() / kMss;
    for (uint32_t s = 0; s < segments; ++s) cc.OnAck(Acked(now, kMss, rtt));
    if (windows != nullptr) windows->push_back(double(cc.cwnd()) / kMss);
  }
  return now;
}

// A connection that grew to `segments` and then lost a segment.
Cubic AfterLossAt(uint32_t segments, DurationNs rtt) {
  Cubic cc(kMss, segments);
  cc.OnCongestionEvent(0, segments * kMss);
  cc.OnRecoveryEnd(0, cc.ssthresh());
  return cc;
}

TEST(CubicTest, LossCutsTheWindowByBeta) {
  Cubic cc = AfterLossAt(100, 100 * kMillisecond);
  EXPECT_EQ(cc.ssthresh(), 70 * kMss);
  EXPECT_EQ(cc.cwnd(), 70 * kMss);
  EXPECT_DOUBLE_EQ(cc.w_max(), 100);
}

TEST(CubicTest, WindowReturnsToWmaxAfterKSecondsConcaveThenConvex) {
  const DurationNs rtt = 100 * kMillisecond;
  Cubic cc = AfterLossAt(100, rtt);
  std::vector<double> w;
  Clock(cc, 0, rtt, 80, &w);  // 8 s
  // K = cbrt(W_max (1 - beta) / C) = cbrt(75) = 4.22 s.
  EXPECT_NEAR(cc.k(), std::cbrt(75.0), 1e-9);
  // The window tracks W_cubic one RTT ahead: W(t) = C (t - K)^3 + W_max.
  auto w_cubic = [&](double t) {
    return Cubic::kC * std::pow(t - cc.k(), 3) + 100;
  };
  // The epoch starts at the first ACK, one RTT in; each ACK closes
  // 1/cwnd of the gap to the target, so the window trails it slightly.
  for (int i : {4, 9, 19, 29, 39}) {
    const double t = i * 0.1;  // since the epoch started
    EXPECT_NEAR(w[i], w_cubic(t + 0.1), 1.5) << "at " << t << " s";
    EXPECT_LE(w[i], w_cubic(t + 0.1) + 0.01);
  }
  // Below W_max until K, above it after.
  EXPECT_LT(w[38], 100.0);
  EXPECT_GT(w[46], 100.0);
  // Concave before K: growth per RTT shrinks; convex after: it grows.
  EXPECT_GT(w[10] - w[9], w[30] - w[29]);
  EXPECT_LT(w[50] - w[49], w[75] - w[74]);
  // Far past K the window is above W_max and still follows the cubic.
  const double t = 8.0;
  EXPECT_NEAR(w.back(), Cubic::kC * std::pow(t - cc.k(), 3) + 100, 3.0);
}

TEST(CubicTest, ShortRttGrowsAtLeastAsFastAsReno) {
  // At 1 ms the cubic curve barely moves in 100 RTTs, but the Reno-friendly
  // estimate grows alpha = 3 (1 - beta) / (1 + beta) segments per RTT.
  const DurationNs rtt = kMillisecond;
  Cubic cc = AfterLossAt(100, rtt);
  Clock(cc, 0, rtt, 100);
  // alpha per RTT throughout, as Linux (RFC 8312 4.2; RFC 9438 4.3 would
  // switch to 1 past W_max): from 70 segments, 100 RTTs later.
  const double friendly = 70 + 100 * Cubic::kAlpha;
  EXPECT_NEAR(double(cc.cwnd()) / kMss, friendly, 2.0);
  EXPECT_GT(cc.w_est(), 100);
  EXPECT_LT(Cubic::kC * std::pow(0.1 - cc.k(), 3) + 100, 75);
}

TEST(CubicTest, FastConvergenceLowersWmaxWhenTheWindowFellShort) {
  const DurationNs rtt = 100 * kMillisecond;
  Cubic cc = AfterLossAt(100, rtt);
  TimeNs now = Clock(cc, 0, rtt, 10);
  const double before = double(cc.cwnd()) / kMss;
  ASSERT_LT(before, 100);
  cc.OnCongestionEvent(now, cc.cwnd());
  EXPECT_NEAR(cc.w_max(), before * (1 + Cubic::kBeta) / 2, 1.0);
}

TEST(CubicTest, TimeoutRestartsFromOneSegment) {
  Cubic cc(kMss, 10);
  cc.OnRetransmitTimeout(0, 40 * kMss);
  EXPECT_EQ(cc.cwnd(), kMss);
  EXPECT_EQ(cc.ssthresh(), 28 * kMss);
  // Slow start again up to ssthresh.
  cc.OnAck(Acked(kSecond, kMss));
  EXPECT_EQ(cc.cwnd(), 2 * kMss);
}

TEST(CubicTest, TransferOverALossyLinkIsIntact) {
  Network net(7);
  PathSpec p;
  p.delay = 20 * kMillisecond;
  p.rate_bps = 50'000'000;
  p.loss.model = LossSpec::Model::kRandom;
  p.loss.p = 0.01;
  auto link = net.CreateLink(p, PathSpec{.delay = 20 * kMillisecond});
  ASSERT_TRUE(link.ok());
  SessionSpec spec;
  spec.link_id = *link;
  spec.client.cc = CcAlgorithm::kCubic;
  spec.server.cc = CcAlgorithm::kCubic;
  auto sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok());
  ASSERT_TRUE(net.SetSource(*sid, Endpoint::kClient, 8 << 20, true).ok());
  EXPECT_TRUE(net.RunUntilIdle(3600 * kSecond));
  auto info = net.GetSession(*sid);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->server.bytes_read, 8u << 20);
  EXPECT_EQ(info->client.write_digest, info->server.read_digest);
  EXPECT_GT(info->client.counters.bytes_retransmitted, 0u);
}

}  // namespace
}  // namespace tcpemu
