#include "tests/packetdrill/tso_merge.h"

#include <cstring>

#include "engine/wire/packet.h"

namespace tcpemu::packetdrill {

std::optional<OutboundPacket> MergeTso(const OutboundPacket& held,
                                       size_t held_segment_bytes,
                                       const OutboundPacket& next) {
  if (held.sent_at != next.sent_at) return std::nullopt;
  absl::StatusOr<ParsedTcpPacket> a = ParseTcpPacketBytes(held.bytes);
  absl::StatusOr<ParsedTcpPacket> b = ParseTcpPacketBytes(next.bytes);
  if (!a.ok() || !b.ok()) return std::nullopt;
  using namespace tcp_flags;
  const TcpHeader& ha = a->tcp;
  const TcpHeader& hb = b->tcp;
  const uint8_t pushes = kPsh | kFin;
  const size_t la = a->payload.size();
  const size_t lb = b->payload.size();
  if (a->ip.src != b->ip.src || a->ip.dst != b->ip.dst ||
      a->ip.tos != b->ip.tos || ha.src_port != hb.src_port ||
      ha.dst_port != hb.dst_port) {
    return std::nullopt;
  }
  // Only plain ACK-carrying data; PSH and FIN end a burst.
  if ((ha.flags & ~kAck) != 0 || (hb.flags & ~(kAck | pushes)) != 0 ||
      !(ha.flags & kAck) || !(hb.flags & kAck) || la == 0 || lb == 0) {
    return std::nullopt;
  }
  if (hb.seq != ha.seq + static_cast<int64_t>(la) || hb.ack != ha.ack ||
      hb.window != ha.window || !(hb.options == ha.options)) {
    return std::nullopt;
  }
  // Every piece carries the first one's length; the last may be shorter.
  const size_t piece = held_segment_bytes;
  if (la % piece != 0 || lb > piece) return std::nullopt;
  if (held.bytes.size() + lb > 65535) return std::nullopt;
  TcpHeader h = ha;
  h.flags = static_cast<uint8_t>(ha.flags | (hb.flags & pushes));
  Payload payload = a->payload;
  payload.Append(b->payload);
  Ipv4Header ip = a->ip;
  absl::StatusOr<Packet> p = BuildTcpPacket(ip, h, std::move(payload));
  if (!p.ok()) return std::nullopt;
  OutboundPacket out;
  out.sent_at = held.sent_at;
  out.bytes.resize(p->size());
  std::memcpy(out.bytes.data(), p->header.data(), p->header_len);
  p->payload.CopyTo(absl::MakeSpan(out.bytes).subspan(p->header_len));
  return out;
}

}  // namespace tcpemu::packetdrill
