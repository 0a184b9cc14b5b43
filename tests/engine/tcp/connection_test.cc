// Scripted segment-level tests of Connection ("inject this segment, expect
// that one"), one or more per behaviour B1-B13 of docs/tcp.md, plus
// keepalive (RFC 1122 4.2.3.6). Every expectation cites the RFC rule it checks.
#include "engine/tcp/connection.h"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/tcp/isn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/tcp/tcp_harness.h"

namespace tcpemu {
namespace tcp_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr DurationNs kMs = kMillisecond;

// ====================================================================== B1

TEST(ConnectionTest, B1_WriteAcceptsPartiallyWhenBufferFull) {
  TcpConfig c = TcpHarness::TestConfig();
  c.send_buffer = 3000;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  EXPECT_EQ(h.conn().send_buffer_free(), 3000u);

  auto w = h.Write(5000);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(*w, 3000u);
  std::vector<Event> writes = h.EventsOf(EventKind::kAppWrite);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].a, 5000);  // requested
  EXPECT_EQ(writes[0].b, 3000);  // accepted
  EXPECT_EQ(h.conn().send_buffer_free(), 0u);
  // The accepted bytes are the first 3000 of the write.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(h.NextSent(kAck | (i == 2 ? kPsh : 0), h.Our(1000 * i),
                           h.Peer(0), 1000, SendReason::kFullMss));
    EXPECT_EQ(h.last().payload, Pattern(1000, 1000 * i));
  }

  // Full: nothing is accepted, and the event says so.
  h.ClearEvents();
  w = h.Write(100);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 0u);
  writes = h.EventsOf(EventKind::kAppWrite);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].a, 100);
  EXPECT_EQ(writes[0].b, 0);

  // Acknowledged bytes leave the buffer and make room; the next write's
  // accepted prefix is what goes out next (nothing dropped, nothing skipped).
  h.Ack(1000);
  EXPECT_EQ(h.conn().send_buffer_free(), 1000u);
  w = h.Write(1500, /*stream_off=*/3000);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 1000u);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(3000), h.Peer(0), 1000,
                         SendReason::kFullMss));
  EXPECT_EQ(h.last().payload, Pattern(1000, 3000));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().counters().bytes_written, 4000u);
}

TEST(ConnectionTest, B1_WriteRejectedBeforeOpenAndAfterClose) {
  TcpHarness h;
  auto w = h.Write(10);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  w = h.Write(10);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(w.status().message(), HasSubstr("close"));
}

// ====================================================================== B2

TEST(ConnectionTest, B2_NagleHoldsSmallSegmentUntilAck) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  // Nothing outstanding: a small segment may go (RFC 1122 4.2.3.4).
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 100,
                         SendReason::kNagleRelease));
  // Data outstanding: small segments wait for the ACK.
  ASSERT_TRUE(h.Write(50, 100).ok());
  ASSERT_TRUE(h.Write(30, 150).ok());
  EXPECT_TRUE(h.NothingSent());
  h.Advance(10 * kMs);
  EXPECT_TRUE(h.NothingSent());
  h.Ack(100);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(100), h.Peer(0), 80,
                         SendReason::kNagleRelease));
  EXPECT_EQ(h.last().payload, Pattern(80, 100));
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B2_NagleLetsFullSegmentsThrough) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 100,
                         SendReason::kNagleRelease));
  ASSERT_TRUE(h.Write(2500, 100).ok());
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(100), h.Peer(0), 1000, SendReason::kFullMss));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(1100), h.Peer(0), 1000, SendReason::kFullMss));
  EXPECT_TRUE(h.NothingSent());  // the 500-byte tail waits
  h.Ack(2100);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(2100), h.Peer(0), 500,
                         SendReason::kNagleRelease));
}

TEST(ConnectionTest, B2_NodelaySendsAtOnce) {
  TcpConfig c = TcpHarness::TestConfig();
  c.nodelay = true;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  ASSERT_TRUE(
      h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 100, SendReason::kNodelay));
  ASSERT_TRUE(h.Write(50, 100).ok());
  ASSERT_TRUE(
      h.NextSent(kAck | kPsh, h.Our(100), h.Peer(0), 50, SendReason::kNodelay));
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B2_CorkHoldsUntilFullMssOrTimer) {
  TcpConfig c = TcpHarness::TestConfig();
  c.cork = true;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(300).ok());
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.LastArmed(TimerKind::kCork), 200 * kMs);
  h.AdvanceTo(50 * kMs);
  ASSERT_TRUE(h.Write(300, 300).ok());
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(100 * kMs);
  // A full MSS is available: it goes; the 100-byte tail stays corked.
  ASSERT_TRUE(h.Write(500, 600).ok());
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(0), 1000, SendReason::kFullMss));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.LastArmed(TimerKind::kCork), 300 * kMs);
  h.Ack(1000);  // even with nothing outstanding the cork holds
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(300 * kMs - 1);
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(300 * kMs);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(1000), h.Peer(0), 100,
                         SendReason::kCorkTimer));
  EXPECT_EQ(h.last().time, 300 * kMs);
  EXPECT_EQ(h.last().payload, Pattern(100, 1000));
  EXPECT_THAT(h.FiredAt(TimerKind::kCork), ElementsAre(300 * kMs));
}

TEST(ConnectionTest, B2_CorkPushFlushesAtOnce) {
  TcpConfig c = TcpHarness::TestConfig();
  c.cork = true;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(300).ok());
  EXPECT_TRUE(h.NothingSent());
  ASSERT_TRUE(h.Write(200, 300, /*push=*/true).ok());
  ASSERT_TRUE(
      h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 500, SendReason::kPush));
  h.Ack(500);
  // The cork timer was cancelled with the flush: nothing is left to fire.
  EXPECT_EQ(h.conn().NextDeadline(), kNever);
  h.Advance(1 * kSecond);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_TRUE(h.FiredAt(TimerKind::kCork).empty());
}

// ====================================================================== B3

TEST(ConnectionTest, B3_MssOptionInSynIsMtuMinus40) {
  for (uint32_t mtu : {1500u, 9000u, 576u}) {
    TcpConfig c;  // defaults: window scaling on, 256 KiB receive buffer
    c.mtu = mtu;
    TcpHarness h(c);
    ASSERT_TRUE(h.conn().Connect(0).ok());
    SentSegment syn = h.PopSent();
    EXPECT_EQ(syn.h.flags, kSyn);
    EXPECT_EQ(syn.h.seq.value(), h.iss());
    ASSERT_TRUE(syn.h.options.mss.has_value());
    EXPECT_EQ(*syn.h.options.mss, mtu - 40) << "mtu " << mtu;
    // 256 KiB needs shift 3 to be advertised in 16 bits (RFC 7323 2.3).
    EXPECT_EQ(syn.h.options.window_scale, std::optional<uint8_t>(3));
    EXPECT_EQ(syn.h.window, 65535);  // a SYN's window is never scaled
  }
}

TEST(ConnectionTest, B3_MssFromMtuAndSegmentation) {
  TcpConfig c;
  c.window_scaling = false;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 1460}));
  EXPECT_EQ(h.conn().effective_mss(), 1460u);
  ASSERT_TRUE(h.Write(5000).ok());
  // Cut from the front of the buffer into MSS-sized segments.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(h.NextSent(kAck, h.Our(1460 * i), h.Peer(0), 1460,
                           SendReason::kFullMss));
    EXPECT_EQ(h.last().payload, Pattern(1460, 1460 * i));
  }
  EXPECT_TRUE(h.NothingSent());  // 620-byte tail: Nagle
  h.Ack(4380);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(4380), h.Peer(0), 620,
                         SendReason::kNagleRelease));
  EXPECT_EQ(h.last().payload, Pattern(620, 4380));
}

TEST(ConnectionTest, B3_PeerMssSmallerIsUsed) {
  TcpConfig c;
  c.window_scaling = false;
  c.nodelay = true;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 536}));
  EXPECT_EQ(h.conn().effective_mss(), 536u);
  // Congestion control counts in the segment size actually used.
  EXPECT_EQ(h.tcb().cwnd, 10u * 536);
  ASSERT_TRUE(h.Write(2000).ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        h.NextSent(kAck, h.Our(536 * i), h.Peer(0), 536, SendReason::kFullMss));
  }
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(1608), h.Peer(0), 392,
                         SendReason::kNodelay));
}

TEST(ConnectionTest, B3_NoMssOptionMeans536) {
  TcpConfig c;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = std::nullopt}));
  EXPECT_EQ(h.conn().effective_mss(), 536u);  // RFC 9293 3.7.1
}

TEST(ConnectionTest, B3_PeerMssLargerIsCappedByOurMtu) {
  TcpHarness h;  // MSS 1000
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 8960}));
  EXPECT_EQ(h.conn().effective_mss(), 1000u);
}

// ====================================================================== B4

TEST(ConnectionTest, B4_RandomIsnAndCumulativeAck) {
  std::array<uint8_t, 16> secret{};
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = uint8_t(i * 31 + 7);
  IsnGenerator gen(secret);
  FourTuple t = TcpHarness::DefaultTuple();
  Seq isn1 =
      gen.Generate(0, t.local_addr, t.local_port, t.remote_addr, t.remote_port);
  Seq isn2 = gen.Generate(0, t.local_addr, t.local_port + 1, t.remote_addr,
                          t.remote_port);
  EXPECT_NE(isn1, isn2);

  TcpHarness h(TcpHarness::TestConfig(), isn1.value());
  ASSERT_TRUE(h.conn().Connect(0).ok());
  SentSegment syn = h.PopSent();
  EXPECT_EQ(syn.h.seq, isn1);  // the SYN carries the ISN it was given
  EXPECT_EQ(h.tcb().iss, isn1.value());
  h.Send(kSyn | kAck, h.peer_iss(), isn1.value() + 1);
  ASSERT_TRUE(
      h.NextSent(kAck, isn1.value() + 1, h.Peer(0), 0, SendReason::kAck));

  // ACK = next byte expected, cumulative over in-order segments.
  h.SendData(0, 300, h.Our(0));
  h.SendData(300, 200, h.Our(0));
  EXPECT_EQ(h.tcb().rcv_nxt, h.Peer(500));
  h.Advance(40 * kMs);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(500), 0, SendReason::kDelayedAck));
  // A segment beyond a gap does not move it.
  h.SendData(700, 100, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(500), 0, SendReason::kAck));
  // Our own sequence numbers count from the ISN.
  ASSERT_TRUE(h.Write(10).ok());
  ASSERT_TRUE(h.NextSent(kAck | kPsh, isn1.value() + 1, h.Peer(500), 10,
                         SendReason::kNagleRelease));
}

