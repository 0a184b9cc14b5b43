// TCP timestamps (RFC 7323): negotiation, the TSval clock, TS.Recent's
// update rule and PAWS with its 24-day idle limit.
#include "engine/tcp/timestamps.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/tcp/tcp_harness.h"

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

// Timestamps on a connection, scripted segment by segment.
namespace tcpemu {
namespace tcp_test {
namespace {

constexpr DurationNs kMs = kMillisecond;

TcpConfig TimestampConfig() {
  TcpConfig c = TcpHarness::TestConfig();
  c.timestamps = true;
  return c;
}

// The peer's SYN-ACK with a timestamp option, after an active open.
void EstablishWithTimestamps(TcpHarness& h, uint32_t peer_tsval) {
  ASSERT_TRUE(h.conn().Connect(h.now()).ok());
  SentSegment syn = h.PopSent();
  ASSERT_TRUE(syn.h.options.timestamp.has_value());
  EXPECT_EQ(syn.h.options.timestamp->echo_reply, 0u);
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.iss() + 1, 65535);
  sa.options.mss = 1000;
  sa.options.timestamp =
      TcpTimestamp{peer_tsval, syn.h.options.timestamp->value};
  h.SetNow(h.now() + 10 * kMillisecond);
  h.Inject(sa);
  SentSegment ack = h.PopSent();
  ASSERT_TRUE(ack.h.options.timestamp.has_value());
  EXPECT_EQ(ack.h.options.timestamp->echo_reply, peer_tsval);
  ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
  h.ClearEvents();
}

TEST(ConnectionTest, Timestamps_NegotiatedEverySegmentCarriesOneMssShrinks) {
  TcpHarness h(TimestampConfig());
  ASSERT_NO_FATAL_FAILURE(EstablishWithTimestamps(h, 5000));
  // Full segments carry MSS - 12 bytes: the option takes the rest
  // (RFC 6691), so that no packet exceeds the MTU.
  ASSERT_TRUE(h.Write(3000).ok());
  std::vector<SentSegment> sent = h.TakeSent();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent[0].len(), 988u);
  for (const SentSegment& s : sent) {
    ASSERT_TRUE(s.h.options.timestamp.has_value());
    EXPECT_EQ(s.h.options.timestamp->echo_reply, 5000u);
  }
  // The clock ticks in milliseconds.
  const uint32_t before = sent[0].h.options.timestamp->value;
  h.Advance(25 * kMillisecond);
  TcpHeader d = h.PeerHeader(kAck, h.Peer(0), h.Our(0), 65535);
  d.options.timestamp = TcpTimestamp{5001, before};
  std::vector<uint8_t> one(100, 7);
  h.Inject(d, one);
  h.Advance(h.config().delayed_ack_timeout);
  SentSegment ack = h.PopSent();
  ASSERT_TRUE(ack.h.options.timestamp.has_value());
  EXPECT_EQ(ack.h.options.timestamp->echo_reply, 5001u);
  EXPECT_EQ(ack.h.options.timestamp->value - before, 25u + 40u);
}

TEST(ConnectionTest, Timestamps_NotUsedUnlessBothOffer) {
  TcpHarness h(TimestampConfig());
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());  // SYN-ACK without one
  ASSERT_TRUE(h.Write(1000).ok());
  SentSegment s = h.PopSent();
  EXPECT_FALSE(s.h.options.timestamp.has_value());
  EXPECT_EQ(s.len(), 1000u);

  // A listener answers a SYN without timestamps without them.
  TcpHarness p(TimestampConfig());
  ASSERT_TRUE(p.conn().Listen(0).ok());
  p.Send(kSyn, p.peer_iss(), 0);
  SentSegment sa = p.PopSent();
  EXPECT_FALSE(sa.h.options.timestamp.has_value());
  // And with one, echoes it.
  TcpHarness q(TimestampConfig());
  ASSERT_TRUE(q.conn().Listen(0).ok());
  TcpHeader syn = q.PeerHeader(kSyn, q.peer_iss(), 0, 65535);
  syn.options.timestamp = TcpTimestamp{777, 0};
  q.Inject(syn);
  SentSegment qa = q.PopSent();
  ASSERT_TRUE(qa.h.options.timestamp.has_value());
  EXPECT_EQ(qa.h.options.timestamp->echo_reply, 777u);
}

