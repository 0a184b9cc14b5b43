// Loss recovery with SACK (RFC 2018, RFC 6675) end to end: two engine
// connections across a link with a 100 ms round trip, where fault rules drop
// chosen data segments of one flight. With SACK the sender learns every hole
// from the first duplicate ACKs and repairs all of them within one recovery
// and about one round trip, without a timeout; without SACK NewReno repairs
// one hole per round trip (RFC 6582).
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/base/event.h"
#include "engine/sim/network.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr DurationNs kOneWay = 50 * kMillisecond;
constexpr uint64_t kBytes = 400'000;

class RetransmissionLog final : public EventSink {
 public:
  void OnEvent(const Event& e) override {
    if (e.endpoint != Endpoint::kClient) return;
    if (!in_recovery.has_value() && e.tcb.lost_bytes > 0) in_recovery = e.tcb;
    if (e.kind == EventKind::kSegmentSent &&
        e.send_reason == SendReason::kSyn) {
      iss = e.seg.seq;
    }
    if (e.kind == EventKind::kSegmentSent &&
        (e.send_reason == SendReason::kRetransmitFast ||
         e.send_reason == SendReason::kRetransmitRto ||
         e.send_reason == SendReason::kTailLossProbe)) {
      retransmissions.push_back(e);
    }
  }
  std::vector<Event> retransmissions;
  std::optional<TcbSnapshot> in_recovery;
  std::optional<uint32_t> iss;
};

struct Outcome {
  ConnectionCounters client;
  TimeNs done_at = -1;  // when the server had read every byte
  bool intact = false;
  std::vector<Event> retransmissions;
  // The client's TCB when the scoreboard first held a lost segment.
  TcbSnapshot tcb_in_recovery;
};

// Sends kBytes in one burst (a 60-segment initial window: the whole first
// flight) and drops the payload segments numbered in `drops` (1-based). With
// `twice` set, the segment at that position in the byte stream is instead
// dropped on its first two transmissions.
Outcome Transfer(bool sack, const std::vector<uint32_t>& drops,
                 std::optional<uint32_t> twice = std::nullopt,
                 bool rack = false, bool drop_last = false) {
  RetransmissionLog log;
  Network net(7, &log, Network::Limits());
  PathSpec path;
  path.delay = kOneWay;
  path.queue_limit_packets = 0;
  absl::StatusOr<uint32_t> link = net.CreateLink(path, path);
  EXPECT_TRUE(link.ok()) << link.status();
  for (uint32_t nth : drops) {
    FaultRule rule;
    rule.match.payload_only = true;
    rule.match.nth = nth;
    rule.count = 1;
    EXPECT_TRUE(net.AddFault(*link, Direction::kForward, rule).ok());
  }
  SessionSpec spec;
  spec.link_id = *link;
  for (TcpConfig* c : {&spec.client, &spec.server}) {
    c->sack = sack;
    c->rack = rack;
    c->initial_window = 60;
    c->send_buffer = 1 << 20;
    c->recv_buffer = 1 << 20;
  }
  absl::StatusOr<uint32_t> sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok()) << sid.status();
  EXPECT_TRUE(net.SetSource(*sid, Endpoint::kClient, kBytes, true).ok());
  if (twice.has_value()) {
    net.RunUntil(kMillisecond);  // the SYN is out: the ISS is known
    EXPECT_TRUE(log.iss.has_value());
    const uint32_t mss = spec.client.mss() - 12;  // with timestamps
    FaultRule rule;
    rule.match.payload_only = true;
    rule.match.has_seq_range = true;
    rule.match.seq_lo = Seq(*log.iss + 1) + int64_t{*twice - 1} * mss;
    rule.match.seq_hi = rule.match.seq_lo + 1;
    rule.count = 2;
    EXPECT_TRUE(net.AddFault(*link, Direction::kForward, rule).ok());
  }
  if (drop_last) {
    net.RunUntil(kMillisecond);
    EXPECT_TRUE(log.iss.has_value());
    FaultRule rule;
    rule.match.payload_only = true;
    rule.match.has_seq_range = true;
    rule.match.seq_lo = Seq(*log.iss) + int64_t{kBytes};  // the last byte
    rule.match.seq_hi = rule.match.seq_lo + 1;
    rule.count = 1;
    EXPECT_TRUE(net.AddFault(*link, Direction::kForward, rule).ok());
  }
  Outcome out;
  for (TimeNs t = kMillisecond; t <= 20 * kSecond; t += kMillisecond) {
    net.RunUntil(t);
    const SessionInfo info = *net.GetSession(*sid);
    if (info.server.counters.bytes_read == kBytes) {
      out.done_at = t;
      out.client = info.client.counters;
      out.intact = info.client.write_digest == info.server.read_digest;
      break;
    }
  }
  out.retransmissions = log.retransmissions;
  if (log.in_recovery.has_value()) out.tcb_in_recovery = *log.in_recovery;
  return out;
}