TEST(ConnectionTest, B4_SegmentEventsCarrySeqAckWindowAndFlags) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 300, h.Our(0), 40000);
  ASSERT_TRUE(h.Write(700).ok());
  std::vector<Event> rx = h.EventsOf(EventKind::kSegmentReceived);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].seg.seq, h.Peer(0));
  EXPECT_EQ(rx[0].seg.ack, h.Our(0));
  EXPECT_EQ(rx[0].seg.len, 300u);
  EXPECT_EQ(rx[0].seg.window, 40000);
  EXPECT_EQ(rx[0].seg.flags, kAck);
  EXPECT_EQ(rx[0].disposition, Disposition::kInOrder);
  std::vector<Event> tx = h.EventsOf(EventKind::kSegmentSent);
  ASSERT_EQ(tx.size(), 1u);
  SentSegment s = h.PopSent();
  EXPECT_EQ(tx[0].seg.seq, s.h.seq.value());
  EXPECT_EQ(tx[0].seg.ack, s.h.ack.value());
  EXPECT_EQ(tx[0].seg.ack, h.Peer(300));
  EXPECT_EQ(tx[0].seg.len, 700u);
  EXPECT_EQ(tx[0].seg.window, s.h.window);
  EXPECT_EQ(tx[0].seg.flags, kAck | kPsh);
  EXPECT_EQ(tx[0].send_reason, SendReason::kNagleRelease);
  EXPECT_EQ(tx[0].tcb.iss, h.iss());
  EXPECT_EQ(tx[0].tcb.snd_wnd, 40000u);
}

// ====================================================================== B5

TEST(ConnectionTest, B5_RetransmitWhenAckMissing) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  // The handshake measured an RTT of 0: RTO = max(rto_min, ...) = 200 ms.
  EXPECT_EQ(h.tcb().rto, 200 * kMs);
  ASSERT_TRUE(h.Write(100).ok());
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 100,
                         SendReason::kNagleRelease));
  EXPECT_EQ(h.LastArmed(TimerKind::kRto), 200 * kMs);
  h.AdvanceTo(200 * kMs - 1);
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(200 * kMs);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 100,
                         SendReason::kRetransmitRto));
  EXPECT_EQ(h.last().time, 200 * kMs);
  EXPECT_EQ(h.last().payload, Pattern(100));
  EXPECT_THAT(h.FiredAt(TimerKind::kRto), ElementsAre(200 * kMs));
  EXPECT_EQ(h.conn().counters().retransmits_rto, 1u);
  EXPECT_EQ(h.conn().counters().bytes_retransmitted, 100u);

  h.AdvanceTo(250 * kMs);
  h.Ack(100);
  EXPECT_EQ(h.conn().NextDeadline(), kNever);  // RFC 6298 5.2
  EXPECT_EQ(h.conn().send_buffer_free(), h.config().send_buffer);
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B5_DataKeptUntilAckedAndFirstUnackedRetransmitted) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(3000).ok());
  EXPECT_EQ(h.TakeSent().size(), 3u);
  h.AdvanceTo(50 * kMs);
  h.Ack(1000);
  EXPECT_EQ(h.conn().send_buffer_free(), h.config().send_buffer - 2000);
  // RFC 6298 5.3: the ACK of new data restarted the timer.
  EXPECT_EQ(h.LastArmed(TimerKind::kRto), 250 * kMs);
  h.AdvanceTo(250 * kMs);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(1000), h.Peer(0), 1000,
                         SendReason::kRetransmitRto));
  EXPECT_EQ(h.last().payload, Pattern(1000, 1000));
  EXPECT_TRUE(h.NothingSent());  // cwnd is one segment after the timeout
}

// ====================================================================== B6

TEST(ConnectionTest, B6_RtoAdaptsKarnAndBackoff) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.rtt = 100 * kMs}));
  // First sample R (RFC 6298 2.2): SRTT = R, RTTVAR = R/2,
  // RTO = SRTT + 4 * RTTVAR.
  EXPECT_EQ(h.tcb().srtt, 100 * kMs);
  EXPECT_EQ(h.tcb().rttvar, 50 * kMs);
  EXPECT_EQ(h.tcb().rto, 300 * kMs);

  // Second sample R' = 200 ms (RFC 6298 2.3):
  // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms,
  // SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms, RTO = 112.5 + 250 = 362.5 ms.
  TimeNs t0 = h.now();
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  h.AdvanceTo(t0 + 200 * kMs);
  h.Ack(100);
  std::vector<Event> samples = h.EventsOf(EventKind::kRttSample);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].a, 200 * kMs);
  EXPECT_EQ(h.tcb().rttvar, 62'500'000);
  EXPECT_EQ(h.tcb().srtt, 112'500'000);
  EXPECT_EQ(h.tcb().rto, 362'500'000);

  // R' = 50 ms: RTTVAR = 3/4 * 62.5 + 1/4 * 62.5 = 62.5 ms,
  // SRTT = 7/8 * 112.5 + 1/8 * 50 = 104.6875 ms, RTO = 354.6875 ms.
  TimeNs t1 = h.now();
  ASSERT_TRUE(h.Write(100, 100).ok());
  h.TakeSent();
  h.AdvanceTo(t1 + 50 * kMs);
  h.Ack(200);
  EXPECT_EQ(h.tcb().rttvar, 62'500'000);
  EXPECT_EQ(h.tcb().srtt, 104'687'500);
  EXPECT_EQ(h.tcb().rto, 354'687'500);

  // Expiry: RTO doubles (RFC 6298 5.5) and the timer restarts with it (5.6).
  TimeNs t2 = h.now();
  ASSERT_TRUE(h.Write(100, 200).ok());
  h.TakeSent();
  EXPECT_EQ(h.LastArmed(TimerKind::kRto), t2 + 354'687'500);
  h.AdvanceTo(t2 + 354'687'500);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(200), h.Peer(0), 100,
                         SendReason::kRetransmitRto));
  EXPECT_EQ(h.tcb().rto, 709'375'000);
  EXPECT_EQ(h.LastArmed(TimerKind::kRto), t2 + 354'687'500 + 709'375'000);

  // Karn: the ACK of retransmitted data gives no sample; SRTT, RTTVAR and
  // the backed-off RTO are kept.
  h.ClearEvents();
  h.Advance(10 * kMs);
  h.Ack(300);
  EXPECT_TRUE(h.EventsOf(EventKind::kRttSample).empty());
  EXPECT_EQ(h.tcb().srtt, 104'687'500);
  EXPECT_EQ(h.tcb().rttvar, 62'500'000);
  EXPECT_EQ(h.tcb().rto, 709'375'000);

  // The next fresh measurement collapses the RTO again (RFC 6298 5.7 note).
  TimeNs t3 = h.now();
  ASSERT_TRUE(h.Write(100, 300).ok());
  h.TakeSent();
  h.AdvanceTo(t3 + 104'687'500);
  h.Ack(400);
  ASSERT_EQ(h.EventsOf(EventKind::kRttSample).size(), 1u);
  // RTTVAR = 3/4 * 62.5 + 0 = 46.875 ms; SRTT unchanged; RTO = 104.6875 +
  // 187.5.
  EXPECT_EQ(h.tcb().rttvar, 46'875'000);
  EXPECT_EQ(h.tcb().srtt, 104'687'500);
  EXPECT_EQ(h.tcb().rto, 292'187'500);
}

TEST(ConnectionTest, B6_RtoDoublesUpToRtoMax) {
  TcpConfig c = TcpHarness::TestConfig();
  c.rto_max = 3 * kSecond;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  h.AdvanceTo(10 * kSecond);
  std::vector<TimeNs> times;
  for (const SentSegment& s : h.TakeSent()) {
    EXPECT_EQ(s.reason, SendReason::kRetransmitRto);
    EXPECT_EQ(s.h.seq.value(), h.Our(0));
    times.push_back(s.time);
  }
  // 200 ms, then 400, 800, 1600, 3000 (capped), 3000 ms apart.
  EXPECT_THAT(times, ElementsAre(200 * kMs, 600 * kMs, 1400 * kMs, 3000 * kMs,
                                 6000 * kMs, 9000 * kMs));
  EXPECT_EQ(h.tcb().rto, 3 * kSecond);
}

TEST(ConnectionTest, B6_InitialAndMinimumRtoConfigurable) {
  TcpConfig c = TcpHarness::TestConfig();
  c.rto_initial = 2 * kSecond;
  c.rto_min = 500 * kMs;
  TcpHarness h(c);
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.TakeSent();
  EXPECT_EQ(h.tcb().rto, 2 * kSecond);
  EXPECT_EQ(h.LastArmed(TimerKind::kRto), 2 * kSecond);
  h.AdvanceTo(2 * kSecond);
  ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kRetransmitRto));

  TcpHarness g(c);
  ASSERT_NO_FATAL_FAILURE(g.EstablishActive({.rtt = 10 * kMs}));
  // 10 ms + 4 * 5 ms = 30 ms, raised to rto_min.
  EXPECT_EQ(g.tcb().rto, 500 * kMs);
}

// RFC 6298 5.7: "If the timer expires awaiting the ACK of a SYN segment and
// the TCP implementation is using an RTO less than 3 seconds, the RTO MUST be
// re-initialized to 3 seconds when data transmission begins".
TEST(ConnectionTest, B6_RtoIsThreeSecondsAfterSynTimeout) {
  TcpHarness h;  // rto_initial = 1 s
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.AdvanceTo(1 * kSecond);
  ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kSyn));
  ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kRetransmitRto));
  h.AdvanceTo(1500 * kMs);
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 65535);
  sa.options.mss = 1000;
  h.Inject(sa);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
  EXPECT_TRUE(h.EventsOf(EventKind::kRttSample).empty());  // Karn
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  EXPECT_EQ(h.tcb().rto, 3 * kSecond);
  EXPECT_EQ(h.LastArmed(TimerKind::kRto), 1500 * kMs + 3 * kSecond);
}

// ====================================================================== B7

TEST(ConnectionTest, B7_GiveUpAfterMaxRetransmissions) {
  TcpConfig c = TcpHarness::TestConfig();
  c.max_retransmissions = 3;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  h.AdvanceTo(2999 * kMs);
  std::vector<SentSegment> rtx = h.TakeSent();
  ASSERT_EQ(rtx.size(), 3u);
  EXPECT_EQ(rtx[0].time, 200 * kMs);
  EXPECT_EQ(rtx[1].time, 600 * kMs);
  EXPECT_EQ(rtx[2].time, 1400 * kMs);
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);

  // The fourth expiry gives up: RST <SEQ=SND.NXT>, ETIMEDOUT, CLOSED.
  h.AdvanceTo(3000 * kMs);
  ASSERT_TRUE(h.NextSent(kRst, h.Our(100), 0, 0, SendReason::kRst));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_TRUE(h.conn().finished());
  EXPECT_EQ(h.conn().error(), ErrorCode::kTimedOut);
  std::vector<Event> errors = h.EventsOf(EventKind::kConnectionError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].error, ErrorCode::kTimedOut);
  EXPECT_EQ(errors[0].time, 3000 * kMs);
  EXPECT_THAT(h.States(), ElementsAre(TcpState::kClosed));
  EXPECT_EQ(h.conn().NextDeadline(), kNever);
  EXPECT_FALSE(h.Write(10).ok());
}

// ====================================================================== B8