TEST(ConnectionTest, Timestamps_PawsDropsAnOldDuplicate) {
  TcpHarness h(TimestampConfig());
  ASSERT_NO_FATAL_FAILURE(EstablishWithTimestamps(h, 5000));
  std::vector<uint8_t> data(100, 1);
  TcpHeader d = h.PeerHeader(kAck, h.Peer(0), h.Our(0), 65535);
  d.options.timestamp = TcpTimestamp{6000, 0};
  h.Inject(d, data);
  EXPECT_EQ(h.conn().readable(), 100u);
  h.TakeSent();
  // In the window by sequence number, but its timestamp is older than
  // TS.Recent: an old duplicate of a wrapped sequence space.
  TcpHeader old = h.PeerHeader(kAck, h.Peer(100), h.Our(0), 65535);
  old.options.timestamp = TcpTimestamp{5999, 0};
  h.Inject(old, data);
  EXPECT_EQ(h.LastDisposition(), Disposition::kPaws);
  EXPECT_EQ(h.conn().readable(), 100u);
  EXPECT_EQ(h.conn().counters().paws_rejected, 1u);
  SentSegment ack = h.PopSent();
  EXPECT_EQ(ack.h.ack.value(), h.Peer(100));
  // A newer one is taken.
  old.options.timestamp = TcpTimestamp{6001, 0};
  h.Inject(old, data);
  EXPECT_EQ(h.conn().readable(), 200u);
}

TEST(ConnectionTest, Timestamps_OutOfOrderTsvalIsNotEchoed) {
  TcpHarness h(TimestampConfig());
  ASSERT_NO_FATAL_FAILURE(EstablishWithTimestamps(h, 5000));
  std::vector<uint8_t> data(100, 1);
  // Beyond a hole: its TSval must not become TS.Recent (RFC 7323 4.3), so
  // the ACK echoes the last in-order segment's.
  TcpHeader ooo = h.PeerHeader(kAck, h.Peer(100), h.Our(0), 65535);
  ooo.options.timestamp = TcpTimestamp{7000, 0};
  h.Inject(ooo, data);
  SentSegment dup = h.PopSent();
  EXPECT_EQ(dup.h.options.timestamp->echo_reply, 5000u);
  // The hole filled by a segment sent later: its TSval is echoed.
  TcpHeader fill = h.PeerHeader(kAck, h.Peer(0), h.Our(0), 65535);
  fill.options.timestamp = TcpTimestamp{7100, 0};
  h.Inject(fill, data);
  SentSegment ack = h.PopSent();
  EXPECT_EQ(ack.h.ack.value(), h.Peer(200));
  EXPECT_EQ(ack.h.options.timestamp->echo_reply, 7100u);
}

TEST(ConnectionTest, Timestamps_EchoOfAResentSegmentEndsTheBackoff) {
  TcpHarness h(TimestampConfig());
  ASSERT_NO_FATAL_FAILURE(EstablishWithTimestamps(h, 5000));
  const DurationNs rto = h.tcb().rto;
  ASSERT_TRUE(h.Write(500).ok());
  h.TakeSent();
  // Three timeouts: the RTO is backed off 8 times.
  for (int i = 0; i < 3; ++i) h.Advance(h.tcb().rto);
  std::vector<SentSegment> resent = h.TakeSent();
  ASSERT_EQ(resent.size(), 3u);
  EXPECT_EQ(h.tcb().rto, 8 * rto);
  // The ACK of the third copy echoes its timestamp: a sample, so the RTO
  // is computed again (Karn's rule alone would keep it backed off).
  h.Advance(10 * kMillisecond);
  TcpHeader a = h.PeerHeader(kAck, h.Peer(0), h.Our(500), 65535);
  a.options.timestamp =
      TcpTimestamp{5100, resent[2].h.options.timestamp->value};
  h.Inject(a);
  EXPECT_LT(h.tcb().rto, 8 * rto);
  EXPECT_EQ(h.EventsOf(EventKind::kRttSample).size(), 1u);
}

}  // namespace
}  // namespace tcp_test
}  // namespace tcpemu
