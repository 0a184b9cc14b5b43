// Tests for the IPv4 header codec (RFC 791): round trip, header checksum,
// each validation with its message, and address text conversion.
#include "engine/wire/ipv4.h"

#include <array>
#include <cstdint>
#include <vector>

#include "engine/wire/checksum.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

Ipv4Header Sample() {
  Ipv4Header h;
  h.src = 0x0a000001;
  h.dst = 0xc0a80102;
  h.ttl = 17;
  h.tos = 0x10;
  h.total_length = 1500;
  h.id = 0xbeef;
  h.dont_fragment = true;
  return h;
}

std::vector<uint8_t> Encoded(const Ipv4Header& h, size_t extra = 0) {
  std::vector<uint8_t> out(20 + extra);
  auto n = EncodeIpv4Header(h, absl::MakeSpan(out));
  EXPECT_TRUE(n.ok()) << n.status();
  return out;
}

// Rewrites the header checksum after a test edits a field on purpose.
void FixChecksum(std::vector<uint8_t>& b, size_t header_len = 20) {
  b[10] = b[11] = 0;
  uint16_t c = InternetChecksum({b.data(), header_len});
  b[10] = static_cast<uint8_t>(c >> 8);
  b[11] = static_cast<uint8_t>(c);
}

TEST(Ipv4Test, EncodeLayout) {
  std::vector<uint8_t> b = Encoded(Sample());
  EXPECT_EQ(b[0], 0x45);
  EXPECT_EQ(b[1], 0x10);
  EXPECT_EQ(b[2], 1500 >> 8);
  EXPECT_EQ(b[3], 1500 & 0xff);
  EXPECT_EQ(b[4], 0xbe);
  EXPECT_EQ(b[5], 0xef);
  EXPECT_EQ(b[6], 0x40);  // DF
  EXPECT_EQ(b[7], 0x00);
  EXPECT_EQ(b[8], 17);
  EXPECT_EQ(b[9], kIpProtoTcp);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 12, b.end()),
            (std::vector<uint8_t>{10, 0, 0, 1, 192, 168, 1, 2}));
  EXPECT_EQ(InternetChecksum(b), 0);
}

TEST(Ipv4Test, RoundTrip) {
  for (bool df : {true, false}) {
    Ipv4Header h = Sample();
    h.dont_fragment = df;
    h.total_length = 40;
    std::vector<uint8_t> b = Encoded(h, 20);
    auto d = DecodeIpv4Header(b);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->src, h.src);
    EXPECT_EQ(d->dst, h.dst);
    EXPECT_EQ(d->ttl, h.ttl);
    EXPECT_EQ(d->protocol, h.protocol);
    EXPECT_EQ(d->tos, h.tos);
    EXPECT_EQ(d->total_length, 40);
    EXPECT_EQ(d->id, h.id);
    EXPECT_EQ(d->dont_fragment, df);
    EXPECT_EQ(d->header_length, 20);
    EXPECT_EQ(d->checksum, (b[10] << 8) | b[11]);
  }
}

TEST(Ipv4Test, EncodeRejectsBadInput) {
  std::array<uint8_t, 19> small{};
  auto r = EncodeIpv4Header(Sample(), absl::MakeSpan(small));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("too small"));

  Ipv4Header h = Sample();
  h.total_length = 19;
  std::array<uint8_t, 20> buf{};
  r = EncodeIpv4Header(h, absl::MakeSpan(buf));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("total_length 19 out of range [20, 65535]"));
}

TEST(Ipv4Test, DecodeAcceptsOptionsAndTrailingBytes) {
  // A 24-byte header (one option word of NOPs) followed by 8 bytes of data
  // and 4 bytes of link-layer padding beyond total_length.
  std::vector<uint8_t> b = Encoded(Sample(), 16);
  b.insert(b.begin() + 20, {1, 1, 1, 0});
  b[0] = 0x46;
  b[2] = 0;
  b[3] = 32;
  FixChecksum(b, 24);
  auto d = DecodeIpv4Header(b);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->header_length, 24);
  EXPECT_EQ(d->total_length, 32);
}

struct BadCase {
  const char* name;
  void (*mutate)(std::vector<uint8_t>&);
  const char* message;
};

