// Proportional Rate Reduction (RFC 6937): the worked examples of its
// section 5 (a flight of 20 segments, ssthresh 10), the slow-start reduction
// bound when pipe falls below ssthresh, and rounding to whole segments.
#include "engine/tcp/prr.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr uint32_t kMss = 1000;

TEST(PrrTest, ProportionalPartSendsOneSegmentForEveryTwoDelivered) {
  // RecoverFS 20 segments, ssthresh 10: half of what is delivered may go.
  Prr prr;
  prr.Start(20 * kMss);
  uint64_t pipe = 19 * kMss;  // one segment lost
  uint32_t sent = 0;
  for (int ack = 0; ack < 10; ++ack) {
    pipe -= kMss;  // each duplicate ACK delivers one segment
    prr.OnAck(kMss, pipe, 10 * kMss, kMss);
    while (prr.SendRoom(kMss) >= kMss) {
      prr.OnSent(kMss);
      pipe += kMss;
      ++sent;
    }
  }
  EXPECT_EQ(sent, 5u);  // ceil(10 * 10 / 20) = 5 segments for 10 delivered
  EXPECT_EQ(prr.delivered(), 10u * kMss);
  EXPECT_EQ(prr.out(), 5u * kMss);
}

TEST(PrrTest, BelowSsthreshTheSlowStartBoundApplies) {
  Prr prr;
  prr.Start(20 * kMss);
  // Pipe fell far below ssthresh (many losses): at most one segment more
  // than delivered, and no more than ssthresh - pipe.
  prr.OnAck(2 * kMss, 2 * kMss, 10 * kMss, kMss);
  EXPECT_EQ(prr.SendRoom(kMss), 3 * kMss);  // delivered 2 + 1 MSS
  prr.OnAck(kMss, 9 * kMss + 500, 10 * kMss, kMss);
  EXPECT_EQ(prr.SendRoom(kMss), kMss);  // ssthresh - pipe = 500, rounded up
}

TEST(PrrTest, NothingToSendUntilDeliveredAllowsIt) {
  Prr prr;
  prr.Start(10 * kMss);
  EXPECT_EQ(prr.SendRoom(kMss), 0u);
  prr.OnAck(kMss, 8 * kMss, 5 * kMss, kMss);  // 1000 * 5000 / 10000 = 500
  EXPECT_EQ(prr.SendRoom(kMss), kMss);        // rounded up to a segment
  prr.OnSent(kMss);
  EXPECT_EQ(prr.SendRoom(kMss), 0u);
  prr.OnAck(kMss, 8 * kMss, 5 * kMss, kMss);  // 2000 * 0.5 - 1000 = 0
  EXPECT_EQ(prr.SendRoom(kMss), 0u);
}

}  // namespace
}  // namespace tcpemu
