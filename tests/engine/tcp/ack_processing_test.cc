// Loss recovery with SACK (RFC 2018, RFC 6675) end to end: two engine
// connections across a link with a 100 ms round trip, where fault rules drop
// chosen data segments of one flight. With SACK the sender learns every hole
// from the first duplicate ACKs and repairs all of them within one recovery
// and about one round trip, without a timeout; without SACK NewReno repairs
// one hole per round trip (RFC 6582).
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/tcp/recovery_transfer.h"

namespace tcpemu::recovery_test {
namespace {

TEST(SackRecoveryTest, ThreeDropsInOneFlightAreRepairedInOneRecovery) {
  const Outcome o = Transfer(/*sack=*/true, {10, 20, 30});
  ASSERT_GE(o.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(o.intact);
  EXPECT_EQ(o.client.timeouts, 0u);
  EXPECT_EQ(o.client.fast_recoveries, 1u);
  EXPECT_EQ(o.client.retransmits_rto, 0u);
  EXPECT_EQ(o.client.retransmits_fast, 3u);
  ASSERT_EQ(o.retransmissions.size(), 3u);
  // The three holes are resent within one round trip of each other: the
  // SACK blocks of the duplicate ACKs showed all of them.
  EXPECT_LT(o.retransmissions.back().time - o.retransmissions.front().time,
            2 * kOneWay);
  // Each resends a different hole, in order.
  EXPECT_LT(o.retransmissions[0].seg.seq - o.retransmissions[0].tcb.iss,
            o.retransmissions[1].seg.seq - o.retransmissions[1].tcb.iss);
  EXPECT_LT(o.retransmissions[1].seg.seq - o.retransmissions[1].tcb.iss,
            o.retransmissions[2].seg.seq - o.retransmissions[2].tcb.iss);
  // The scoreboard was visible in the snapshot while it mattered.
  EXPECT_TRUE(o.tcb_in_recovery.sack_ok);
  EXPECT_GT(o.tcb_in_recovery.sacked_bytes, 0u);
  EXPECT_GT(o.tcb_in_recovery.lost_bytes, 0u);
  EXPECT_LT(o.tcb_in_recovery.pipe, o.tcb_in_recovery.bytes_in_flight);
}

TEST(SackRecoveryTest, WithoutSackNewRenoTakesARoundTripPerHole) {
  const Outcome sack = Transfer(/*sack=*/true, {10, 20, 30});
  const Outcome plain = Transfer(/*sack=*/false, {10, 20, 30});
  ASSERT_GE(sack.done_at, 0);
  ASSERT_GE(plain.done_at, 0);
  EXPECT_TRUE(plain.intact);
  ASSERT_EQ(plain.retransmissions.size(), 3u);
  // One partial ACK per hole: the third retransmission leaves two round
  // trips after the first.
  EXPECT_GE(
      plain.retransmissions.back().time - plain.retransmissions.front().time,
      2 * 2 * kOneWay);
  EXPECT_LT(sack.done_at, plain.done_at);
}

TEST(SackRecoveryTest, ALostRetransmissionEndsInATimeoutThatSkipsSackedData) {
  // Segment 10 is dropped, and so is its fast retransmission.
  const Outcome o = Transfer(/*sack=*/true, {}, /*twice=*/10);
  ASSERT_GE(o.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(o.intact);
  EXPECT_EQ(o.client.timeouts, 1u);
  EXPECT_EQ(o.client.retransmits_fast, 1u);
  // After the timeout only the hole is resent, not the SACKed flight
  // behind it (go-back-N would resend about 50 segments).
  EXPECT_EQ(o.client.retransmits_rto, 1u);
}

}  // namespace
}  // namespace tcpemu::recovery_test
