// IPv4 header (RFC 791) as used by tcpemu: no fragmentation, optional
// options carried but not interpreted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tcpemu {

inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr size_t kIpv4MinHeaderLen = 20;

struct Ipv4Header {
  uint32_t src = 0;  // host byte order
  uint32_t dst = 0;  // host byte order
  uint8_t ttl = 64;
  uint8_t protocol = kIpProtoTcp;
  uint8_t tos = 0;
  uint16_t total_length = 0;  // header + payload, bytes
  uint16_t id = 0;
  bool dont_fragment = true;
  uint8_t header_length = kIpv4MinHeaderLen;  // bytes, 20..60
  uint16_t checksum = 0;
};

// Encodes a 20-byte header (no options) into `out`, computing the header
// checksum. Returns 20.
absl::StatusOr<size_t> EncodeIpv4Header(const Ipv4Header& h,
                                        absl::Span<uint8_t> out);

// Decodes and validates: version 4, IHL 5..15 within `in`, total_length
// within [IHL, in.size()], header checksum, no fragment (MF or offset != 0 is
// rejected as unsupported).
absl::StatusOr<Ipv4Header> DecodeIpv4Header(absl::Span<const uint8_t> in);

// As above, for a packet whose bytes are not all in `header`: `header` holds
// at least the IPv4 header (it may hold more), and `packet_size` is the size
// of the whole packet, which bounds total_length instead of header.size().
absl::StatusOr<Ipv4Header> DecodeIpv4Header(absl::Span<const uint8_t> header,
                                            size_t packet_size);

// Formats a host-order address as dotted quad, and parses one.
std::string Ipv4ToString(uint32_t addr);
absl::StatusOr<uint32_t> ParseIpv4(std::string_view text);

}  // namespace tcpemu