TEST(Ipv4Test, DecodeRejectsWithFieldAndRange) {
  const BadCase cases[] = {
      {"version", [](auto& b) { b[0] = 0x65; }, "ipv4 version 6"},
      {"ihl", [](auto& b) { b[0] = 0x43; }, "ipv4 ihl 3 out of range [5, 15]"},
      {"ihl_past_buffer", [](auto& b) { b[0] = 0x4f; },
       "ipv4 ihl 15 (60 bytes) exceeds the 40 bytes available"},
      {"total_short",
       [](auto& b) {
         b[2] = 0;
         b[3] = 19;
       },
       "ipv4 total_length 19 out of range [20, 40]"},
      {"total_long",
       [](auto& b) {
         b[2] = 0;
         b[3] = 41;
       },
       "ipv4 total_length 41 out of range [20, 40]"},
      {"more_fragments", [](auto& b) { b[6] = 0x20; },
       "ipv4 fragments are not supported (more_fragments 1"},
      {"fragment_offset",
       [](auto& b) {
         b[6] = 0x40;
         b[7] = 0x08;
       },
       "fragment offset 8"},
  };
  for (const BadCase& c : cases) {
    Ipv4Header h = Sample();
    h.total_length = 40;
    std::vector<uint8_t> b = Encoded(h, 20);
    c.mutate(b);
    FixChecksum(b);
    auto d = DecodeIpv4Header(b);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(d.status().message(), HasSubstr(c.message)) << c.name;
  }
}

TEST(Ipv4Test, DecodeRejectsBadChecksumAndTruncation) {
  Ipv4Header h = Sample();
  h.total_length = 20;
  std::vector<uint8_t> b = Encoded(h);
  b[8] ^= 1;  // ttl changed without fixing the checksum
  auto d = DecodeIpv4Header(b);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(), HasSubstr("ipv4 header checksum"));

  b = Encoded(h);
  d = DecodeIpv4Header(absl::MakeSpan(b).subspan(0, 19));
  EXPECT_THAT(d.status().message(),
              HasSubstr("ipv4 header truncated: 19 bytes, need at least 20"));
  EXPECT_FALSE(DecodeIpv4Header({}).ok());
}

TEST(Ipv4Test, EveryHeaderBitFlipIsDetected) {
  Ipv4Header h = Sample();
  h.total_length = 20;
  const std::vector<uint8_t> good = Encoded(h);
  for (size_t bit = 0; bit < 160; ++bit) {
    std::vector<uint8_t> b = good;
    b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(DecodeIpv4Header(b).ok()) << "bit " << bit;
  }
}

TEST(Ipv4Test, PacketSizeOverloadBoundsTotalLength) {
  Ipv4Header h = Sample();
  h.total_length = 1000;
  std::vector<uint8_t> b = Encoded(h);
  EXPECT_FALSE(DecodeIpv4Header(b).ok());
  auto d = DecodeIpv4Header(b, 1000);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->total_length, 1000);
  EXPECT_THAT(DecodeIpv4Header(b, 999).status().message(),
              HasSubstr("ipv4 total_length 1000 out of range [20, 999]"));
}

TEST(Ipv4Test, AddressText) {
  EXPECT_EQ(Ipv4ToString(0x0a000001), "10.0.0.1");
  EXPECT_EQ(Ipv4ToString(0), "0.0.0.0");
  EXPECT_EQ(Ipv4ToString(0xffffffff), "255.255.255.255");
  EXPECT_EQ(Ipv4ToString(0xc0a80102), "192.168.1.2");

  for (uint32_t a : {0u, 1u, 0x7f000001u, 0xc0a80102u, 0xffffffffu}) {
    auto p = ParseIpv4(Ipv4ToString(a));
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(*p, a);
  }
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4",
                          "01.2.3.4", "1..3.4", "a.b.c.d", " 1.2.3.4",
                          "1.2.3.4 ", "1.2.3.1000", "+1.2.3.4", "1.2.3.4."}) {
    auto p = ParseIpv4(bad);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(p.status().message(), HasSubstr("dotted quad")) << bad;
  }
}

}  // namespace
}  // namespace tcpemu
