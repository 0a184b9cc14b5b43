// ECN in TCP (RFC 3168 6.1), segment by segment: the handshake's
// negotiation, ECT(0) on new data only, the receiver's ECE echo until CWR
// and the sender's one reduction per window of data, without
// retransmission. The TcpEcn state machine is also checked on its own.
#include "engine/tcp/ecn.h"

#include <cstdint>
#include <vector>

#include "engine/tcp/connection.h"
#include "gtest/gtest.h"
#include "tests/engine/tcp/tcp_harness.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces)
using tcp_test::FlagsString;
using tcp_test::SentSegment;
using tcp_test::TcpHarness;

constexpr uint8_t kEcnFlags = kEce | kCwr;

TcpConfig EcnConfig(bool ecn = true) {
  TcpConfig c = TcpHarness::TestConfig();
  c.ecn = ecn;
  c.sack = false;  // the numbers below follow NewReno without SACK
  return c;
}

// Active open; the peer's SYN-ACK carries `synack_ecn` (ECE, CWR or both).
void OpenActive(TcpHarness& t, uint8_t synack_ecn) {
  ASSERT_TRUE(t.conn().Connect(t.now()).ok());
  const SentSegment syn = t.PopSent();
  EXPECT_TRUE(syn.h.has(kSyn));
  EXPECT_EQ(syn.ecn, Ecn::kNotEct);
  TcpHeader h =
      t.PeerHeader(kSyn | kAck | synack_ecn, t.peer_iss(), t.iss() + 1, 65535);
  h.options.mss = 1000;
  t.Inject(h);
  const SentSegment ack = t.PopSent();
  EXPECT_EQ(ack.h.flags, kAck) << FlagsString(ack.h.flags);
  EXPECT_EQ(ack.ecn, Ecn::kNotEct);
  ASSERT_EQ(t.conn().state(), TcpState::kEstablished);
  t.ClearEvents();
}

// Passive open; the peer's SYN carries `syn_ecn`. Returns our SYN-ACK.
SentSegment OpenPassive(TcpHarness& t, uint8_t syn_ecn) {
  EXPECT_TRUE(t.conn().Listen(t.now()).ok());
  TcpHeader h = t.PeerHeader(kSyn | syn_ecn, t.peer_iss(), 0, 65535);
  h.options.mss = 1000;
  t.Inject(h);
  SentSegment synack = t.PopSent();
  t.Send(kAck, t.peer_iss() + 1, t.iss() + 1);
  EXPECT_EQ(t.conn().state(), TcpState::kEstablished);
  EXPECT_TRUE(t.NothingSent());
  t.ClearEvents();
  return synack;
}

// ------------------------------------------------------------ TcpEcn

TEST(TcpEcnTest, ReceiverEchoesFromCeUntilCwr) {
  TcpEcn e(true);
  e.OnPeerSyn(kEcnFlags);
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e.echoing());
  EXPECT_FALSE(e.OnData(Ecn::kEct0, 0));
  EXPECT_TRUE(e.OnData(Ecn::kCe, 0));   // first of an episode: ACK at once
  EXPECT_FALSE(e.OnData(Ecn::kCe, 0));  // already echoing
  EXPECT_TRUE(e.echoing());
  EXPECT_FALSE(e.OnData(Ecn::kEct0, kCwr));
  EXPECT_FALSE(e.echoing());
  // A CWR segment that is itself marked starts a new episode.
  EXPECT_TRUE(e.OnData(Ecn::kCe, kCwr));
  EXPECT_TRUE(e.echoing());
}

TEST(TcpEcnTest, SenderMarksNewDataOnlyAndGuardsOneWindow) {
  TcpEcn e(true);
  e.OnPeerSynAck(kEce);
  ASSERT_TRUE(e.ok());
  e.Start(Seq(1));
  EXPECT_EQ(e.OnSend(Seq(1), 100).codepoint, Ecn::kEct0);
  EXPECT_EQ(e.OnSend(Seq(1), 100).codepoint, Ecn::kNotEct);  // resent
  EXPECT_EQ(e.OnSend(Seq(101), 0).codepoint, Ecn::kNotEct);  // no data
  EXPECT_TRUE(e.OnEce(Seq(50)));
  e.OnReduced(Seq(101));
  EXPECT_FALSE(e.OnEce(Seq(101)));
  const TcpEcn::Marking m = e.OnSend(Seq(101), 100);
  EXPECT_EQ(m.codepoint, Ecn::kEct0);
  EXPECT_TRUE(m.cwr);
  EXPECT_FALSE(e.OnSend(Seq(201), 100).cwr);  // once
  e.OnAck(Seq(102));
  EXPECT_TRUE(e.OnEce(Seq(102)));
}