TEST(ConnectionTest, B8_ZeroWindowPersistProbesWithBackoff) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.window = 0}));
  EXPECT_EQ(h.tcb().snd_wnd, 0u);
  ASSERT_TRUE(h.Write(100).ok());
  EXPECT_TRUE(h.NothingSent());
  // First probe after max(RTO, persist_min) = 200 ms.
  EXPECT_EQ(h.LastArmed(TimerKind::kPersist), 200 * kMs);
  h.AdvanceTo(200 * kMs);
  // Probe: an already acknowledged sequence number, which the receiver must
  // answer with its current window.
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(-1), h.Peer(0), 0, SendReason::kWindowProbe));
  h.AdvanceTo(600 * kMs);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(-1), h.Peer(0), 0, SendReason::kWindowProbe));
  // The answer still shows a zero window: backoff goes on.
  h.Ack(0, /*window=*/0);
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(3000 * kMs);
  std::vector<SentSegment> probes = h.TakeSent();
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_EQ(probes[0].time, 1400 * kMs);
  EXPECT_EQ(probes[1].time, 3000 * kMs);
  EXPECT_EQ(probes[1].reason, SendReason::kWindowProbe);
  EXPECT_THAT(h.FiredAt(TimerKind::kPersist),
              ElementsAre(200 * kMs, 600 * kMs, 1400 * kMs, 3000 * kMs));
  EXPECT_EQ(h.conn().counters().window_probes_sent, 4u);

  // The window opens: the data goes and the persist timer stops.
  h.AdvanceTo(3100 * kMs);
  h.Ack(0, /*window=*/1000);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 100,
                         SendReason::kNagleRelease));
  EXPECT_EQ(h.conn().NextDeadline(), 3300 * kMs);  // only the RTO
  h.Ack(100, 1000);
  EXPECT_EQ(h.conn().NextDeadline(), kNever);
}

TEST(ConnectionTest, B8_SenderNeverExceedsPeerWindow) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.window = 3000}));
  ASSERT_TRUE(h.Write(10000).ok());
  uint32_t right_edge = h.Our(3000);
  auto check_edge = [&](const std::vector<SentSegment>& segs) {
    for (const SentSegment& s : segs) {
      EXPECT_LE(static_cast<int32_t>(s.h.seq.value() + s.len() - right_edge), 0)
          << s << " beyond " << right_edge;
    }
  };
  std::vector<SentSegment> s = h.TakeSent();
  ASSERT_EQ(s.size(), 3u);
  check_edge(s);
  EXPECT_EQ(h.tcb().bytes_in_flight, 3000u);

  h.Ack(1000, 3000);
  right_edge = h.Our(4000);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(3000), h.Peer(0), 1000, SendReason::kFullMss));
  EXPECT_TRUE(h.NothingSent());

  // The peer keeps the edge where it was: nothing new may go.
  h.Ack(2000, 2000);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.tcb().snd_wnd, 2000u);

  // 2500 bytes usable: two full segments; the 500-byte remainder is less
  // than half the largest window seen, so sender SWS avoidance holds it
  // (RFC 1122 4.2.3.4).
  h.Ack(4000, 2500);
  right_edge = h.Our(6500);
  s = h.TakeSent();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].h.seq.value(), h.Our(4000));
  EXPECT_EQ(s[1].h.seq.value(), h.Our(5000));
  check_edge(s);
}

TEST(ConnectionTest, B8_SenderSwsHoldIsOverriddenByPersistTimer) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.window = 3000}));
  ASSERT_TRUE(h.Write(10000).ok());
  EXPECT_EQ(h.TakeSent().size(), 3u);
  h.AdvanceTo(20 * kMs);
  // All acknowledged, a 500-byte window: too small to send (SWS), and nothing
  // in flight to bring another ACK.
  h.Ack(3000, 500);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.LastArmed(TimerKind::kPersist), 220 * kMs);
  h.AdvanceTo(220 * kMs);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(3000), h.Peer(0), 500,
                         SendReason::kWindowLimited));
  EXPECT_EQ(h.last().payload, Pattern(500, 3000));
}

TEST(ConnectionTest, B8_ReceiverSwsAvoidance) {
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 4000;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  for (int i = 0; i < 4; ++i) h.SendData(1000 * i, 1000, h.Our(0));
  // Delayed ACK every second segment, each advertising the free space.
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(2000), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.last().h.window, 2000);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(4000), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.last().h.window, 0);
  EXPECT_EQ(h.tcb().rcv_wnd, 0u);

  // The window opens only once it can grow by min(RCV.BUFF / 2, MSS) =
  // 1000 bytes (RFC 1122 4.2.3.3).
  EXPECT_EQ(h.Read(500).size(), 500u);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.Read(499).size(), 499u);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.Read(1).size(), 1u);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(4000), 0, SendReason::kWindowUpdate));
  EXPECT_EQ(h.last().h.window, 1000);
  // A small read does not move the edge again.
  EXPECT_EQ(h.Read(500).size(), 500u);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.Read(2500).size(), 2500u);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(4000), 0, SendReason::kWindowUpdate));
  EXPECT_EQ(h.last().h.window, 4000);
}

TEST(ConnectionTest, B8_ZeroWindowProbeAnsweredWithCurrentWindow) {
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 2000;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 1000, h.Our(0));
  h.SendData(1000, 1000, h.Our(0));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(2000), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.last().h.window, 0);
  // A probe below RCV.NXT (as Linux sends) is unacceptable and answered.
  h.Send(kAck, h.Peer(1999), h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(2000), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, 0);
}

// RFC 9293 3.8.6.1: "If a zero window is offered ... when the receiving TCP
// endpoint has a zero window and a segment arrives, it must still send an
// acknowledgment showing its next expected sequence number and current
// window (zero)."  Many stacks probe with one byte of new data at RCV.NXT.
TEST(ConnectionTest, B8_ZeroWindowProbeWithDataIsAnswered) {
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 2000;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 1000, h.Our(0));
  h.SendData(1000, 1000, h.Our(0));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(2000), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.last().h.window, 0);
  h.Advance(200 * kMs);
  h.SendData(2000, 1, h.Our(0));
  EXPECT_EQ(h.conn().readable(), 2000u);  // the byte is not taken
  EXPECT_EQ(h.tcb().rcv_nxt, h.Peer(2000));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(2000), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, 0);
}

// ====================================================================== B9

TEST(ConnectionTest, B9_DelayedAckEverySecondSegmentOrTimeout) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  const uint64_t acks0 = h.conn().counters().pure_acks_sent;  // handshake
  h.SendData(0, 1000, h.Our(0));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.LastArmed(TimerKind::kDelayedAck), 40 * kMs);
  h.AdvanceTo(10 * kMs);
  h.SendData(1000, 1000, h.Our(0));
  // Second full-sized segment: ACK at once (RFC 5681 4.2).
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(2000), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.last().time, 10 * kMs);
  EXPECT_EQ(h.conn().NextDeadline(), kNever);

  h.AdvanceTo(20 * kMs);
  h.SendData(2000, 500, h.Our(0));
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(60 * kMs - 1);
  EXPECT_TRUE(h.NothingSent());
  // Otherwise within the delayed-ACK timeout (RFC 1122 4.2.3.2).
  h.AdvanceTo(60 * kMs);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(2500), 0, SendReason::kDelayedAck));
  EXPECT_THAT(h.FiredAt(TimerKind::kDelayedAck), ElementsAre(60 * kMs));
  EXPECT_EQ(h.conn().counters().pure_acks_sent - acks0, 2u);
}

TEST(ConnectionTest, B9_DelayedAckOffAcksEverySegment) {
  TcpConfig c = TcpHarness::TestConfig();
  c.delayed_ack = false;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 100, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(100), 0, SendReason::kAck));
  h.SendData(100, 100, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(200), 0, SendReason::kAck));
}

// RFC 1122 4.2.3.2: "in a stream of full-sized segments there SHOULD be an
// ACK for at least every second segment". Full-sized is the peer's segment
// size (its effective send MSS, 1460 here), not our larger MSS.
TEST(ConnectionTest, B9_DelayedAckEverySecondSegmentOfSmallerPeerMss) {
  TcpConfig c = TcpHarness::TestConfig();
  c.mtu = 9000;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 1460}));
  h.SendData(0, 1460, h.Our(0));
  EXPECT_TRUE(h.NothingSent());
  h.SendData(1460, 1460, h.Our(0));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(2920), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.last().time, 0);
}

TEST(ConnectionTest, B9_AckPiggybackedOnData) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  const uint64_t acks0 = h.conn().counters().pure_acks_sent;  // handshake
  h.SendData(0, 500, h.Our(0));
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(10 * kMs);
  ASSERT_TRUE(h.Write(100).ok());
  // The pending ACK rides on the data segment.
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(500), 100,
                         SendReason::kNagleRelease));
  h.AdvanceTo(100 * kMs);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_TRUE(h.FiredAt(TimerKind::kDelayedAck).empty());
  EXPECT_EQ(h.conn().counters().pure_acks_sent, acks0);
}

TEST(ConnectionTest, B9_AckPiggybackedOnDataReleasedByIncomingAck) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  const uint64_t acks0 = h.conn().counters().pure_acks_sent;  // handshake
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  ASSERT_TRUE(h.Write(50, 100).ok());  // held by Nagle
  // The peer's data segment acknowledges ours: our held data answers it.
  h.SendData(0, 300, h.Our(100));
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(100), h.Peer(300), 50,
                         SendReason::kNagleRelease));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().counters().pure_acks_sent, acks0);
}

TEST(ConnectionTest, B9_WindowUpdateOnReadMergesPendingAck) {
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 4000;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 1000, h.Our(0));
  h.SendData(1000, 1000, h.Our(0));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(2000), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.last().h.window, 2000);
  h.SendData(2000, 1000, h.Our(0));  // its ACK is delayed
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(5 * kMs);
  EXPECT_EQ(h.Read(3000).size(), 3000u);
  // One segment: the window update carries the delayed ACK.
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(3000), 0, SendReason::kWindowUpdate));
  EXPECT_EQ(h.last().h.window, 4000);
  h.AdvanceTo(200 * kMs);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().counters().window_updates_sent, 1u);
}

// RFC 1122 4.2.3.3: the receiver moves the right window edge only when it
// can move by at least min(RCV.BUFF / 2, MSS). Without window scaling a
// 256 KiB buffer is advertised as 65535 whatever is read, so a read cannot
// move the edge; an ACK sent then repeats the previous ACK exactly and the
// peer counts it as a duplicate ACK (RFC 5681 section 2), which can trigger a
// spurious fast retransmit.
TEST(ConnectionTest, B9_NoWindowUpdateWhenRightEdgeCannotMove) {
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 256 * 1024;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 1000, h.Our(0));
  h.SendData(1000, 1000, h.Our(0));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(2000), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.last().h.window, 65535);
  EXPECT_EQ(h.Read(2000).size(), 2000u);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().counters().window_updates_sent, 0u);
}

// ===================================================================== B10

TEST(ConnectionTest, B10_OutOfOrderHeldAndReassembled) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(1000, 1000, h.Our(0));
  EXPECT_EQ(h.LastDisposition(), Disposition::kOutOfOrder);
  // Duplicate ACK at once (RFC 5681 4.2).
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  h.SendData(2000, 1000, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().readable(), 0u);
  EXPECT_EQ(h.tcb().rcv_nxt, h.Peer(0));

  // The gap fills: everything is delivered, ACKed at once.
  h.SendData(0, 1000, h.Our(0));
  EXPECT_EQ(h.LastDisposition(), Disposition::kInOrder);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(3000), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().readable(), 3000u);
  EXPECT_EQ(h.Read(5000), Pattern(3000, 0, 0x55));
  EXPECT_EQ(h.conn().counters().out_of_order_segments, 2u);
  EXPECT_EQ(h.conn().counters().bytes_delivered, 3000u);
}

