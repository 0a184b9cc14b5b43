// Tests for IPv4/TCP packet build and parse: round trips with multi-slice
// payloads, the TCP checksum catching every bit flip, PeekTcp, and parsing
// packets whose headers were corrupted into the payload.
#include "engine/wire/packet.h"

#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "engine/wire/checksum.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

Ipv4Header Ip() {
  Ipv4Header ip;
  ip.src = 0x0a000001;
  ip.dst = 0x0a000002;
  ip.id = 77;
  return ip;
}

TcpHeader Tcp() {
  TcpHeader t;
  t.src_port = 1234;
  t.dst_port = 5678;
  t.seq = Seq(0xfffffff0u);
  t.ack = Seq(42);
  t.flags = tcp_flags::kAck | tcp_flags::kPsh;
  t.window = 1000;
  t.options.timestamp = TcpTimestamp{1, 2};
  return t;
}

// Payload of `n` bytes cut into slices of the given sizes, from two chunks.
Payload MultiSlice(const std::vector<size_t>& sizes) {
  size_t total = std::accumulate(sizes.begin(), sizes.end(), size_t{0});
  std::vector<uint8_t> bytes(total);
  for (size_t i = 0; i < total; ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 3);
  Payload a = Payload::Copy(bytes);
  Payload b = Payload::Copy(bytes);
  Payload out;
  size_t off = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    // Alternate chunks so adjacent slices do not merge.
    out.Append((i % 2 == 0 ? a : b).Sub(off, sizes[i]));
    off += sizes[i];
  }
  return out;
}

std::vector<uint8_t> Flatten(const Packet& p) {
  std::vector<uint8_t> v(p.header.begin(), p.header.begin() + p.header_len);
  std::vector<uint8_t> pay(p.payload.size());
  p.payload.CopyTo(absl::MakeSpan(pay));
  v.insert(v.end(), pay.begin(), pay.end());
  return v;
}

TEST(PacketTest, BuildThenParseRoundTrip) {
  Payload payload = MultiSlice({3, 700, 1, 56});
  ASSERT_EQ(payload.slices().size(), 4u);
  auto p = BuildTcpPacket(Ip(), Tcp(), payload);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->header_len, 20 + 32);
  EXPECT_EQ(p->size(), 52u + 760u);
  // The payload is shared, not copied.
  EXPECT_EQ(p->payload.slices()[1].chunk.get(),
            payload.slices()[1].chunk.get());

  auto parsed = ParseTcpPacket(*p);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->checksum_ok);
  EXPECT_EQ(parsed->ip.src, Ip().src);
  EXPECT_EQ(parsed->ip.dst, Ip().dst);
  EXPECT_EQ(parsed->ip.id, 77);
  EXPECT_EQ(parsed->ip.total_length, p->size());
  EXPECT_EQ(parsed->ip.protocol, kIpProtoTcp);
  TcpHeader want = Tcp();
  want.checksum = parsed->tcp.checksum;
  EXPECT_EQ(parsed->tcp, want);
  EXPECT_NE(parsed->tcp.checksum, 0);
  EXPECT_EQ(parsed->payload, payload);
  EXPECT_EQ(parsed->payload.slices()[0].chunk.get(),
            payload.slices()[0].chunk.get());

  // The same bytes, contiguous, parse the same way.
  std::vector<uint8_t> flat = Flatten(*p);
  auto flat_parsed = ParseTcpPacketBytes(flat);
  ASSERT_TRUE(flat_parsed.ok()) << flat_parsed.status();
  EXPECT_TRUE(flat_parsed->checksum_ok);
  EXPECT_EQ(flat_parsed->tcp, parsed->tcp);
  EXPECT_EQ(flat_parsed->payload, payload);
}

TEST(PacketTest, ChecksumMatchesReferenceOverFlatBytes) {
  // The TCP checksum written by BuildTcpPacket equals one computed over the
  // flat segment with an independent pass.
  for (size_t n : {0u, 1u, 2u, 3u, 1459u, 1460u, 65483u}) {
    auto p = BuildTcpPacket(Ip(), Tcp(), MultiSlice({n / 2, n - n / 2}));
    ASSERT_TRUE(p.ok()) << p.status();
    std::vector<uint8_t> flat = Flatten(*p);
    std::vector<uint8_t> seg(flat.begin() + 20, flat.end());
    seg[16] = seg[17] = 0;
    ChecksumAccumulator acc;
    AddPseudoHeader(acc, Ip().src, Ip().dst, 6,
                    static_cast<uint16_t>(seg.size()));
    acc.Add(seg);
    EXPECT_EQ((flat[36] << 8) | flat[37], acc.Finish()) << "payload " << n;
    // Odd segment lengths verify too (the receiver must add the
    // pseudo-header at an even offset).
    auto parsed = ParseTcpPacket(*p);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(parsed->checksum_ok) << "payload " << n;
    auto bytes = ParseTcpPacketBytes(flat);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_TRUE(bytes->checksum_ok) << "payload " << n;
  }
}

