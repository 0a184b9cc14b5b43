// ECN between two engine endpoints over encoded IPv4 packets: a bottleneck
// of fixed rate between them sets CE (MarkCe, as a router does) on the
// ECN-capable packets that arrive while its queue holds more than a
// threshold. The sender must take one window reduction per round trip,
// tell the receiver with CWR, and retransmit nothing. A Network session
// shows ECT(0) on the data it puts on an emulated link.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "engine/sim/network.h"
#include "engine/tcp/connection.h"
#include "engine/wire/ecn.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr uint32_t kClientAddr = 0x0a000001;
constexpr uint32_t kServerAddr = 0x0a000002;

// One direction of the path: a FIFO bottleneck of `rate` bytes/s with an
// unbounded buffer, then `delay`. Packets that find more than `mark_above`
// bytes queued ahead of them are CE-marked when ECN-capable.
class Wire : public SegmentOutput {
 public:
  Wire(uint32_t src, uint32_t dst, uint64_t rate, DurationNs delay,
       uint64_t mark_above)
      : src_(src),
        dst_(dst),
        rate_(rate),
        delay_(delay),
        mark_above_(mark_above) {}

  void Transmit(TimeNs now, const TcpHeader& h,
                const Payload& payload) override {
    Send(now, h, payload, Ecn::kNotEct);
  }
  void TransmitEcn(TimeNs now, const TcpHeader& h, const Payload& payload,
                   Ecn ecn) override {
    Send(now, h, payload, ecn);
  }

  TimeNs next() const { return q_.empty() ? kNever : q_.front().arrival; }
  // Hands every packet due by `now` to `to`, as the receiving stack would:
  // parsed, with the codepoint of its IP header.
  void DeliverDue(TimeNs now, Connection& to) {
    while (!q_.empty() && q_.front().arrival <= now) {
      Packet p = std::move(q_.front().packet);
      q_.pop_front();
      absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(p);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      ASSERT_TRUE(parsed->checksum_ok);  // MarkCe kept the IP header valid
      const Ecn ecn = PacketEcn(p);
      if (parsed->payload.size() > 0) {
        ++data_packets_;
        if (ecn == Ecn::kEct0 || ecn == Ecn::kCe) ++ect_data_;
      } else if (ecn != Ecn::kNotEct) {
        ++ect_without_data_;
      }
      to.OnSegment(now, parsed->tcp, parsed->payload, ecn);
    }
  }

  uint64_t marked() const { return marked_; }
  uint64_t data_packets() const { return data_packets_; }
  uint64_t ect_data() const { return ect_data_; }
  uint64_t ect_without_data() const { return ect_without_data_; }

 private:
  struct InFlight {
    TimeNs arrival;
    Packet packet;
  };

  void Send(TimeNs now, const TcpHeader& h, const Payload& payload, Ecn ecn) {
    Ipv4Header ip;
    ip.src = src_;
    ip.dst = dst_;
    ip.tos = static_cast<uint8_t>(ecn);
    absl::StatusOr<Packet> p = BuildTcpPacket(ip, h, payload);
    ASSERT_TRUE(p.ok()) << p.status();
    const TimeNs start = std::max(now, link_free_);
    const uint64_t backlog = static_cast<uint64_t>(
        static_cast<double>(start - now) * static_cast<double>(rate_) / 1e9);
    if (backlog > mark_above_ && MarkCe(*p)) ++marked_;
    const uint64_t bytes = p->header_len + payload.size();
    link_free_ = start + static_cast<DurationNs>(static_cast<double>(bytes) *
                                                 1e9 / rate_);
    q_.push_back({link_free_ + delay_, *std::move(p)});
  }

  uint32_t src_, dst_;
  uint64_t rate_;
  DurationNs delay_;
  uint64_t mark_above_;
  TimeNs link_free_ = 0;
  std::deque<InFlight> q_;
  uint64_t marked_ = 0;
  uint64_t data_packets_ = 0;
  uint64_t ect_data_ = 0;
  uint64_t ect_without_data_ = 0;
};

// The times at which an endpoint's cwnd went down.
class CwndDrops : public EventSink {
 public:
  void OnEvent(const Event& e) override {
    if (e.kind == EventKind::kCwndChanged && e.b < e.a) times.push_back(e.time);
  }
  std::vector<TimeNs> times;
};

