// IPv4 + TCP packet assembly and parsing (RFC 791, RFC 9293 3.1). The TCP
// checksum covers the pseudo-header, the TCP header and every payload slice
// without first copying the payload into one buffer.
#include "engine/wire/packet.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/checksum.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Get32;
using wire_internal::Put16;

constexpr size_t kTcpChecksumOffset = 16;
constexpr size_t kMaxPacketLen = 65535;  // the IPv4 total_length field

struct Headers {
  Ipv4Header ip;
  TcpHeader tcp;
  size_t ip_len = 0;   // IPv4 header bytes
  size_t tcp_len = 0;  // TCP header bytes
};

// Decodes both headers from `prefix`, the first min(packet_size, 120) bytes
// of a packet of `packet_size` bytes.
absl::StatusOr<Headers> DecodeHeaders(absl::Span<const uint8_t> prefix,
                                      size_t packet_size) {
  Headers out;
  absl::StatusOr<Ipv4Header> ip = DecodeIpv4Header(prefix, packet_size);
  if (!ip.ok()) return ip.status();
  out.ip = *ip;
  out.ip_len = ip->header_length;
  if (ip->protocol != kIpProtoTcp) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ipv4 protocol %d is not tcp (%d)", ip->protocol, kIpProtoTcp));
  }
  // The TCP header may only use bytes the IP packet claims; the prefix holds
  // all of them up to the largest possible TCP header.
  const size_t segment_end = std::min<size_t>(ip->total_length, prefix.size());
  absl::StatusOr<TcpHeader> tcp = DecodeTcpHeader(
      prefix.subspan(out.ip_len, segment_end - out.ip_len), &out.tcp_len);
  if (!tcp.ok()) return tcp.status();
  out.tcp = *tcp;
  return out;
}

// Starts the receiver's TCP checksum with the pseudo-header. It must come
// first: the segment may have an odd length, and words added after an odd
// number of bytes would straddle word boundaries.
ChecksumAccumulator PseudoHeaderSum(const Headers& h) {
  ChecksumAccumulator acc;
  AddPseudoHeader(acc, h.ip.src, h.ip.dst, kIpProtoTcp,
                  static_cast<uint16_t>(h.ip.total_length - h.ip_len));
  return acc;
}

}  // namespace

void Packet::FlipBit(size_t bit) {
  if (bit < size_t{header_len} * 8) {
    header[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  } else {
    payload.FlipBit(bit - size_t{header_len} * 8);
    payload_sum_known = false;
  }
}

absl::StatusOr<Packet> BuildTcpPacket(const Ipv4Header& ip,
                                      const TcpHeader& tcp, Payload payload) {
  const size_t tcp_len = TcpHeaderLength(tcp.options);
  const size_t total = kIpv4MinHeaderLen + tcp_len + payload.size();
  if (total > kMaxPacketLen) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tcp packet of %d bytes (%d payload) exceeds the ipv4 limit of %d",
        total, payload.size(), kMaxPacketLen));
  }

  Packet p;
  Ipv4Header ip_out = ip;
  ip_out.total_length = static_cast<uint16_t>(total);
  ip_out.header_length = kIpv4MinHeaderLen;
  absl::StatusOr<size_t> ip_len =
      EncodeIpv4Header(ip_out, absl::MakeSpan(p.header));
  if (!ip_len.ok()) return ip_len.status();

  TcpHeader tcp_out = tcp;
  tcp_out.checksum = 0;
  absl::StatusOr<size_t> written =
      EncodeTcpHeader(tcp_out, absl::MakeSpan(p.header).subspan(*ip_len));
  if (!written.ok()) return written.status();

  uint8_t* tcp_bytes = p.header.data() + *ip_len;
  ChecksumAccumulator acc;
  AddPseudoHeader(acc, ip.src, ip.dst, kIpProtoTcp,
                  static_cast<uint16_t>(*written + payload.size()));
  acc.Add({tcp_bytes, *written});
  ChecksumAccumulator payload_acc;
  payload.ForEachSpan(
      [&payload_acc](absl::Span<const uint8_t> s) { payload_acc.Add(s); });
  p.payload_sum = payload_acc.Sum();
  p.payload_sum_known = true;
  acc.AddU16(p.payload_sum);  // the TCP header's length is a multiple of 4
  Put16(tcp_bytes + kTcpChecksumOffset, acc.Finish());

  p.header_len = static_cast<uint8_t>(*ip_len + *written);
  p.payload = std::move(payload);
  return p;
}

