#include "engine/io/gso_split.h"

#include <cstdint>
#include <vector>

#include "engine/wire/byte_order.h"
#include "engine/wire/checksum.h"
#include "engine/wire/packet.h"
#include "engine/wire/tcp_header.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using wire_internal::Put16;
using wire_internal::Put32;

constexpr uint32_t kSrc = 0xc0a84701;  // 192.168.71.1
constexpr uint32_t kDst = 0xc0a84702;  // 192.168.71.2
constexpr size_t kEth = 14;
constexpr size_t kIp = 20;
constexpr size_t kTcp = 32;  // with NOP, NOP, timestamps
constexpr size_t kHeaders = kEth + kIp + kTcp;

uint8_t PayloadByte(size_t i) { return static_cast<uint8_t>(i * 7 + 3); }

// A frame as the kernel hands it over with offloads: Ethernet, IPv4 (total
// length over the whole payload), TCP with timestamps, and the pseudo-header's
// sum (not complemented) in the TCP checksum field, the rest to complete.
std::vector<uint8_t> KernelFrame(size_t payload, uint32_t seq, uint8_t flags) {
  std::vector<uint8_t> f(kHeaders + payload);
  for (int i = 0; i < 6; ++i) {
    f[i] = 0x02;
    f[6 + i] = 0x04;
  }
  Put16(&f[12], 0x0800);
  uint8_t* ip = &f[kEth];
  ip[0] = 0x45;
  ip[1] = 0x02;  // ECT(0)
  Put16(ip + 2, static_cast<uint16_t>(kIp + kTcp + payload));
  Put16(ip + 4, 0xfffe);  // the ids wrap
  Put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 6;
  Put32(ip + 12, kSrc);
  Put32(ip + 16, kDst);
  Put16(ip + 10, InternetChecksum(absl::MakeConstSpan(ip, kIp)));
  uint8_t* tcp = ip + kIp;
  Put16(tcp, 40000);
  Put16(tcp + 2, 5001);
  Put32(tcp + 4, seq);
  Put32(tcp + 8, 77);
  tcp[12] = (kTcp / 4) << 4;
  tcp[13] = flags;
  Put16(tcp + 14, 512);
  tcp[20] = 1;
  tcp[21] = 1;
  tcp[22] = 8;
  tcp[23] = 10;
  Put32(tcp + 24, 1000);
  Put32(tcp + 28, 2000);
  for (size_t i = 0; i < payload; ++i) f[kHeaders + i] = PayloadByte(i);
  ChecksumAccumulator pseudo;
  AddPseudoHeader(pseudo, kSrc, kDst, 6, static_cast<uint16_t>(kTcp + payload));
  Put16(tcp + 16, static_cast<uint16_t>(~pseudo.Finish()));
  return f;
}

VnetHeader Gso(uint16_t mss) {
  VnetHeader h;
  h.flags = kVnetNeedsCsum;
  h.gso_type = kVnetGsoTcpV4 | kVnetGsoEcn;
  h.hdr_len = kHeaders;
  h.gso_size = mss;
  h.csum_start = kEth + kIp;
  h.csum_offset = 16;
  return h;
}

std::vector<uint8_t> Bytes(const Payload& p) {
  std::vector<uint8_t> out(p.size());
  p.CopyTo(absl::MakeSpan(out));
  return out;
}

TEST(GsoSplitTest, CutsSuperSegmentIntoMssSegmentsThatParse) {
  const size_t kPayload = 4000;
  const uint32_t kSeq = 0xfffff800;  // the sequence numbers wrap
  std::vector<uint8_t> frame = KernelFrame(
      kPayload, kSeq,
      tcp_flags::kAck | tcp_flags::kPsh | tcp_flags::kFin | tcp_flags::kCwr);
  GsoSplitter s;
  ASSERT_TRUE(s.Start(Gso(1448), absl::MakeSpan(frame)).ok());
  EXPECT_EQ(s.pending(), 3u);

  std::vector<uint8_t> buf(1514);
  std::vector<uint8_t> joined;
  const size_t sizes[] = {1448, 1448, 1104};
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<size_t> n = s.Next(absl::MakeSpan(buf));
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_EQ(*n, kHeaders + sizes[i]) << "segment " << i;
    absl::StatusOr<ParsedTcpPacket> p =
        ParseTcpPacketBytes(absl::MakeConstSpan(buf).subspan(kEth, *n - kEth));
    ASSERT_TRUE(p.ok()) << "segment " << i << ": " << p.status();
    EXPECT_TRUE(p->checksum_ok) << "segment " << i;
    EXPECT_EQ(p->ip.total_length, kIp + kTcp + sizes[i]);
    EXPECT_EQ(p->ip.id, static_cast<uint16_t>(0xfffe + i));
    EXPECT_EQ(p->ip.tos, 0x02);
    EXPECT_EQ(p->tcp.seq.value(), kSeq + 1448u * i);
    EXPECT_EQ(p->tcp.ack.value(), 77u);
    EXPECT_TRUE(p->tcp.has(tcp_flags::kAck));
    EXPECT_EQ(p->tcp.has(tcp_flags::kCwr), i == 0) << "segment " << i;
    EXPECT_EQ(p->tcp.has(tcp_flags::kPsh), i == 2) << "segment " << i;
    EXPECT_EQ(p->tcp.has(tcp_flags::kFin), i == 2) << "segment " << i;
    ASSERT_TRUE(p->tcp.options.timestamp.has_value());
    EXPECT_EQ(p->tcp.options.timestamp->value, 1000u);
    std::vector<uint8_t> data = Bytes(p->payload);
    joined.insert(joined.end(), data.begin(), data.end());
  }
  absl::StatusOr<size_t> end = s.Next(absl::MakeSpan(buf));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, 0u);
  ASSERT_EQ(joined.size(), kPayload);
  for (size_t i = 0; i < kPayload; ++i) {
    ASSERT_EQ(joined[i], PayloadByte(i)) << "byte " << i;
  }
}

