// Listeners: checked specs, counters, and SYN cookies that come back.
#include "engine/sim/listeners.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

std::array<uint8_t, 16> Secret() {
  std::array<uint8_t, 16> s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 13);
  return s;
}

ParsedTcpPacket Segment(uint8_t flags, Seq seq, Seq ack) {
  ParsedTcpPacket p;
  p.ip.src = 0xc0a80001;  // the host
  p.ip.dst = 0xc0a80002;  // the interface
  p.tcp.src_port = 40000;
  p.tcp.dst_port = 80;
  p.tcp.flags = flags;
  p.tcp.seq = seq;
  p.tcp.ack = ack;
  p.checksum_ok = true;
  return p;
}

TEST(ListenersTest, BadSpecsNameTheFieldAndChangeNothing) {
  SynCookies cookies(Secret());
  Listeners l(&cookies);
  ListenSpec spec;
  absl::Status s = l.Listen(spec, 1500, 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("port 0"), absl::string_view::npos) << s;
  spec.port = 80;
  spec.backlog = 0;
  s = l.Listen(spec, 1500, 3);
  EXPECT_NE(s.message().find("backlog 0 out of range [1, 65535]"),
            absl::string_view::npos)
      << s;
  spec.backlog = 128;
  spec.reader.mode = ReaderMode::kRate;
  s = l.Listen(spec, 1500, 3);
  EXPECT_NE(s.message().find("rate_bytes_per_sec"), absl::string_view::npos)
      << s;
  EXPECT_TRUE(l.Infos().empty());
}

TEST(ListenersTest, ListenClampsTheMtuAndRefusesADuplicatePort) {
  SynCookies cookies(Secret());
  Listeners l(&cookies);
  ListenSpec spec;
  spec.port = 443;
  spec.config.mtu = 9000;
  ASSERT_TRUE(l.Listen(spec, 1500, 3).ok());
  ASSERT_NE(l.Find(443), nullptr);
  EXPECT_EQ(l.Find(443)->spec.config.mtu, 1500u);
  spec.port = 80;
  spec.config.mtu = 0;
  ASSERT_TRUE(l.Listen(spec, 1400, 3).ok());
  EXPECT_EQ(l.Find(80)->spec.config.mtu, 1400u);
  absl::Status dup = l.Listen(spec, 1400, 3);
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("interface 3"), absl::string_view::npos);
  std::vector<ListenerInfo> infos = l.Infos();
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[0].port, 80);
  EXPECT_EQ(infos[1].port, 443);
  EXPECT_TRUE(l.Unlisten(80, 3).ok());
  EXPECT_EQ(l.Unlisten(80, 3).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(l.contains(80));
}

TEST(ListenersTest, PendingCountsAgainstTheBacklog) {
  SynCookies cookies(Secret());
  Listeners l(&cookies);
  ListenSpec spec;
  spec.port = 80;
  spec.backlog = 2;
  ASSERT_TRUE(l.Listen(spec, 1500, 1).ok());
  Listener& listener = *l.Find(80);
  EXPECT_FALSE(listener.backlog_full());
  listener.info.pending = 2;
  EXPECT_TRUE(listener.backlog_full());
  l.ReleasePending(80);
  EXPECT_EQ(listener.info.pending, 1u);
  EXPECT_FALSE(listener.backlog_full());
  l.ReleasePending(80);
  l.ReleasePending(80);  // never below zero
  EXPECT_EQ(listener.info.pending, 0u);
}

TEST(ListenersTest, TheAckOfACookieRestoresTheHandshake) {
  SynCookies cookies(Secret());
  Listeners l(&cookies);
  ListenSpec spec;
  spec.port = 80;
  ASSERT_TRUE(l.Listen(spec, 1500, 7).ok());
  ParsedTcpPacket syn = Segment(tcp_flags::kSyn, Seq(1000), Seq(0));
  syn.tcp.options.mss = 1460;
  const TimeNs now = 5 * kSecond;
  CookieAnswer a = l.AnswerWithCookie(now, 7, *l.Find(80), syn);
  EXPECT_EQ(a.reply.flags, tcp_flags::kSyn | tcp_flags::kAck);
  EXPECT_EQ(a.reply.ack, Seq(1001));
  EXPECT_EQ(a.reply.src_port, 80);
  EXPECT_EQ(a.reply.dst_port, 40000);
  EXPECT_EQ(a.received.disposition, Disposition::kSynCookie);
  EXPECT_EQ(a.sent.send_reason, SendReason::kSynCookie);
  EXPECT_EQ(a.sent.link_id, 7u);
  EXPECT_EQ(l.Find(80)->info.syn_cookies_sent, 1u);

  ParsedTcpPacket ack = Segment(tcp_flags::kAck, Seq(1001), a.reply.seq + 1);
  std::optional<CookieAck> back = l.CheckCookie(now + kSecond, ack);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->iss, a.reply.seq);
  EXPECT_EQ(back->irs, Seq(1000));
  EXPECT_GT(back->mss, 0);
  EXPECT_LE(back->mss, 1460);
  // Another ack number is no cookie of ours.
  ParsedTcpPacket forged = Segment(tcp_flags::kAck, Seq(1001), a.reply.seq + 2);
  EXPECT_FALSE(l.CheckCookie(now + kSecond, forged).has_value());
}

}  // namespace
}  // namespace tcpemu