// Conflicting copies of the same bytes: the first arrival wins, whether
// the later copy is out of order or fills the gap in order.
TEST(ConnectionTest, B10_OverlappingTextKeepsTheFirstArrival) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  const std::vector<uint8_t> g(20, 'G'), o(20, 'O'), hh(60, 'H');
  h.Send(kAck, h.Peer(20), h.Our(0), 65535, g);
  h.Send(kAck, h.Peer(10), h.Our(0), 65535, o);  // [10, 30): only 10..20 new
  h.Send(kAck, h.Peer(0), h.Our(0), 65535, hh);  // [0, 60) fills the gap
  std::vector<uint8_t> want;
  want.insert(want.end(), 10, 'H');
  want.insert(want.end(), 10, 'O');
  want.insert(want.end(), 20, 'G');
  want.insert(want.end(), 20, 'H');
  EXPECT_EQ(h.Read(100), want);
  EXPECT_EQ(h.tcb().rcv_nxt, h.Peer(60));
  EXPECT_EQ(h.conn().counters().bytes_delivered, 60u);
}

TEST(ConnectionTest, B10_DuplicateTrimmed) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 1000, h.Our(0));
  // Overlap: bytes 500..999 again (with different contents), then 1000..1499.
  std::vector<uint8_t> overlap(1000, 0xEE);
  std::vector<uint8_t> fresh = Pattern(500, 1000, 0x55);
  std::copy(fresh.begin(), fresh.end(), overlap.begin() + 500);
  h.Send(kAck, h.Peer(500), h.Our(0), 65535, overlap);
  EXPECT_EQ(h.LastDisposition(), Disposition::kInOrder);
  EXPECT_EQ(h.conn().readable(), 1500u);
  EXPECT_EQ(h.tcb().rcv_nxt, h.Peer(1500));
  // Only the new part was taken.
  EXPECT_EQ(h.Read(1500), Pattern(1500, 0, 0x55));

  // A complete duplicate is answered with an ACK and dropped.
  h.TakeSent();
  h.SendData(0, 1000, h.Our(0));
  EXPECT_EQ(h.LastDisposition(), Disposition::kDuplicate);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(1500), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().readable(), 0u);
  EXPECT_EQ(h.conn().counters().duplicate_segments, 1u);
}

TEST(ConnectionTest, B10_OutsideWindowAcked) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  // 65535-byte window: a segment starting at 70000 lies beyond it.
  h.SendData(70000, 100, h.Our(0));
  EXPECT_EQ(h.LastDisposition(), Disposition::kOutsideWindow);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, 65535);
  EXPECT_EQ(h.conn().readable(), 0u);
  EXPECT_EQ(h.conn().counters().outside_window_segments, 1u);
  // Its ACK field was not used either.
  EXPECT_EQ(h.tcb().snd_una, h.Our(0));
}

TEST(ConnectionTest, B10_SegmentStraddlingRightEdgeTrimmed) {
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 1500;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 1000, h.Our(0));
  h.SendData(1000, 1000, h.Our(0));  // only 500 bytes fit
  EXPECT_EQ(h.conn().readable(), 1500u);
  EXPECT_EQ(h.tcb().rcv_nxt, h.Peer(1500));
}

TEST(ConnectionTest, B10_FinBeyondGapWaitsForTheGap) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(1000, 1000, h.Our(0), 65535, kFin);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  EXPECT_FALSE(h.conn().eof());
  h.SendData(0, 1000, h.Our(0));
  // Gap filled: the data and the FIN are taken and acknowledged together.
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(2001), 0, SendReason::kAck));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kCloseWait);
  EXPECT_EQ(h.Read(5000), Pattern(2000, 0, 0x55));
  EXPECT_TRUE(h.conn().eof());
}

TEST(ConnectionTest, B10_SegmentWithoutAckDropped) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.Send(kPsh, h.Peer(0), 0, 65535, Pattern(100));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().readable(), 0u);
  EXPECT_EQ(h.tcb().rcv_nxt, h.Peer(0));
}

TEST(ConnectionTest, B10_BadChecksumCounted) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.conn().OnBadChecksum(h.now(),
                         h.PeerHeader(kAck, h.Peer(0), h.Our(0), 65535), 100);
  EXPECT_EQ(h.conn().counters().bad_checksum_segments, 1u);
  EXPECT_EQ(h.LastDisposition(), Disposition::kBadChecksum);
  std::vector<Event> rx = h.EventsOf(EventKind::kSegmentReceived);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].seg.len, 100u);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.tcb().rcv_nxt, h.Peer(0));
  EXPECT_EQ(h.conn().readable(), 0u);
}

// ===================================================================== B11

TEST(ConnectionTest, B11_ActiveClose_FinWait1_FinWait2_TimeWait_2MSL) {
  TcpHarness h;  // msl 30 s
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  ASSERT_TRUE(
      h.NextSent(kAck | kFin, h.Our(0), h.Peer(0), 0, SendReason::kFin));
  EXPECT_EQ(h.conn().state(), TcpState::kFinWait1);
  h.AdvanceTo(10 * kMs);
  h.Ack(1);  // our FIN acknowledged
  EXPECT_EQ(h.conn().state(), TcpState::kFinWait2);
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(1 * kSecond);
  h.Send(kAck | kFin, h.Peer(0), h.Our(1));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(1), h.Peer(1), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().state(), TcpState::kTimeWait);
  EXPECT_TRUE(h.conn().eof());
  EXPECT_EQ(h.LastArmed(TimerKind::kTimeWait), 61 * kSecond);
  h.AdvanceTo(61 * kSecond - 1);
  EXPECT_EQ(h.conn().state(), TcpState::kTimeWait);
  EXPECT_FALSE(h.conn().finished());
  h.AdvanceTo(61 * kSecond);
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_TRUE(h.conn().finished());
  EXPECT_EQ(h.conn().error(), ErrorCode::kNone);
  EXPECT_THAT(h.FiredAt(TimerKind::kTimeWait), ElementsAre(61 * kSecond));
  EXPECT_THAT(h.States(), ElementsAre(TcpState::kFinWait1, TcpState::kFinWait2,
                                      TcpState::kTimeWait, TcpState::kClosed));
  EXPECT_TRUE(h.EventsOf(EventKind::kConnectionError).empty());
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B11_FinAckAndFinInOneSegmentGoesToTimeWait) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  h.TakeSent();
  h.Send(kAck | kFin, h.Peer(0), h.Our(1));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(1), h.Peer(1), 0, SendReason::kAck));
  EXPECT_THAT(h.States(), ElementsAre(TcpState::kFinWait1, TcpState::kFinWait2,
                                      TcpState::kTimeWait));
}

TEST(ConnectionTest, B11_PassiveClose_CloseWait_LastAck) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishPassive());
  h.Send(kAck | kFin, h.Peer(0), h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(1), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().state(), TcpState::kCloseWait);
  EXPECT_TRUE(h.conn().eof());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  ASSERT_TRUE(
      h.NextSent(kAck | kFin, h.Our(0), h.Peer(1), 0, SendReason::kFin));
  EXPECT_EQ(h.conn().state(), TcpState::kLastAck);
  h.Send(kAck, h.Peer(1), h.Our(1));
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_TRUE(h.conn().finished());
  EXPECT_EQ(h.conn().NextDeadline(), kNever);  // no TIME_WAIT on this side
  EXPECT_THAT(h.States(), ElementsAre(TcpState::kCloseWait, TcpState::kLastAck,
                                      TcpState::kClosed));
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B11_LastAckRetransmitsFin) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishPassive());
  h.Send(kAck | kFin, h.Peer(0), h.Our(0));
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  h.TakeSent();
  h.AdvanceTo(200 * kMs);
  ASSERT_TRUE(h.NextSent(kAck | kFin, h.Our(0), h.Peer(1), 0,
                         SendReason::kRetransmitRto));
  h.Send(kAck, h.Peer(1), h.Our(1));
  EXPECT_TRUE(h.conn().finished());
}

TEST(ConnectionTest, B11_SimultaneousClose_Closing) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  ASSERT_TRUE(
      h.NextSent(kAck | kFin, h.Our(0), h.Peer(0), 0, SendReason::kFin));
  // The peer's FIN crosses ours: it does not acknowledge our FIN.
  h.Send(kAck | kFin, h.Peer(0), h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(1), h.Peer(1), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().state(), TcpState::kClosing);
  h.AdvanceTo(5 * kMs);
  h.Send(kAck, h.Peer(1), h.Our(1));
  EXPECT_EQ(h.conn().state(), TcpState::kTimeWait);
  EXPECT_EQ(h.LastArmed(TimerKind::kTimeWait), 5 * kMs + 60 * kSecond);
  EXPECT_THAT(h.States(), ElementsAre(TcpState::kFinWait1, TcpState::kClosing,
                                      TcpState::kTimeWait));
  h.AdvanceTo(5 * kMs + 60 * kSecond);
  EXPECT_TRUE(h.conn().finished());
}

TEST(ConnectionTest, B11_HalfCloseStillReceives) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  h.TakeSent();
  h.Ack(1);
  ASSERT_EQ(h.conn().state(), TcpState::kFinWait2);
  h.SendData(0, 1000, h.Our(1));
  h.SendData(1000, 1000, h.Our(1));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(1), h.Peer(2000), 0, SendReason::kDelayedAck));
  EXPECT_EQ(h.Read(4000), Pattern(2000, 0, 0x55));
  EXPECT_FALSE(h.conn().eof());
  h.SendData(2000, 10, h.Our(1), 65535, kFin);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(1), h.Peer(2011), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().state(), TcpState::kTimeWait);
  EXPECT_EQ(h.Read(100), Pattern(10, 2000, 0x55));
  EXPECT_TRUE(h.conn().eof());
}

TEST(ConnectionTest, B11_HalfCloseStillSends) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.Send(kAck | kFin, h.Peer(0), h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(1), 0, SendReason::kAck));
  ASSERT_EQ(h.conn().state(), TcpState::kCloseWait);
  ASSERT_TRUE(h.Write(100).ok());
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(1), 100,
                         SendReason::kNagleRelease));
  h.Send(kAck, h.Peer(1), h.Our(100));
  EXPECT_EQ(h.tcb().snd_una, h.Our(100));
}

// RFC 9293 3.10.4 CLOSE in CLOSE-WAIT: "Queue this request until all
// preceding SENDs have been segmentized; then send a FIN segment". Data that
// congestion control held back must still go, followed by the FIN.
TEST(ConnectionTest, B11_CloseWithQueuedDataSendsAllThenFin) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.Send(kAck | kFin, h.Peer(0), h.Our(0));
  h.TakeSent();
  ASSERT_TRUE(h.Write(15000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);  // initial window
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(10 * kMs);
  h.Send(kAck, h.Peer(1), h.Our(10000));
  std::vector<SentSegment> rest = h.TakeSent();
  ASSERT_EQ(rest.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rest[i].h.seq.value(), h.Our(10000 + 1000 * i));
    EXPECT_EQ(rest[i].len(), 1000u);
  }
  EXPECT_TRUE(rest[4].h.has(kFin));
  h.Send(kAck, h.Peer(1), h.Our(15001));
  EXPECT_TRUE(h.conn().finished());
}