TEST(PacketTest, EmptyPayloadAndTrailingPadding) {
  auto p = BuildTcpPacket(Ip(), TcpHeader{}, Payload());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->header_len, 40);
  auto parsed = ParseTcpPacket(*p);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->checksum_ok);
  EXPECT_TRUE(parsed->payload.empty());

  // Ethernet pads short frames: bytes beyond total_length are ignored.
  std::vector<uint8_t> flat = Flatten(*p);
  flat.resize(flat.size() + 6, 0);
  auto bytes = ParseTcpPacketBytes(flat);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(bytes->checksum_ok);
  EXPECT_TRUE(bytes->payload.empty());

  Packet padded = *p;
  padded.payload = Payload::Copy(std::vector<uint8_t>(6, 0));
  parsed = ParseTcpPacket(padded);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->checksum_ok);
  EXPECT_TRUE(parsed->payload.empty());
}

TEST(PacketTest, BuildRejectsBadInput) {
  TcpHeader t = Tcp();
  t.options.window_scale = 20;
  auto p = BuildTcpPacket(Ip(), t, Payload());
  EXPECT_THAT(p.status().message(), HasSubstr("window scale 20"));

  p = BuildTcpPacket(Ip(), Tcp(),
                     Payload::Copy(std::vector<uint8_t>(65535 - 40, 1)));
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr("exceeds the ipv4 limit"));

  // The largest packet that fits.
  p = BuildTcpPacket(Ip(), TcpHeader{},
                     Payload::Copy(std::vector<uint8_t>(65535 - 40, 1)));
  ASSERT_TRUE(p.ok()) << p.status();
  auto parsed = ParseTcpPacket(*p);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->checksum_ok);
}

TEST(PacketTest, NonTcpProtocolIsRejected) {
  Ipv4Header ip = Ip();
  ip.protocol = 17;
  auto p = BuildTcpPacket(ip, Tcp(), Payload());
  ASSERT_TRUE(p.ok()) << p.status();
  auto parsed = ParseTcpPacket(*p);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("ipv4 protocol 17"));
  EXPECT_THAT(ParseTcpPacketBytes(Flatten(*p)).status().message(),
              HasSubstr("ipv4 protocol 17"));
}

TEST(PacketTest, EveryFlippedBitIsDetected) {
  Payload payload = MultiSlice({5, 10, 3});
  auto built = BuildTcpPacket(Ip(), Tcp(), payload);
  ASSERT_TRUE(built.ok()) << built.status();
  const size_t bits = built->size() * 8;
  const size_t ip_bits = 20 * 8;
  for (size_t bit = 0; bit < bits; ++bit) {
    Packet p = *built;
    p.FlipBit(bit);
    auto parsed = ParseTcpPacket(p);
    auto flat = ParseTcpPacketBytes(Flatten(p));
    if (bit < ip_bits) {
      EXPECT_FALSE(parsed.ok()) << "bit " << bit;
    } else if (parsed.ok()) {
      EXPECT_FALSE(parsed->checksum_ok) << "bit " << bit;
    }
    // Held as slices or contiguous, the packet parses the same way.
    ASSERT_EQ(parsed.ok(), flat.ok()) << "bit " << bit;
    if (parsed.ok()) {
      EXPECT_EQ(parsed->checksum_ok, flat->checksum_ok) << "bit " << bit;
      EXPECT_EQ(parsed->tcp, flat->tcp) << "bit " << bit;
      EXPECT_EQ(parsed->payload, flat->payload) << "bit " << bit;
    } else {
      EXPECT_EQ(parsed.status(), flat.status()) << "bit " << bit;
    }
  }
  // The original payload's chunks were never written.
  auto again = ParseTcpPacket(*built);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->checksum_ok);
  EXPECT_EQ(again->payload, payload);
}

