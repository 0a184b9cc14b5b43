// Interfaces without a device: ARP, ICMP and IPv4 filtering on crafted
// frames, and whole sessions between two networks whose interfaces are
// joined back to back (each one's frames are the other's input).
#include "engine/sim/interface.h"

#include <deque>
#include <vector>

#include "engine/sim/network.h"
#include "engine/wire/arp.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/icmp.h"
#include "engine/wire/ipv4.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr MacAddress kMacA = {0x02, 0, 0, 0, 0, 0x0a};
constexpr MacAddress kMacB = {0x02, 0, 0, 0, 0, 0x0b};

uint32_t Ip(const char* text) { return *ParseIpv4(text); }

// Keeps every frame sent, whole.
class FrameLog final : public FrameSink {
 public:
  bool SendFrame(absl::Span<const uint8_t> head,
                 const Payload& payload) override {
    std::vector<uint8_t> f(head.begin(), head.end());
    payload.ForEachSpan([&](absl::Span<const uint8_t> s) {
      f.insert(f.end(), s.begin(), s.end());
    });
    frames.push_back(std::move(f));
    return !refuse;
  }
  std::deque<std::vector<uint8_t>> frames;
  bool refuse = false;
};

InterfaceSpec SpecA() {
  InterfaceSpec s;
  s.address = Ip("10.9.0.1");
  s.prefix_len = 24;
  s.mac = kMacA;
  return s;
}

InterfaceSpec SpecB() {
  InterfaceSpec s = SpecA();
  s.address = Ip("10.9.0.2");
  s.mac = kMacB;
  return s;
}

std::vector<uint8_t> EthFrame(const MacAddress& dst, const MacAddress& src,
                              uint16_t type, absl::Span<const uint8_t> body) {
  std::vector<uint8_t> f(kEthernetHeaderLen);
  EthernetHeader h;
  h.dst = dst;
  h.src = src;
  h.ether_type = type;
  EXPECT_TRUE(EncodeEthernetHeader(h, absl::MakeSpan(f)).ok());
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

TEST(InterfaceSpecTest, RejectsBadFieldsByName) {
  InterfaceSpec s = SpecA();
  s.mtu = 100;
  EXPECT_NE(ValidateInterfaceSpec(s).message().find("mtu 100 out of range"),
            std::string::npos);
  s = SpecA();
  s.prefix_len = 31;
  EXPECT_NE(ValidateInterfaceSpec(s).message().find("prefix length"),
            std::string::npos);
  s = SpecA();
  s.address = Ip("10.9.0.0");
  EXPECT_NE(ValidateInterfaceSpec(s).message().find("address"),
            std::string::npos);
  s = SpecA();
  s.mac = kBroadcastMac;
  EXPECT_NE(ValidateInterfaceSpec(s).message().find("mac"), std::string::npos);
  s = SpecA();
  s.gateway = Ip("10.8.0.1");
  EXPECT_NE(ValidateInterfaceSpec(s).message().find("gateway"),
            std::string::npos);
  EXPECT_TRUE(ValidateInterfaceSpec(SpecA()).ok());
}

TEST(InterfaceTest, AnswersArpForItsAddressOnly) {
  FrameLog log;
  Interface iface(SpecA(), &log);
  std::array<uint8_t, 64> buf{};
  ArpPacket req = MakeArpRequest(kMacB, Ip("10.9.0.2"), Ip("10.9.0.1"));
  size_t n = *EncodeArpFrame(req, absl::MakeSpan(buf));
  EXPECT_FALSE(iface.OnFrame(0, absl::MakeConstSpan(buf.data(), n)));
  ASSERT_EQ(log.frames.size(), 1u);
  absl::StatusOr<ArpPacket> reply =
      DecodeArp(absl::MakeConstSpan(log.frames[0]).subspan(kEthernetHeaderLen));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->op, ArpOp::kReply);
  EXPECT_EQ(reply->sender_mac, kMacA);
  EXPECT_EQ(reply->target_mac, kMacB);
  EXPECT_EQ(iface.counters().arp_requests_answered, 1u);

  // Someone else's address: no answer.
  req = MakeArpRequest(kMacB, Ip("10.9.0.2"), Ip("10.9.0.7"));
  n = *EncodeArpFrame(req, absl::MakeSpan(buf));
  EXPECT_FALSE(iface.OnFrame(0, absl::MakeConstSpan(buf.data(), n)));
  EXPECT_EQ(log.frames.size(), 1u);
  EXPECT_EQ(iface.counters().dropped_not_for_us, 1u);
}