TEST(TcpEcnTest, NotNegotiatedDoesNothing) {
  TcpEcn e(false);
  e.OnPeerSyn(kEcnFlags);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.SynFlags(), 0);
  EXPECT_EQ(e.SynAckFlags(), 0);
  e.Start(Seq(1));
  EXPECT_EQ(e.OnSend(Seq(1), 100).codepoint, Ecn::kNotEct);
  EXPECT_FALSE(e.OnData(Ecn::kCe, 0));
  EXPECT_FALSE(e.echoing());
  EXPECT_FALSE(e.OnEce(Seq(1)));
}

// ------------------------------------------------------------ handshake

TEST(EcnHandshakeTest, ActiveOpenMatrix) {
  for (bool want : {false, true}) {
    for (uint8_t synack : {uint8_t{0}, kEce, kCwr, kEcnFlags}) {
      SCOPED_TRACE(testing::Message()
                   << "want=" << want << " synack=" << FlagsString(synack));
      TcpHarness t(EcnConfig(want));
      ASSERT_TRUE(t.conn().Connect(t.now()).ok());
      const SentSegment syn = t.PopSent();
      EXPECT_EQ(syn.h.flags, want ? (kSyn | kEcnFlags) : kSyn)
          << FlagsString(syn.h.flags);
      TcpHeader h =
          t.PeerHeader(kSyn | kAck | synack, t.peer_iss(), t.iss() + 1, 65535);
      t.Inject(h);
      ASSERT_EQ(t.conn().state(), TcpState::kEstablished);
      // Only an ECN-setup SYN-ACK (ECE without CWR) answers the request.
      EXPECT_EQ(t.conn().ecn_ok(), want && synack == kEce);
    }
  }
}

TEST(EcnHandshakeTest, PassiveOpenMatrix) {
  for (bool want : {false, true}) {
    for (uint8_t syn : {uint8_t{0}, kEce, kCwr, kEcnFlags}) {
      SCOPED_TRACE(testing::Message()
                   << "want=" << want << " syn=" << FlagsString(syn));
      TcpHarness t(EcnConfig(want));
      const SentSegment synack = OpenPassive(t, syn);
      const bool ok = want && syn == kEcnFlags;
      // ECE alone, never CWR, and only when both ends want ECN.
      EXPECT_EQ(synack.h.flags, kSyn | kAck | (ok ? kEce : 0))
          << FlagsString(synack.h.flags);
      EXPECT_EQ(synack.ecn, Ecn::kNotEct);
      EXPECT_EQ(t.conn().ecn_ok(), ok);
    }
  }
}

TEST(EcnHandshakeTest, RetransmittedSynAckKeepsEce) {
  TcpHarness t(EcnConfig());
  ASSERT_TRUE(t.conn().Listen(t.now()).ok());
  t.Inject(t.PeerHeader(kSyn | kEcnFlags, t.peer_iss(), 0, 65535));
  EXPECT_EQ(t.PopSent().h.flags, kSyn | kAck | kEce);
  t.Advance(2 * kSecond);
  const SentSegment again = t.PopSent();
  EXPECT_EQ(again.h.flags, kSyn | kAck | kEce);
  EXPECT_EQ(again.ecn, Ecn::kNotEct);
}

// ------------------------------------------------------------ sender

TEST(EcnSenderTest, EctOnNewDataOnly) {
  TcpHarness t(EcnConfig());
  OpenActive(t, kEce);
  ASSERT_TRUE(t.conn().ecn_ok());
  ASSERT_TRUE(t.Write(3000).ok());
  for (int i = 0; i < 3; ++i) {
    const SentSegment s = t.PopSent();
    EXPECT_EQ(s.len(), 1000u);
    EXPECT_EQ(s.ecn, Ecn::kEct0) << s;
    EXPECT_FALSE(s.h.has(kCwr));
    EXPECT_FALSE(s.h.has(kEce));
  }
  // A pure ACK of the peer's data: not ECN-capable.
  t.SendData(0, 500, t.Our(0));
  t.Advance(t.config().delayed_ack_timeout);
  const SentSegment ack = t.PopSent();
  EXPECT_EQ(ack.len(), 0u);
  EXPECT_EQ(ack.ecn, Ecn::kNotEct);
  // The timeout's retransmission: not ECN-capable (RFC 3168 6.1.5).
  t.Advance(2 * kSecond);
  const SentSegment rto = t.PopSent();
  EXPECT_EQ(rto.reason, SendReason::kRetransmitRto);
  EXPECT_EQ(rto.h.seq.value(), t.Our(0));
  EXPECT_EQ(rto.ecn, Ecn::kNotEct);
  // The reset of an abort: not ECN-capable.
  t.sent().clear();
  t.conn().Abort(t.now());
  const SentSegment rst = t.PopSent();
  EXPECT_TRUE(rst.h.has(kRst));
  EXPECT_EQ(rst.ecn, Ecn::kNotEct);
}

