#include "engine/wire/ecn.h"

#include "engine/wire/checksum.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

Packet WithTos(uint8_t tos) {
  Ipv4Header ip;
  ip.src = 0x0a000001;
  ip.dst = 0x0a000002;
  ip.tos = tos;
  TcpHeader tcp;
  tcp.src_port = 1;
  tcp.dst_port = 2;
  absl::StatusOr<Packet> p = BuildTcpPacket(ip, tcp, Payload());
  EXPECT_TRUE(p.ok());
  return *p;
}

TEST(EcnTest, ReadsTheCodepoint) {
  EXPECT_EQ(PacketEcn(WithTos(0)), Ecn::kNotEct);
  EXPECT_EQ(PacketEcn(WithTos(0xb8 | 2)), Ecn::kEct0);
  EXPECT_EQ(PacketEcn(WithTos(1)), Ecn::kEct1);
  EXPECT_EQ(PacketEcn(WithTos(3)), Ecn::kCe);
}

TEST(EcnTest, MarkingSetsCeAndKeepsTheHeaderChecksumValid) {
  for (uint8_t tos : {0x02, 0x01, 0xba, 0xfd, 0x03}) {
    Packet p = WithTos(tos);
    ASSERT_TRUE(MarkCe(p));
    EXPECT_EQ(PacketEcn(p), Ecn::kCe);
    EXPECT_EQ(p.header[1] & ~kEcnMask, tos & ~kEcnMask);
    EXPECT_EQ(InternetChecksum({p.header.data(), kIpv4MinHeaderLen}), 0);
    absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(p);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(parsed->checksum_ok);
    EXPECT_EQ(parsed->ip.tos, tos | kEcnMask);
  }
}

TEST(EcnTest, NotEctPacketsAreNotMarked) {
  Packet p = WithTos(0xb8);
  EXPECT_FALSE(MarkCe(p));
  EXPECT_EQ(p.header[1], 0xb8);
}

}  // namespace
}  // namespace tcpemu
