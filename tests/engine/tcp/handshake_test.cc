// Scripted tests of opening a connection (engine/tcp/handshake.cc): MSS
// (B3), the three-way and simultaneous opens, window scaling, SYN and
// SYN-ACK retransmission, and RST and bad ACKs in SYN-SENT and SYN-RECEIVED
// (B12), RFC 9293 3.5 and 3.10.7.
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

TEST(ConnectionTest, B12_ConfiguredWindowScaleIsOfferedAndUsed) {
  // A 64 KiB buffer needs no shift, but a stack that may grow its buffer
  // to 2 MiB (FreeBSD's kern.ipc.maxsockbuf) offers 6.
  TcpConfig c;
  c.recv_buffer = 64 * 1024;
  c.window_scale = 6;
  TcpHarness h(c);
  ASSERT_TRUE(h.conn().Connect(0).ok());
  SentSegment syn = h.PopSent();
  ASSERT_EQ(syn.h.flags, kSyn);
  EXPECT_EQ(syn.h.options.window_scale, std::optional<uint8_t>(6));
  EXPECT_EQ(syn.h.window, 65535);  // never scaled in a SYN
  // The peer offers scaling: our windows from now on are shifted by 6.
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 65535);
  sa.options.mss = 1460;
  sa.options.window_scale = 2;
  h.Inject(sa);
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, (64 * 1024) >> 6);
  h.SendData(0, 100, h.Our(0));
  h.Advance(500 * kMs);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.Peer(100), 0, SendReason::kDelayedAck));
  // 65436 bytes free, rounded up so the right edge does not recede.
  EXPECT_EQ(h.last().h.window, (64 * 1024 - 100 + 63) >> 6);
  EXPECT_EQ(h.tcb().rcv_wnd, ((64u * 1024 - 100 + 63) >> 6) << 6);
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

TEST(ConnectionTest, B12_TextOnSynAckIsDeliveredAndAcked) {
  // RFC 9293 3.10.7.3: the SYN-ACK's text is processed as in ESTABLISHED
  // ("continue processing at the sixth step").
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(h.now()).ok());
  ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kSyn));
  std::vector<uint8_t> text = Pattern(100, 0, 0x55);
  TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 65535);
  sa.options.mss = 1000;
  h.Inject(sa, text);
  ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
  ASSERT_TRUE(
      h.NextSent(kAck, h.Our(0), h.peer_iss() + 1 + 100, 0, SendReason::kAck));
  EXPECT_TRUE(h.NothingSent());
  EXPECT_EQ(h.conn().readable(), 100u);
  EXPECT_EQ(h.Read(1000), text);
  EXPECT_FALSE(h.conn().eof());
}

TEST(ConnectionTest, B12_TextAndFinOnSynAckAreDeliveredAndAcked) {
  TcpHarness h;
  ASSERT_TRUE(h.conn().Connect(h.now()).ok());
  h.TakeSent();
  std::vector<uint8_t> text = Pattern(10, 0, 0x55);
  TcpHeader sa =
      h.PeerHeader(kSyn | kAck | kFin, h.peer_iss(), h.Our(0), 65535);
  sa.options.mss = 1000;
  h.Inject(sa, text);
  EXPECT_EQ(h.conn().state(), TcpState::kCloseWait);
  // ISN + 1 + 10 bytes + the FIN.
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.peer_iss() + 1 + 10 + 1, 0,
                         SendReason::kAck));
  EXPECT_EQ(h.Read(100), text);
  EXPECT_TRUE(h.conn().eof());
}

TEST(ConnectionTest, B3_FreeBsdRoundsBuffersUpToTheMss) {
  // FreeBSD's tcp_mss: both buffers become a multiple of the MSS (without
  // options) when an active open's SYN-ACK arrives, and when a passive
  // open's handshake completes (the syncache holds none before). Linux keeps
  // them.
  for (StackFlavor flavor : {StackFlavor::kLinux, StackFlavor::kFreeBsd}) {
    for (bool passive : {false, true}) {
      SCOPED_TRACE(testing::Message()
                   << ToString(flavor) << " passive " << passive);
      TcpConfig c = TcpHarness::TestConfig();
      c.mtu = 1500;
      c.timestamps = true;  // the rounding ignores the options
      c.recv_buffer = 65536;
      c.send_buffer = 65536;
      c.flavor = flavor;
      TcpHarness h(c);
      if (passive) {
        ASSERT_TRUE(h.conn().Listen(h.now()).ok());
        TcpHeader syn = h.PeerHeader(kSyn, h.peer_iss(), 0, 65535);
        syn.options.mss = 1460;
        syn.options.timestamp = TcpTimestamp{1, 0};
        EXPECT_EQ(h.conn().config().recv_buffer, 65536u);
        h.Inject(syn);
        ASSERT_EQ(h.conn().state(), TcpState::kSynReceived);
        EXPECT_EQ(h.conn().config().recv_buffer, 65536u);
        TcpHeader ack = h.PeerHeader(kAck, h.Peer(0), h.Our(0), 65535);
        ack.options.timestamp =
            TcpTimestamp{2, h.PopSent().h.options.timestamp->value};
        h.Inject(ack);
        ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
      } else {
        ASSERT_TRUE(h.conn().Connect(h.now()).ok());
        EXPECT_EQ(h.conn().config().recv_buffer, 65536u);
        TcpHeader sa = h.PeerHeader(kSyn | kAck, h.peer_iss(), h.Our(0), 65535);
        sa.options.mss = 1460;
        sa.options.timestamp = TcpTimestamp{1, 0};
        h.Inject(sa);
        ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
      }
      const uint32_t want = flavor == StackFlavor::kFreeBsd ? 65700 : 65536;
      EXPECT_EQ(h.conn().config().recv_buffer, want);
      EXPECT_EQ(h.conn().config().send_buffer, want);
    }
  }
}

TEST(ConnectionTest, B3_FreeBsdRoundsBySmallerPeerMss) {
  TcpConfig c = TcpHarness::TestConfig();  // MSS 1000
  c.recv_buffer = 10000;
  c.send_buffer = 10001;
  c.flavor = StackFlavor::kFreeBsd;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 536}));
  EXPECT_EQ(h.conn().config().recv_buffer, 19u * 536);
  EXPECT_EQ(h.conn().config().send_buffer, 19u * 536);
  // The send buffer takes that much.
  auto n = h.Write(20000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 19u * 536);
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

}  // namespace
}  // namespace tcp_test
}  // namespace tcpemu
