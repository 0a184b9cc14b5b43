// Regression tests for inputs the fuzz targets in tests/fuzz found in
// Connection; each names its target and the seed kept in tests/fuzz/corpus.
#include <cstdint>
#include <vector>

#include "engine/tcp/connection.h"
#include "gtest/gtest.h"
#include "tests/engine/tcp/tcp_harness.h"

namespace tcpemu {
namespace tcp_test {
namespace {

// Delivers everything `from` has sent to `to`; returns how many segments.
size_t DeliverAll(TcpHarness& from, TcpHarness& to) {
  std::vector<SentSegment> segs = from.TakeSent();
  for (const SentSegment& s : segs) to.Deliver(s);
  return segs.size();
}

// fuzz_pair, corpus/pair/regress-ack-war-one-byte-windows. Two endpoints with
// 1-byte receive buffers close at once; the client's FIN is lost, and the
// server's FIN arrives while the client's window is closed, so each side has
// a FIN outstanding that the other has not accepted. Each then sends its
// pure ACKs at SND.NXT, one past the other's RCV.NXT, which a 1-byte window
// does not accept (RFC 9293 3.10.7.4); each answers the other's ACK with an
// ACK, and the two ping-pong without end at one instant, until a
// retransmission timer fires (never, on a zero-delay path, since time does
// not move while segments are in flight). An endpoint must not answer an
// out-of-window segment with an ACK at an unbounded rate (Linux limits
// these duplicate ACKs per connection, tcp_invalid_ratelimit; compare the
// challenge ACK limit of RFC 5961 7).
// TcpConfig.invalid_ack_interval bounds them: the exchange ends at once.
TEST(ConnectionFuzzRegressionTest, OutOfWindowAcksDoNotPingPongForever) {
  TcpConfig c = TcpHarness::TestConfig();
  c.recv_buffer = 1;
  FourTuple ta = TcpHarness::DefaultTuple();
  FourTuple tb{ta.remote_addr, ta.remote_port, ta.local_addr, ta.local_port};
  TcpHarness a(c, 1000, 50000, ta);  // client
  TcpHarness b(c, 50000, 1000, tb);  // server
  ASSERT_TRUE(b.conn().Listen(0).ok());
  ASSERT_TRUE(a.conn().Connect(0).ok());
  DeliverAll(a, b);  // SYN
  DeliverAll(b, a);  // SYN-ACK
  DeliverAll(a, b);  // ACK
  ASSERT_EQ(a.conn().state(), TcpState::kEstablished);
  ASSERT_EQ(b.conn().state(), TcpState::kEstablished);

  // The server writes one byte; both close; the client's FIN is lost.
  ASSERT_TRUE(b.Write(1).ok());
  ASSERT_TRUE(a.conn().Close(a.now()).ok());
  a.TakeSent();  // the client's FIN, lost
  ASSERT_TRUE(b.conn().Close(b.now()).ok());
  // The byte fills the client's window; the server's FIN meets it closed.
  DeliverAll(b, a);
  ASSERT_EQ(a.Read(1).size(), 1u);  // a window update follows

  size_t exchanged = 0;
  while (exchanged < 10000) {
    size_t n = DeliverAll(a, b) + DeliverAll(b, a);
    if (n == 0) break;
    exchanged += n;
  }
  EXPECT_LT(exchanged, 100u)
      << "segments exchanged at one instant by two endpoints with nothing "
         "to deliver";
}

// fuzz_pair, pending/pair/regress-send-beyond-window-after-reorder. A pure
// ACK that overtook the peer's data (its sequence number ahead of RCV.NXT,
// still in the window) sets SND.WL1 ahead; the data segment behind it,
// acknowledging more with a smaller window for the same right edge, then
// fails the window-update test (SND.WL1 > SEG.SEQ, RFC 9293 3.10.7.4) and
// only moves SND.UNA. SND.WND, which was relative to the older
// acknowledgment, now reaches past the edge the peer advertised, and new
// data goes beyond it.
// The engine keeps the right edge the peer advertised (SND.WL2 + SND.WND)
// when it does not take a window update.
TEST(ConnectionFuzzRegressionTest, NoDataBeyondTheRightEdgeAfterAReorderedAck) {
  TcpConfig c = TcpHarness::TestConfig();
  c.nodelay = true;
  TcpHarness h(c);
  ASSERT_NO_FATAL_FAILURE(h.EstablishActive());
  ASSERT_TRUE(h.Write(3000).ok());
  h.TakeSent();  // bytes 0-3000
  // The peer's pure ACK, sent after 100 bytes of its data that are still on
  // the way: right edge at our byte 1000 + 2000 = 3000.
  h.Send(kAck, h.Peer(100), h.Our(1000), /*window=*/2000);
  // Then the data itself: right edge 2000 + 1000 = 3000, unchanged.
  h.SendData(0, 100, h.Our(2000), /*window=*/1000);
  h.TakeSent();  // our ACK
  ASSERT_TRUE(h.Write(2000, 3000).ok());
  for (const SentSegment& s : h.TakeSent()) {
    EXPECT_LE(s.h.seq.value() + s.len(), h.Our(3000))
        << s << " goes past the right edge the peer advertised";
  }
}

}  // namespace
}  // namespace tcp_test
}  // namespace tcpemu
