// ICMPv4 echo codec and echo reply (RFC 792 "Echo or Echo Reply Message";
// checksum per RFC 1071; reply rules of RFC 1122 3.2.2.6).
#include "engine/wire/icmp.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/checksum.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Put16;

}  // namespace

absl::StatusOr<size_t> EncodeIcmpEcho(const IcmpEcho& echo,
                                      absl::Span<uint8_t> out) {
  if (echo.type != kIcmpTypeEchoRequest && echo.type != kIcmpTypeEchoReply) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "icmp type %d is neither echo request (%d) nor echo reply (%d)",
        echo.type, kIcmpTypeEchoRequest, kIcmpTypeEchoReply));
  }
  const size_t len = echo.size();
  if (out.size() < len) {
    return absl::InvalidArgumentError(
        absl::StrFormat("icmp encode buffer of %d bytes is too small (need %d)",
                        out.size(), len));
  }
  uint8_t* p = out.data();
  p[0] = echo.type;
  p[1] = echo.code;
  Put16(p + 2, 0);
  Put16(p + 4, echo.id);
  Put16(p + 6, echo.seq);
  std::copy(echo.payload.begin(), echo.payload.end(), p + kIcmpEchoHeaderLen);
  // RFC 792: the checksum covers the whole ICMP message with the checksum
  // field taken as zero.
  Put16(p + 2, InternetChecksum({p, len}));
  return len;
}

absl::StatusOr<IcmpEcho> DecodeIcmpEcho(absl::Span<const uint8_t> icmp) {
  if (icmp.size() < kIcmpEchoHeaderLen) {
    return absl::InvalidArgumentError(
        absl::StrFormat("icmp echo truncated: %d bytes, need at least %d",
                        icmp.size(), kIcmpEchoHeaderLen));
  }
  const uint8_t* p = icmp.data();
  // Summing a message that carries its own checksum gives 0 when intact.
  if (InternetChecksum(icmp) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "icmp checksum 0x%04x does not match the message", Get16(p + 2)));
  }
  if (p[0] != kIcmpTypeEchoRequest && p[0] != kIcmpTypeEchoReply) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "icmp type %d is neither echo request (%d) nor echo reply (%d)", p[0],
        kIcmpTypeEchoRequest, kIcmpTypeEchoReply));
  }
  if (p[1] != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("icmp echo code %d is not 0", p[1]));
  }
  IcmpEcho echo;
  echo.type = p[0];
  echo.code = p[1];
  echo.checksum = Get16(p + 2);
  echo.id = Get16(p + 4);
  echo.seq = Get16(p + 6);
  echo.payload = icmp.subspan(kIcmpEchoHeaderLen);
  return echo;
}

absl::StatusOr<ParsedIcmpEcho> ParseIcmpEchoPacket(
    absl::Span<const uint8_t> ipv4_packet) {
  absl::StatusOr<Ipv4Header> ip = DecodeIpv4Header(ipv4_packet);
  if (!ip.ok()) return ip.status();
  if (ip->protocol != kIpProtoIcmp) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ipv4 protocol %d is not icmp (%d)", ip->protocol, kIpProtoIcmp));
  }
  // DecodeIpv4Header guarantees header_length <= total_length <= size.
  absl::StatusOr<IcmpEcho> echo = DecodeIcmpEcho(ipv4_packet.subspan(
      ip->header_length, ip->total_length - ip->header_length));
  if (!echo.ok()) return echo.status();
  return ParsedIcmpEcho{*ip, *echo};
}

absl::StatusOr<std::vector<uint8_t>> MakeEchoReply(
    absl::Span<const uint8_t> request_packet, uint8_t ttl) {
  absl::StatusOr<ParsedIcmpEcho> req = ParseIcmpEchoPacket(request_packet);
  if (!req.ok()) return req.status();
  if (req->echo.type != kIcmpTypeEchoRequest) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "icmp type %d is not an echo request (%d); only requests are answered",
        req->echo.type, kIcmpTypeEchoRequest));
  }
  // Fits in total_length: the request's IPv4 header was at least as long as
  // the reply's.
  const size_t total = kIpv4MinHeaderLen + req->echo.size();

  Ipv4Header ip;
  ip.src = req->ip.dst;
  ip.dst = req->ip.src;
  ip.ttl = ttl;
  ip.protocol = kIpProtoIcmp;
  ip.tos = req->ip.tos;
  ip.total_length = static_cast<uint16_t>(total);
  ip.id = 0;
  ip.dont_fragment = true;

  IcmpEcho echo = req->echo;
  echo.type = kIcmpTypeEchoReply;
  echo.code = 0;

  std::vector<uint8_t> out(total);
  absl::StatusOr<size_t> ip_len = EncodeIpv4Header(ip, absl::MakeSpan(out));
  if (!ip_len.ok()) return ip_len.status();
  absl::StatusOr<size_t> icmp_len =
      EncodeIcmpEcho(echo, absl::MakeSpan(out).subspan(*ip_len));
  if (!icmp_len.ok()) return icmp_len.status();
  return out;
}

}  // namespace tcpemu
