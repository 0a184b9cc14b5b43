// Tests for NewReno (RFC 5681 3.1-3.2, RFC 6582 3.2, RFC 6928): initial
// window, slow start with byte counting capped at SMSS, congestion avoidance,
// the congestion response, the exit from recovery and the timeout.
#include "engine/tcp/new_reno.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"
#include "tests/engine/tcp/cc_test_util.h"

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
  cc.OnAck(Acked(0, 1000));
  EXPECT_EQ(cc.cwnd(), 3000u);
  cc.OnAck(Acked(0, 500));  // N < SMSS: + N
  EXPECT_EQ(cc.cwnd(), 3500u);
  cc.OnAck(Acked(0, 3000));  // stretch ACK: + SMSS only (L = 1)
  EXPECT_EQ(cc.cwnd(), 4500u);
}

TEST(NewRenoTest, TimeoutSetsLossWindowAndHalvesFlight) {
  NewReno cc(kMss, 10);
  cc.OnRetransmitTimeout(0, 20000);
  // RFC 5681 equation (4) and LW = 1 SMSS.
  EXPECT_EQ(cc.ssthresh(), 10000u);
  EXPECT_EQ(cc.cwnd(), kMss);
  cc.OnRetransmitTimeout(0, 3000);  // floor of 2 * SMSS
  EXPECT_EQ(cc.ssthresh(), 2000u);
  EXPECT_EQ(cc.cwnd(), kMss);
}

TEST(NewRenoTest, CongestionAvoidanceAddsOneSmssPerWindow) {
  NewReno cc(kMss, 10);
  cc.OnRetransmitTimeout(0, 8000);  // ssthresh 4000, cwnd 1000
  for (int i = 0; i < 3; ++i) cc.OnAck(Acked(0, 1000));
  EXPECT_EQ(cc.cwnd(), 4000u);  // slow start up to ssthresh
  // cwnd == ssthresh: congestion avoidance. 3999 bytes: no growth yet.
  cc.OnAck(Acked(0, 1000));
  cc.OnAck(Acked(0, 1000));
  cc.OnAck(Acked(0, 1999));
  EXPECT_EQ(cc.cwnd(), 4000u);
  cc.OnAck(Acked(0, 1));  // 4000 bytes: one cwnd acknowledged
  EXPECT_EQ(cc.cwnd(), 5000u);
  // Bytes beyond a full window carry over: 7000 acked at cwnd 5000 leave
  // 2000 counted towards the next 6000.
  cc.OnAck(Acked(0, 4000));
  cc.OnAck(Acked(0, 3000));
  EXPECT_EQ(cc.cwnd(), 6000u);
  cc.OnAck(Acked(0, 3999));
  EXPECT_EQ(cc.cwnd(), 6000u);
  cc.OnAck(Acked(0, 1));
  EXPECT_EQ(cc.cwnd(), 7000u);
  EXPECT_EQ(cc.ssthresh(), 4000u);
}

TEST(NewRenoTest, CongestionEventHalvesFlightAndExitAvoidsBurst) {
  NewReno cc(kMss, 10);
  cc.OnCongestionEvent(0, 10000);
  // RFC 5681 3.2 step 2; the inflation of step 3 is the sender's
  // (reno_recovery_test.cc).
  EXPECT_EQ(cc.ssthresh(), 5000u);
  EXPECT_EQ(cc.cwnd(), 5000u);
  // No growth while in recovery.
  AckSample in_recovery = Acked(0, 3000);
  in_recovery.in_recovery = true;
  cc.OnAck(in_recovery);
  EXPECT_EQ(cc.cwnd(), 5000u);
  // Step 6 option (1): min(ssthresh, max(FlightSize, SMSS) + SMSS).
  cc.OnRecoveryEnd(0, 6000);
  EXPECT_EQ(cc.cwnd(), 5000u);
  NewReno small(kMss, 10);
  small.OnCongestionEvent(0, 10000);
  small.OnRecoveryEnd(0, 0);
  EXPECT_EQ(small.cwnd(), 2000u);  // max(0, SMSS) + SMSS
  NewReno mid(kMss, 10);
  mid.OnCongestionEvent(0, 10000);
  mid.OnRecoveryEnd(0, 2500);
  EXPECT_EQ(mid.cwnd(), 3500u);
}

TEST(NewRenoTest, RecoveryFromSmallFlightUsesTwoSegmentFloor) {
  NewReno cc(kMss, 10);
  cc.OnCongestionEvent(0, 2000);
  EXPECT_EQ(cc.ssthresh(), 2000u);
  EXPECT_EQ(cc.cwnd(), 2000u);
}

TEST(NewRenoTest, AnAckThatDeliversOnlySacksGrowsNothing) {
  NewReno cc(kMss, 10);
  AckSample sacked = Acked(0, 0);
  sacked.new_ack = false;
  sacked.delivered_bytes = 3000;
  cc.OnAck(sacked);
  EXPECT_EQ(cc.cwnd(), 10000u);
}

}  // namespace
}  // namespace tcpemu