std::vector<uint8_t> Ipv4Body(uint32_t src, uint32_t dst, uint8_t proto,
                              size_t payload, uint16_t frag = 0x4000) {
  std::vector<uint8_t> b(20 + payload, 0);
  Ipv4Header h;
  h.src = src;
  h.dst = dst;
  h.protocol = proto;
  h.total_length = static_cast<uint16_t>(b.size());
  EXPECT_TRUE(EncodeIpv4Header(h, absl::MakeSpan(b)).ok());
  if (frag != 0x4000) {
    // Rewrite flags/offset and fix the header checksum.
    wire_internal::Put16(b.data() + 6, frag);
    wire_internal::Put16(b.data() + 10, 0);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += wire_internal::Get16(b.data() + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    wire_internal::Put16(b.data() + 10, static_cast<uint16_t>(~sum));
  }
  return b;
}

TEST(InterfaceTest, AnswersPingAndCountsWhatItDrops) {
  FrameLog log;
  Interface iface(SpecA(), &log);
  // ICMP echo request.
  std::vector<uint8_t> icmp(8 + 4, 0);
  IcmpEcho echo;
  echo.id = 7;
  echo.seq = 1;
  std::array<uint8_t, 4> data = {1, 2, 3, 4};
  echo.payload = data;
  ASSERT_TRUE(EncodeIcmpEcho(echo, absl::MakeSpan(icmp)).ok());
  std::vector<uint8_t> ip =
      Ipv4Body(Ip("10.9.0.2"), Ip("10.9.0.1"), kIpProtoIcmp, icmp.size());
  std::copy(icmp.begin(), icmp.end(), ip.begin() + 20);
  EXPECT_FALSE(iface.OnFrame(0, EthFrame(kMacA, kMacB, kEtherTypeIpv4, ip)));
  ASSERT_EQ(log.frames.size(), 1u);
  absl::StatusOr<ParsedIcmpEcho> reply = ParseIcmpEchoPacket(
      absl::MakeConstSpan(log.frames[0]).subspan(kEthernetHeaderLen));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->echo.type, kIcmpTypeEchoReply);
  EXPECT_EQ(reply->ip.dst, Ip("10.9.0.2"));
  EXPECT_EQ(iface.counters().icmp_echo_answered, 1u);

  // A fragment, a packet for another host, UDP, a frame for another MAC,
  // one over the MTU and a truncated one.
  iface.OnFrame(0, EthFrame(kMacA, kMacB, kEtherTypeIpv4,
                            Ipv4Body(Ip("10.9.0.2"), Ip("10.9.0.1"),
                                     kIpProtoTcp, 40, 0x2000)));
  iface.OnFrame(
      0, EthFrame(kMacA, kMacB, kEtherTypeIpv4,
                  Ipv4Body(Ip("10.9.0.2"), Ip("10.9.0.9"), kIpProtoTcp, 40)));
  iface.OnFrame(0, EthFrame(kMacA, kMacB, kEtherTypeIpv4,
                            Ipv4Body(Ip("10.9.0.2"), Ip("10.9.0.1"), 17, 8)));
  iface.OnFrame(
      0, EthFrame(kMacB, kMacB, kEtherTypeIpv4,
                  Ipv4Body(Ip("10.9.0.2"), Ip("10.9.0.1"), kIpProtoTcp, 40)));
  iface.OnFrame(
      0, EthFrame(kMacA, kMacB, kEtherTypeIpv4,
                  Ipv4Body(Ip("10.9.0.2"), Ip("10.9.0.1"), kIpProtoTcp, 1500)));
  std::vector<uint8_t> cut =
      Ipv4Body(Ip("10.9.0.2"), Ip("10.9.0.1"), kIpProtoTcp, 40);
  cut.resize(30);
  iface.OnFrame(0, EthFrame(kMacA, kMacB, kEtherTypeIpv4, cut));
  const InterfaceCounters& c = iface.counters();
  EXPECT_EQ(c.dropped_fragment, 1u);
  EXPECT_EQ(c.dropped_not_for_us, 2u);
  EXPECT_EQ(c.dropped_unsupported, 1u);
  EXPECT_EQ(c.dropped_too_big, 1u);
  EXPECT_EQ(c.dropped_malformed, 1u);
  EXPECT_EQ(log.frames.size(), 1u);
}