TEST(GsoSplitTest, PayloadOfExactlyOneMssIsOneSegment) {
  std::vector<uint8_t> frame =
      KernelFrame(1448, 1, tcp_flags::kAck | tcp_flags::kPsh);
  GsoSplitter s;
  ASSERT_TRUE(s.Start(Gso(1448), absl::MakeSpan(frame)).ok());
  EXPECT_EQ(s.pending(), 1u);
  std::vector<uint8_t> buf(1514);
  absl::StatusOr<size_t> n = s.Next(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, frame.size());
  absl::StatusOr<ParsedTcpPacket> p =
      ParseTcpPacketBytes(absl::MakeConstSpan(buf).subspan(kEth, *n - kEth));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->checksum_ok);
  EXPECT_TRUE(p->tcp.has(tcp_flags::kPsh));
}

TEST(GsoSplitTest, CompletesChecksumOfPlainFrame) {
  std::vector<uint8_t> frame = KernelFrame(100, 5, tcp_flags::kAck);
  // Without completion the checksum does not verify: the test can fail.
  absl::StatusOr<ParsedTcpPacket> before =
      ParseTcpPacketBytes(absl::MakeConstSpan(frame).subspan(kEth));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_FALSE(before->checksum_ok);

  VnetHeader h = Gso(0);
  h.gso_type = kVnetGsoNone;
  GsoSplitter s;
  ASSERT_TRUE(s.Start(h, absl::MakeSpan(frame)).ok());
  EXPECT_EQ(s.pending(), 1u);
  std::vector<uint8_t> buf(1514);
  absl::StatusOr<size_t> n = s.Next(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, frame.size());
  absl::StatusOr<ParsedTcpPacket> p =
      ParseTcpPacketBytes(absl::MakeConstSpan(buf).subspan(kEth, *n - kEth));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->checksum_ok);
}

TEST(GsoSplitTest, PlainFrameWithoutFlagsPassesUnchanged) {
  std::vector<uint8_t> frame = KernelFrame(10, 5, tcp_flags::kAck);
  const std::vector<uint8_t> copy = frame;
  GsoSplitter s;
  ASSERT_TRUE(s.Start(VnetHeader{}, absl::MakeSpan(frame)).ok());
  std::vector<uint8_t> buf(1514);
  absl::StatusOr<size_t> n = s.Next(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + *n), copy);
}

TEST(GsoSplitTest, RefusesWhatItDoesNotCut) {
  std::vector<uint8_t> frame = KernelFrame(3000, 5, tcp_flags::kAck);
  GsoSplitter s;
  VnetHeader v6 = Gso(1448);
  v6.gso_type = kVnetGsoTcpV6;
  EXPECT_EQ(s.Start(v6, absl::MakeSpan(frame)).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.Start(Gso(0), absl::MakeSpan(frame)).code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> arp = frame;
  Put16(&arp[12], 0x0806);
  EXPECT_EQ(s.Start(Gso(1448), absl::MakeSpan(arp)).code(),
            absl::StatusCode::kInvalidArgument);
  VnetHeader outside;
  outside.flags = kVnetNeedsCsum;
  outside.csum_start = static_cast<uint16_t>(frame.size() - 1);
  EXPECT_EQ(s.Start(outside, absl::MakeSpan(frame)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GsoSplitTest, SegmentLargerThanBufferIsSkippedWithError) {
  std::vector<uint8_t> frame = KernelFrame(3000, 5, tcp_flags::kAck);
  GsoSplitter s;
  ASSERT_TRUE(s.Start(Gso(1448), absl::MakeSpan(frame)).ok());
  std::vector<uint8_t> small(100);
  absl::StatusOr<size_t> n = s.Next(absl::MakeSpan(small));
  EXPECT_EQ(n.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.pending(), 2u);
}

}  // namespace
}  // namespace tcpemu
