#include "engine/tcp/scoreboard.h"

#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr uint32_t kMss = 1000;
constexpr uint32_t kBase = 4'294'960'000u;  // wraps within the test

Seq At(uint32_t segment) { return Seq(kBase) + int64_t{segment} * kMss; }

// Sends `n` full segments from At(0).
Scoreboard Sent(int n, TimeNs now = 0) {
  Scoreboard b;
  for (int i = 0; i < n; ++i) b.OnSend(now + i, At(i), At(i + 1));
  return b;
}

SackBlock Block(uint32_t from, uint32_t to) { return {At(from), At(to)}; }

TEST(ScoreboardTest, NewDataIsOutstandingAndInPipe) {
  Scoreboard b = Sent(10);
  EXPECT_EQ(b.size(), 10u);
  EXPECT_EQ(b.outstanding_bytes(), 10 * kMss);
  EXPECT_EQ(b.pipe(), 10 * kMss);
  EXPECT_EQ(b.NextLost(), nullptr);
}

TEST(ScoreboardTest, CumulativeAckRemovesSegmentsAndTrimsAPartialOne) {
  Scoreboard b = Sent(4);
  Scoreboard::AckResult r = b.OnAck(At(2) + 300, {});
  EXPECT_EQ(r.acked_bytes, 2 * kMss + 300);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.outstanding_bytes(), 2 * kMss - 300);
  EXPECT_EQ(b.pipe(), 2 * kMss - 300);
  ASSERT_TRUE(r.newest_delivered_sent_at.has_value());
  EXPECT_EQ(*r.newest_delivered_sent_at, 2);  // the third, acked in part
}

TEST(ScoreboardTest, SackedBytesLeaveThePipe) {
  Scoreboard b = Sent(10);
  Scoreboard::AckResult r = b.OnAck(At(0), {Block(2, 4)});
  EXPECT_EQ(r.newly_sacked_bytes, 2 * kMss);
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(b.sacked_bytes(), 2 * kMss);
  EXPECT_EQ(b.pipe(), 8 * kMss);
  // The same block again is not new.
  r = b.OnAck(At(0), {Block(2, 4)});
  EXPECT_EQ(r.newly_sacked_bytes, 0u);
}

TEST(ScoreboardTest, BlocksSplitSegmentsAtTheirEdges) {
  Scoreboard b = Sent(3);
  b.OnAck(At(0), {{At(1) + 500, At(2)}});
  EXPECT_EQ(b.sacked_bytes(), 500u);
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.pipe(), 3 * kMss - 500);
}

TEST(ScoreboardTest, IsLostNeedsMoreThanTwoSegmentsSackedAbove) {
  Scoreboard b = Sent(10);
  // Segment 0 is missing; 1 and 2 SACKed: 2 * SMSS above is not "more than
  // (DupThresh - 1) * SMSS" and two runs are not DupThresh.
  b.OnAck(At(0), {Block(1, 3)});
  EXPECT_EQ(b.MarkLosses(kMss), 0u);
  EXPECT_EQ(b.NextLost(), nullptr);
  b.OnAck(At(0), {Block(1, 4)});
  EXPECT_EQ(b.MarkLosses(kMss), 1u);
  const Scoreboard::Segment* s = b.NextLost();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->start, At(0));
  EXPECT_EQ(b.lost_bytes(), kMss);
  // Lost bytes are out of the pipe: 10 sent - 3 SACKed - 1 lost.
  EXPECT_EQ(b.pipe(), 6 * kMss);
}

TEST(ScoreboardTest, HolesWithMoreThanTwoSegmentsSackedAboveAreLost) {
  Scoreboard b = Sent(12);
  // Holes at 0, 3, 6 and 9..11; runs of two at 1, 4 and 7.
  b.OnAck(At(0), {Block(7, 9), Block(4, 6), Block(1, 3)});
  EXPECT_EQ(b.MarkLosses(kMss), 2u);  // 0 and 3; 6 has only 2 SMSS above
  std::vector<uint32_t> lost;
  while (const Scoreboard::Segment* s = b.NextLost()) {
    lost.push_back(static_cast<uint32_t>(s->start - At(0)) / kMss);
    b.OnSend(100, s->start, s->end);  // retransmitted: no longer next
  }
  EXPECT_EQ(lost, (std::vector<uint32_t>{0, 3}));
  // Retransmissions are back in the pipe: 12 - 6 SACKed - 2 lost + 2.
  EXPECT_EQ(b.retrans_bytes(), 2 * kMss);
  EXPECT_EQ(b.pipe(), 6 * kMss);
}