// Two networks, each with one interface, wired to each other. Frames cross
// in the order they were sent, at the next step of the shared clock.
class BackToBack : public ::testing::Test {
 protected:
  BackToBack() : a_(1), b_(2) {
    a_id_ = *a_.CreateInterface(SpecA(), PathSpec(), PathSpec(), &a_out_);
    b_id_ = *b_.CreateInterface(SpecB(), PathSpec(), PathSpec(), &b_out_);
  }

  // Runs both networks to `limit` in steps of `step`.
  void Run(TimeNs limit, DurationNs step = 100 * kMicrosecond) {
    for (TimeNs t = a_.now(); t <= limit; t += step) {
      a_.RunUntil(t);
      b_.RunUntil(t);
      bool moved = true;
      while (moved) {
        moved = false;
        while (!a_out_.frames.empty()) {
          std::vector<uint8_t> f = std::move(a_out_.frames.front());
          a_out_.frames.pop_front();
          ASSERT_TRUE(b_.OnFrame(b_id_, f).ok());
          b_.RunUntil(t);
          moved = true;
        }
        while (!b_out_.frames.empty()) {
          std::vector<uint8_t> f = std::move(b_out_.frames.front());
          b_out_.frames.pop_front();
          ASSERT_TRUE(a_.OnFrame(a_id_, f).ok());
          moved = true;
        }
        a_.RunUntil(t);
        b_.RunUntil(t);
      }
    }
  }

  Network a_, b_;
  FrameLog a_out_, b_out_;
  uint32_t a_id_ = 0, b_id_ = 0;
};

TEST_F(BackToBack, ActiveOpenToListenerMovesBytesIntact) {
  ListenSpec ls;
  ls.port = 8000;
  ASSERT_TRUE(b_.Listen(b_id_, ls).ok());
  SessionSpec spec;
  spec.link_id = a_id_;
  spec.remote = RemoteSpec{Ip("10.9.0.2"), 8000};
  absl::StatusOr<uint32_t> sid = a_.OpenSession(spec);
  ASSERT_TRUE(sid.ok()) << sid.status();
  ASSERT_TRUE(a_.SetSource(*sid, Endpoint::kClient, 3 << 20, true).ok());
  Run(5 * kSecond);

  absl::StatusOr<SessionInfo> ai = a_.GetSession(*sid);
  ASSERT_TRUE(ai.ok());
  EXPECT_TRUE(ai->remote);
  EXPECT_EQ(ai->local, Endpoint::kClient);
  EXPECT_EQ(ai->client.bytes_written, 3u << 20);
  EXPECT_EQ(ai->client.error, ErrorCode::kNone);
  // The accepted session is B's first.
  std::vector<ListenerInfo> li = b_.listeners(b_id_);
  ASSERT_EQ(li.size(), 1u);
  EXPECT_EQ(li[0].accepted, 1u);
  EXPECT_EQ(li[0].pending, 0u);
  absl::StatusOr<SessionInfo> bi = b_.GetSession(1);
  ASSERT_TRUE(bi.ok()) << bi.status();
  EXPECT_TRUE(bi->accepted);
  EXPECT_EQ(bi->local, Endpoint::kServer);
  EXPECT_EQ(bi->remote_addr, Ip("10.9.0.1"));
  EXPECT_EQ(bi->remote_port, ai->client_port);
  EXPECT_EQ(bi->server.bytes_read, 3u << 20);
  EXPECT_EQ(bi->server.read_digest, ai->client.write_digest);
  // Both sides closed: B at once, A after TIME_WAIT (its FIN went first).
  EXPECT_TRUE(bi->destroyed);
  EXPECT_EQ(ai->client.final_state, TcpState::kTimeWait);
  Run(70 * kSecond, 10 * kMillisecond);
  EXPECT_TRUE(a_.GetSession(*sid)->destroyed);
  EXPECT_EQ(a_.live_session_count(), 0u);
  EXPECT_EQ(a_.interface(a_id_)->counters().arp_requests_sent, 1u);
}

