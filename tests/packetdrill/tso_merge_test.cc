// Merging the engine's segments into the TSO packets Linux's gtests expect.
#include "tests/packetdrill/tso_merge.h"

#include <cstring>
#include <string>

#include "engine/wire/packet.h"
#include "gtest/gtest.h"

namespace tcpemu::packetdrill {
namespace {

using namespace tcp_flags;

OutboundPacket Segment(uint32_t seq, size_t len, uint8_t flags, TimeNs at = 5,
                       uint16_t window = 1000) {
  Ipv4Header ip;
  ip.src = 0xC0A80001;
  ip.dst = 0xC0000201;
  TcpHeader h;
  h.src_port = 8080;
  h.dst_port = 40000;
  h.seq = Seq(seq);
  h.ack = Seq(77);
  h.flags = flags;
  h.window = window;
  std::string data(len, 'x');
  absl::StatusOr<Packet> p = BuildTcpPacket(
      ip, h,
      Payload::Copy(absl::MakeConstSpan(
          reinterpret_cast<const uint8_t*>(data.data()), data.size())));
  OutboundPacket out;
  out.sent_at = at;
  out.bytes.resize(p->size());
  std::memcpy(out.bytes.data(), p->header.data(), p->header_len);
  p->payload.CopyTo(absl::MakeSpan(out.bytes).subspan(p->header_len));
  return out;
}

TEST(TsoMergeTest, BurstBecomesOnePacketWithTheLastPush) {
  std::optional<OutboundPacket> m =
      MergeTso(Segment(1, 1000, kAck), 1000, Segment(1001, 1000, kAck));
  ASSERT_TRUE(m.has_value());
  m = MergeTso(*m, 1000, Segment(2001, 500, kAck | kPsh));
  ASSERT_TRUE(m.has_value());
  absl::StatusOr<ParsedTcpPacket> p = ParseTcpPacketBytes(m->bytes);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->checksum_ok);
  EXPECT_EQ(p->tcp.seq.value(), 1u);
  EXPECT_EQ(p->payload.size(), 2500u);
  EXPECT_EQ(p->tcp.flags, kAck | kPsh);
  EXPECT_EQ(p->ip.total_length, 20 + 20 + 2500);
}

TEST(TsoMergeTest, OnlyWhatGsoWouldCutBackIsMerged) {
  const OutboundPacket a = Segment(1, 1000, kAck);
  // A gap, another time, another window, a shorter first piece, a PSH
  // before the end, a SYN: each stays apart.
  EXPECT_FALSE(MergeTso(a, 1000, Segment(1501, 1000, kAck)).has_value());
  EXPECT_FALSE(MergeTso(a, 1000, Segment(1001, 1000, kAck, 6)).has_value());
  EXPECT_FALSE(
      MergeTso(a, 1000, Segment(1001, 1000, kAck, 5, 999)).has_value());
  EXPECT_FALSE(MergeTso(a, 1000, Segment(1001, 1001, kAck)).has_value());
  EXPECT_FALSE(
      MergeTso(Segment(1, 1000, kAck | kPsh), 1000, Segment(1001, 1000, kAck))
          .has_value());
  EXPECT_FALSE(MergeTso(a, 1000, Segment(1001, 0, kAck)).has_value());
  EXPECT_FALSE(MergeTso(a, 1000, Segment(1001, 10, kAck | kSyn)).has_value());
}

}  // namespace
}  // namespace tcpemu::packetdrill