TEST(ScoreboardTest, ThreeDiscontiguousRunsAboveMakeASmallSegmentLost) {
  Scoreboard b;
  const Seq base(1000);
  for (int i = 0; i < 8; ++i) b.OnSend(i, base + i * 100, base + (i + 1) * 100);
  // 100-byte segments 1, 3 and 5 SACKed: 300 bytes is far below 2 SMSS,
  // but segment 0 has three runs above it and segment 2 only two.
  b.OnAck(base, {{base + 500, base + 600},
                 {base + 300, base + 400},
                 {base + 100, base + 200}});
  EXPECT_EQ(b.MarkLosses(kMss), 1u);
  ASSERT_NE(b.NextLost(), nullptr);
  EXPECT_EQ(b.NextLost()->start, base);
}

TEST(ScoreboardTest, ARetransmissionThatArrivesLeavesEveryCount) {
  Scoreboard b = Sent(5);
  b.OnAck(At(0), {Block(1, 5)});
  b.MarkLosses(kMss);
  b.OnSend(50, At(0), At(1));
  Scoreboard::AckResult r = b.OnAck(At(5), {});
  EXPECT_EQ(r.acked_bytes, 5 * kMss);  // every byte the ACK moved past
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.outstanding_bytes(), 0u);
  EXPECT_EQ(b.sacked_bytes(), 0u);
  EXPECT_EQ(b.lost_bytes(), 0u);
  EXPECT_EQ(b.retrans_bytes(), 0u);
  EXPECT_TRUE(r.newest_delivered_retransmitted);
  EXPECT_EQ(*r.newest_delivered_sent_at, 50);
}

TEST(ScoreboardTest, DsackBlocksChangeNothing) {
  Scoreboard b = Sent(6);
  b.OnAck(At(2), {});
  // Below the cumulative ACK.
  Scoreboard::AckResult r = b.OnAck(At(2), {Block(0, 1), Block(4, 5)});
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.newly_sacked_bytes, kMss);  // the second block is news
  // Inside the second block.
  r = b.OnAck(At(2), {Block(4, 5), Block(3, 6)});
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.newly_sacked_bytes, 2 * kMss);  // 3 and 5
  EXPECT_EQ(b.sacked_bytes(), 3 * kMss);
}

TEST(ScoreboardTest, BlocksBeyondWhatWasSentAreClipped) {
  Scoreboard b = Sent(2);
  Scoreboard::AckResult r = b.OnAck(At(0), {Block(1, 9)});
  EXPECT_EQ(r.newly_sacked_bytes, kMss);
  EXPECT_EQ(b.sacked_bytes(), kMss);
  EXPECT_EQ(b.size(), 2u);
}

TEST(ScoreboardTest, TimeoutMarksAllButSackedLostAndRetransmitsAgain) {
  Scoreboard b = Sent(6);
  b.OnAck(At(0), {Block(3, 4)});
  b.OnSend(10, At(0), At(1));  // an earlier retransmission
  b.MarkAllLost();
  EXPECT_EQ(b.lost_bytes(), 5 * kMss);
  EXPECT_EQ(b.retrans_bytes(), 0u);
  EXPECT_EQ(b.pipe(), 0u);
  const Scoreboard::Segment* s = b.NextLost();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->start, At(0));
  b.OnSend(20, At(0), At(1));
  EXPECT_EQ(b.pipe(), kMss);
  EXPECT_EQ(b.NextLost()->start, At(1));
}

TEST(ScoreboardTest, RenegedSacksAreForgotten) {
  Scoreboard b = Sent(4);
  b.OnAck(At(0), {Block(1, 4)});
  b.ClearSacks();
  EXPECT_EQ(b.sacked_bytes(), 0u);
  b.MarkAllLost();
  EXPECT_EQ(b.lost_bytes(), 4 * kMss);
}

TEST(ScoreboardTest, FirstHoleIsMarkedOnceUntilRetransmitted) {
  Scoreboard b = Sent(4);
  b.OnAck(At(0), {Block(1, 2)});
  EXPECT_TRUE(b.MarkFirstHoleLost());
  EXPECT_FALSE(b.MarkFirstHoleLost());
  b.OnSend(5, At(0), At(1));
  EXPECT_FALSE(b.MarkFirstHoleLost());  // retransmitted, not yet answered
}

TEST(ScoreboardTest, RackMarksSegmentsSentBeforeADeliveredOne) {
  Scoreboard b;
  for (int i = 0; i < 4; ++i) b.OnSend(i * 10, At(i), At(i + 1));
  // Segment 3 (sent at 30) is SACKed at time 100; 0..2 were sent before.
  Scoreboard::AckResult r = b.OnAck(At(0), {Block(3, 4)});
  ASSERT_TRUE(r.newest_delivered_sent_at.has_value());
  std::optional<TimeNs> timeout;
  // RTT 60, reordering window 15: segment i is lost at i*10 + 75.
  EXPECT_EQ(b.RackDetect(90, r.newest_delivered_order, 60, 15, &timeout),
            2u);  // 0 (75) and 1 (85)
  ASSERT_TRUE(timeout.has_value());
  EXPECT_EQ(*timeout, 95);  // segment 2
  EXPECT_EQ(b.lost_bytes(), 2 * kMss);
  timeout.reset();
  EXPECT_EQ(b.RackDetect(95, r.newest_delivered_order, 60, 15, &timeout), 1u);
  EXPECT_FALSE(timeout.has_value());
}