// A receive batch: B owes an ACK for every second full-sized segment, but
// sends one per batch, covering all of it; the data is the same.
TEST_F(BackToBack, ReceiveBatchesCoalesceEverySecondSegmentAcks) {
  uint64_t acks[2];
  for (bool batch : {false, true}) {
    Network a(1), b(2);
    FrameLog a_out, b_out;
    uint32_t ai = *a.CreateInterface(SpecA(), PathSpec(), PathSpec(), &a_out);
    uint32_t bi = *b.CreateInterface(SpecB(), PathSpec(), PathSpec(), &b_out);
    ListenSpec ls;
    ls.port = 8000;
    ASSERT_TRUE(b.Listen(bi, ls).ok());
    SessionSpec spec;
    spec.link_id = ai;
    spec.remote = RemoteSpec{Ip("10.9.0.2"), 8000};
    uint32_t sid = *a.OpenSession(spec);
    ASSERT_TRUE(a.SetSource(sid, Endpoint::kClient, 4 << 20, true).ok());
    for (TimeNs t = 0; t <= 5 * kSecond; t += 100 * kMicrosecond) {
      a.RunUntil(t);
      b.RunUntil(t);
      if (batch) b.BeginReceiveBatch();
      while (!a_out.frames.empty()) {
        ASSERT_TRUE(b.OnFrame(bi, a_out.frames.front()).ok());
        a_out.frames.pop_front();
        b.RunUntil(t);
      }
      if (batch) b.EndReceiveBatch();
      b.RunUntil(t);
      while (!b_out.frames.empty()) {
        ASSERT_TRUE(a.OnFrame(ai, b_out.frames.front()).ok());
        b_out.frames.pop_front();
      }
    }
    absl::StatusOr<SessionInfo> got = b.GetSession(1);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->server.bytes_read, 4u << 20) << "batch " << batch;
    EXPECT_EQ(got->server.read_digest, a.GetSession(sid)->client.write_digest);
    acks[batch] = got->server.counters.pure_acks_sent;
  }
  EXPECT_GT(acks[0], 1000u);
  EXPECT_LT(acks[1] * 4, acks[0]) << acks[0] << " vs " << acks[1];
}

TEST_F(BackToBack, LossOnTheEgressIsRepaired) {
  PathSpec lossy;
  lossy.loss.model = LossSpec::Model::kRandom;
  lossy.loss.p = 0.05;
  ASSERT_TRUE(a_.UpdateLink(a_id_, lossy, lossy).ok());
  ListenSpec ls;
  ls.port = 8000;
  ASSERT_TRUE(b_.Listen(b_id_, ls).ok());
  SessionSpec spec;
  spec.link_id = a_id_;
  spec.remote = RemoteSpec{Ip("10.9.0.2"), 8000};
  absl::StatusOr<uint32_t> sid = a_.OpenSession(spec);
  ASSERT_TRUE(sid.ok());
  ASSERT_TRUE(a_.SetSource(*sid, Endpoint::kClient, 1 << 20, true).ok());
  Run(60 * kSecond, kMillisecond);
  absl::StatusOr<SessionInfo> ai = a_.GetSession(*sid);
  absl::StatusOr<SessionInfo> bi = b_.GetSession(1);
  ASSERT_TRUE(ai.ok() && bi.ok());
  EXPECT_EQ(bi->server.bytes_read, 1u << 20);
  EXPECT_EQ(bi->server.read_digest, ai->client.write_digest);
  EXPECT_GT(ai->client.counters.bytes_retransmitted, 0u);
  EXPECT_GT(a_.path(a_id_, Direction::kForward)->counters().dropped_loss, 0u);
}

TEST_F(BackToBack, ClosedPortRefusesAndBacklogBounds) {
  SessionSpec spec;
  spec.link_id = a_id_;
  spec.remote = RemoteSpec{Ip("10.9.0.2"), 9};
  absl::StatusOr<uint32_t> sid = a_.OpenSession(spec);
  ASSERT_TRUE(sid.ok());
  Run(kSecond);
  absl::StatusOr<SessionInfo> ai = a_.GetSession(*sid);
  ASSERT_TRUE(ai.ok());
  EXPECT_EQ(ai->client.error, ErrorCode::kRefused);
  EXPECT_EQ(b_.interface(b_id_)->counters().rst_no_connection, 1u);

  // A listener with backlog 1 whose SYN-ACKs never arrive: the second SYN
  // is answered with a SYN cookie (lost too) and holds no state.
  ListenSpec ls;
  ls.port = 8001;
  ls.backlog = 1;
  ASSERT_TRUE(b_.Listen(b_id_, ls).ok());
  PathSpec blackhole;
  blackhole.loss.model = LossSpec::Model::kRandom;
  blackhole.loss.p = 1.0;
  ASSERT_TRUE(b_.UpdateLink(b_id_, blackhole, PathSpec()).ok());
  for (int i = 0; i < 2; ++i) {
    spec.remote = RemoteSpec{Ip("10.9.0.2"), 8001};
    ASSERT_TRUE(a_.OpenSession(spec).ok());
  }
  Run(a_.now() + 500 * kMillisecond);
  std::vector<ListenerInfo> li = b_.listeners(b_id_);
  ASSERT_EQ(li.size(), 1u);
  EXPECT_EQ(li[0].accepted, 1u);
  EXPECT_EQ(li[0].pending, 1u);
  EXPECT_GE(li[0].syn_cookies_sent, 1u);
  EXPECT_EQ(li[0].syn_cookies_accepted, 0u);
  EXPECT_EQ(li[0].syn_dropped_backlog, 0u);
  EXPECT_EQ(b_.live_session_count(), 1u);
}