// Same rule in CLOSING: the peer's FIN arrived while our data and FIN were
// still queued behind the congestion window.
TEST(ConnectionTest, B11_ClosingWithQueuedDataSendsAllThenFin) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(30000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(10 * kMs);
  h.Send(kAck | kFin, h.Peer(0), h.Our(10000));
  ASSERT_EQ(h.conn().state(), TcpState::kClosing);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(10000), h.Peer(1), 0, SendReason::kAck));
  EXPECT_EQ(h.TakeSent().size(), 11u);  // cwnd 11000
  h.AdvanceTo(20 * kMs);
  h.Send(kAck, h.Peer(1), h.Our(21000));
  std::vector<SentSegment> rest = h.TakeSent();
  ASSERT_EQ(rest.size(), 9u);
  EXPECT_EQ(rest[0].h.seq.value(), h.Our(21000));
  EXPECT_TRUE(rest[8].h.has(kFin));
  h.Send(kAck, h.Peer(1), h.Our(30001));
  EXPECT_EQ(h.conn().state(), TcpState::kTimeWait);
}

TEST(ConnectionTest, B11_CloseSendsNagleHeldTailWithFin) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  ASSERT_TRUE(h.Write(50, 100).ok());
  EXPECT_TRUE(h.NothingSent());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  ASSERT_TRUE(h.NextSent(kAck | kPsh | kFin, h.Our(100), h.Peer(0), 50,
                         SendReason::kFin));
  h.Ack(151);
  EXPECT_EQ(h.conn().state(), TcpState::kFinWait2);
}

TEST(ConnectionTest, B11_RstInTimeWaitAndLastAckClosesQuietly) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  h.Send(kAck | kFin, h.Peer(0), h.Our(1));
  ASSERT_EQ(h.conn().state(), TcpState::kTimeWait);
  h.Send(kRst, h.Peer(1), 0);
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kNone);

  TcpHarness g;
  ASSERT_NO_FATAL_FAILURE(g.EstablishPassive());
  g.Send(kAck | kFin, g.Peer(0), g.Our(0));
  ASSERT_TRUE(g.conn().Close(g.now()).ok());
  g.TakeSent();
  g.Send(kRst, g.Peer(1), 0);
  EXPECT_EQ(g.conn().state(), TcpState::kClosed);
  EXPECT_EQ(g.conn().error(), ErrorCode::kNone);
  EXPECT_TRUE(g.NothingSent());
}

TEST(ConnectionTest, B11_TimeWaitReAcksRetransmittedFin) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  h.Send(kAck | kFin, h.Peer(0), h.Our(1));
  h.TakeSent();
  ASSERT_EQ(h.conn().state(), TcpState::kTimeWait);
  h.AdvanceTo(10 * kSecond);
  // Our last ACK was lost; the peer retransmits its FIN.
  h.Send(kAck | kFin, h.Peer(0), h.Our(1));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(1), h.Peer(1), 0, SendReason::kAck));
  // RFC 9293 3.10.7.4: acknowledge it and restart the 2 MSL timeout.
  EXPECT_EQ(h.LastArmed(TimerKind::kTimeWait), 70 * kSecond);
  h.AdvanceTo(70 * kSecond - 1);
  EXPECT_EQ(h.conn().state(), TcpState::kTimeWait);
  h.AdvanceTo(70 * kSecond);
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
}

TEST(ConnectionTest, B11_AbortInEstablishedSendsRst) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  h.conn().Abort(h.now());
  ASSERT_TRUE(h.NextSent(kRst, h.Our(100), 0, 0, SendReason::kRst));
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kAborted);
  EXPECT_EQ(h.conn().NextDeadline(), kNever);
}

// RFC 9293 3.10.5 ABORT: "CLOSING STATE, LAST-ACK STATE, TIME-WAIT STATE:
// Respond with "ok" and delete the TCB, enter CLOSED state" (no RST).
TEST(ConnectionTest, B11_AbortInLastAckSendsNoRst) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishPassive());
  h.Send(kAck | kFin, h.Peer(0), h.Our(0));
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  h.TakeSent();
  ASSERT_EQ(h.conn().state(), TcpState::kLastAck);
  h.conn().Abort(h.now());
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_TRUE(h.NothingSent());
}

// ===================================================================== B12

TEST(ConnectionTest, B12_ThreeWayHandshake_Active) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(0).ok());
  SentSegment syn = h.PopSent();
  EXPECT_EQ(syn.h.flags, kSyn);
  EXPECT_EQ(syn.h.seq.value(), h.iss());
  EXPECT_EQ(syn.h.src_port, TcpHarness::kLocalPort);
  EXPECT_EQ(syn.h.dst_port, TcpHarness::kPeerPort);
  EXPECT_EQ(syn.h.options.mss, std::optional<uint16_t>(1000));
  EXPECT_FALSE(syn.h.options.window_scale.has_value());
  EXPECT_EQ(syn.h.window, 65535);
  EXPECT_EQ(syn.reason, SendReason::kSyn);
  EXPECT_EQ(h.conn().state(), TcpState::kSynSent);
  EXPECT_EQ(h.LastArmed(TimerKind::kRto), 1 * kSecond);

  h.AdvanceTo(50 * kMs);
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 30000);
  sa.options.mss = 1200;
  h.Inject(sa);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, 65535);
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  EXPECT_THAT(h.States(),
              ElementsAre(TcpState::kSynSent, TcpState::kEstablished));
  TcbSnapshot t = h.tcb();
  EXPECT_EQ(t.snd_una, h.Our(0));
  EXPECT_EQ(t.snd_nxt, h.Our(0));
  EXPECT_EQ(t.rcv_nxt, h.Peer(0));
  EXPECT_EQ(t.irs, h.peer_iss());
  EXPECT_EQ(t.snd_wnd, 30000u);
  EXPECT_EQ(h.conn().effective_mss(), 1000u);
  std::vector<Event> rtt = h.EventsOf(EventKind::kRttSample);
  ASSERT_EQ(rtt.size(), 1u);
  EXPECT_EQ(rtt[0].a, 50 * kMs);
  EXPECT_EQ(h.conn().NextDeadline(), kNever);
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B12_ThreeWayHandshake_Passive) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Listen(0).ok());
  EXPECT_EQ(h.conn().state(), TcpState::kListen);
  TcpHeader syn = h.PeerHeader(kSyn, h.peer_iss(), 0, 20000);
  syn.options.mss = 1460;
  h.Inject(syn);
  ASSERT_TRUE(
      h.NextSent(kSyn | kAck, h.iss(), h.Peer(0), 0, SendReason::kSynAck));
  EXPECT_EQ(h.last().h.options.mss, std::optional<uint16_t>(1000));
  EXPECT_EQ(h.conn().state(), TcpState::kSynReceived);
  h.AdvanceTo(30 * kMs);
  h.Send(kAck, h.Peer(0), h.Our(0), 20000);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  EXPECT_EQ(h.tcb().snd_wnd, 20000u);
  EXPECT_EQ(h.tcb().srtt, 30 * kMs);
  EXPECT_THAT(h.States(), ElementsAre(TcpState::kListen, TcpState::kSynReceived,
                                      TcpState::kEstablished));
}

TEST(ConnectionTest, B12_WindowScaleNegotiated) {
  TcpConfig c;  // window scaling on, 256 KiB buffer: shift 3
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(
      h.EstablishActive({.window = 65535, .mss = 1460, .wscale = 7}));
  // The SYN-ACK's window is not scaled (RFC 7323 2.2) ...
  EXPECT_EQ(h.tcb().snd_wnd, 65535u);
  // ... later ones are.
  h.Send(kAck, h.Peer(0), h.Our(0), 1000);
  EXPECT_EQ(h.tcb().snd_wnd, 1000u << 7);
  // And our advertised windows are shifted by 3.
  h.SendData(0, 100, h.Our(0));
  h.Advance(40 * kMs);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(100), 0, SendReason::kDelayedAck));
  // 262044 bytes free; rounded up so the right edge does not recede.
  EXPECT_EQ(h.last().h.window, (256 * 1024 - 100 + 7) >> 3);
}

TEST(ConnectionTest, B12_SynAckOffersWindowScaleOnlyIfPeerDid) {
  // RFC 7323 1.3: the option goes in a <SYN,ACK> only in answer to one.
  for (std::optional<uint8_t> peer :
       {std::optional<uint8_t>(), std::optional<uint8_t>(0),
        std::optional<uint8_t>(5)}) {
    TcpHarness h(TcpConfig{});  // scaling on, shift 3 for 256 KiB
    ASSERT_TRUE(h.conn().Listen(0).ok());
    TcpHeader syn = h.PeerHeader(kSyn, h.peer_iss(), 0, 65535);
    syn.options.window_scale = peer;
    h.Inject(syn);
    SentSegment sa = h.PopSent();
    ASSERT_EQ(sa.h.flags, kSyn | kAck);
    if (peer.has_value()) {
      EXPECT_EQ(sa.h.options.window_scale, std::optional<uint8_t>(3));
    } else {
      EXPECT_FALSE(sa.h.options.window_scale.has_value());
    }
    EXPECT_EQ(sa.h.window, 65535);  // never scaled in a SYN-ACK
    h.Send(kAck, h.Peer(0), h.Our(0), 100);
    ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
    EXPECT_EQ(h.tcb().snd_wnd, 100u << peer.value_or(0));
  }
}

TEST(ConnectionTest, B12_WindowScaleAbove14IsTreatedAs14) {
  TcpHarness h(TcpConfig{});
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 1460, .wscale = 15}));
  h.Send(kAck, h.Peer(0), h.Our(0), 2);
  EXPECT_EQ(h.tcb().snd_wnd, 2u << 14);  // RFC 7323 2.3
}

TEST(ConnectionTest, B12_NoScalingWhenPeerDoesNotOffer) {
  TcpHarness h(TcpConfig{});
  ASSERT_TRUE(h.conn().Connect(0).ok());
  EXPECT_TRUE(h.PopSent().h.options.window_scale.has_value());
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 1000);
  sa.options.mss = 1460;
  h.Inject(sa);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  // Our 256 KiB buffer can only be advertised as 65535 unscaled.
  EXPECT_EQ(h.last().h.window, 65535);
  h.Send(kAck, h.Peer(0), h.Our(0), 2000);
  EXPECT_EQ(h.tcb().snd_wnd, 2000u);
}

TEST(ConnectionTest, B12_DataWrittenBeforeHandshakeGoesWithTheAck) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.TakeSent();
  ASSERT_TRUE(h.Write(300).ok());
  EXPECT_TRUE(h.NothingSent());  // nothing before the SYN is acknowledged
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 65535);
  sa.options.mss = 1000;
  h.Inject(sa);
  // The data segment completes the handshake; no separate ACK.
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 300,
                         SendReason::kNagleRelease));
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B12_DataOnHandshakeAckIsDelivered) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Listen(0).ok());
  h.Send(kSyn, h.peer_iss(), 0);
  h.TakeSent();
  h.SendData(0, 200, h.Our(0));
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  EXPECT_EQ(h.Read(1000), Pattern(200, 0, 0x55));
}

TEST(ConnectionTest, B12_BadAckInSynReceivedAnsweredWithRst) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Listen(0).ok());
  h.Send(kSyn, h.peer_iss(), 0);
  h.TakeSent();
  h.Send(kAck, h.Peer(0), h.Our(5));  // acknowledges more than our SYN
  ASSERT_TRUE(h.NextSent(kRst, h.Our(5), 0, 0, SendReason::kRst));
  EXPECT_EQ(h.conn().state(), TcpState::kSynReceived);
}

