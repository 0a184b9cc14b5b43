// Tests for ICMPv4 echo (RFC 792): a golden echo request and its reply laid
// out by hand (checksums per RFC 1071), each rejection with its reason, and a
// random-input property test of the decoder and MakeEchoReply.
#include "engine/wire/icmp.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/wire/checksum.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

// 10.0.0.1 pings 10.0.0.2: id 0x1234, sequence 1, data "abcd".
const std::vector<uint8_t> kGoldenRequest = {
    // IPv4 (RFC 791)
    0x45, 0x00, 0x00, 0x20,  // version 4, IHL 5, TOS 0, total length 32
    0x1c, 0x46, 0x40, 0x00,  // id 0x1c46, DF
    0x40, 0x01, 0x0a, 0x95,  // TTL 64, protocol ICMP, header checksum
    0x0a, 0x00, 0x00, 0x01,  // source 10.0.0.1
    0x0a, 0x00, 0x00, 0x02,  // destination 10.0.0.2
    // ICMP echo (RFC 792)
    0x08, 0x00, 0x21, 0x04,  // type 8 (echo), code 0, checksum
    0x12, 0x34, 0x00, 0x01,  // identifier, sequence number
    'a', 'b', 'c', 'd',      // data
};

// The reply MakeEchoReply must build for it.
const std::vector<uint8_t> kGoldenReply = {
    0x45, 0x00, 0x00, 0x20,  // same length
    0x00, 0x00, 0x40, 0x00,  // id 0, DF: an atomic datagram
    0x40, 0x01, 0x26, 0xdb,  // TTL 64, ICMP, header checksum
    0x0a, 0x00, 0x00, 0x02,  // source: the pinged host
    0x0a, 0x00, 0x00, 0x01,  // destination: the pinger
    0x00, 0x00, 0x29, 0x04,  // type 0 (echo reply), code 0, checksum
    0x12, 0x34, 0x00, 0x01,  // same identifier and sequence number
    'a',  'b',  'c',  'd',   // same data
};

// Rewrites the IPv4 header checksum after a test edits the header.
void FixIpChecksum(std::vector<uint8_t>& b) {
  const size_t ihl = static_cast<size_t>(b[0] & 0x0f) * 4;
  b[10] = b[11] = 0;
  const uint16_t c = InternetChecksum({b.data(), ihl});
  b[10] = static_cast<uint8_t>(c >> 8);
  b[11] = static_cast<uint8_t>(c);
}

// Rewrites the ICMP checksum of the message starting at `at`.
void FixIcmpChecksum(std::vector<uint8_t>& b, size_t at = 20) {
  b[at + 2] = b[at + 3] = 0;
  const uint16_t c = InternetChecksum({b.data() + at, b.size() - at});
  b[at + 2] = static_cast<uint8_t>(c >> 8);
  b[at + 3] = static_cast<uint8_t>(c);
}

std::string Text(absl::Span<const uint8_t> s) {
  return std::string(s.begin(), s.end());
}

TEST(IcmpTest, GoldenChecksumsAreValid) {
  EXPECT_EQ(InternetChecksum({kGoldenRequest.data(), 20}), 0);
  EXPECT_EQ(InternetChecksum(absl::MakeConstSpan(kGoldenRequest).subspan(20)),
            0);
  EXPECT_EQ(InternetChecksum({kGoldenReply.data(), 20}), 0);
  EXPECT_EQ(InternetChecksum(absl::MakeConstSpan(kGoldenReply).subspan(20)), 0);
}

TEST(IcmpTest, GoldenRequestDecodes) {
  auto p = ParseIcmpEchoPacket(kGoldenRequest);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->ip.src, 0x0a000001u);
  EXPECT_EQ(p->ip.dst, 0x0a000002u);
  EXPECT_EQ(p->ip.protocol, kIpProtoIcmp);
  EXPECT_EQ(p->echo.type, kIcmpTypeEchoRequest);
  EXPECT_EQ(p->echo.code, 0);
  EXPECT_EQ(p->echo.checksum, 0x2104);
  EXPECT_EQ(p->echo.id, 0x1234);
  EXPECT_EQ(p->echo.seq, 1);
  EXPECT_EQ(Text(p->echo.payload), "abcd");
  // The payload is a view into the input, not a copy.
  EXPECT_EQ(p->echo.payload.data(), kGoldenRequest.data() + 28);
}