TEST(SackRecoveryTest, ThreeDropsInOneFlightAreRepairedInOneRecovery) {
  const Outcome o = Transfer(/*sack=*/true, {10, 20, 30});
  ASSERT_GE(o.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(o.intact);
  EXPECT_EQ(o.client.timeouts, 0u);
  EXPECT_EQ(o.client.fast_recoveries, 1u);
  EXPECT_EQ(o.client.retransmits_rto, 0u);
  EXPECT_EQ(o.client.retransmits_fast, 3u);
  ASSERT_EQ(o.retransmissions.size(), 3u);
  // The three holes are resent within one round trip of each other: the
  // SACK blocks of the duplicate ACKs showed all of them.
  EXPECT_LT(o.retransmissions.back().time - o.retransmissions.front().time,
            2 * kOneWay);
  // Each resends a different hole, in order.
  EXPECT_LT(o.retransmissions[0].seg.seq - o.retransmissions[0].tcb.iss,
            o.retransmissions[1].seg.seq - o.retransmissions[1].tcb.iss);
  EXPECT_LT(o.retransmissions[1].seg.seq - o.retransmissions[1].tcb.iss,
            o.retransmissions[2].seg.seq - o.retransmissions[2].tcb.iss);
  // The scoreboard was visible in the snapshot while it mattered.
  EXPECT_TRUE(o.tcb_in_recovery.sack_ok);
  EXPECT_GT(o.tcb_in_recovery.sacked_bytes, 0u);
  EXPECT_GT(o.tcb_in_recovery.lost_bytes, 0u);
  EXPECT_LT(o.tcb_in_recovery.pipe, o.tcb_in_recovery.bytes_in_flight);
}

TEST(SackRecoveryTest, WithoutSackNewRenoTakesARoundTripPerHole) {
  const Outcome sack = Transfer(/*sack=*/true, {10, 20, 30});
  const Outcome plain = Transfer(/*sack=*/false, {10, 20, 30});
  ASSERT_GE(sack.done_at, 0);
  ASSERT_GE(plain.done_at, 0);
  EXPECT_TRUE(plain.intact);
  ASSERT_EQ(plain.retransmissions.size(), 3u);
  // One partial ACK per hole: the third retransmission leaves two round
  // trips after the first.
  EXPECT_GE(
      plain.retransmissions.back().time - plain.retransmissions.front().time,
      2 * 2 * kOneWay);
  EXPECT_LT(sack.done_at, plain.done_at);
}

TEST(SackRecoveryTest, ALostRetransmissionEndsInATimeoutThatSkipsSackedData) {
  // Segment 10 is dropped, and so is its fast retransmission.
  const Outcome o = Transfer(/*sack=*/true, {}, /*twice=*/10);
  ASSERT_GE(o.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(o.intact);
  EXPECT_EQ(o.client.timeouts, 1u);
  EXPECT_EQ(o.client.retransmits_fast, 1u);
  // After the timeout only the hole is resent, not the SACKed flight
  // behind it (go-back-N would resend about 50 segments).
  EXPECT_EQ(o.client.retransmits_rto, 1u);
}

TEST(SackRecoveryTest, RackFindsALostRetransmissionWithoutATimeout) {
  // As above, with RACK (RFC 8985): the resent segment 10 is lost again,
  // and segments sent after it arrive; RACK deems it lost once they are
  // SACKed and a reordering window has passed, and resends it again.
  const Outcome o = Transfer(/*sack=*/true, {}, /*twice=*/10, /*rack=*/true);
  ASSERT_GE(o.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(o.intact);
  EXPECT_EQ(o.client.timeouts, 0u);
  EXPECT_EQ(o.client.fast_recoveries, 1u);
  EXPECT_EQ(o.client.retransmits_fast, 2u);
  EXPECT_GE(o.client.rack_losses, 2u);
}

TEST(SackRecoveryTest, RackRepairsThreeDropsInOneRecoveryToo) {
  const Outcome o =
      Transfer(/*sack=*/true, {10, 20, 30}, std::nullopt, /*rack=*/true);
  ASSERT_GE(o.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(o.intact);
  EXPECT_EQ(o.client.timeouts, 0u);
  EXPECT_EQ(o.client.fast_recoveries, 1u);
  EXPECT_EQ(o.client.retransmits_fast, 3u);
  EXPECT_EQ(o.client.rack_losses, 3u);
}

TEST(SackRecoveryTest, ATailLossIsRepairedByAProbeInsteadOfATimeout) {
  // The last segment of the transfer is lost: no later segment can reveal
  // it, so without RACK-TLP only the retransmission timer repairs it.
  const Outcome plain = Transfer(/*sack=*/true, {}, std::nullopt,
                                 /*rack=*/false, /*drop_last=*/true);
  ASSERT_GE(plain.done_at, 0);
  EXPECT_EQ(plain.client.timeouts, 1u);
  EXPECT_EQ(plain.client.tail_loss_probes, 0u);
  const Outcome tlp = Transfer(/*sack=*/true, {}, std::nullopt,
                               /*rack=*/true, /*drop_last=*/true);
  ASSERT_GE(tlp.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(tlp.intact);
  EXPECT_EQ(tlp.client.timeouts, 0u);
  EXPECT_EQ(tlp.client.tail_loss_probes, 1u);
  ASSERT_FALSE(tlp.retransmissions.empty());
  EXPECT_EQ(tlp.retransmissions.front().send_reason,
            SendReason::kTailLossProbe);
  // The probe timeout is capped at the RTO's deadline (RFC 8985 7.2): the
  // repair is no later, and the window does not collapse to one segment.
  EXPECT_LE(tlp.done_at, plain.done_at);
}

TEST(SackRecoveryTest, NoProbeOutrunsTheAckOnAPathWithoutDelay) {
  // With no delay the round trip is about 0, and so is 2 * SRTT: the probe
  // timeout's 10 ms floor keeps the probe behind the ACK already on its way,
  // which would otherwise find the peer closed and draw an RST.
  RetransmissionLog log;
  Network net(7, &log, Network::Limits());
  absl::StatusOr<uint32_t> link = net.CreateLink(PathSpec(), PathSpec());
  ASSERT_TRUE(link.ok()) << link.status();
  SessionSpec spec;
  spec.link_id = *link;
  absl::StatusOr<uint32_t> sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok()) << sid.status();
  net.RunUntil(kMillisecond);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(net.WriteGenerated(*sid, Endpoint::kClient, 5000, true).ok());
    net.RunUntil(net.now() + kMillisecond);
  }
  ASSERT_TRUE(net.Close(*sid, Endpoint::kClient).ok());
  net.RunUntil(net.now() + kSecond);
  const SessionInfo info = *net.GetSession(*sid);
  EXPECT_EQ(info.client.counters.tail_loss_probes, 0u);
  EXPECT_TRUE(log.retransmissions.empty());
  EXPECT_EQ(info.server.bytes_read, 100000u);
}

}  // namespace
}  // namespace tcpemu
