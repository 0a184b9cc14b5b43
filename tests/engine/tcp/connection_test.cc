// Scripted segment-level tests of Connection's state machine and segment
// dispatch ("inject this segment, expect that one"): sequence numbers and
// acknowledgement (B4), closing (B11), and RFC 5961's checks of RST, SYN and
// ACK in synchronized states (B12). Every expectation cites the RFC rule it
// checks. Tests of Connection's other parts are named after their files:
// handshake_test, sender_test, receiver_test, timers_test, timestamps_test.
#include "engine/tcp/connection.h"

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
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

TEST(ConnectionTest, B11_RstInTimeWaitClosesQuietly) {
  // Nobody holds a connection in TIME-WAIT: it ends without an error.
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  h.Send(kAck | kFin, h.Peer(0), h.Our(1));
  h.TakeSent();
  ASSERT_EQ(h.conn().state(), TcpState::kTimeWait);
  h.Send(kRst, h.Peer(1), 0);
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kNone);
  EXPECT_TRUE(h.EventsOf(EventKind::kConnectionError).empty());
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B11_RstInLastAckAndClosingReportsReset) {
  // In LAST-ACK and CLOSING the application may still read: it learns of
  // the reset (ECONNRESET from Linux and FreeBSD), and nothing answers it.
  TcpHarness g;
  ASSERT_NO_FATAL_FAILURE(g.EstablishPassive());
  g.Send(kAck | kFin, g.Peer(0), g.Our(0));
  ASSERT_TRUE(g.conn().Close(g.now()).ok());
  g.TakeSent();
  ASSERT_EQ(g.conn().state(), TcpState::kLastAck);
  g.Send(kRst, g.Peer(1), 0);
  EXPECT_EQ(g.conn().state(), TcpState::kClosed);
  EXPECT_EQ(g.conn().error(), ErrorCode::kReset);
  std::vector<Event> errors = g.EventsOf(EventKind::kConnectionError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].error, ErrorCode::kReset);
  EXPECT_TRUE(g.NothingSent());

  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.conn().Close(h.now()).ok());
  h.Send(kAck | kFin, h.Peer(0), h.Our(0));  // crosses our FIN
  h.TakeSent();
  ASSERT_EQ(h.conn().state(), TcpState::kClosing);
  h.Send(kRst, h.Peer(1), 0);
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kReset);
  EXPECT_EQ(h.EventsOf(EventKind::kConnectionError).size(), 1u);
  EXPECT_TRUE(h.NothingSent());
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

TEST(ConnectionTest, B12_WithoutRfc5961RstAnyInWindowRstResets) {
  // RFC 793's rule (FreeBSD's net.inet.tcp.insecure_rst): an RST anywhere
  // in the window resets, without a challenge ACK.
  TcpConfig c = TcpHarness::TestConfig();
  c.rfc5961_rst = false;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  // Outside the window it is still dropped.
  h.Send(kRst, h.Peer(70000), 0);
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  h.Send(kRst, h.Peer(100), 0);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kReset);
  EXPECT_EQ(h.conn().counters().challenge_acks_sent, 0u);
}

TEST(ConnectionTest, B12_WithoutRfc5961RstInWindowRstRefusesSynReceived) {
  // A simultaneous open (SYN-RECEIVED of an active open): an in-window RST
  // refuses the connection.
  TcpConfig c = TcpHarness::TestConfig();
  c.rfc5961_rst = false;
  TcpHarness h(c);
  ASSERT_TRUE(h.conn().Connect(h.now()).ok());
  ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kSyn));
  h.Send(kSyn, h.peer_iss(), 0);
  ASSERT_EQ(h.conn().state(), TcpState::kSynReceived);
  h.TakeSent();
  h.Send(kRst, h.Peer(100), 0);
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kRefused);
}

