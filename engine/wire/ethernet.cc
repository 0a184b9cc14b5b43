// Ethernet II header codec (IEEE 802.3 Ethernet II framing, RFC 894) with a
// single IEEE 802.1Q tag, and MAC address text conversion.
#include "engine/wire/ethernet.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "engine/wire/byte_order.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Put16;

bool IsTagType(uint16_t t) {
  return t == kEtherTypeVlan || t == kEtherTypeQinQ;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string MacToString(const MacAddress& mac) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                         mac[2], mac[3], mac[4], mac[5]);
}

absl::StatusOr<MacAddress> ParseMac(std::string_view text) {
  // "xx:xx:xx:xx:xx:xx" is exactly 17 characters; anything else (short
  // groups, extra groups, whitespace) is rejected rather than guessed at.
  constexpr size_t kTextLen = 17;
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mac address \"%s\" is not six two-digit hex groups separated by ':' "
        "or '-'",
        text));
  };
  if (text.size() != kTextLen) return bad();
  const char sep = text[2];
  if (sep != ':' && sep != '-') return bad();
  MacAddress mac;
  for (size_t i = 0; i < mac.size(); ++i) {
    const size_t at = i * 3;
    if (i > 0 && text[at - 1] != sep) return bad();
    const int hi = HexDigit(text[at]);
    const int lo = HexDigit(text[at + 1]);
    if (hi < 0 || lo < 0) return bad();
    mac[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return mac;
}

absl::StatusOr<size_t> EncodeEthernetHeader(const EthernetHeader& h,
                                            absl::Span<uint8_t> out) {
  if (h.ether_type < kEtherTypeMin || IsTagType(h.ether_type)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ethernet ether_type 0x%04x is not a payload EtherType (must be >= "
        "0x%04x and not a VLAN tag type)",
        h.ether_type, kEtherTypeMin));
  }
  const size_t len = h.length();
  if (out.size() < len) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ethernet encode buffer of %d bytes is too small (need %d)", out.size(),
        len));
  }
  uint8_t* p = out.data();
  std::copy(h.dst.begin(), h.dst.end(), p);
  std::copy(h.src.begin(), h.src.end(), p + 6);
  if (h.vlan_tci) {
    Put16(p + 12, kEtherTypeVlan);
    Put16(p + 14, *h.vlan_tci);
    Put16(p + 16, h.ether_type);
  } else {
    Put16(p + 12, h.ether_type);
  }
  return len;
}

absl::StatusOr<EthernetHeader> DecodeEthernetHeader(
    absl::Span<const uint8_t> in) {
  if (in.size() < kEthernetHeaderLen) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ethernet header truncated: %d bytes, need %d",
                        in.size(), kEthernetHeaderLen));
  }
  const uint8_t* p = in.data();
  EthernetHeader h;
  std::copy(p, p + 6, h.dst.begin());
  std::copy(p + 6, p + 12, h.src.begin());
  uint16_t type = Get16(p + 12);
  if (type == kEtherTypeQinQ) {
    return absl::InvalidArgumentError(
        "ethernet 802.1ad (QinQ, 0x88a8) service tags are not supported");
  }
  if (type == kEtherTypeVlan) {
    if (in.size() < kEthernetMaxHeaderLen) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "ethernet 802.1Q tagged header truncated: %d bytes, need %d",
          in.size(), kEthernetMaxHeaderLen));
    }
    h.vlan_tci = Get16(p + 14);
    type = Get16(p + 16);
    if (IsTagType(type)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "ethernet stacked VLAN tags are not supported (inner type 0x%04x "
          "after an 802.1Q tag)",
          type));
    }
  }
  if (type < kEtherTypeMin) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ethernet type/length 0x%04x is an IEEE 802.3 length, not an "
        "Ethernet II EtherType (>= 0x%04x)",
        type, kEtherTypeMin));
  }
  h.ether_type = type;
  return h;
}

}  // namespace tcpemu