TEST(IcmpTest, GoldenReplyBuilt) {
  auto reply = MakeEchoReply(kGoldenRequest);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, kGoldenReply);

  auto p = ParseIcmpEchoPacket(*reply);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->echo.type, kIcmpTypeEchoReply);
  EXPECT_EQ(p->echo.id, 0x1234);
  EXPECT_EQ(p->echo.seq, 1);
  // A reply is not answered.
  auto again = MakeEchoReply(*reply);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(),
              HasSubstr("icmp type 0 is not an echo request"));
}

TEST(IcmpTest, ReplyTtlAndTos) {
  std::vector<uint8_t> req = kGoldenRequest;
  req[1] = 0xb8;  // DSCP EF
  FixIpChecksum(req);
  auto reply = MakeEchoReply(req, 255);
  ASSERT_TRUE(reply.ok()) << reply.status();
  auto ip = DecodeIpv4Header(*reply);
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ(ip->ttl, 255);
  EXPECT_EQ(ip->tos, 0xb8);
}

TEST(IcmpTest, RequestWithOptionsAndPadding) {
  // IHL 6 (one word of NOP options) and 6 bytes of link-layer padding past
  // total_length.
  std::vector<uint8_t> req(kGoldenRequest.begin(), kGoldenRequest.begin() + 20);
  req[0] = 0x46;
  req[3] = 36;
  req.insert(req.end(), {0x01, 0x01, 0x01, 0x00});
  req.insert(req.end(), kGoldenRequest.begin() + 20, kGoldenRequest.end());
  FixIpChecksum(req);
  req.insert(req.end(), 6, 0x00);

  auto p = ParseIcmpEchoPacket(req);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->ip.header_length, 24);
  EXPECT_EQ(Text(p->echo.payload), "abcd");

  // The reply drops the options: it is exactly the golden reply.
  auto reply = MakeEchoReply(req);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, kGoldenReply);
}

TEST(IcmpTest, EncodeRoundTripOddLength) {
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6, 7};
  IcmpEcho e;
  e.type = kIcmpTypeEchoRequest;
  e.id = 0xfffe;
  e.seq = 0x8001;
  e.payload = data;
  std::vector<uint8_t> out(e.size() + 3, 0xee);
  auto n = EncodeIcmpEcho(e, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 15u);
  EXPECT_EQ(out[15], 0xee);
  out.resize(*n);
  auto d = DecodeIcmpEcho(out);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->id, 0xfffe);
  EXPECT_EQ(d->seq, 0x8001);
  EXPECT_EQ(std::vector<uint8_t>(d->payload.begin(), d->payload.end()), data);
}

TEST(IcmpTest, EncodeRejects) {
  IcmpEcho e;
  std::vector<uint8_t> small(7);
  auto n = EncodeIcmpEcho(e, absl::MakeSpan(small));
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("too small"));
  e.type = 3;
  std::vector<uint8_t> out(8);
  n = EncodeIcmpEcho(e, absl::MakeSpan(out));
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("icmp type 3"));
}

TEST(IcmpTest, RejectsBadChecksum) {
  for (size_t i = 20; i < kGoldenRequest.size(); ++i) {
    std::vector<uint8_t> b = kGoldenRequest;
    b[i] ^= 0x10;
    auto p = ParseIcmpEchoPacket(b);
    ASSERT_FALSE(p.ok()) << i;
    EXPECT_THAT(p.status().message(), HasSubstr("icmp checksum"));
  }
}

TEST(IcmpTest, RejectsTruncated) {
  for (size_t n = 0; n < kIcmpEchoHeaderLen; ++n) {
    auto d = DecodeIcmpEcho(absl::MakeConstSpan(kGoldenRequest).subspan(20, n));
    ASSERT_FALSE(d.ok()) << n;
    EXPECT_THAT(d.status().message(),
                HasSubstr("icmp echo truncated: " + std::to_string(n)));
  }
  // An IPv4 packet whose total length leaves 4 ICMP bytes.
  std::vector<uint8_t> b = kGoldenRequest;
  b[3] = 24;
  FixIpChecksum(b);
  auto p = ParseIcmpEchoPacket(b);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("icmp echo truncated: 4"));
}

