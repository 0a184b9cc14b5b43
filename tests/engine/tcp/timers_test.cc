// Scripted tests of the connection's timers (engine/tcp/timers.cc): the
// retransmission timeout (B6, RFC 6298), giving up (B7, RFC 1122 4.2.3.5)
// and keepalive (RFC 1122 4.2.3.6).
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

// ECN-setup SYNs (ECE|CWR) retransmitted `ecn_syn_retries` times before
// the SYN goes without them (RFC 3168 6.1.1.1).
TEST(ConnectionTest, B6_EcnSetupSynFallsBackAfterEcnSynRetries) {
  constexpr uint8_t kSetup = kEce | kCwr;
  for (uint32_t retries : {0u, 1u}) {
    SCOPED_TRACE(testing::Message() << "ecn_syn_retries " << retries);
    TcpConfig c = TcpHarness::TestConfig();
    c.ecn = true;
    c.ecn_syn_retries = retries;
    TcpHarness h(c);
    ASSERT_TRUE(h.conn().Connect(0).ok());
    ASSERT_TRUE(h.NextSent(kSyn | kSetup, h.iss(), 0, 0, SendReason::kSyn));
    h.AdvanceTo(1 * kSecond);
    ASSERT_TRUE(h.NextSent(kSyn | (retries >= 1 ? kSetup : 0), h.iss(), 0, 0,
                           SendReason::kRetransmitRto));
    h.AdvanceTo(3 * kSecond);
    ASSERT_TRUE(h.NextSent(kSyn, h.iss(), 0, 0, SendReason::kRetransmitRto));
    // An ECN-setup SYN-ACK to the plain SYN does not turn ECN on.
    h.Send(kSyn | kAck | kEce, h.peer_iss(), h.Our(0));
    ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
    EXPECT_FALSE(h.conn().ecn_ok());
  }
}

TEST(ConnectionTest, B6_EcnSetupSynKeptWithinEcnSynRetries) {
  // An answer to a retransmitted ECN-setup SYN still negotiates ECN.
  TcpConfig c = TcpHarness::TestConfig();
  c.ecn = true;
  c.ecn_syn_retries = 1;
  TcpHarness h(c);
  ASSERT_TRUE(h.conn().Connect(0).ok());
  h.AdvanceTo(1 * kSecond);
  std::vector<SentSegment> syns = h.TakeSent();
  ASSERT_EQ(syns.size(), 2u);
  EXPECT_EQ(syns[1].h.flags, kSyn | kEce | kCwr);
  h.Send(kSyn | kAck | kEce, h.peer_iss(), h.Our(0));
  ASSERT_EQ(h.conn().state(), TcpState::kEstablished);
  EXPECT_TRUE(h.conn().ecn_ok());
}

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
