// Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation): a
// sample's interval is the longer of the send and ACK intervals, short
// intervals are rejected, the first transmission after idle restarts them,
// and app-limited marks last until what was in flight is delivered.
#include "engine/tcp/delivery_rate.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr DurationNs kMs = kMillisecond;

TEST(DeliveryRateTest, SteadyFlowMeasuresTheBottleneck) {
  DeliveryRate d;
  // Ten 1,000-byte segments leave 1 ms apart; each is ACKed 40 ms later,
  // 1 ms apart: 1,000 bytes per ms.
  TxRateState sent[10];
  for (int i = 0; i < 10; ++i) sent[i] = d.OnSend(i * kMs, i == 0);
  RateSample last;
  for (int i = 0; i < 10; ++i) {
    last = d.OnAck(40 * kMs + i * kMs, 1000, sent[i], i * kMs, false, 0);
  }
  ASSERT_TRUE(last.valid());
  EXPECT_EQ(last.delivered, 10'000u);
  EXPECT_EQ(last.interval, 49 * kMs - 9 * kMs + 9 * kMs);  // ack interval
  EXPECT_EQ(last.rtt, 40 * kMs);
  EXPECT_EQ(d.delivered(), 10'000u);
  EXPECT_FALSE(last.app_limited);
}

TEST(DeliveryRateTest, CompressedAcksAreBoundedByTheSendInterval) {
  DeliveryRate d;
  TxRateState a = d.OnSend(0, true);
  TxRateState b = d.OnSend(10 * kMs, false);
  // Both ACKed at once 50 ms later: the send interval (10 ms) is shorter
  // than the ACK interval (50 ms since the start), so 50 ms counts.
  d.OnAck(50 * kMs, 1000, a, 0, false, 0);
  RateSample s = d.OnAck(50 * kMs, 1000, b, 10 * kMs, false, 0);
  EXPECT_EQ(s.interval, 50 * kMs);
  EXPECT_EQ(s.delivered, 2000u);
  EXPECT_EQ(s.rate(), 40'000u);  // 2,000 bytes in 50 ms
}

TEST(DeliveryRateTest, IntervalsShorterThanMinRttAreRejected) {
  DeliveryRate d;
  TxRateState a = d.OnSend(0, true);
  RateSample s = d.OnAck(5 * kMs, 1000, a, 0, false, 40 * kMs);
  EXPECT_FALSE(s.valid());
  EXPECT_EQ(s.rate(), 0u);
  EXPECT_EQ(d.delivered(), 1000u);  // delivered still counts
}

TEST(DeliveryRateTest, AppLimitedUntilTheFlightIsDelivered) {
  DeliveryRate d;
  TxRateState a = d.OnSend(0, true);
  d.OnAppLimited(1000);  // 1,000 bytes in flight, nothing more to send
  EXPECT_TRUE(d.app_limited());
  TxRateState b = d.OnSend(1 * kMs, false);
  EXPECT_TRUE(b.app_limited);
  EXPECT_FALSE(d.OnAck(40 * kMs, 1000, a, 0, false, 0).app_limited);
  // Not yet beyond the mark: 1,000 delivered is not more than 1,000.
  EXPECT_TRUE(d.app_limited());
  RateSample s = d.OnAck(41 * kMs, 1000, b, 1 * kMs, false, 0);
  EXPECT_TRUE(s.app_limited);
  EXPECT_FALSE(d.app_limited());
}

TEST(DeliveryRateTest, RetransmittedSegmentsGiveNoRtt) {
  DeliveryRate d;
  TxRateState a = d.OnSend(0, true);
  RateSample s = d.OnAck(100 * kMs, 1000, a, 60 * kMs, true, 0);
  EXPECT_EQ(s.rtt, 0);
  EXPECT_TRUE(s.valid());
}

TEST(DeliveryRateTest, AnAckThatDeliversNothingIsNoSample) {
  DeliveryRate d;
  TxRateState a = d.OnSend(0, true);
  RateSample s = d.OnAck(10 * kMs, 0, a, 0, false, 0);
  EXPECT_FALSE(s.valid());
  EXPECT_EQ(d.delivered(), 0u);
}

}  // namespace
}  // namespace tcpemu