TEST(ConnectionTest, B12_CloseAndAbortInSynSentSendNothing) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.TakeSent();
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().NextDeadline(), kNever);

  TcpHarness g;
  ASSERT_TRUE(g.conn().Connect(0).ok());
  g.TakeSent();
  g.conn().Abort(g.now());
  EXPECT_EQ(g.conn().state(), TcpState::kClosed);
  EXPECT_EQ(g.conn().error(), ErrorCode::kAborted);
  EXPECT_TRUE(g.NothingSent());
}

TEST(ConnectionTest, B12_SynRetransmittedThenGivesUp) {
  TcpConfig c = TcpHarness::TestConfig();
  c.syn_retries = 2;
  TcpHarness h(c);
  ASSERT_TRUE(h.conn().Connect(0).ok());
  ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kSyn));
  h.AdvanceTo(7 * kSecond - 1);
  ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kRetransmitRto));
  EXPECT_EQ(h.last().time, 1 * kSecond);
  ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kRetransmitRto));
  EXPECT_EQ(h.last().time, 3 * kSecond);
  EXPECT_EQ(h.conn().state(), TcpState::kSynSent);
  h.AdvanceTo(7 * kSecond);
  EXPECT_TRUE(h.NothingSent());  // no RST from SYN-SENT
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kTimedOut);
  std::vector<Event> errors = h.EventsOf(EventKind::kConnectionError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].error, ErrorCode::kTimedOut);
  EXPECT_EQ(errors[0].time, 7 * kSecond);
}

TEST(ConnectionTest, B12_SynAckRetransmittedThenGivesUp) {
  TcpConfig c = TcpHarness::TestConfig();
  c.synack_retries = 1;
  TcpHarness h(c);
  ASSERT_TRUE(h.conn().Listen(0).ok());
  h.Send(kSyn, h.peer_iss(), 0);
  ASSERT_TRUE(
      h.NextSent(kSyn | kAck, h.iss(), h.Peer(0), 0, SendReason::kSynAck));
  h.AdvanceTo(1 * kSecond);
  ASSERT_TRUE(h.NextSent(kSyn | kAck, h.iss(), h.Peer(0), 0,
                         SendReason::kRetransmitRto));
  h.AdvanceTo(3 * kSecond);
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kTimedOut);
}

TEST(ConnectionTest, B12_SimultaneousOpen) {
  TcpConfig c = TcpHarness::TestConfig();
  FourTuple ta = TcpHarness::DefaultTuple();
  FourTuple tb{ta.remote_addr, ta.remote_port, ta.local_addr, ta.local_port};
  TcpHarness a(c, 1000, 50000, ta);
  TcpHarness b(c, 50000, 1000, tb);
  ASSERT_TRUE(a.conn().Connect(0).ok());
  ASSERT_TRUE(b.conn().Connect(0).ok());
  SentSegment syn_a = a.PopSent();
  SentSegment syn_b = b.PopSent();
  ASSERT_EQ(syn_a.h.flags, kSyn);
  ASSERT_EQ(syn_b.h.flags, kSyn);

  // The SYNs cross (RFC 9293 3.5, figure 7).
  b.Deliver(syn_a);
  ASSERT_TRUE(b.NextSent(kSyn | kAck, 50000, 1001, 0, SendReason::kSynAck));
  SentSegment synack_b = b.last();
  EXPECT_EQ(b.conn().state(), TcpState::kSynReceived);
  a.Deliver(syn_b);
  ASSERT_TRUE(a.NextSent(kSyn | kAck, 1000, 50001, 0, SendReason::kSynAck));
  SentSegment synack_a = a.last();
  EXPECT_EQ(a.conn().state(), TcpState::kSynReceived);

  // The SYN-ACKs cross: both ESTABLISHED, nothing more needed.
  b.Deliver(synack_a);
  a.Deliver(synack_b);
  EXPECT_EQ(a.conn().state(), TcpState::kEstablished);
  EXPECT_EQ(b.conn().state(), TcpState::kEstablished);
  EXPECT_TRUE(a.NothingSent());
  EXPECT_TRUE(b.NothingSent());
  EXPECT_THAT(a.States(),
              ElementsAre(TcpState::kSynSent, TcpState::kSynReceived,
                          TcpState::kEstablished));
  EXPECT_EQ(a.tcb().snd_una, 1001u);
  EXPECT_EQ(a.tcb().rcv_nxt, 50001u);
  EXPECT_EQ(a.tcb().snd_wnd, 65535u);

  // Data flows both ways.
  ASSERT_TRUE(a.Write(100).ok());
  b.Deliver(a.PopSent());
  EXPECT_EQ(b.Read(1000), Pattern(100));
}

// RFC 7323 2.2: "The window field in a segment where the SYN bit is set
// (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled." In a simultaneous open the
// peer's SYN-ACK completes the handshake; its window is unscaled.
TEST(ConnectionTest, B12_SimultaneousOpenSynAckWindowNotScaled) {
  TcpConfig c;  // window scaling on: both offer shift 3
  FourTuple ta = TcpHarness::DefaultTuple();
  FourTuple tb{ta.remote_addr, ta.remote_port, ta.local_addr, ta.local_port};
  TcpHarness a(c, 1000, 50000, ta);
  TcpHarness b(c, 50000, 1000, tb);
  ASSERT_TRUE(a.conn().Connect(0).ok());
  ASSERT_TRUE(b.conn().Connect(0).ok());
  b.Deliver(a.PopSent());
  a.Deliver(b.PopSent());
  SentSegment synack_a = a.PopSent();
  SentSegment synack_b = b.PopSent();
  ASSERT_EQ(synack_b.h.window, 65535);
  a.Deliver(synack_b);
  ASSERT_EQ(a.conn().state(), TcpState::kEstablished);
  EXPECT_EQ(a.tcb().snd_wnd, 65535u);
  b.Deliver(synack_a);
  EXPECT_EQ(b.tcb().snd_wnd, 65535u);
}

// RFC 9293 3.10.7.4, second check, SYN-RECEIVED: "If this connection was
// initiated with an active OPEN (i.e., came from SYN-SENT state), then the
// connection was refused; signal the user "connection refused"."
TEST(ConnectionTest, B12_RstInSynReceivedAfterActiveOpenIsRefused) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.TakeSent();
  h.Send(kSyn, h.peer_iss(), 0);  // simultaneous open
  ASSERT_EQ(h.conn().state(), TcpState::kSynReceived);
  h.TakeSent();
  h.Send(kRst, h.Peer(0), 0);
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kRefused);
}

// RFC 9293 3.10.7.4, second check, SYN-RECEIVED: "If this connection was
// initiated with a passive OPEN (i.e., came from the LISTEN state), then
// return this connection to LISTEN state and return. The user need not be
// informed."
TEST(ConnectionTest, B12_RstInSynReceivedAfterPassiveOpenReturnsToListen) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Listen(0).ok());
  h.Send(kSyn, h.peer_iss(), 0);
  h.TakeSent();
  ASSERT_EQ(h.conn().state(), TcpState::kSynReceived);
  h.Send(kRst, h.Peer(0), 0);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kListen);
  EXPECT_TRUE(h.EventsOf(EventKind::kConnectionError).empty());
}

TEST(ConnectionTest, B12_RstToSegmentOnClosedConnection) {
  // RFC 9293 3.10.7.1: no ACK -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  TcpHeader syn;
  syn.src_port = 1234;
  syn.dst_port = 80;
  syn.seq = Seq(100);
  syn.flags = kSyn;
  auto r = ResetForUnmatched(syn, 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->flags, kRst | kAck);
  EXPECT_EQ(r->seq.value(), 0u);
  EXPECT_EQ(r->ack.value(), 101u);  // the SYN counts
  EXPECT_EQ(r->src_port, 80);
  EXPECT_EQ(r->dst_port, 1234);

  TcpHeader fin = syn;
  fin.flags = kFin | kPsh;
  r = ResetForUnmatched(fin, 10);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->ack.value(), 111u);  // 10 bytes and the FIN

  // ACK set -> <SEQ=SEG.ACK><CTL=RST>.
  TcpHeader ack = syn;
  ack.flags = kAck | kPsh;
  ack.ack = Seq(0xfffffff0u);
  r = ResetForUnmatched(ack, 10);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->flags, kRst);
  EXPECT_EQ(r->seq.value(), 0xfffffff0u);

  // Never answer a RST.
  TcpHeader rst = syn;
  rst.flags = kRst | kAck;
  EXPECT_FALSE(ResetForUnmatched(rst, 0).has_value());

  // A connection that is not open answers the same way.
  TcpHarness h;
  h.Send(kSyn, 7000, 0);
  EXPECT_EQ(h.LastDisposition(), Disposition::kNoConnection);
  ASSERT_TRUE(h.NextSent(kRst | kAck, 0, 7001, 0, SendReason::kRst));
  h.Send(kAck, 7001, 4242);
  ASSERT_TRUE(h.NextSent(kRst, 4242, 0, 0, SendReason::kRst));
  h.Send(kRst, 7001, 0);
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B12_ListenAnswersAckWithRstAndIgnoresRst) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Listen(0).ok());
  h.Send(kAck, 7000, 4242);
  ASSERT_TRUE(h.NextSent(kRst, 4242, 0, 0, SendReason::kRst));
  h.Send(kRst, 7000, 0);
  h.Send(kFin, 7000, 0);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kListen);
}

TEST(ConnectionTest, B12_RstOutsideExactSeqGetsChallengeAck) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  // In the window but not at RCV.NXT: challenge ACK (RFC 5961 3.2).
  h.Send(kRst, h.Peer(100), 0);
  EXPECT_EQ(h.LastDisposition(), Disposition::kRstInvalid);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kChallengeAck));
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  EXPECT_EQ(h.conn().counters().challenge_acks_sent, 1u);
  // Outside the window: silently dropped.
  h.Send(kRst, h.Peer(-1), 0);
  h.Send(kRst, h.Peer(70000), 0);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  // Exactly RCV.NXT: the connection is reset.
  h.Send(kRst, h.Peer(0), 0);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kReset);
  std::vector<Event> errors = h.EventsOf(EventKind::kConnectionError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].error, ErrorCode::kReset);
}

TEST(ConnectionTest, B12_SynInEstablishedGetsChallengeAck) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.Send(kSyn, h.Peer(10), 0);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kChallengeAck));
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  h.Send(kSyn | kAck, h.Peer(20), h.Our(0));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kChallengeAck));
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  // Outside the window as well (RFC 5961 4.2: whatever its sequence number).
  h.Send(kSyn, h.Peer(-5000), 0);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kChallengeAck));
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  EXPECT_EQ(h.conn().counters().challenge_acks_sent, 3u);
}

TEST(ConnectionTest, B12_AckOfUnsentDataIsAnsweredAndDropped) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  // RFC 9293 3.10.7.4 / RFC 5961 5.2: SEG.ACK > SND.NXT -> ACK, drop.
  h.SendData(0, 100, h.Our(500));
  EXPECT_EQ(h.LastDisposition(), Disposition::kAckInvalid);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(100), h.Peer(0), 0, SendReason::kChallengeAck));
  EXPECT_EQ(h.tcb().snd_una, h.Our(0));
  EXPECT_EQ(h.conn().readable(), 0u);
}