// A full backlog does not lock clients out: the SYN over it gets a SYN
// cookie, and the ACK that returns it makes an ESTABLISHED session that
// carries data like any other (without window scaling, which a cookie
// cannot remember).
TEST_F(BackToBack, SynCookieConnectsPastAFullBacklog) {
  ListenSpec ls;
  ls.port = 8002;
  ls.backlog = 1;
  ASSERT_TRUE(b_.Listen(b_id_, ls).ok());
  PathSpec blackhole;
  blackhole.loss.model = LossSpec::Model::kRandom;
  blackhole.loss.p = 1.0;
  ASSERT_TRUE(b_.UpdateLink(b_id_, blackhole, PathSpec()).ok());
  SessionSpec spec;
  spec.link_id = a_id_;
  spec.remote = RemoteSpec{Ip("10.9.0.2"), 8002};
  ASSERT_TRUE(a_.OpenSession(spec).ok());
  Run(100 * kMillisecond);
  ASSERT_EQ(b_.listeners(b_id_)[0].pending, 1u);

  // The path heals; the next client arrives before the first SYN-ACK is
  // sent again.
  ASSERT_TRUE(b_.UpdateLink(b_id_, PathSpec(), PathSpec()).ok());
  absl::StatusOr<uint32_t> sid = a_.OpenSession(spec);
  ASSERT_TRUE(sid.ok());
  ASSERT_TRUE(a_.SetSource(*sid, Endpoint::kClient, 1 << 20, true).ok());
  Run(a_.now() + 600 * kMillisecond);

  std::vector<ListenerInfo> li = b_.listeners(b_id_);
  ASSERT_EQ(li.size(), 1u);
  EXPECT_EQ(li[0].syn_cookies_sent, 1u);
  EXPECT_EQ(li[0].syn_cookies_accepted, 1u);
  EXPECT_EQ(li[0].accepted, 2u);
  EXPECT_EQ(b_.interface(b_id_)->counters().syn_cookies_accepted, 1u);
  absl::StatusOr<SessionInfo> ai = a_.GetSession(*sid);
  ASSERT_TRUE(ai.ok());
  EXPECT_EQ(ai->client.error, ErrorCode::kNone);
  EXPECT_EQ(ai->client.bytes_written, 1u << 20);
  absl::StatusOr<SessionInfo> bi = b_.GetSession(2);
  ASSERT_TRUE(bi.ok()) << bi.status();
  EXPECT_TRUE(bi->accepted);
  EXPECT_EQ(bi->remote_port, ai->client_port);
  EXPECT_EQ(bi->server.bytes_read, 1u << 20);
  EXPECT_EQ(bi->server.read_digest, ai->client.write_digest);
}

TEST_F(BackToBack, RemoteSessionArgumentsAreChecked) {
  SessionSpec spec;
  spec.link_id = a_id_;
  EXPECT_NE(a_.OpenSession(spec).status().message().find("is an interface"),
            std::string::npos);
  spec.remote = RemoteSpec{Ip("192.168.1.1"), 80};
  EXPECT_NE(a_.OpenSession(spec).status().message().find("not reachable"),
            std::string::npos);
  spec.remote = RemoteSpec{Ip("10.9.0.2"), 0};
  EXPECT_NE(a_.OpenSession(spec).status().message().find("remote.port"),
            std::string::npos);
  ListenSpec ls;
  ls.port = 80;
  ASSERT_TRUE(a_.Listen(a_id_, ls).ok());
  EXPECT_EQ(a_.Listen(a_id_, ls).code(), absl::StatusCode::kAlreadyExists);
  ls.port = 81;
  ls.backlog = 0;
  EXPECT_NE(a_.Listen(a_id_, ls).message().find("backlog 0"),
            std::string::npos);
  EXPECT_TRUE(a_.Unlisten(a_id_, 80).ok());
  EXPECT_EQ(a_.Unlisten(a_id_, 80).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(a_.DeleteInterface(a_id_).ok());
  EXPECT_EQ(a_.interface(a_id_), nullptr);
}

}  // namespace
}  // namespace tcpemu