TEST(ConnectionTest, B12_WithoutRfc5961SynInWindowSynResets) {
  // RFC 793 p. 71 (FreeBSD's net.inet.tcp.insecure_syn): a SYN in the
  // window is an error: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>, reset.
  TcpConfig c = TcpHarness::TestConfig();
  c.rfc5961_syn = false;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(100).ok());
  h.TakeSent();
  h.SendData(0, 50, h.Our(0));
  h.TakeSent();
  h.Send(kSyn, h.Peer(500), 0);
  ASSERT_TRUE(
      h.NextSent(kRst | kAck, h.Our(100), h.Peer(50), 0, SendReason::kRst));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().state(), TcpState::kClosed);
  EXPECT_EQ(h.conn().error(), ErrorCode::kReset);
  EXPECT_EQ(h.conn().counters().challenge_acks_sent, 0u);
}

TEST(ConnectionTest, FreeBsdAcceptsTextBeyondWindowWithinFreeBuffer) {
  // The buffer (65535 rounded up to 66 segments of 1000) is larger than
  // the unscaled window can advertise. FreeBSD takes text up to the free
  // buffer (tcp_input's rcv_wnd); Linux answers it with an ACK and drops it.
  for (StackFlavor flavor : {StackFlavor::kLinux, StackFlavor::kFreeBsd}) {
    SCOPED_TRACE(ToString(flavor));
    TcpConfig c = TcpHarness::TestConfig();
    c.flavor = flavor;
    TcpHarness h(c);
    ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
    h.SendData(65535, 400, h.Our(0));
    if (flavor == StackFlavor::kFreeBsd) {
      EXPECT_EQ(h.conn().config().recv_buffer, 66000u);
      EXPECT_EQ(h.LastDisposition(), Disposition::kOutOfOrder);
    } else {
      EXPECT_EQ(h.LastDisposition(), Disposition::kOutsideWindow);
    }
    // Either way an immediate (duplicate) ACK.
    ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
    h.TakeSent();
    h.SendData(0, 65535, h.Our(0));
    EXPECT_EQ(h.conn().readable(),
              flavor == StackFlavor::kFreeBsd ? 65935u : 65535u);
  }
}

TEST(ConnectionTest, FreeBsdSynReceivedJudgesByTheAdvertisedWindow) {
  // A passive open in SYN-RECEIVED: FreeBSD's syncache has no buffer, only
  // the window its SYN-ACK advertised (65535), so an RST one byte beyond it
  // is outside the window, not a reset, even in the FreeBSD flavour with a
  // 65536-byte buffer.
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 65536;
  c.window_scaling = false;
  c.rfc5961_rst = false;  // any RST in the window would reset
  c.flavor = StackFlavor::kFreeBsd;
  TcpHarness h(c);
  ASSERT_TRUE(h.conn().Listen(h.now()).ok());
  h.Inject(h.PeerHeader(kSyn, h.peer_iss(), 0, 65535));
  ASSERT_EQ(h.conn().state(), TcpState::kSynReceived);
  h.TakeSent();
  h.Send(kRst, h.Peer(65535), 0);
  EXPECT_EQ(h.conn().state(), TcpState::kSynReceived);
  EXPECT_EQ(h.LastDisposition(), Disposition::kOutsideWindow);
  // One byte inside it resets (RFC 793's rules): back to LISTEN.
  h.Send(kRst, h.Peer(65534), 0);
  EXPECT_EQ(h.conn().state(), TcpState::kListen);
}

TEST(ConnectionTest, PeekLeavesDataToRead) {
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  h.SendData(0, 100, h.Our(0));
  std::vector<uint8_t> peeked(60);
  EXPECT_EQ(h.conn().Peek(absl::MakeSpan(peeked)), 60u);
  EXPECT_EQ(peeked, Pattern(60, 0, 0x55));
  EXPECT_EQ(h.conn().readable(), 100u);
  std::vector<uint8_t> more(200);
  EXPECT_EQ(h.conn().Peek(absl::MakeSpan(more)), 100u);
  EXPECT_EQ(h.Read(200), Pattern(100, 0, 0x55));
  EXPECT_EQ(h.conn().readable(), 0u);
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

}  // namespace
}  // namespace tcp_test
}  // namespace tcpemu