struct PairResult {
  ConnectionCounters client, server;
  uint64_t marked = 0;
  uint64_t data_packets = 0, ect_data = 0, ect_without_data = 0;
  std::vector<TimeNs> drops;
  uint64_t delivered = 0;
};

constexpr uint64_t kRate = 1'250'000;  // 10 Mbit/s
constexpr DurationNs kDelay = 10 * kMillisecond;
constexpr DurationNs kRtt = 2 * kDelay;

// The client sends `total` bytes to the server through the marking
// bottleneck; both ends have `client_ecn` / `server_ecn`.
PairResult RunPair(bool client_ecn, bool server_ecn, uint64_t total) {
  PairResult r;
  TcpConfig cc;
  cc.ecn = client_ecn;
  TcpConfig sc;
  sc.ecn = server_ecn;
  // Marks above 15 kB queued, about 0.6 of the 25 kB path BDP: a step
  // marker, as for DCTCP.
  Wire up(kClientAddr, kServerAddr, kRate, kDelay, 15'000);
  Wire down(kServerAddr, kClientAddr, kRate, kDelay, 15'000);
  CwndDrops drops;
  FourTuple ct{kClientAddr, 40000, kServerAddr, 5001};
  FourTuple st{kServerAddr, 5001, kClientAddr, 40000};
  Connection::Context cx;
  cx.endpoint = Endpoint::kClient;
  cx.events = &drops;
  cx.output = &up;
  Connection::Context sx;
  sx.endpoint = Endpoint::kServer;
  sx.output = &down;
  Connection client(cc, ct, Seq(1000), cx);
  Connection server(sc, st, Seq(90000), sx);
  TimeNs now = 0;
  EXPECT_TRUE(server.Listen(now).ok());
  EXPECT_TRUE(client.Connect(now).ok());
  uint64_t written = 0;
  bool closed = false;
  std::vector<uint8_t> buf(64 * 1024);
  for (int guard = 0; guard < 10'000'000; ++guard) {
    if (client.state() == TcpState::kEstablished && !closed) {
      while (written < total && client.send_buffer_free() > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(
            {total - written, buf.size(), client.send_buffer_free()}));
        absl::StatusOr<size_t> w =
            client.Write(now, absl::MakeConstSpan(buf.data(), n));
        if (!w.ok() || *w == 0) break;
        written += *w;
      }
      if (written == total) {
        EXPECT_TRUE(client.Close(now).ok());
        closed = true;
      }
    }
    while (server.readable() > 0) {
      r.delivered += server.Read(now, absl::MakeSpan(buf));
    }
    if (server.eof() || now > 60 * kSecond) break;
    const TimeNs t = std::min(
        {up.next(), down.next(), client.NextDeadline(), server.NextDeadline()});
    if (t == kNever) break;
    now = std::max(now, t);
    up.DeliverDue(now, server);
    down.DeliverDue(now, client);
    if (client.NextDeadline() <= now) client.OnTimer(now);
    if (server.NextDeadline() <= now) server.OnTimer(now);
  }
  r.client = client.counters();
  r.server = server.counters();
  r.marked = up.marked();
  r.data_packets = up.data_packets();
  r.ect_data = up.ect_data();
  r.ect_without_data = up.ect_without_data() + down.ect_without_data();
  r.drops = drops.times;
  EXPECT_EQ(client.ecn_ok(), client_ecn && server_ecn);
  EXPECT_EQ(server.ecn_ok(), client_ecn && server_ecn);
  return r;
}

TEST(EcnPairTest, CeMarksReduceOncePerRoundTripWithoutRetransmission) {
  constexpr uint64_t kTotal = 4 << 20;
  const PairResult r = RunPair(true, true, kTotal);
  EXPECT_EQ(r.delivered, kTotal);
  // Every data packet left ECT(0) (nothing was retransmitted); nothing
  // without data did.
  EXPECT_GT(r.data_packets, 0u);
  EXPECT_EQ(r.ect_data, r.data_packets);
  EXPECT_EQ(r.ect_without_data, 0u);
  // The bottleneck marked, the receiver saw and echoed the marks, the sender
  // reduced and signalled CWR for each reduction.
  EXPECT_GT(r.marked, 0u);
  EXPECT_EQ(r.server.ce_received, r.marked);
  EXPECT_GT(r.client.ece_received, r.client.ecn_reductions);
  EXPECT_GE(r.client.ecn_reductions, 3u);
  EXPECT_EQ(r.client.cwr_sent, r.client.ecn_reductions);
  // cwnd went down only for ECE, and at most once per round trip: the
  // reductions are at least a (base) RTT apart.
  ASSERT_EQ(r.drops.size(), r.client.ecn_reductions);
  for (size_t i = 1; i < r.drops.size(); ++i) {
    EXPECT_GE(r.drops[i] - r.drops[i - 1], kRtt) << "reduction " << i;
  }
  // No loss and no retransmission.
  EXPECT_EQ(r.client.retransmits_fast, 0u);
  EXPECT_EQ(r.client.retransmits_rto, 0u);
  EXPECT_EQ(r.client.bytes_retransmitted, 0u);
  EXPECT_EQ(r.client.fast_recoveries, 0u);
  EXPECT_EQ(r.client.timeouts, 0u);
}

TEST(EcnPairTest, WithoutNegotiationNothingIsMarkedOrReduced) {
  constexpr uint64_t kTotal = 1 << 20;
  for (const auto& [c, s] : {std::pair{true, false}, std::pair{false, true}}) {
    SCOPED_TRACE(testing::Message()
                 << "client_ecn=" << c << " server_ecn=" << s);
    const PairResult r = RunPair(c, s, kTotal);
    EXPECT_EQ(r.delivered, kTotal);
    EXPECT_EQ(r.ect_data, 0u);
    EXPECT_EQ(r.marked, 0u);  // not ECN-capable: the marker leaves it
    EXPECT_EQ(r.client.ecn_reductions, 0u);
    EXPECT_EQ(r.client.cwr_sent, 0u);
    EXPECT_EQ(r.server.ce_received, 0u);
  }
}

// Through Network: the codepoint the connection chose is in the IP header
// of the packets on the emulated link, and only there.
class EcnTally : public PacketObserver {
 public:
  void OnPacket(TimeNs, uint32_t, uint32_t, Endpoint e, bool outgoing,
                const Packet& p) override {
    if (!outgoing) return;
    const bool data = p.payload.size() > 0;
    const bool ect = PacketEcn(p) == Ecn::kEct0;
    Count& c = e == Endpoint::kClient ? client : server;
    if (data) {
      ++c.data;
      c.ect_data += ect ? 1 : 0;
    } else {
      c.ect_other += PacketEcn(p) != Ecn::kNotEct ? 1 : 0;
    }
  }
  struct Count {
    uint64_t data = 0, ect_data = 0, ect_other = 0;
  } client, server;
};

TEST(EcnPairTest, NetworkPutsEctOnTheLink) {
  for (bool ecn : {false, true}) {
    SCOPED_TRACE(testing::Message() << "ecn=" << ecn);
    Network net(7);
    EcnTally tally;
    net.SetPacketObserver(&tally);
    PathSpec p;
    p.delay = 5 * kMillisecond;
    p.rate_bps = 100'000'000;
    auto link = net.CreateLink(p, p);
    ASSERT_TRUE(link.ok()) << link.status();
    SessionSpec spec;
    spec.link_id = *link;
    spec.client.ecn = ecn;
    spec.server.ecn = ecn;
    auto sid = net.OpenSession(spec);
    ASSERT_TRUE(sid.ok()) << sid.status();
    ASSERT_TRUE(net.SetSource(*sid, Endpoint::kClient, 1 << 20, true).ok());
    ASSERT_TRUE(net.SetSource(*sid, Endpoint::kServer, 1 << 16, true).ok());
    EXPECT_TRUE(net.RunUntilIdle(600 * kSecond));
    EXPECT_GT(tally.client.data, 0u);
    EXPECT_GT(tally.server.data, 0u);
    EXPECT_EQ(tally.client.ect_data, ecn ? tally.client.data : 0u);
    EXPECT_EQ(tally.server.ect_data, ecn ? tally.server.data : 0u);
    EXPECT_EQ(tally.client.ect_other, 0u);
    EXPECT_EQ(tally.server.ect_other, 0u);
  }
}

}  // namespace
}  // namespace tcpemu
