// Interface: ARP, ICMP echo and IPv4 filtering at a device edge; see
// interface.h.
#include "engine/sim/interface.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/icmp.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {
namespace {

constexpr uint16_t kMoreFragments = 0x2000;
constexpr uint16_t kFragmentOffsetMask = 0x1fff;

uint32_t MaskOf(uint8_t prefix_len) {
  return prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
}

}  // namespace

absl::Status ValidateInterfaceSpec(const InterfaceSpec& spec) {
  if (spec.prefix_len < 1 || spec.prefix_len > 30) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address prefix length ", spec.prefix_len, " out of range [1, 30]"));
  }
  const uint32_t mask = MaskOf(spec.prefix_len);
  const uint32_t host = spec.address & ~mask;
  if (spec.address == 0 || host == 0 || host == ~mask ||
      (spec.address >> 28) >= 14 || (spec.address >> 24) == 127) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address ", Ipv4ToString(spec.address), "/", spec.prefix_len,
        " is not a unicast host address of its subnet"));
  }
  if (spec.mac == kZeroMac || IsMulticastMac(spec.mac)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mac ", MacToString(spec.mac), " is not a unicast MAC"));
  }
  if (spec.mtu < kInterfaceMinMtu || spec.mtu > kInterfaceMaxMtu) {
    return absl::InvalidArgumentError(
        absl::StrCat("mtu ", spec.mtu, " out of range [", kInterfaceMinMtu,
                     ", ", kInterfaceMaxMtu, "]"));
  }
  if (spec.gateway != 0 && ((spec.gateway & mask) != (spec.address & mask) ||
                            spec.gateway == spec.address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway ", Ipv4ToString(spec.gateway),
                     " is not another host of the interface's subnet"));
  }
  return absl::OkStatus();
}

Interface::Interface(const InterfaceSpec& spec, FrameSink* out)
    : spec_(spec), netmask_(MaskOf(spec.prefix_len)), out_(out) {}

bool Interface::OnLink(uint32_t addr) const {
  return (addr & netmask_) == (spec_.address & netmask_);
}

void Interface::Emit(absl::Span<const uint8_t> head, const Payload& payload) {
  if (out_->SendFrame(head, payload)) {
    ++counters_.frames_sent;
    counters_.bytes_sent += head.size() + payload.size();
  } else {
    ++counters_.dropped_device;
  }
}

std::optional<Packet> Interface::OnFrame(TimeNs now,
                                         absl::Span<const uint8_t> frame) {
  ++counters_.frames_received;
  counters_.bytes_received += frame.size();
  absl::StatusOr<EthernetHeader> eth = DecodeEthernetHeader(frame);
  if (!eth.ok()) {
    ++counters_.dropped_malformed;
    return std::nullopt;
  }
  if (eth->dst != spec_.mac && eth->dst != kBroadcastMac) {
    ++counters_.dropped_not_for_us;
    return std::nullopt;
  }
  absl::Span<const uint8_t> body = frame.subspan(eth->length());
  if (eth->ether_type == kEtherTypeArp) {
    OnArp(now, body);
    return std::nullopt;
  }
  if (eth->ether_type != kEtherTypeIpv4) {
    ++counters_.dropped_unsupported;
    return std::nullopt;
  }
  if (body.size() < kIpv4MinHeaderLen || (body[0] >> 4) != 4) {
    ++counters_.dropped_malformed;
    return std::nullopt;
  }
  const size_t total = wire_internal::Get16(body.data() + 2);
  if (total > spec_.mtu) {
    ++counters_.dropped_too_big;
    return std::nullopt;
  }
  const uint16_t frag = wire_internal::Get16(body.data() + 6);
  if ((frag & kMoreFragments) != 0 || (frag & kFragmentOffsetMask) != 0) {
    ++counters_.dropped_fragment;
    return std::nullopt;
  }
  // A total length shorter than the minimum header (0, say) leaves nothing
  // to read the IHL from.
  if (total > body.size() || total < kIpv4MinHeaderLen) {
    ++counters_.dropped_malformed;
    return std::nullopt;
  }
  body = body.first(total);  // drops Ethernet padding
  const size_t ihl = static_cast<size_t>(body[0] & 0x0f) * 4;
  absl::StatusOr<Ipv4Header> ip =
      DecodeIpv4Header(body.first(std::min(ihl, body.size())), total);
  if (!ip.ok()) {
    ++counters_.dropped_malformed;
    return std::nullopt;
  }
  if (ip->dst != spec_.address) {
    ++counters_.dropped_not_for_us;
    return std::nullopt;
  }
  // A frame from an on-link host refreshes what we know of its MAC.
  if (OnLink(ip->src) && ip->src != spec_.address) {
    for (Packet& p : arp_.Insert(ip->src, eth->src, now)) SendTo(eth->src, p);
  }
  if (ip->protocol == kIpProtoIcmp) {
    OnIcmp(body, eth->src);
    return std::nullopt;
  }
  if (ip->protocol != kIpProtoTcp) {
    ++counters_.dropped_unsupported;
    return std::nullopt;
  }
  if (total < ihl + kTcpMinHeaderLen) {
    ++counters_.dropped_malformed;
    return std::nullopt;
  }
  const size_t headers = ihl + static_cast<size_t>(body[ihl + 12] >> 4) * 4;
  if (headers < ihl + kTcpMinHeaderLen || headers > total ||
      headers > Packet::kMaxHeaderBytes) {
    ++counters_.dropped_malformed;
    return std::nullopt;
  }
  Packet p;
  std::memcpy(p.header.data(), body.data(), headers);
  p.header_len = static_cast<uint8_t>(headers);
  if (total > headers) p.payload = Payload::Copy(body.subspan(headers));
  return p;
}

