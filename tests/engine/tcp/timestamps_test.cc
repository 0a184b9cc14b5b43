// TCP timestamps (RFC 7323): negotiation, the TSval clock, TS.Recent's
// update rule and PAWS with its 24-day idle limit.
#include "engine/tcp/timestamps.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TcpHeader WithTs(uint32_t value, Seq seq = Seq(100), uint8_t flags = 0) {
  TcpHeader h;
  h.seq = seq;
  h.flags = flags;
  h.options.timestamp = TcpTimestamp{value, 0};
  return h;
}

TEST(TimestampsTest, UsedOnlyWhenBothSidesOfferThem) {
  Timestamps off(0);
  off.Negotiate(0, /*ok=*/false, WithTs(5));
  EXPECT_FALSE(off.ok());
  Timestamps no_option(0);
  no_option.Negotiate(0, true, TcpHeader{});
  EXPECT_FALSE(no_option.ok());
  Timestamps on(0);
  on.Negotiate(0, true, WithTs(5));
  EXPECT_TRUE(on.ok());
  EXPECT_EQ(on.recent(), 5u);
}

TEST(TimestampsTest, ClockTicksEveryMillisecondFromItsOffset) {
  Timestamps ts(1000);
  EXPECT_EQ(ts.Now(0), 1000u);
  EXPECT_EQ(ts.Now(2500 * kMicrosecond), 1002u);
  Timestamps wraps(0xFFFFFFFFu);
  EXPECT_EQ(wraps.Now(kMillisecond), 0u);
}

TEST(TimestampsTest, RecentAdvancesOnlyForSegmentsCoveringLastAckSent) {
  Timestamps ts(0);
  ts.Negotiate(0, true, WithTs(10));
  ts.Update(kSecond, WithTs(20, Seq(200)), /*last_ack_sent=*/Seq(100));
  EXPECT_EQ(ts.recent(), 10u);  // begins beyond Last.ACK.sent
  ts.Update(kSecond, WithTs(20, Seq(100)), Seq(100));
  EXPECT_EQ(ts.recent(), 20u);
  ts.Update(kSecond, WithTs(15, Seq(100)), Seq(100));
  EXPECT_EQ(ts.recent(), 20u);  // older: kept
}

TEST(TimestampsTest, PawsRejectsOldValuesButNotResetsOrStaleReferences) {
  Timestamps ts(0);
  ts.Negotiate(0, true, WithTs(1000));
  EXPECT_TRUE(ts.Rejects(kSecond, WithTs(999)));
  EXPECT_FALSE(ts.Rejects(kSecond, WithTs(1000)));
  EXPECT_FALSE(ts.Rejects(kSecond, WithTs(999, Seq(1), tcp_flags::kRst)));
  EXPECT_FALSE(ts.Rejects(kSecond, TcpHeader{}));  // no option
  // Sequence-space wrap of the timestamp: 5 is after 0xFFFFFF00.
  Timestamps wrap(0);
  wrap.Negotiate(0, true, WithTs(0xFFFFFF00u));
  EXPECT_FALSE(wrap.Rejects(kSecond, WithTs(5)));
  // A TS.Recent idle for more than 24 days is no reference (5.5).
  EXPECT_FALSE(ts.Rejects(25 * 24 * 3600 * kSecond, WithTs(999)));
}

}  // namespace
}  // namespace tcpemu