TEST(EcnSenderTest, WindowProbeAndFinAreNotEct) {
  TcpHarness t(EcnConfig());
  OpenActive(t, kEce);
  ASSERT_TRUE(t.Write(1000).ok());
  EXPECT_EQ(t.PopSent().ecn, Ecn::kEct0);
  t.Ack(1000, /*window=*/0);
  ASSERT_TRUE(t.Write(1000, 1000).ok());
  EXPECT_TRUE(t.NothingSent());
  t.Advance(2 * kSecond);
  const SentSegment probe = t.PopSent();
  EXPECT_EQ(probe.reason, SendReason::kWindowProbe);
  EXPECT_EQ(probe.ecn, Ecn::kNotEct);
  // The window opens: the data goes, marked; then a bare FIN, not marked.
  t.sent().clear();
  t.Ack(1000);
  const SentSegment data = t.PopSent();
  EXPECT_EQ(data.len(), 1000u);
  EXPECT_EQ(data.ecn, Ecn::kEct0);
  t.Ack(2000);
  ASSERT_TRUE(t.conn().Close(t.now()).ok());
  const SentSegment fin = t.PopSent();
  EXPECT_TRUE(fin.h.has(kFin));
  EXPECT_EQ(fin.len(), 0u);
  EXPECT_EQ(fin.ecn, Ecn::kNotEct);
}

TEST(EcnSenderTest, NotNegotiatedSendsNoEct) {
  TcpHarness t(EcnConfig());
  OpenActive(t, 0);  // the peer did not accept
  ASSERT_FALSE(t.conn().ecn_ok());
  ASSERT_TRUE(t.Write(2000).ok());
  for (const SentSegment& s : t.TakeSent()) {
    EXPECT_EQ(s.ecn, Ecn::kNotEct);
    EXPECT_EQ(s.h.flags & kEcnFlags, 0);
  }
  // ECE from a peer that did not negotiate ECN means nothing.
  const uint32_t cwnd = t.tcb().cwnd;
  t.Send(kAck | kEce, t.Peer(0), t.Our(1000));
  EXPECT_EQ(t.conn().counters().ecn_reductions, 0u);
  EXPECT_GE(t.tcb().cwnd, cwnd);
}

// One reduction per window of data: the first ECE halves the window, the
// next new data segment carries CWR, further ECE within the window changes
// nothing, and ECE after SND.UNA passes the window's end reduces again.
// Nothing is retransmitted.
TEST(EcnSenderTest, OneReductionPerWindowAndCwr) {
  TcpHarness t(EcnConfig());
  OpenActive(t, kEce);
  ASSERT_TRUE(t.Write(30000).ok());
  std::vector<SentSegment> first = t.TakeSent();
  ASSERT_EQ(first.size(), 10u);  // the initial window
  for (const SentSegment& s : first) EXPECT_EQ(s.ecn, Ecn::kEct0);

  // ECE on the ACK of the first two segments. FlightSize is then 8000:
  // ssthresh = max(8000 / 2, 2 * SMSS) = 4000 = cwnd (RFC 5681 (4)).
  t.Send(kAck | kEce, t.Peer(0), t.Our(2000));
  EXPECT_EQ(t.conn().counters().ece_received, 1u);
  EXPECT_EQ(t.conn().counters().ecn_reductions, 1u);
  EXPECT_EQ(t.tcb().ssthresh, 4000u);
  EXPECT_EQ(t.tcb().cwnd, 4000u);
  EXPECT_TRUE(t.NothingSent());  // 8000 in flight, cwnd 4000

  // More ECE within the same window (before SND.UNA passes 10000): no new
  // reduction.
  t.Send(kAck | kEce, t.Peer(0), t.Our(4000));
  t.Send(kAck | kEce, t.Peer(0), t.Our(7000));
  EXPECT_EQ(t.conn().counters().ece_received, 3u);
  EXPECT_EQ(t.conn().counters().ecn_reductions, 1u);
  EXPECT_GE(t.tcb().ssthresh, 4000u);
  // 3000 in flight: new data goes, the first of it with CWR.
  std::vector<SentSegment> next = t.TakeSent();
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(next[0].h.seq.value(), t.Our(10000));
  EXPECT_TRUE(next[0].h.has(kCwr)) << next[0];
  EXPECT_EQ(next[0].ecn, Ecn::kEct0);
  for (size_t i = 1; i < next.size(); ++i) {
    EXPECT_FALSE(next[i].h.has(kCwr)) << next[i];
    EXPECT_EQ(next[i].ecn, Ecn::kEct0);
  }
  EXPECT_EQ(t.conn().counters().cwr_sent, 1u);

  // ECE on the ACK of exactly the window's end (10000) is still the old
  // window's; past it, a new one.
  t.Send(kAck | kEce, t.Peer(0), t.Our(10000));
  EXPECT_EQ(t.conn().counters().ecn_reductions, 1u);
  t.TakeSent();
  t.Send(kAck | kEce, t.Peer(0), t.Our(11000));
  EXPECT_EQ(t.conn().counters().ecn_reductions, 2u);

  const ConnectionCounters& c = t.conn().counters();
  EXPECT_EQ(c.retransmits_fast, 0u);
  EXPECT_EQ(c.retransmits_rto, 0u);
  EXPECT_EQ(c.bytes_retransmitted, 0u);
  EXPECT_EQ(c.fast_recoveries, 0u);
}

