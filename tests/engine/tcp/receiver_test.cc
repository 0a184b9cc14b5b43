// Scripted tests of the receiver (engine/tcp/receiver.cc): receiver SWS
// avoidance and zero-window probes (B8), delayed ACKs and window updates
// (B9), reassembly, trimming and acceptability (B10), and the SACK and
// D-SACK blocks it reports (RFC 2018, RFC 2883).
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
  TcpConfig c = TcpHarness::TestConfig();
  c.timestamps = true;
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

TEST(ConnectionTest, Sack_InOrderTextOverlappingHeldBytesIsDsacked) {
  // RFC 2883 4: bytes already held out of order, received again with the
  // segment that fills the hole, are reported first, then the other blocks.
  TcpConfig c = TcpHarness::TestConfig();
  c.sack = true;
  c.delayed_ack = false;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(EstablishWithSack(h, /*ts=*/false));
  using B = std::pair<uint32_t, uint32_t>;
  h.SendData(0, 100, h.Our(0));
  h.SendData(400, 100, h.Our(0));
  h.SendData(200, 100, h.Our(0));
  h.TakeSent();
  h.SendData(100, 175, h.Our(0));
  SentSegment ack = h.PopSent();
  EXPECT_EQ(ack.h.ack.value(), h.Peer(300));
  EXPECT_THAT(Blocks(ack), ElementsAre(B{h.Peer(200), h.Peer(275)},
                                       B{h.Peer(400), h.Peer(500)}));
  EXPECT_EQ(h.Read(1000), Pattern(300, 0, 0x55));
}

TEST(ConnectionTest, Sack_OnlyTheFirstDuplicatePartIsReported) {
  // A segment that repeats bytes below RCV.NXT and bytes held out of order:
  // the part below RCV.NXT is the D-SACK block (RFC 2883 4.1.1).
  TcpConfig c = TcpHarness::TestConfig();
  c.sack = true;
  c.delayed_ack = false;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(EstablishWithSack(h, /*ts=*/false));
  using B = std::pair<uint32_t, uint32_t>;
  h.SendData(0, 100, h.Our(0));
  h.SendData(200, 100, h.Our(0));
  h.TakeSent();
  h.SendData(50, 200, h.Our(0));
  SentSegment ack = h.PopSent();
  EXPECT_EQ(ack.h.ack.value(), h.Peer(300));
  EXPECT_THAT(Blocks(ack), ElementsAre(B{h.Peer(50), h.Peer(100)}));
}

// The FreeBSD and Linux flavours with a 65536-byte buffer, MSS 1460 and no
// window scaling: FreeBSD rounds the buffer up to 45 segments, 65700.
TcpConfig FlavorConfig(StackFlavor flavor) {
  TcpConfig c = TcpHarness::TestConfig();
  c.mtu = 1500;
  c.recv_buffer = 65536;
  c.flavor = flavor;
  return c;
}

TEST(ConnectionTest, B8_FreeBsdAdvertisesAllFreeSpaceLinuxInSteps) {
  for (StackFlavor flavor : {StackFlavor::kLinux, StackFlavor::kFreeBsd}) {
    SCOPED_TRACE(ToString(flavor));
    TcpHarness h(FlavorConfig(flavor));
    ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 1460}));
    h.SendData(0, 100, h.Our(0));
    h.Advance(500 * kMs);
    ASSERT_TRUE(
        h.NextSent(kAck, h.Our(0), h.Peer(100), 0, SendReason::kDelayedAck));
    if (flavor == StackFlavor::kFreeBsd) {
      EXPECT_EQ(h.conn().config().recv_buffer, 65700u);
      // 65600 free: all of it, as much as 16 bits can say.
      EXPECT_EQ(h.last().h.window, 65535);
    } else {
      // The right edge moves only by min(buffer / 2, MSS): it stays.
      EXPECT_EQ(h.last().h.window, 65535 - 100);
    }
  }
}

TEST(ConnectionTest, B8_FreeBsdWithholdsASillyWindow) {
  // Below min(buffer / 4, MSS) of free space the window stays where it was.
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 4000;
  c.flavor = StackFlavor::kFreeBsd;
  c.delayed_ack = false;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_EQ(h.conn().config().recv_buffer, 4000u);  // a multiple already
  h.SendData(0, 3500, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(3500), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, 500);
  // Reading 400 frees 900: under min(1000, 1000), no larger window.
  EXPECT_EQ(h.Read(400).size(), 400u);
  h.SendData(3500, 10, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(3510), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, 490);
  // 990 free after the next 10 bytes: still under, the edge stays.
  EXPECT_EQ(h.Read(110).size(), 110u);
  h.SendData(3510, 10, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(3520), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, 480);
  // 1000 free after the next 10: all of it.
  EXPECT_EQ(h.Read(20).size(), 20u);
  h.SendData(3520, 10, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(3530), 0, SendReason::kAck));
  EXPECT_EQ(h.last().h.window, 1000);
  EXPECT_TRUE(h.NothingSent());
}

