// Fuzz target: the wire decoders (Ethernet, ARP, IPv4, ICMP echo, TCP header
// and options) and the interface's receive path, fed one frame. Besides "no
// crash, no sanitizer report" it checks that what decodes re-encodes to
// something that decodes to the same value.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "engine/sim/interface.h"
#include "engine/wire/arp.h"
#include "engine/wire/buffer.h"
#include "engine/wire/ethernet.h"
#include "engine/wire/icmp.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"
#include "engine/wire/tcp_header.h"
#include "tests/fuzz/fuzz_util.h"

namespace tcpemu {
namespace {

// Records what the interface sends (ARP replies, ICMP echo replies) and
// checks every frame is well formed enough to decode again.
class CheckingSink : public FrameSink {
 public:
  bool SendFrame(absl::Span<const uint8_t> head,
                 const Payload& payload) override {
    std::vector<uint8_t> frame(head.begin(), head.end());
    size_t off = frame.size();
    frame.resize(off + payload.size());
    payload.CopyTo(absl::MakeSpan(frame).subspan(off));
    auto eth = DecodeEthernetHeader(frame);
    FUZZ_CHECK(eth.ok());
    ++frames;
    return true;
  }
  size_t frames = 0;
};

void TcpHeaderRoundTrip(absl::Span<const uint8_t> in) {
  size_t len = 0;
  auto h = DecodeTcpHeader(in, &len);
  if (!h.ok()) {
    FUZZ_CHECK(!h.status().message().empty());
    return;
  }
  FUZZ_CHECK(len >= kTcpMinHeaderLen && len <= kTcpMaxHeaderLen);
  FUZZ_CHECK(len <= in.size());
  FUZZ_CHECK(h->options.sack_count <= 4);
  FUZZ_CHECK(!h->options.window_scale || *h->options.window_scale <= 14);
  uint8_t out[kTcpMaxHeaderLen + 8];
  auto n = EncodeTcpHeader(*h, absl::MakeSpan(out));
  // Decoding tolerates option layouts denser than the encoder's canonical
  // (padded) one, so a decoded header may need more than 40 option bytes.
  if (!n.ok()) return;
  FUZZ_CHECK(*n == TcpHeaderLength(h->options));
  size_t len2 = 0;
  auto h2 = DecodeTcpHeader(absl::MakeConstSpan(out, *n), &len2);
  FUZZ_CHECK(h2.ok());
  FUZZ_CHECK(len2 == *n);
  FUZZ_CHECK(*h2 == *h);
}

void Ipv4RoundTrip(absl::Span<const uint8_t> in) {
  auto ip = DecodeIpv4Header(in);
  if (!ip.ok()) {
    FUZZ_CHECK(!ip.status().message().empty());
    return;
  }
  FUZZ_CHECK(ip->header_length >= kIpv4MinHeaderLen && ip->header_length <= 60);
  FUZZ_CHECK(ip->total_length >= ip->header_length);
  FUZZ_CHECK(ip->total_length <= in.size());
  uint8_t out[kIpv4MinHeaderLen + 1500];
  Ipv4Header enc = *ip;
  enc.header_length = kIpv4MinHeaderLen;
  enc.total_length = static_cast<uint16_t>(
      ip->total_length - ip->header_length + kIpv4MinHeaderLen);
  if (enc.total_length > sizeof(out)) return;
  auto n = EncodeIpv4Header(enc, absl::MakeSpan(out));
  FUZZ_CHECK(n.ok() && *n == kIpv4MinHeaderLen);
  auto ip2 = DecodeIpv4Header(absl::MakeConstSpan(out, sizeof(out)));
  FUZZ_CHECK(ip2.ok());
  FUZZ_CHECK(ip2->src == ip->src && ip2->dst == ip->dst);
  FUZZ_CHECK(ip2->ttl == ip->ttl && ip2->protocol == ip->protocol);
  FUZZ_CHECK(ip2->tos == ip->tos && ip2->id == ip->id);
  FUZZ_CHECK(ip2->dont_fragment == ip->dont_fragment);
  FUZZ_CHECK(ip2->total_length == enc.total_length);
}

void EthernetRoundTrip(absl::Span<const uint8_t> in) {
  auto eth = DecodeEthernetHeader(in);
  if (!eth.ok()) {
    FUZZ_CHECK(!eth.status().message().empty());
    return;
  }
  FUZZ_CHECK(eth->length() <= in.size());
  FUZZ_CHECK(eth->ether_type >= kEtherTypeMin);
  uint8_t out[kEthernetMaxHeaderLen];
  auto n = EncodeEthernetHeader(*eth, absl::MakeSpan(out));
  FUZZ_CHECK(n.ok() && *n == eth->length());
  auto eth2 = DecodeEthernetHeader(absl::MakeConstSpan(out, *n));
  FUZZ_CHECK(eth2.ok());
  FUZZ_CHECK(eth2->dst == eth->dst && eth2->src == eth->src);
  FUZZ_CHECK(eth2->ether_type == eth->ether_type);
  FUZZ_CHECK(eth2->vlan_tci == eth->vlan_tci);
}

void ArpRoundTrip(absl::Span<const uint8_t> in) {
  auto arp = DecodeArp(in);
  if (!arp.ok()) {
    FUZZ_CHECK(!arp.status().message().empty());
    return;
  }
  FUZZ_CHECK(!IsMulticastMac(arp->sender_mac));
  uint8_t out[kArpPacketLen];
  auto n = EncodeArp(*arp, absl::MakeSpan(out));
  FUZZ_CHECK(n.ok() && *n == kArpPacketLen);
  auto arp2 = DecodeArp(out);
  FUZZ_CHECK(arp2.ok() && *arp2 == *arp);
}

void IcmpChecks(absl::Span<const uint8_t> in) {
  auto echo = DecodeIcmpEcho(in);
  if (echo.ok()) FUZZ_CHECK(echo->size() == in.size());
  auto parsed = ParseIcmpEchoPacket(in);
  if (!parsed.ok()) return;
  auto reply = MakeEchoReply(in);
  if (!reply.ok()) return;
  auto again = ParseIcmpEchoPacket(*reply);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->echo.type == kIcmpTypeEchoReply);
  FUZZ_CHECK(again->echo.payload.size() == parsed->echo.payload.size());
  FUZZ_CHECK(again->ip.src == parsed->ip.dst &&
             again->ip.dst == parsed->ip.src);
}

void TcpPacketChecks(absl::Span<const uint8_t> in) {
  auto p = ParseTcpPacketBytes(in);
  if (!p.ok()) return;
  FUZZ_CHECK(p->payload.size() <= in.size());
  // A parsed packet rebuilt has a correct checksum and parses the same.
  if (TcpHeaderLength(p->tcp.options) - kTcpMinHeaderLen > 40) return;
  Ipv4Header ip = p->ip;
  ip.header_length = kIpv4MinHeaderLen;
  auto built = BuildTcpPacket(ip, p->tcp, p->payload);
  if (!built.ok()) return;
  auto again = ParseTcpPacket(*built);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->checksum_ok);
  FUZZ_CHECK(again->payload == p->payload);
  TcpHeader a = again->tcp, b = p->tcp;
  a.checksum = b.checksum = 0;
  FUZZ_CHECK(a == b);
  TcpPeek peek = PeekTcp(*built);
  FUZZ_CHECK(peek.seq == p->tcp.seq && peek.ack == p->tcp.ack);
  FUZZ_CHECK(peek.payload_len == p->payload.size());
}

}  // namespace
}  // namespace tcpemu

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tcpemu;  // NOLINT(build/namespaces)
  absl::Span<const uint8_t> in(data, size);

  EthernetRoundTrip(in);
  ArpRoundTrip(in);
  Ipv4RoundTrip(in);
  TcpHeaderRoundTrip(in);
  IcmpChecks(in);
  TcpPacketChecks(in);

  // The interface's receive path: a frame from the device at 10.0.0.1/24.
  static CheckingSink* sink = new CheckingSink;
  InterfaceSpec spec;
  spec.address = 0x0a000001;
  spec.mac = {0x02, 0, 0, 0, 0, 1};
  spec.gateway = 0x0a0000fe;
  Interface iface(spec, sink);
  std::optional<Packet> p = iface.OnFrame(1000, in);
  if (p) {
    FUZZ_CHECK(p->size() <= in.size());
    auto parsed = ParseTcpPacket(*p);
    if (parsed.ok()) FUZZ_CHECK(parsed->ip.dst == spec.address);
    // Send it back out (exercises ARP resolution and framing).
    iface.Send(2000, std::move(*p));
  }
  // The payload after an Ethernet header, straight to the IPv4/TCP parsers.
  if (auto eth = DecodeEthernetHeader(in); eth.ok()) {
    absl::Span<const uint8_t> body = in.subspan(eth->length());
    Ipv4RoundTrip(body);
    ArpRoundTrip(body);
    IcmpChecks(body);
    TcpPacketChecks(body);
    if (auto ip = DecodeIpv4Header(body); ip.ok()) {
      TcpHeaderRoundTrip(body.subspan(ip->header_length,
                                      ip->total_length - ip->header_length));
    }
  }
  iface.OnTimer(10 * 1000 * 1000 * 1000LL);
  return 0;
}