TEST(EcnSenderTest, LossRecoveryQueuesCwrAndAbsorbsEce) {
  TcpHarness t(EcnConfig());
  OpenActive(t, kEce);
  ASSERT_TRUE(t.Write(20000).ok());
  t.TakeSent();
  // Three duplicate ACKs: limited transmit, then the fast retransmit, which
  // is not ECN-capable.
  for (int i = 0; i < 3; ++i) t.Ack(0);
  std::vector<SentSegment> out = t.TakeSent();
  size_t i = 0;
  while (i < out.size() && out[i].reason != SendReason::kRetransmitFast) {
    EXPECT_EQ(out[i].ecn, Ecn::kEct0) << out[i];  // limited transmit: new
    ++i;
  }
  ASSERT_LT(i, out.size());
  EXPECT_EQ(out[i].h.seq.value(), t.Our(0));
  EXPECT_EQ(out[i].ecn, Ecn::kNotEct);
  EXPECT_FALSE(out[i].h.has(kCwr));
  // ECE during recovery: that window was reduced already.
  t.Send(kAck | kEce, t.Peer(0), t.Our(0));
  EXPECT_EQ(t.conn().counters().ecn_reductions, 0u);
  // The first new data sent after the reduction carries CWR (once).
  std::vector<SentSegment> later = t.TakeSent();
  t.Ack(12000);
  for (const SentSegment& s : t.TakeSent()) later.push_back(s);
  size_t cwr = 0;
  bool first = true;
  for (const SentSegment& s : later) {
    if (s.ecn != Ecn::kEct0) continue;
    EXPECT_EQ(s.h.has(kCwr), first) << s;
    first = false;
    cwr += s.h.has(kCwr) ? 1 : 0;
  }
  EXPECT_EQ(cwr, 1u);
  EXPECT_EQ(t.conn().counters().cwr_sent, 1u);
}

TEST(EcnSenderTest, CubicReducesByBetaBbrIgnores) {
  {
    TcpConfig c = EcnConfig();
    c.cc = CcAlgorithm::kCubic;
    TcpHarness t(c);
    OpenActive(t, kEce);
    ASSERT_TRUE(t.Write(20000).ok());
    t.TakeSent();
    t.Send(kAck | kEce, t.Peer(0), t.Our(2000));
    EXPECT_EQ(t.conn().counters().ecn_reductions, 1u);
    // From min(FlightSize, cwnd) = 8000: beta 0.7.
    EXPECT_EQ(t.tcb().ssthresh, 5600u);
    EXPECT_EQ(t.tcb().cwnd, 5600u);
  }
  {
    TcpConfig c = EcnConfig();
    c.cc = CcAlgorithm::kBbr;
    // BBR paces: the initial window leaves over some milliseconds.
    TcpHarness t(c);
    OpenActive(t, kEce);
    ASSERT_TRUE(t.Write(20000).ok());
    t.Advance(50 * kMillisecond);
    ASSERT_GE(t.TakeSent().size(), 2u);
    TcpHarness u(c);  // the same ACK without ECE, for comparison
    OpenActive(u, kEce);
    ASSERT_TRUE(u.Write(20000).ok());
    u.Advance(50 * kMillisecond);
    u.TakeSent();
    t.Send(kAck | kEce, t.Peer(0), t.Our(2000));
    u.Send(kAck, u.Peer(0), u.Our(2000));
    EXPECT_EQ(t.tcb().cwnd, u.tcb().cwnd);
    EXPECT_EQ(t.tcb().ssthresh, u.tcb().ssthresh);
    EXPECT_EQ(t.conn().counters().ecn_reductions, 1u);
    // CWR still tells the receiver to stop echoing (once BBR's pacing lets
    // the next segment go).
    t.Advance(10 * kMillisecond);
    std::vector<SentSegment> next = t.TakeSent();
    ASSERT_FALSE(next.empty());
    EXPECT_TRUE(next[0].h.has(kCwr));
  }
}

