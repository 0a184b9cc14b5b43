// Scripted tests of the sender (engine/tcp/sender.cc, ack_processing.cc):
// writes (B1), Nagle and cork (B2), retransmission (B5), the peer's window,
// persist and sender SWS avoidance (B8), and congestion control with limited
// transmit and fast retransmit (B13).
#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "engine/tcp/connection.h"
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

TEST(ConnectionTest, B2_SetNoDelaySendsHeldSegmentAtOnce) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(0), h.Peer(0), 100,
                         SendReason::kNagleRelease));
  // Nagle holds the second small write while the first is unacknowledged.
  ASSERT_TRUE(h.Write(50, 100).ok());
  EXPECT_TRUE(h.NothingSent());
  h.conn().SetNoDelay(h.now(), true);
  ASSERT_TRUE(
      h.NextSent(kAck | kPsh, h.Our(100), h.Peer(0), 50, SendReason::kNodelay));
  EXPECT_EQ(h.last().payload, Pattern(50, 100));
  ASSERT_TRUE(h.Write(30, 150).ok());
  ASSERT_TRUE(
      h.NextSent(kAck | kPsh, h.Our(150), h.Peer(0), 30, SendReason::kNodelay));
}

TEST(ConnectionTest, B2_SetCorkOffSendsCorkedTailAtOnce) {
  TcpConfig c = TcpHarness::TestConfig();
  c.cork = true;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(300).ok());
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(10 * kMs);
  h.conn().SetCork(h.now(), false);
  SentSegment s = h.PopSent();
  EXPECT_EQ(s.time, 10 * kMs);
  EXPECT_EQ(s.h.seq.value(), h.Our(0));
  EXPECT_EQ(s.payload, Pattern(300));
  EXPECT_TRUE(h.NothingSent());
  // The cork timer went with it.
  h.Ack(300);
  EXPECT_EQ(h.conn().NextDeadline(), kNever);
}

TEST(ConnectionTest, B2_SetCorkOffLeavesTheTailToNagle) {
  // Uncorked, the tail is sent as Nagle allows (as Linux's uncork pushes
  // it): with data in flight it waits for the ACK, and the cork timer is
  // gone.
  TcpConfig c = TcpHarness::TestConfig();
  c.cork = true;
  c.rto_min = 1 * kSecond;  // no retransmission while the test looks
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(300).ok());
  EXPECT_EQ(h.LastArmed(TimerKind::kCork), 200 * kMs);
  h.AdvanceTo(100 * kMs);
  ASSERT_TRUE(h.Write(1000, 300).ok());
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(0), 1000, SendReason::kFullMss));
  // The tail stays corked, its timer restarted by the send.
  EXPECT_EQ(h.LastArmed(TimerKind::kCork), 300 * kMs);
  h.conn().SetCork(h.now(), false);
  EXPECT_TRUE(h.NothingSent());
  h.AdvanceTo(500 * kMs);  // past the cork deadline
  EXPECT_TRUE(h.FiredAt(TimerKind::kCork).empty());
  EXPECT_TRUE(h.NothingSent());
  h.Ack(1000);
  ASSERT_TRUE(h.NextSent(kAck | kPsh, h.Our(1000), h.Peer(0), 300,
                         SendReason::kNagleRelease));
}

TEST(ConnectionTest, FreeBsdFlavorSendsFreeBsdOptionLayout) {
  for (StackFlavor flavor : {StackFlavor::kLinux, StackFlavor::kFreeBsd}) {
    SCOPED_TRACE(ToString(flavor));
    TcpConfig c = TcpHarness::TestConfig();
    c.flavor = flavor;
    c.timestamps = true;
    TcpHarness h(c);
    ASSERT_TRUE(h.conn().Connect(h.now()).ok());
    const OptionLayout want = flavor == StackFlavor::kFreeBsd
                                  ? OptionLayout::kFreeBsd
                                  : OptionLayout::kLinux;
    SentSegment syn = h.PopSent();
    ASSERT_EQ(syn.h.flags, kSyn);
    EXPECT_EQ(syn.h.options.layout, want);
    TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 65535);
    sa.options.mss = 1000;
    sa.options.timestamp = TcpTimestamp{7, 0};
    h.Inject(sa);
    SentSegment ack = h.PopSent();
    ASSERT_EQ(ack.h.flags, kAck);
    EXPECT_EQ(ack.h.options.layout, want);
    ASSERT_TRUE(h.Write(100).ok());
    SentSegment data = h.PopSent();
    EXPECT_EQ(data.len(), 100u);
    EXPECT_EQ(data.h.options.layout, want);
  }
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

}  // namespace
}  // namespace tcp_test
}  // namespace tcpemu
