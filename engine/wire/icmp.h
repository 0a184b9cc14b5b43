// ICMPv4 echo request and echo reply (RFC 792, with the host requirements of
// RFC 1122 3.2.2.6): decode with checksum verification, and the reply a host
// sends to a ping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/wire/ipv4.h"

namespace tcpemu {

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr size_t kIcmpEchoHeaderLen = 8;

inline constexpr uint8_t kIcmpTypeEchoReply = 0;
inline constexpr uint8_t kIcmpTypeEchoRequest = 8;

// An echo message. `payload` points into the bytes it was decoded from (or
// into the caller's data when encoding) and lives only as long as they do.
struct IcmpEcho {
  uint8_t type = kIcmpTypeEchoRequest;
  uint8_t code = 0;
  uint16_t checksum = 0;  // as received; computed when encoding
  uint16_t id = 0;
  uint16_t seq = 0;
  absl::Span<const uint8_t> payload;

  size_t size() const { return kIcmpEchoHeaderLen + payload.size(); }
};

// Encodes the 8-byte header and the payload into `out`, computing the
// checksum over both. Returns echo.size().
absl::StatusOr<size_t> EncodeIcmpEcho(const IcmpEcho& echo,
                                      absl::Span<uint8_t> out);

// Decodes an ICMP message (the bytes after the IPv4 header, up to the IPv4
// total length). Rejects, with a reason, fewer than 8 bytes, a bad checksum,
// types other than echo request (8) and echo reply (0), and a nonzero code.
absl::StatusOr<IcmpEcho> DecodeIcmpEcho(absl::Span<const uint8_t> icmp);

struct ParsedIcmpEcho {
  Ipv4Header ip;
  IcmpEcho echo;  // payload points into the parsed packet
};

// Decodes an IPv4 packet carrying an echo message. Bytes past the IPv4 total
// length (link-layer padding) are ignored.
absl::StatusOr<ParsedIcmpEcho> ParseIcmpEchoPacket(
    absl::Span<const uint8_t> ipv4_packet);

// Builds the complete IPv4 + ICMP echo reply to the echo request in
// `request_packet` (an IPv4 packet): source and destination swapped, the same
// id, sequence number and data, both checksums recomputed. The reply carries
// no IPv4 options (RFC 1122 3.2.2.6 lets a host omit the request's options)
// and is an atomic datagram (DF set, IPv4 id 0, as RFC 6864 4.1 permits).
// Fails with the parse error if the request is malformed or not a request.
absl::StatusOr<std::vector<uint8_t>> MakeEchoReply(
    absl::Span<const uint8_t> request_packet, uint8_t ttl = 64);

}  // namespace tcpemu