TEST(PacketTest, FlipBitTargetsHeaderThenPayload) {
  Payload payload = Payload::Copy(std::vector<uint8_t>(4, 0));
  auto built = BuildTcpPacket(Ip(), TcpHeader{}, payload);
  ASSERT_TRUE(built.ok());
  Packet p = *built;
  p.FlipBit(8 * 9 + 1);  // protocol byte, bit 1
  EXPECT_EQ(p.header[9], kIpProtoTcp ^ 0x02);
  p = *built;
  p.FlipBit(40 * 8 + 2 * 8 + 7);  // payload byte 2, top bit
  std::vector<uint8_t> out(4);
  p.payload.CopyTo(absl::MakeSpan(out));
  EXPECT_EQ(out, (std::vector<uint8_t>{0, 0, 0x80, 0}));
  payload.CopyTo(absl::MakeSpan(out));
  EXPECT_EQ(out, (std::vector<uint8_t>{0, 0, 0, 0}));  // copy-on-write
}

TEST(PacketTest, DataOffsetCorruptedIntoPayload) {
  // A data offset raised from 5 to 6 words makes the first payload word (four
  // NOPs) an option; the parser reads it that way and the checksum fails.
  auto built =
      BuildTcpPacket(Ip(), TcpHeader{}, Payload::Copy({1, 1, 1, 1, 9, 9}));
  ASSERT_TRUE(built.ok());
  Packet p = *built;
  p.header[20 + 12] = 0x60;
  auto parsed = ParseTcpPacket(p);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->checksum_ok);
  EXPECT_EQ(parsed->payload, Payload::Copy({9, 9}));

  // Lowered from 7 words (MSS, NOP + window scale) to 6: the window scale
  // word becomes payload, copied out of the header bytes.
  TcpHeader t;
  t.options.mss = 1460;
  t.options.window_scale = 7;
  auto with_ws = BuildTcpPacket(Ip(), t, Payload::Copy({5}));
  ASSERT_TRUE(with_ws.ok());
  ASSERT_EQ(with_ws->header_len, 48);
  p = *with_ws;
  p.header[20 + 12] = 0x60;
  parsed = ParseTcpPacket(p);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->checksum_ok);
  EXPECT_EQ(parsed->tcp.options.mss, 1460);
  EXPECT_FALSE(parsed->tcp.options.window_scale.has_value());
  EXPECT_EQ(parsed->payload, Payload::Copy({1, 3, 3, 7, 5}));
  auto flat = ParseTcpPacketBytes(Flatten(p));
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(parsed->payload, flat->payload);
  EXPECT_EQ(parsed->tcp, flat->tcp);
}

TEST(PacketTest, PeekMatchesParse) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200; ++i) {
    TcpHeader t;
    t.seq = Seq(static_cast<uint32_t>(rng()));
    t.ack = Seq(static_cast<uint32_t>(rng()));
    t.flags = static_cast<uint8_t>(rng());
    if (rng() % 2) t.options.mss = 1460;
    if (rng() % 2) t.options.timestamp = TcpTimestamp{1, 2};
    if (rng() % 2) {
      t.options.sack_count = 2;
      t.options.sack[1] = {Seq(3), Seq(4)};
    }
    std::vector<uint8_t> bytes(rng() % 1500, 0x5a);
    auto p = BuildTcpPacket(Ip(), t, Payload::Copy(bytes));
    ASSERT_TRUE(p.ok()) << p.status();
    TcpPeek peek = PeekTcp(*p);
    EXPECT_EQ(peek.flags, t.flags);
    EXPECT_EQ(peek.seq, t.seq);
    EXPECT_EQ(peek.ack, t.ack);
    EXPECT_EQ(peek.payload_len, bytes.size());
  }
  // A default packet (no header) peeks as zeros rather than reading garbage.
  TcpPeek empty = PeekTcp(Packet{});
  EXPECT_EQ(empty.payload_len, 0u);
  EXPECT_EQ(empty.flags, 0);
}

TEST(PacketTest, ParseRejectsEmptyAndShortPackets) {
  EXPECT_FALSE(ParseTcpPacket(Packet{}).ok());
  EXPECT_FALSE(ParseTcpPacketBytes({}).ok());
  auto built = BuildTcpPacket(Ip(), TcpHeader{}, Payload());
  ASSERT_TRUE(built.ok());
  std::vector<uint8_t> flat = Flatten(*built);
  flat.resize(39);  // total_length 40 no longer fits
  EXPECT_THAT(ParseTcpPacketBytes(flat).status().message(),
              HasSubstr("ipv4 total_length 40 out of range [20, 39]"));
}

}  // namespace
}  // namespace tcpemu