// ------------------------------------------------------------ receiver

TEST(EcnReceiverTest, EchoesCeUntilCwr) {
  TcpHarness t(EcnConfig());
  OpenPassive(t, kEcnFlags);
  ASSERT_TRUE(t.conn().ecn_ok());
  // A CE-marked segment is acknowledged at once, with ECE.
  t.Inject(t.PeerHeader(kAck, t.Peer(0), t.Our(0), 65535),
           tcp_test::Pattern(1000), Ecn::kCe);
  EXPECT_EQ(t.conn().counters().ce_received, 1u);
  SentSegment ack = t.PopSent();
  EXPECT_EQ(ack.h.flags, kAck | kEce) << ack;
  EXPECT_EQ(ack.h.ack.value(), t.Peer(1000));
  EXPECT_EQ(ack.reason, SendReason::kAck);
  EXPECT_EQ(ack.ecn, Ecn::kNotEct);
  // Unmarked segments after it: their (delayed) ACK still carries ECE.
  t.Inject(t.PeerHeader(kAck, t.Peer(1000), t.Our(0), 65535),
           tcp_test::Pattern(1000, 1000), Ecn::kEct0);
  EXPECT_TRUE(t.NothingSent());
  t.Inject(t.PeerHeader(kAck, t.Peer(2000), t.Our(0), 65535),
           tcp_test::Pattern(1000, 2000), Ecn::kEct0);
  ack = t.PopSent();
  EXPECT_EQ(ack.h.flags, kAck | kEce) << ack;
  EXPECT_EQ(ack.reason, SendReason::kDelayedAck);
  // Our own data carries ECE too while echoing.
  ASSERT_TRUE(t.Write(500).ok());
  SentSegment data = t.PopSent();
  EXPECT_TRUE(data.h.has(kEce));
  EXPECT_EQ(data.ecn, Ecn::kEct0);
  t.Ack(500, 65535, 3000);
  // CWR ends the echo.
  t.Inject(t.PeerHeader(kAck | kCwr, t.Peer(3000), t.Our(500), 65535),
           tcp_test::Pattern(1000, 3000), Ecn::kEct0);
  t.Advance(t.config().delayed_ack_timeout);
  ack = t.PopSent();
  EXPECT_EQ(ack.h.flags, kAck) << ack;
  // A new CE mark starts a new episode, acknowledged at once.
  t.Inject(t.PeerHeader(kAck, t.Peer(4000), t.Our(500), 65535),
           tcp_test::Pattern(1000, 4000), Ecn::kCe);
  ack = t.PopSent();
  EXPECT_EQ(ack.h.flags, kAck | kEce) << ack;
  EXPECT_EQ(ack.reason, SendReason::kAck);
  EXPECT_EQ(t.conn().counters().ce_received, 2u);
}

TEST(EcnReceiverTest, WithoutEcnCeIsNotEchoed) {
  TcpHarness t(EcnConfig(false));
  OpenPassive(t, kEcnFlags);
  ASSERT_FALSE(t.conn().ecn_ok());
  t.Inject(t.PeerHeader(kAck, t.Peer(0), t.Our(0), 65535),
           tcp_test::Pattern(1000), Ecn::kCe);
  EXPECT_EQ(t.conn().counters().ce_received, 1u);
  EXPECT_TRUE(t.NothingSent());  // no quick ACK: the delayed ACK runs
  t.Advance(t.config().delayed_ack_timeout);
  const SentSegment ack = t.PopSent();
  EXPECT_EQ(ack.h.flags, kAck) << ack;
}

}  // namespace
}  // namespace tcpemu
