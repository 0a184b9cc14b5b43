// Tests for NewReno (RFC 5681 3.1-3.2, RFC 6582 3.2, RFC 6928): initial
// window, slow start with byte counting capped at SMSS, congestion avoidance,
// fast recovery inflation, partial-ACK deflation, exit and timeout.
#include "engine/tcp/new_reno.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr uint32_t kMss = 1000;

TEST(NewRenoTest, InitialWindowAndSsthresh) {
  NewReno cc(kMss, 10);
  EXPECT_EQ(cc.name(), "newreno");
  EXPECT_EQ(cc.cwnd(), 10 * kMss);
  // RFC 5681 3.1: ssthresh starts arbitrarily high.
  EXPECT_EQ(cc.ssthresh(),
            static_cast<uint32_t>(std::numeric_limits<int32_t>::max()));
  EXPECT_EQ(NewReno(1460, 3).cwnd(), 3u * 1460);
}

TEST(NewRenoTest, FactoryHonoursConfig) {
  TcpConfig c;
  c.initial_window = 4;
  auto cc = MakeCongestionControl(c, 536);
  ASSERT_NE(cc, nullptr);
  EXPECT_EQ(cc->name(), "newreno");
  EXPECT_EQ(cc->cwnd(), 4u * 536);
}

TEST(NewRenoTest, SlowStartGrowsByAckedBytesCappedAtSmss) {
  NewReno cc(kMss, 2);
  cc.OnAck(0, 1000, 2000);
  EXPECT_EQ(cc.cwnd(), 3000u);
  cc.OnAck(0, 500, 2000);  // N < SMSS: + N
  EXPECT_EQ(cc.cwnd(), 3500u);
  cc.OnAck(0, 3000, 3000);  // stretch ACK: + SMSS only (L = 1)
  EXPECT_EQ(cc.cwnd(), 4500u);
}

TEST(NewRenoTest, TimeoutSetsLossWindowAndHalvesFlight) {
  NewReno cc(kMss, 10);
  cc.OnRetransmitTimeout(20000);
  // RFC 5681 equation (4) and LW = 1 SMSS.
  EXPECT_EQ(cc.ssthresh(), 10000u);
  EXPECT_EQ(cc.cwnd(), kMss);
  cc.OnRetransmitTimeout(3000);  // floor of 2 * SMSS
  EXPECT_EQ(cc.ssthresh(), 2000u);
  EXPECT_EQ(cc.cwnd(), kMss);
}

TEST(NewRenoTest, CongestionAvoidanceAddsOneSmssPerWindow) {
  NewReno cc(kMss, 10);
  cc.OnRetransmitTimeout(8000);  // ssthresh 4000, cwnd 1000
  for (int i = 0; i < 3; ++i) cc.OnAck(0, 1000, 1000);
  EXPECT_EQ(cc.cwnd(), 4000u);  // slow start up to ssthresh
  // cwnd == ssthresh: congestion avoidance. 3999 bytes: no growth yet.
  cc.OnAck(0, 1000, 4000);
  cc.OnAck(0, 1000, 4000);
  cc.OnAck(0, 1999, 4000);
  EXPECT_EQ(cc.cwnd(), 4000u);
  cc.OnAck(0, 1, 4000);  // 4000 bytes: one cwnd acknowledged
  EXPECT_EQ(cc.cwnd(), 5000u);
  // Bytes beyond a full window carry over: 7000 acked at cwnd 5000 leave
  // 2000 counted towards the next 6000.
  cc.OnAck(0, 4000, 5000);
  cc.OnAck(0, 3000, 5000);
  EXPECT_EQ(cc.cwnd(), 6000u);
  cc.OnAck(0, 3999, 6000);
  EXPECT_EQ(cc.cwnd(), 6000u);
  cc.OnAck(0, 1, 6000);
  EXPECT_EQ(cc.cwnd(), 7000u);
  EXPECT_EQ(cc.ssthresh(), 4000u);
}

TEST(NewRenoTest, FastRecoveryInflateDeflateExit) {
  NewReno cc(kMss, 10);
  cc.OnEnterRecovery(0, 10000, /*sack=*/false);
  // RFC 5681 3.2 steps 2-3.
  EXPECT_EQ(cc.ssthresh(), 5000u);
  EXPECT_EQ(cc.cwnd(), 8000u);
  cc.OnDupAckInRecovery();  // step 4
  cc.OnDupAckInRecovery();
  EXPECT_EQ(cc.cwnd(), 10000u);
  // RFC 6582 3.2 step 5: deflate by the bytes acked, add back SMSS when at
  // least SMSS was acked.
  cc.OnPartialAck(3000);
  EXPECT_EQ(cc.cwnd(), 8000u);
  cc.OnPartialAck(500);
  EXPECT_EQ(cc.cwnd(), 7500u);
  // Step 6 option (1): min(ssthresh, max(FlightSize, SMSS) + SMSS).
  cc.OnExitRecovery(6000);
  EXPECT_EQ(cc.cwnd(), 5000u);
  EXPECT_EQ(cc.ssthresh(), 5000u);
}

TEST(NewRenoTest, ExitWithLittleInFlightAvoidsBurst) {
  NewReno cc(kMss, 10);
  cc.OnEnterRecovery(0, 10000, /*sack=*/false);
  cc.OnExitRecovery(0);
  EXPECT_EQ(cc.cwnd(), 2000u);  // max(0, SMSS) + SMSS
  NewReno cc2(kMss, 10);
  cc2.OnEnterRecovery(0, 10000, /*sack=*/false);
  cc2.OnExitRecovery(2500);
  EXPECT_EQ(cc2.cwnd(), 3500u);
}

TEST(NewRenoTest, PartialAckLargerThanCwndLeavesAtLeastOneSegment) {
  NewReno cc(kMss, 10);
  cc.OnEnterRecovery(0, 4000, /*sack=*/false);  // ssthresh 2000, cwnd 5000
  EXPECT_EQ(cc.cwnd(), 5000u);
  cc.OnPartialAck(6000);
  EXPECT_EQ(cc.cwnd(), 2000u);  // floor SMSS, plus SMSS added back
}

TEST(NewRenoTest, RecoveryFromSmallFlightUsesTwoSegmentFloor) {
  NewReno cc(kMss, 10);
  cc.OnEnterRecovery(0, 2000, /*sack=*/false);
  EXPECT_EQ(cc.ssthresh(), 2000u);
  EXPECT_EQ(cc.cwnd(), 5000u);
}

}  // namespace
}  // namespace tcpemu