TEST(ConnectionTest, B9_RepeatedBytesAckedAtOnceOnlyInFreeBsdFlavor) {
  // A segment that straddles RCV.NXT: FreeBSD acknowledges it at once
  // (tcp_input's trimming sets TF_ACKNOW); Linux delays the ACK as usual.
  for (StackFlavor flavor : {StackFlavor::kLinux, StackFlavor::kFreeBsd}) {
    SCOPED_TRACE(ToString(flavor));
    TcpHarness h(FlavorConfig(flavor));
    ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 1460}));
    h.SendData(0, 100, h.Our(0));
    h.Advance(500 * kMs);
    ASSERT_TRUE(
        h.NextSent(kAck, h.Our(0), h.Peer(100), 0, SendReason::kDelayedAck));
    const TimeNs t = h.now();
    h.SendData(50, 100, h.Our(0));
    if (flavor == StackFlavor::kFreeBsd) {
      ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(150), 0, SendReason::kAck));
      EXPECT_EQ(h.last().time, t);
    } else {
      EXPECT_TRUE(h.NothingSent());
      h.Advance(500 * kMs);
      ASSERT_TRUE(
          h.NextSent(kAck, h.Our(0), h.Peer(150), 0, SendReason::kDelayedAck));
      EXPECT_GT(h.last().time, t);
    }
    EXPECT_EQ(h.Read(1000), Pattern(150, 0, 0x55));
  }
}

TEST(ConnectionTest, B9_OutOfOrderFinIsAckedAtOnce) {
  // A FIN beyond a gap is out of order like any segment there (RFC 5681
  // 4.2): a duplicate ACK leaves at once, and the FIN is taken when the
  // gap fills.
  TcpHarness h;
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 1460}));
  h.SendData(10, 10, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  h.Send(kAck | kFin, h.Peer(20), h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(0), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().state(), TcpState::kEstablished);
  h.SendData(0, 10, h.Our(0));
  ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(21), 0, SendReason::kAck));
  EXPECT_EQ(h.conn().state(), TcpState::kCloseWait);
  EXPECT_EQ(h.Read(100).size(), 20u);
  EXPECT_TRUE(h.conn().eof());
}

TEST(ConnectionTest, B9_FreeBsdAcksEverySecondSegmentWhateverItsSize) {
  // FreeBSD's delayed ACK covers at most two data segments; Linux waits for
  // two full-sized segments' worth of bytes.
  for (StackFlavor flavor : {StackFlavor::kLinux, StackFlavor::kFreeBsd}) {
    SCOPED_TRACE(ToString(flavor));
    TcpHarness h(FlavorConfig(flavor));
    ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 1460}));
    h.SendData(0, 10, h.Our(0));
    EXPECT_TRUE(h.NothingSent());
    const TimeNs t = h.now();
    h.SendData(10, 10, h.Our(0));
    if (flavor == StackFlavor::kFreeBsd) {
      ASSERT_TRUE(
          h.NextSent(kAck, h.Our(0), h.Peer(20), 0, SendReason::kDelayedAck));
      EXPECT_EQ(h.last().time, t);
    } else {
      EXPECT_TRUE(h.NothingSent());
      h.Advance(500 * kMs);
      ASSERT_TRUE(
          h.NextSent(kAck, h.Our(0), h.Peer(20), 0, SendReason::kDelayedAck));
      EXPECT_GT(h.last().time, t);
    }
  }
}

TEST(ConnectionTest, B8_FreeBsdSendsWindowUpdateByItsRule) {
  // 32000 bytes wait unread in a 65700-byte buffer (64 KiB rounded to the
  // MSS); reading them lets the window grow from 33700 to 65535 without
  // scaling: by more than two segments and a quarter of the buffer, so
  // FreeBSD announces it. Linux waits: the window was above half the
  // buffer.
  for (StackFlavor flavor : {StackFlavor::kLinux, StackFlavor::kFreeBsd}) {
    SCOPED_TRACE(ToString(flavor));
    TcpConfig c = FlavorConfig(flavor);
    c.window_scaling = false;
    TcpHarness h(c);
    ASSERT_NO_FATAL_FAILURE(h.EstablishActive({.mss = 1460}));
    for (int64_t off = 0; off < 32000; off += 1000) {
      h.SendData(off, 1000, h.Our(0));
    }
    h.Advance(500 * kMs);
    h.TakeSent();
    EXPECT_EQ(h.Read(32000).size(), 32000u);
    if (flavor == StackFlavor::kFreeBsd) {
      ASSERT_TRUE(h.NextSent(kAck, h.Our(0), h.Peer(32000), 0,
                             SendReason::kWindowUpdate));
      EXPECT_EQ(h.last().h.window, 65535);
    } else {
      EXPECT_TRUE(h.NothingSent());
    }
  }
}

}  // namespace
}  // namespace tcp_test
}  // namespace tcpemu