TEST(ScoreboardTest, RackJudgesARetransmissionByItsNewSendTime) {
  Scoreboard b;
  for (int i = 0; i < 4; ++i) b.OnSend(i * 10, At(i), At(i + 1));
  b.MarkAllLost();
  b.OnSend(40, At(0), At(1));  // retransmitted: now the newest but one
  b.OnSend(50, At(4), At(5));
  Scoreboard::AckResult r = b.OnAck(At(0), {Block(4, 5)});
  std::optional<TimeNs> timeout;
  // Only the retransmission (sent at 40) is a candidate; 1..3 are lost and
  // not yet sent again. RTT 10, no reordering window: lost at 50.
  EXPECT_EQ(b.RackDetect(45, r.newest_delivered_order, 10, 0, &timeout), 0u);
  ASSERT_TRUE(timeout.has_value());
  EXPECT_EQ(*timeout, 50);
  timeout.reset();
  EXPECT_EQ(b.RackDetect(50, r.newest_delivered_order, 10, 0, &timeout), 1u);
  EXPECT_FALSE(timeout.has_value());
  EXPECT_EQ(b.NextLost()->start, At(0));
}

TEST(ScoreboardTest, RackStillSeesSegmentsWhoseSacksWereReneged) {
  Scoreboard b;
  for (int i = 0; i < 4; ++i) b.OnSend(i * 10, At(i), At(i + 1));
  b.OnAck(At(0), {Block(1, 3)});
  b.ClearSacks();
  b.OnSend(40, At(4), At(5));
  Scoreboard::AckResult r = b.OnAck(At(0), {Block(4, 5)});
  std::optional<TimeNs> timeout;
  // 0..3 are all candidates again: sent at 0, 10, 20, 30; RTT 10.
  EXPECT_EQ(b.RackDetect(25, r.newest_delivered_order, 10, 0, &timeout), 2u);
  EXPECT_EQ(*timeout, 30);
  EXPECT_EQ(b.lost_bytes(), 2 * kMss);
}

TEST(ScoreboardTest, AGrowingBlockCountsOnlyWhatIsNew) {
  Scoreboard b = Sent(100);
  uint32_t sacked = 0;
  for (uint32_t right = 3; right <= 100; ++right) {
    Scoreboard::AckResult r = b.OnAck(At(0), {Block(2, right), Block(0, 1)});
    sacked += r.newly_sacked_bytes;
    // The first ACK also SACKs segment 0; later ones add one segment each.
    ASSERT_EQ(r.newly_sacked_bytes, right == 3 ? 2 * kMss : kMss) << right;
    ASSERT_EQ(r.newest_delivered_end, At(right)) << right;
  }
  EXPECT_EQ(sacked, b.sacked_bytes());  // block (0, 1) counted once
  EXPECT_EQ(b.pipe(), kMss);            // segment 1, the hole
}

TEST(ScoreboardTest, ABlockSeenBeforeRenegingCountsAgainAfterIt) {
  Scoreboard b = Sent(10);
  b.OnAck(At(0), {Block(2, 6)});
  b.ClearSacks();
  Scoreboard::AckResult r = b.OnAck(At(0), {Block(2, 6)});
  EXPECT_EQ(r.newly_sacked_bytes, 4 * kMss);
  EXPECT_EQ(b.sacked_bytes(), 4 * kMss);
}

TEST(ScoreboardTest, ABlockBeyondWhatWasSentIsAppliedOnceSent) {
  Scoreboard b = Sent(4);
  // The peer reports up to segment 6 before 4..6 are on the board (the
  // block is clipped); once they are sent, the same block covers them.
  b.OnAck(At(0), {Block(2, 6)});
  EXPECT_EQ(b.sacked_bytes(), 2 * kMss);
  b.OnSend(10, At(4), At(6));
  Scoreboard::AckResult r = b.OnAck(At(0), {Block(2, 6)});
  EXPECT_EQ(r.newly_sacked_bytes, 2 * kMss);
  EXPECT_EQ(b.sacked_bytes(), 4 * kMss);
}

TEST(ScoreboardTest, FinOccupiesOneSequenceNumber) {
  Scoreboard b = Sent(1);
  b.OnSend(1, At(1), At(1) + 1);  // FIN
  EXPECT_EQ(b.outstanding_bytes(), kMss + 1);
  b.OnAck(At(1) + 1, {});
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace tcpemu