TEST(ConnectionTest, B12_AckOlderThanMaxSndWndDropsInjectedData) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  // RFC 5961 5.2: SEG.ACK < SND.UNA - MAX.SND.WND is unacceptable, so
  // blind data with a stale ACK never reaches the application.
  const uint32_t max_wnd = h.tcb().snd_wnd;
  ASSERT_GT(max_wnd, 0u);
  h.SendData(0, 100, h.Our(0) - static_cast<int64_t>(max_wnd) - 1);
  EXPECT_EQ(h.LastDisposition(), Disposition::kAckInvalid);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(100), h.Peer(0), 0, SendReason::kChallengeAck));
  EXPECT_EQ(h.conn().readable(), 0u);
  // At the edge of the range the ACK is acceptable (old, but within
  // MAX.SND.WND): the text is taken.
  h.SendData(0, 100, h.Our(0) - static_cast<int64_t>(max_wnd));
  EXPECT_EQ(h.LastDisposition(), Disposition::kInOrder);
  EXPECT_EQ(h.conn().readable(), 100u);
}

TEST(ConnectionTest, B12_ChallengeAcksAreRateLimited) {
  TcpConfig c = TcpHarness::TestConfig();
  c.challenge_ack_limit = 3;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  // Ten bogus in-window RSTs in one second: three challenge ACKs.
  for (int i = 0; i < 10; ++i) {
    h.Send(kRst, h.Peer(100 + i), 0);
    h.Advance(10 * kMillisecond);
  }
  EXPECT_EQ(h.TakeSent().size(), 3u);
  EXPECT_EQ(h.conn().counters().challenge_acks_sent, 3u);
  EXPECT_EQ(h.conn().counters().challenge_acks_suppressed, 7u);
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  // A second later the budget is back.
  h.Advance(kSecond);
  h.Send(kSyn, h.Peer(10), 0);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kChallengeAck));
}

TEST(ConnectionTest, B12_RstInSynSentRefused) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.TakeSent();
  // No ACK: dropped (RFC 9293 3.10.7.3).
  h.Send(kRst, 7000, 0);
  EXPECT_EQ(h.LastDisposition(), Disposition::kRstInvalid);
  // Unacceptable ACK with RST: dropped.
  h.Send(kRst | kAck, 7000, h.iss() + 5);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kSynSent);
  // Acceptable ACK: connection refused.
  h.Send(kRst | kAck, 0, h.Our(0));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kRefused);
  std::vector<Event> errors = h.EventsOf(EventKind::kConnectionError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].error, ErrorCode::kRefused);
}

TEST(ConnectionTest, B12_BadAckInSynSentAnsweredWithRst) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.TakeSent();
  h.Send(kSyn | kAck, h.peer_iss(), h.iss() + 5);
  ASSERT_TRUE(h.NextSent(kRst, h.iss() + 5, 0, 0, SendReason::kRst));
  h.Send(kSyn | kAck, h.peer_iss(), h.iss());  // SEG.ACK =< ISS
  ASSERT_TRUE(h.NextSent(kRst, h.iss(), 0, 0, SendReason::kRst));
  EXPECT_EQ(h.conn().state(), TcpState::kSynSent);
}

// ===================================================================== B13

TEST(ConnectionTest, B13_SlowStartGrowsCwndPerAck) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  EXPECT_EQ(h.tcb().cwnd, 10000u);
  ASSERT_TRUE(h.Write(30000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);
  // Each ACK grows cwnd by min(bytes acked, SMSS) (RFC 5681 3.1).
  h.Ack(1000);
  EXPECT_EQ(h.tcb().cwnd, 11000u);
  std::vector<Event> cw = h.EventsOf(EventKind::kCwndChanged);
  ASSERT_EQ(cw.size(), 1u);
  EXPECT_EQ(cw[0].a, 10000);
  EXPECT_EQ(cw[0].b, 11000);
  std::vector<SentSegment> s = h.TakeSent();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].h.seq.value(), h.Our(10000));
  EXPECT_EQ(s[1].h.seq.value(), h.Our(11000));
  h.Ack(2000);
  EXPECT_EQ(h.tcb().cwnd, 12000u);
  EXPECT_EQ(h.TakeSent().size(), 2u);
  h.Ack(4000);  // two segments in one ACK: still one SMSS
  EXPECT_EQ(h.tcb().cwnd, 13000u);
  EXPECT_EQ(h.TakeSent().size(), 3u);
  EXPECT_EQ(h.tcb().bytes_in_flight, 13000u);
  EXPECT_EQ(h.tcb().ssthresh, 0x7fffffffu);
}

// Fast recovery brings cwnd to ssthresh; from there it grows by one SMSS per
// cwnd of acknowledged data (RFC 5681 3.1, congestion avoidance).
// NewReno alone: limited transmit (tested below) off.
TcpConfig NoLimitedTransmit() {
  TcpConfig c = TcpHarness::TestConfig();
  c.limited_transmit = false;
  return c;
}

TEST(ConnectionTest, B13_CongestionAvoidanceLinear) {
  TcpHarness h(NoLimitedTransmit());
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(60000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);
  for (int i = 0; i < 3; ++i) h.Ack(0);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 1000,
                         SendReason::kRetransmitFast));
  EXPECT_EQ(h.tcb().ssthresh, 5000u);
  EXPECT_EQ(h.tcb().cwnd, 8000u);
  // Seven more duplicates inflate cwnd to 15000: five new segments.
  for (int i = 0; i < 7; ++i) h.Ack(0);
  EXPECT_EQ(h.tcb().cwnd, 15000u);
  std::vector<SentSegment> s = h.TakeSent();
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].h.seq.value(), h.Our(10000));
  EXPECT_EQ(s[4].h.seq.value(), h.Our(14000));
  // Full ACK: cwnd = min(ssthresh, FlightSize + SMSS) = 5000 (RFC 6582).
  h.Ack(10000);
  EXPECT_EQ(h.tcb().cwnd, 5000u);
  EXPECT_TRUE(h.NothingSent());
  // Congestion avoidance: four ACKs of one segment leave cwnd alone ...
  for (int i = 1; i <= 4; ++i) {
    h.Ack(10000 + 1000 * i);
    EXPECT_EQ(h.tcb().cwnd, 5000u) << i;
    ASSERT_TRUE(h.NextSent(kAck, h.Our(14000 + 1000 * i), h.Peer(0), 1000,
                           SendReason::kFullMss));
  }
  // ... the fifth completes a window: + one SMSS.
  h.Ack(15000);
  EXPECT_EQ(h.tcb().cwnd, 6000u);
  EXPECT_EQ(h.TakeSent().size(), 2u);
  for (int i = 1; i <= 5; ++i) {
    h.Ack(15000 + 1000 * i);
    EXPECT_EQ(h.tcb().cwnd, 6000u) << i;
  }
  h.Ack(21000);
  EXPECT_EQ(h.tcb().cwnd, 7000u);
}

TEST(ConnectionTest, B13_LimitedTransmitSendsNewDataOnTwoDupAcks) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(30000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);  // cwnd 10000
  // RFC 3042: each of the first two duplicates sends one new segment beyond
  // cwnd; cwnd is unchanged.
  h.Ack(0);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(10000), h.Peer(0), 1000,
                         SendReason::kLimitedTransmit));
  EXPECT_TRUE(h.NothingSent());
  h.Ack(0);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(11000), h.Peer(0), 1000,
                         SendReason::kLimitedTransmit));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.tcb().cwnd, 10000u);
  // The third starts fast retransmit, with FlightSize 12000.
  h.Ack(0);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 1000,
                         SendReason::kRetransmitFast));
  EXPECT_EQ(h.tcb().ssthresh, 6000u);
  EXPECT_EQ(h.tcb().cwnd, 9000u);
}

TEST(ConnectionTest, B13_FastRetransmitOnThirdDupAck_NewRenoPartialAck) {
  TcpHarness h(NoLimitedTransmit());
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(30000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);
  h.Ack(0);
  h.Ack(0);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().counters().dup_acks_received, 2u);
  h.Ack(0);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 1000,
                         SendReason::kRetransmitFast));
  EXPECT_EQ(h.last().payload, Pattern(1000));
  EXPECT_TRUE(h.NothingSent());
  // ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = ssthresh + 3 * SMSS.
  EXPECT_EQ(h.tcb().ssthresh, 5000u);
  EXPECT_EQ(h.tcb().cwnd, 8000u);

  // Partial ACK (RFC 6582 3.2 step 5): the next hole is retransmitted at
  // once; cwnd deflates by the 5000 bytes acknowledged, plus one SMSS.
  h.AdvanceTo(20 * kMs);
  h.Ack(5000);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(5000), h.Peer(0), 1000,
                         SendReason::kRetransmitFast));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.tcb().cwnd, 4000u);
  EXPECT_EQ(h.LastArmed(TimerKind::kRto), 20 * kMs + 200 * kMs);

  // Full ACK: recovery ends; cwnd = min(ssthresh, max(FlightSize, SMSS) +
  // SMSS) = 2000; two new segments.
  h.Ack(10000);
  EXPECT_EQ(h.tcb().cwnd, 2000u);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(10000), h.Peer(0), 1000, SendReason::kFullMss));
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(11000), h.Peer(0), 1000, SendReason::kFullMss));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().counters().retransmits_fast, 2u);
  EXPECT_EQ(h.conn().counters().retransmits_rto, 0u);
}

// RFC 6582 3.2 step 1 initializes "recover" to the initial send sequence
// number, and sequence comparisons are modulo 2^32: fast retransmit must work
// whatever the ISN is.
TEST(ConnectionTest, B13_FastRetransmitWithIsnInUpperHalf) {
  TcpHarness h(TcpHarness::TestConfig(), /*iss=*/0x90000000u);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(10000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);
  for (int i = 0; i < 3; ++i) h.Ack(0);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 1000,
                         SendReason::kRetransmitFast));
  EXPECT_EQ(h.tcb().cwnd, 8000u);
}

// RFC 6582 3.2 step 2 / section 4: duplicate ACKs that do not cover more
// than "recover" (set at the timeout) must not start a fast retransmit.
TEST(ConnectionTest, B13_NoFastRetransmitBelowRecoverAfterTimeout) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(30000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);
  h.AdvanceTo(200 * kMs);
  EXPECT_EQ(h.TakeSent().size(), 1u);  // RTO retransmission
  h.Ack(1000);
  EXPECT_EQ(h.TakeSent().size(), 2u);
  for (int i = 0; i < 3; ++i) h.Ack(1000);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.tcb().cwnd, 2000u);
  EXPECT_EQ(h.conn().counters().retransmits_fast, 0u);
}

TEST(ConnectionTest, B13_WindowChangeIsNotADuplicateAck) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(10000).ok());
  h.TakeSent();
  // RFC 5681 section 2: a duplicate ACK leaves the advertised window alone.
  h.Ack(0, 60000);
  h.Ack(0, 50000);
  h.Ack(0, 40000);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().counters().dup_acks_received, 0u);
  // Nor does a segment carrying data.
  h.SendData(0, 10, h.Our(0), 40000);
  h.SendData(10, 10, h.Our(0), 40000);
  h.SendData(20, 10, h.Our(0), 40000);
  EXPECT_EQ(h.conn().counters().dup_acks_received, 0u);
  EXPECT_EQ(h.conn().counters().retransmits_fast, 0u);
}