absl::StatusOr<ParsedTcpPacket> ParseTcpPacket(const Packet& p) {
  const size_t header_len = std::min<size_t>(p.header_len, p.header.size());
  const size_t packet_size = header_len + p.payload.size();

  // Normally both headers end exactly at header_len. A corrupted IHL or data
  // offset can make them reach into the payload; then the bytes are laid out
  // contiguously first so that the packet parses exactly as it would off a
  // wire.
  absl::Span<const uint8_t> prefix(p.header.data(), header_len);
  std::array<uint8_t, Packet::kMaxHeaderBytes> linear;
  bool fits = false;
  if (header_len >= kIpv4MinHeaderLen) {
    const size_t ihl = static_cast<size_t>(p.header[0] & 0x0f) * 4;
    if (ihl >= kIpv4MinHeaderLen && ihl + kTcpMinHeaderLen <= header_len) {
      const size_t doff = static_cast<size_t>(p.header[ihl + 12] >> 4) * 4;
      fits = ihl + std::max(doff, kTcpMinHeaderLen) <= header_len;
    }
  }
  if (!fits && !p.payload.empty()) {
    std::memcpy(linear.data(), p.header.data(), header_len);
    const size_t more =
        p.payload.CopyTo(absl::MakeSpan(linear).subspan(header_len));
    prefix = absl::Span<const uint8_t>(linear.data(), header_len + more);
  }

  absl::StatusOr<Headers> h = DecodeHeaders(prefix, packet_size);
  if (!h.ok()) return h.status();

  // The segment is bytes [ip_len, total_length) of the packet; bytes past
  // total_length (link-layer padding) belong to neither.
  const size_t seg_begin = h->ip_len;
  const size_t data_begin = h->ip_len + h->tcp_len;
  const size_t seg_end = h->ip.total_length;

  ChecksumAccumulator acc = PseudoHeaderSum(*h);
  if (seg_begin < header_len) {
    acc.Add({p.header.data() + seg_begin,
             std::min(seg_end, header_len) - seg_begin});
  }
  ParsedTcpPacket out;
  if (seg_end > header_len) {
    const size_t from = seg_begin > header_len ? seg_begin - header_len : 0;
    Payload seg = p.payload.Sub(from, seg_end - header_len - from);
    if (p.payload_sum_known && from == 0 && seg.size() == p.payload.size() &&
        (header_len - std::min(seg_begin, size_t{header_len})) % 2 == 0) {
      // The whole payload, as built, at an even offset of the segment.
      acc.AddU16(p.payload_sum);
    } else {
      seg.ForEachSpan([&acc](absl::Span<const uint8_t> s) { acc.Add(s); });
    }
    // In the usual case data begins right at the payload, so the payload is
    // shared rather than copied.
    if (data_begin >= header_len) {
      seg.RemovePrefix(data_begin - header_len - from);
      out.payload = std::move(seg);
    } else {
      out.payload = Payload::Copy(
          {p.header.data() + data_begin, header_len - data_begin});
      out.payload.Append(seg);
    }
  } else if (data_begin < seg_end) {
    out.payload =
        Payload::Copy({p.header.data() + data_begin, seg_end - data_begin});
  }
  // Summing a segment that carries its own checksum gives 0 when intact.
  out.checksum_ok = acc.Finish() == 0;
  out.ip = h->ip;
  out.tcp = h->tcp;
  return out;
}

absl::StatusOr<ParsedTcpPacket> ParseTcpPacketBytes(
    absl::Span<const uint8_t> bytes) {
  absl::StatusOr<Headers> h =
      DecodeHeaders(bytes.subspan(0, Packet::kMaxHeaderBytes), bytes.size());
  if (!h.ok()) return h.status();
  const size_t seg_end = h->ip.total_length;
  const size_t data_begin = h->ip_len + h->tcp_len;

  ParsedTcpPacket out;
  ChecksumAccumulator acc = PseudoHeaderSum(*h);
  acc.Add(bytes.subspan(h->ip_len, seg_end - h->ip_len));
  out.checksum_ok = acc.Finish() == 0;
  out.payload = Payload::Copy(bytes.subspan(data_begin, seg_end - data_begin));
  out.ip = h->ip;
  out.tcp = h->tcp;
  return out;
}

TcpPeek PeekTcp(const Packet& p) {
  TcpPeek peek;
  const size_t ihl = static_cast<size_t>(p.header[0] & 0x0f) * 4;
  if (ihl + kTcpMinHeaderLen > p.header_len) return peek;
  const uint8_t* tcp = p.header.data() + ihl;
  peek.src_port = Get16(tcp);
  peek.dst_port = Get16(tcp + 2);
  peek.seq = Seq(Get32(tcp + 4));
  peek.ack = Seq(Get32(tcp + 8));
  peek.flags = tcp[13];
  const size_t headers = ihl + static_cast<size_t>(tcp[12] >> 4) * 4;
  const size_t total = Get16(p.header.data() + 2);
  peek.payload_len =
      total > headers ? static_cast<uint32_t>(total - headers) : 0;
  return peek;
}

}  // namespace tcpemu
