// Ethernet II frame header (IEEE 802.3 clause 3.2.6 "Ethernet II" framing,
// RFC 894 for IPv4) with optional single IEEE 802.1Q VLAN tag, and 48-bit MAC
// addresses with their usual text form.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tcpemu {

// A 48-bit IEEE MAC address, first octet first (as on the wire).
using MacAddress = std::array<uint8_t, 6>;

inline constexpr MacAddress kBroadcastMac = {0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff};
inline constexpr MacAddress kZeroMac = {0, 0, 0, 0, 0, 0};

// The group (I/G) bit: set for multicast and broadcast destinations.
inline bool IsMulticastMac(const MacAddress& mac) {
  return (mac[0] & 0x01) != 0;
}

// Formats as six lower-case two-digit hex octets separated by ':'.
std::string MacToString(const MacAddress& mac);
// Parses exactly six groups of two hex digits (either case) separated by ':'
// or all by '-'.
absl::StatusOr<MacAddress> ParseMac(std::string_view text);

inline constexpr size_t kEthernetHeaderLen = 14;
inline constexpr size_t kVlanTagLen = 4;
inline constexpr size_t kEthernetMaxHeaderLen =
    kEthernetHeaderLen + kVlanTagLen;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // IEEE 802.1Q C-tag
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // IEEE 802.1ad S-tag
// Type/length values below this are IEEE 802.3 length fields, not EtherTypes.
inline constexpr uint16_t kEtherTypeMin = 0x0600;

struct EthernetHeader {
  MacAddress dst = kZeroMac;
  MacAddress src = kZeroMac;
  // The EtherType of the payload; for a tagged frame, the inner one.
  uint16_t ether_type = kEtherTypeIpv4;
  // The 802.1Q tag control information (PCP, DEI, VLAN id) if the frame
  // carries one tag.
  std::optional<uint16_t> vlan_tci;

  // Bytes before the payload: 14, or 18 with a VLAN tag.
  size_t length() const {
    return vlan_tci ? kEthernetMaxHeaderLen : kEthernetHeaderLen;
  }
  uint16_t vlan_id() const { return vlan_tci ? (*vlan_tci & 0x0fff) : 0; }
};

// Encodes the header (14 bytes, or 18 with `vlan_tci`) into `out`; returns the
// byte count. Fails if `out` is too small or `ether_type` is not an EtherType
// (below 0x0600, or a tag type, which would make the frame ambiguous).
absl::StatusOr<size_t> EncodeEthernetHeader(const EthernetHeader& h,
                                            absl::Span<uint8_t> out);

// Decodes the header at the start of `in`; the payload is
// in.subspan(result.length()). Frames are untagged, or carry exactly one
// 802.1Q tag, which is decoded to the inner EtherType with the tag kept in
// `vlan_tci`. Stacked tags (802.1ad or a second 802.1Q tag) and 802.3 length
// fields are rejected with a reason: tcpemu terminates traffic on one segment
// and never bridges, so neither can carry traffic for it.
absl::StatusOr<EthernetHeader> DecodeEthernetHeader(
    absl::Span<const uint8_t> in);

}  // namespace tcpemu