TEST(ConnectionTest, B13_RtoCollapsesCwnd) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(30000).ok());
  EXPECT_EQ(h.TakeSent().size(), 10u);
  h.AdvanceTo(200 * kMs);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 1000,
                         SendReason::kRetransmitRto));
  EXPECT_TRUE(h.NothingSent());
  // RFC 5681 3.1: ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = LW = 1.
  EXPECT_EQ(h.tcb().ssthresh, 5000u);
  EXPECT_EQ(h.tcb().cwnd, 1000u);
  std::vector<Event> cw = h.EventsOf(EventKind::kCwndChanged);
  ASSERT_EQ(cw.size(), 1u);
  EXPECT_EQ(cw[0].a, 10000);
  EXPECT_EQ(cw[0].b, 1000);
  // A second timeout of the same segment holds ssthresh.
  h.AdvanceTo(600 * kMs);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 1000,
                         SendReason::kRetransmitRto));
  EXPECT_EQ(h.tcb().ssthresh, 5000u);
  EXPECT_EQ(h.tcb().cwnd, 1000u);
  // Slow start again; the rest of the window is sent anew.
  h.AdvanceTo(700 * kMs);
  h.Ack(1000);
  EXPECT_EQ(h.tcb().cwnd, 2000u);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(1000), h.Peer(0), 1000,
                         SendReason::kRetransmitRto));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(2000), h.Peer(0), 1000,
                         SendReason::kRetransmitRto));
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B13_InitialWindowConfigurable) {
  TcpConfig c = TcpHarness::TestConfig();
  c.initial_window = 3;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  EXPECT_EQ(h.tcb().cwnd, 3000u);
  ASSERT_TRUE(h.Write(10000).ok());
  EXPECT_EQ(h.TakeSent().size(), 3u);

  TcpHarness d;  // default: 10 segments (RFC 6928)
  ASSERT_NO_FATAL_FAILURE(d.EstablishActive());
  ASSERT_TRUE(d.Write(20000).ok());
  EXPECT_EQ(d.TakeSent().size(), 10u);
}

// RFC 5681 3.1: "If the SYN or SYN/ACK is lost, the initial window used by a
// sender after a correctly transmitted SYN MUST be one segment consisting of
// at most SMSS bytes."
TEST(ConnectionTest, B13_LostSynMeansInitialWindowOfOneSegment) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.AdvanceTo(1 * kSecond);  // the SYN is retransmitted
  h.TakeSent();
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 65535);
  sa.options.mss = 1000;
  h.Inject(sa);
  h.TakeSent();
  ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
  ASSERT_TRUE(h.Write(10000).ok());
  EXPECT_EQ(h.TakeSent().size(), 1u);
  EXPECT_EQ(h.tcb().cwnd, 1000u);
}

// ============================================================== keepalive

TEST(ConnectionTest, Keepalive_OffByDefault) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishPassive());
  h.SendData(0, 10, h.Our(0));
  h.AdvanceTo(3 * 3600 * kSecond);
  std::vector<SentSegment> s = h.TakeSent();
  ASSERT_EQ(s.size(), 1u);  // the delayed ACK
  EXPECT_EQ(s[0].reason, SendReason::kDelayedAck);
  EXPECT_EQ(h.conn().NextDeadline(), kNever);
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
}

TcpConfig KeepaliveConfig() {
  TcpConfig c = TcpHarness::TestConfig();
  c.keepalive = true;
  c.keepalive_idle = 10 * kSecond;
  c.keepalive_interval = 1 * kSecond;
  c.keepalive_probes = 3;
  return c;
}

TEST(ConnectionTest, Keepalive_ProbesThenTimesOut) {
  TcpHarness h(KeepaliveConfig());
  ASSERT_NO_FATAL_FAILURE(h.EstablishPassive());
  h.AdvanceTo(10 * kSecond - 1);
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(12 * kSecond);
  // RFC 1122 4.2.3.6: a probe is an old sequence number, no data.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        h.NextSent(kAck, h.Our(-1), h.Peer(0), 0, SendReason::kKeepalive));
    EXPECT_EQ(h.last().time, (10 + i) * kSecond);
  }
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  h.AdvanceTo(13 * kSecond);
  ASSERT_TRUE(h.NextSent(kRst, h.Our(0), 0, 0, SendReason::kRst));
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kTimedOut);
  EXPECT_THAT(
      h.FiredAt(TimerKind::kKeepalive),
      ElementsAre(10 * kSecond, 11 * kSecond, 12 * kSecond, 13 * kSecond));
}

TEST(ConnectionTest, Keepalive_AnsweredProbeRestartsIdle) {
  TcpHarness h(KeepaliveConfig());
  ASSERT_NO_FATAL_FAILURE(h.EstablishPassive());
  h.AdvanceTo(11 * kSecond);
  EXPECT_EQ(h.TakeSent().size(), 2u);
  h.AdvanceTo(11500 * kMs);
  h.Ack(0);
  h.AdvanceTo(21500 * kMs - 1);
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(21500 * kMs);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(-1), h.Peer(0), 0, SendReason::kKeepalive));
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
}

// RFC 1122 4.2.3.6: keep-alives are sent when no data or acknowledgement
// has been received for the interval, whichever side opened the connection.
TEST(ConnectionTest, Keepalive_IdleAfterActiveOpen) {
  TcpHarness h(KeepaliveConfig());
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.AdvanceTo(10 * kSecond);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(-1), h.Peer(0), 0, SendReason::kKeepalive));
}

}  // namespace
}  // namespace tcp_test
}  // namespace tcpemu

namespace tcpemu {
namespace tcp_test {
namespace {

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

// An active open whose SYN-ACK says SACK-permitted (and, if `ts`, carries
// a timestamp).
void EstablishWithSack(TcpHarness& h, bool ts) {
  ASSERT_TRUE(h.conn().Connect(h.now()).ok());
  SentSegment syn = h.PopSent();
  EXPECT_TRUE(syn.h.options.sack_permitted);
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.iss() + 1, 65535);
  sa.options.mss = 1000;
  sa.options.sack_permitted = true;
  if (ts) sa.options.timestamp = TcpTimestamp{100, 0};
  h.Inject(sa);
  h.TakeSent();
  ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
  h.ClearEvents();
}

std::vector<std::pair<uint32_t, uint32_t>> Blocks(const SentSegment& s) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (uint8_t i = 0; i < s.h.options.sack_count; ++i) {
    out.emplace_back(s.h.options.sack[i].left.value(),
                     s.h.options.sack[i].right.value());
  }
  return out;
}

TEST(ConnectionTest, Sack_BlocksMostRecentFirstMergedAndPruned) {
  TcpConfig c = TcpHarness::TestConfig();
  c.sack = true;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(EstablishWithSack(h, /*ts=*/false));
  using B = std::pair<uint32_t, uint32_t>;
  h.SendData(1000, 100, h.Our(0));
  EXPECT_THAT(Blocks(h.PopSent()), ElementsAre(B{h.Peer(1000), h.Peer(1100)}));
  h.SendData(3000, 100, h.Our(0));
  EXPECT_THAT(Blocks(h.PopSent()), ElementsAre(B{h.Peer(3000), h.Peer(3100)},
                                               B{h.Peer(1000), h.Peer(1100)}));
  // Adjacent to the first: one block, now the most recent.
  h.SendData(1100, 100, h.Our(0));
  EXPECT_THAT(Blocks(h.PopSent()), ElementsAre(B{h.Peer(1000), h.Peer(1200)},
                                               B{h.Peer(3000), h.Peer(3100)}));
  // The hole before 1000 fills: that block is delivered and not reported.
  h.SendData(0, 1000, h.Our(0));
  SentSegment ack = h.PopSent();
  EXPECT_EQ(ack.h.ack.value(), h.Peer(1200));
  EXPECT_THAT(Blocks(ack), ElementsAre(B{h.Peer(3000), h.Peer(3100)}));
  // Five runs: only four fit in one option, the most recent ones.
  for (int i = 0; i < 4; ++i) {
    h.SendData(4000 + 1000 * i, 10, h.Our(0));
    h.PopSent();
  }
  h.SendData(9000, 10, h.Our(0));
  std::vector<B> five = Blocks(h.PopSent());
  ASSERT_EQ(five.size(), 4u);
  EXPECT_EQ(five[0], (B{h.Peer(9000), h.Peer(9010)}));
}

TEST(ConnectionTest, Sack_ThreeBlocksBesideTimestampsAndOnlyWhatFitsOnData) {
  TcpConfig c = TimestampConfig();
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(EstablishWithSack(h, /*ts=*/true));
  for (int i = 0; i < 5; ++i) {
    h.SendData(1000 + 1000 * i, 10, h.Our(0));
  }
  std::vector<SentSegment> acks = h.TakeSent();
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back().h.options.sack_count, 3u);
  // A full-sized data segment has no room for blocks; the packet stays
  // within the MTU.
  ASSERT_TRUE(h.Write(5000).ok());
  std::vector<SentSegment> data = h.TakeSent();
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data[0].len(), 988u);
  EXPECT_EQ(data[0].h.options.sack_count, 0u);
}

TEST(ConnectionTest, Sack_NotUsedUnlessBothOffer) {
  TcpConfig c = TcpHarness::TestConfig();
  c.sack = true;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());  // no SACK-permitted back
  h.SendData(1000, 100, h.Our(0));
  EXPECT_EQ(h.PopSent().h.options.sack_count, 0u);
  TcpConfig off = TcpHarness::TestConfig();
  off.sack = false;
  TcpHarness q(off);
  ASSERT_TRUE(q.conn().Listen(0).ok());
  TcpHeader syn = q.PeerHeader(kSyn, q.peer_iss(), 0, 65535);
  syn.options.sack_permitted = true;
  q.Inject(syn);
  EXPECT_FALSE(q.PopSent().h.options.sack_permitted);
}

TEST(ConnectionTest, Sack_DuplicatesAreReportedOnceAsDsack) {
  TcpConfig c = TcpHarness::TestConfig();
  c.sack = true;
  c.delayed_ack = false;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(EstablishWithSack(h, /*ts=*/false));
  using B = std::pair<uint32_t, uint32_t>;
  h.SendData(0, 100, h.Our(0));
  EXPECT_THAT(Blocks(h.PopSent()), ElementsAre());
  // The same bytes again: the ACK's first block lies below its cumulative
  // ACK, a D-SACK (RFC 2883 4.1.1).
  h.SendData(0, 100, h.Our(0));
  SentSegment dup = h.PopSent();
  EXPECT_EQ(dup.h.ack.value(), h.Peer(100));
  EXPECT_THAT(Blocks(dup), ElementsAre(B{h.Peer(0), h.Peer(100)}));
  // Partly old, partly new: the old part is reported.
  h.SendData(50, 100, h.Our(0));
  EXPECT_THAT(Blocks(h.PopSent()), ElementsAre(B{h.Peer(50), h.Peer(100)}));
  // Held out of order twice: the D-SACK block, then the run holding it
  // (RFC 2883 4.1.2).
  h.SendData(1000, 100, h.Our(0));
  h.PopSent();
  h.SendData(1000, 100, h.Our(0));
  EXPECT_THAT(Blocks(h.PopSent()), ElementsAre(B{h.Peer(1000), h.Peer(1100)},
                                               B{h.Peer(1000), h.Peer(1100)}));
  // Reported once only.
  h.SendData(2000, 100, h.Our(0));
  EXPECT_THAT(Blocks(h.PopSent()), ElementsAre(B{h.Peer(2000), h.Peer(2100)},
                                               B{h.Peer(1000), h.Peer(1100)}));
}

}  // namespace
}  // namespace tcp_test
}  // namespace tcpemu
