// NewReno's recovery without SACK (RFC 5681 3.2 steps 3-4, RFC 6582 3.2
// step 5) over an algorithm's window: inflation by three segments and one
// per duplicate ACK, deflation on partial ACKs, and the reset at the end.
#include "engine/tcp/reno_recovery.h"

#include "engine/tcp/new_reno.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr uint32_t kMss = 1000;

TEST(RenoRecoveryTest, InflateDeflateExit) {
  NewReno cc(kMss, 10);
  RenoRecovery r;
  cc.OnCongestionEvent(0, 10000);
  r.OnEnter(kMss);
  // RFC 5681 3.2 steps 2-3: ssthresh + 3 SMSS.
  EXPECT_EQ(r.Window(cc.cwnd()), 8000u);
  r.OnDupAck(kMss);  // step 4
  r.OnDupAck(kMss);
  EXPECT_EQ(r.Window(cc.cwnd()), 10000u);
  // RFC 6582 3.2 step 5: deflate by the bytes acked, add back SMSS when at
  // least SMSS was acked.
  r.OnPartialAck(cc.cwnd(), 3000, kMss);
  EXPECT_EQ(r.Window(cc.cwnd()), 8000u);
  r.OnPartialAck(cc.cwnd(), 500, kMss);
  EXPECT_EQ(r.Window(cc.cwnd()), 7500u);
  // Step 6: the algorithm sets the window, the inflation goes.
  cc.OnRecoveryEnd(0, 6000);
  r.Reset();
  EXPECT_EQ(r.Window(cc.cwnd()), 5000u);
}

TEST(RenoRecoveryTest, PartialAckLargerThanTheWindowLeavesTwoSegments) {
  NewReno cc(kMss, 10);
  RenoRecovery r;
  cc.OnCongestionEvent(0, 4000);  // ssthresh 2000
  r.OnEnter(kMss);
  EXPECT_EQ(r.Window(cc.cwnd()), 5000u);
  r.OnPartialAck(cc.cwnd(), 6000, kMss);
  EXPECT_EQ(r.Window(cc.cwnd()), 2000u);  // floor SMSS, plus SMSS added back
  r.OnPartialAck(cc.cwnd(), 1500, kMss);
  EXPECT_EQ(r.Window(cc.cwnd()), 1500u);  // 2000 - 1500 + 1000
  EXPECT_LT(r.inflation(), 0);            // below the algorithm's window
}

TEST(RenoRecoveryTest, NoInflationOutsideRecovery) {
  RenoRecovery r;
  EXPECT_EQ(r.Window(7000), 7000u);
  r.OnEnter(kMss);
  r.Reset();
  EXPECT_EQ(r.Window(7000), 7000u);
  EXPECT_EQ(r.inflation(), 0);
}

}  // namespace
}  // namespace tcpemu