TEST(IcmpTest, RejectsOtherTypesAndCodes) {
  std::vector<uint8_t> b = kGoldenRequest;
  b[20] = 3;  // destination unreachable
  FixIcmpChecksum(b);
  auto p = ParseIcmpEchoPacket(b);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(),
              HasSubstr("icmp type 3 is neither echo request"));

  b = kGoldenRequest;
  b[21] = 1;
  FixIcmpChecksum(b);
  p = ParseIcmpEchoPacket(b);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("icmp echo code 1 is not 0"));
}

TEST(IcmpTest, RejectsNonIcmpAndBadIpv4) {
  std::vector<uint8_t> b = kGoldenRequest;
  b[9] = 17;  // UDP
  FixIpChecksum(b);
  auto p = ParseIcmpEchoPacket(b);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("ipv4 protocol 17 is not icmp"));
  EXPECT_FALSE(MakeEchoReply(b).ok());

  b = kGoldenRequest;
  b[0] = 0x65;
  p = ParseIcmpEchoPacket(b);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("ipv4 version 6"));

  b = kGoldenRequest;
  b[12] ^= 1;  // source address: the IPv4 checksum no longer matches
  auto r = MakeEchoReply(b);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("ipv4 header checksum"));
}

// Random and mutated packets never crash the parser or MakeEchoReply; every
// reply built is a valid echo reply mirroring its request.
TEST(IcmpTest, RandomInputProperty) {
  std::mt19937_64 rng(0x1c3b);
  int replies = 0;
  for (int i = 0; i < 100000; ++i) {
    std::vector<uint8_t> b;
    if (i % 2 == 0) {
      b.resize(rng() % 80);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
    } else {
      // A plausible IPv4 + ICMP packet with a random ICMP part, and now and
      // then a random byte flipped after the checksums were fixed.
      b.resize(20 + rng() % 60);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      b[0] = 0x45;
      b[2] = 0;
      b[3] = static_cast<uint8_t>(b.size() - rng() % 4);
      b[6] &= 0x40;
      b[7] = 0;
      b[9] = kIpProtoIcmp;
      if (b.size() > 20 && rng() % 2 == 0) b[20] = rng() % 2 == 0 ? 8 : 0;
      if (b.size() > 21) b[21] = rng() % 4 == 0 ? 1 : 0;
      FixIpChecksum(b);
      const size_t end = std::max<size_t>(b[3], 20);
      if (end > 20) {
        std::vector<uint8_t> icmp(b.begin() + 20, b.begin() + end);
        if (icmp.size() >= 4) FixIcmpChecksum(icmp, 0);
        std::copy(icmp.begin(), icmp.end(), b.begin() + 20);
      }
      if (rng() % 8 == 0) b[rng() % b.size()] ^= static_cast<uint8_t>(rng());
    }
    auto p = ParseIcmpEchoPacket(b);
    auto r = MakeEchoReply(b);
    if (!p.ok()) {
      EXPECT_FALSE(r.ok());
      continue;
    }
    EXPECT_LE(p->ip.header_length + p->echo.size(), b.size());
    if (!r.ok()) {
      EXPECT_EQ(p->echo.type, kIcmpTypeEchoReply);
      continue;
    }
    ++replies;
    auto q = ParseIcmpEchoPacket(*r);
    ASSERT_TRUE(q.ok()) << q.status();
    EXPECT_EQ(q->echo.type, kIcmpTypeEchoReply);
    EXPECT_EQ(q->ip.src, p->ip.dst);
    EXPECT_EQ(q->ip.dst, p->ip.src);
    EXPECT_EQ(q->echo.id, p->echo.id);
    EXPECT_EQ(q->echo.seq, p->echo.seq);
    EXPECT_EQ(Text(q->echo.payload), Text(p->echo.payload));
  }
  EXPECT_GT(replies, 1000);
}

}  // namespace
}  // namespace tcpemu