void Interface::OnArp(TimeNs now, absl::Span<const uint8_t> body) {
  absl::StatusOr<ArpPacket> arp = DecodeArp(body);
  if (!arp.ok()) {
    ++counters_.dropped_malformed;
    return;
  }
  // RFC 826: learn the sender if it asks for us or answers us, or refresh it
  // if it is known; here every on-link sender addressed to us is learned.
  const bool for_us = arp->target_ip == spec_.address;
  if (for_us && OnLink(arp->sender_ip) && arp->sender_ip != spec_.address) {
    for (Packet& p : arp_.Insert(arp->sender_ip, arp->sender_mac, now)) {
      SendTo(arp->sender_mac, p);
    }
  }
  if (arp->op == ArpOp::kReply) {
    if (for_us) {
      ++counters_.arp_replies_received;
    } else {
      ++counters_.dropped_not_for_us;
    }
    return;
  }
  if (!for_us) {
    ++counters_.dropped_not_for_us;
    return;
  }
  absl::StatusOr<ArpPacket> reply =
      MakeArpReply(*arp, spec_.mac, spec_.address);
  if (!reply.ok()) {
    ++counters_.dropped_malformed;
    return;
  }
  std::array<uint8_t, kEthernetHeaderLen + kArpPacketLen> buf;
  absl::StatusOr<size_t> n = EncodeArpFrame(*reply, absl::MakeSpan(buf));
  if (!n.ok()) return;
  ++counters_.arp_requests_answered;
  Emit(absl::MakeConstSpan(buf.data(), *n), Payload());
}

void Interface::OnIcmp(absl::Span<const uint8_t> packet,
                       const MacAddress& src_mac) {
  absl::StatusOr<ParsedIcmpEcho> echo = ParseIcmpEchoPacket(packet);
  if (!echo.ok() || echo->echo.type != kIcmpTypeEchoRequest) {
    ++counters_.dropped_unsupported;
    return;
  }
  absl::StatusOr<std::vector<uint8_t>> reply = MakeEchoReply(packet);
  if (!reply.ok()) {
    ++counters_.dropped_malformed;
    return;
  }
  // The request came from src_mac: answer there, even for an off-link
  // source (it came through the gateway).
  std::array<uint8_t, kEthernetHeaderLen> head;
  EthernetHeader eth;
  eth.dst = src_mac;
  eth.src = spec_.mac;
  eth.ether_type = kEtherTypeIpv4;
  (void)EncodeEthernetHeader(eth, absl::MakeSpan(head));
  ++counters_.icmp_echo_answered;
  Emit(head, Payload::Copy(*reply));
}

void Interface::SendTo(const MacAddress& dst, Packet& p) {
  std::array<uint8_t, kEthernetHeaderLen + Packet::kMaxHeaderBytes> head;
  EthernetHeader eth;
  eth.dst = dst;
  eth.src = spec_.mac;
  eth.ether_type = kEtherTypeIpv4;
  (void)EncodeEthernetHeader(eth, absl::MakeSpan(head));
  std::memcpy(head.data() + kEthernetHeaderLen, p.header.data(), p.header_len);
  Emit(absl::MakeConstSpan(head.data(), kEthernetHeaderLen + p.header_len),
       p.payload);
}

void Interface::Send(TimeNs now, Packet p) {
  const uint32_t dst = p.header_len >= kIpv4MinHeaderLen
                           ? wire_internal::Get32(p.header.data() + 16)
                           : 0;
  const uint32_t hop = OnLink(dst) ? dst : spec_.gateway;
  if (hop == 0) {
    ++counters_.dropped_arp_unresolved;
    return;
  }
  if (std::optional<MacAddress> mac = arp_.Lookup(hop, now)) {
    SendTo(*mac, p);
    return;
  }
  switch (arp_.Enqueue(hop, std::move(p), now)) {
    case ArpEnqueueResult::kQueuedSendRequest: {
      ArpPacket req = MakeArpRequest(spec_.mac, spec_.address, hop);
      std::array<uint8_t, kEthernetHeaderLen + kArpPacketLen> buf;
      absl::StatusOr<size_t> n = EncodeArpFrame(req, absl::MakeSpan(buf));
      if (!n.ok()) return;
      ++counters_.arp_requests_sent;
      Emit(absl::MakeConstSpan(buf.data(), *n), Payload());
      return;
    }
    case ArpEnqueueResult::kQueued:
      return;
    case ArpEnqueueResult::kDroppedQueueFull:
    case ArpEnqueueResult::kDroppedTooManyAddresses:
      ++counters_.dropped_arp_unresolved;
      return;
  }
}

void Interface::OnTimer(TimeNs now) {
  counters_.dropped_arp_unresolved += arp_.ExpirePending(now);
}

}  // namespace tcpemu
