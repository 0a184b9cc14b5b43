// IPv4 header codec (RFC 791; header checksum per RFC 1071). tcpemu never
// fragments, so fragments are rejected rather than reassembled.
#include "engine/wire/ipv4.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/checksum.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Get32;
using wire_internal::Put16;
using wire_internal::Put32;

constexpr uint16_t kFlagDontFragment = 0x4000;
constexpr uint16_t kFlagMoreFragments = 0x2000;
constexpr uint16_t kFragmentOffsetMask = 0x1fff;

}  // namespace

absl::StatusOr<size_t> EncodeIpv4Header(const Ipv4Header& h,
                                        absl::Span<uint8_t> out) {
  if (out.size() < kIpv4MinHeaderLen) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ipv4 encode buffer of %d bytes is too small (need %d)",
                        out.size(), kIpv4MinHeaderLen));
  }
  if (h.total_length < kIpv4MinHeaderLen) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ipv4 total_length %d out of range [%d, 65535]",
                        h.total_length, kIpv4MinHeaderLen));
  }
  uint8_t* p = out.data();
  // Options are never emitted, so IHL is always 5 whatever h.header_length
  // says.
  p[0] = 0x45;
  p[1] = h.tos;
  Put16(p + 2, h.total_length);
  Put16(p + 4, h.id);
  Put16(p + 6, h.dont_fragment ? kFlagDontFragment : 0);
  p[8] = h.ttl;
  p[9] = h.protocol;
  Put16(p + 10, 0);
  Put32(p + 12, h.src);
  Put32(p + 16, h.dst);
  Put16(p + 10, InternetChecksum({p, kIpv4MinHeaderLen}));
  return kIpv4MinHeaderLen;
}

absl::StatusOr<Ipv4Header> DecodeIpv4Header(absl::Span<const uint8_t> header,
                                            size_t packet_size) {
  if (header.size() < kIpv4MinHeaderLen) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ipv4 header truncated: %d bytes, need at least %d",
                        header.size(), kIpv4MinHeaderLen));
  }
  const uint8_t* p = header.data();
  const int version = p[0] >> 4;
  if (version != 4) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ipv4 version %d not supported (must be 4)", version));
  }
  const int ihl = p[0] & 0x0f;
  if (ihl < 5) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ipv4 ihl %d out of range [5, 15]", ihl));
  }
  const size_t header_len = static_cast<size_t>(ihl) * 4;
  if (header_len > header.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ipv4 ihl %d (%d bytes) exceeds the %d bytes available",
                        ihl, header_len, header.size()));
  }
  const uint16_t total_length = Get16(p + 2);
  if (total_length < header_len || total_length > packet_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ipv4 total_length %d out of range [%d, %d]",
                        total_length, header_len, packet_size));
  }
  // Summing a header that includes its own checksum field gives 0 when the
  // header is intact (RFC 1071 section 1).
  if (InternetChecksum({p, header_len}) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ipv4 header checksum 0x%04x does not match the header",
                        Get16(p + 10)));
  }
  const uint16_t frag = Get16(p + 6);
  if ((frag & kFlagMoreFragments) != 0 || (frag & kFragmentOffsetMask) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ipv4 fragments are not supported (more_fragments %d, fragment offset "
        "%d; both must be 0)",
        (frag & kFlagMoreFragments) != 0 ? 1 : 0, frag & kFragmentOffsetMask));
  }

  Ipv4Header h;
  h.tos = p[1];
  h.total_length = total_length;
  h.id = Get16(p + 4);
  h.dont_fragment = (frag & kFlagDontFragment) != 0;
  h.ttl = p[8];
  h.protocol = p[9];
  h.checksum = Get16(p + 10);
  h.src = Get32(p + 12);
  h.dst = Get32(p + 16);
  h.header_length = static_cast<uint8_t>(header_len);
  return h;
}

absl::StatusOr<Ipv4Header> DecodeIpv4Header(absl::Span<const uint8_t> in) {
  return DecodeIpv4Header(in, in.size());
}

std::string Ipv4ToString(uint32_t addr) {
  return absl::StrFormat("%d.%d.%d.%d", addr >> 24, (addr >> 16) & 0xff,
                         (addr >> 8) & 0xff, addr & 0xff);
}

absl::StatusOr<uint32_t> ParseIpv4(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ipv4 address \"%s\" is not a dotted quad a.b.c.d with each part in "
        "[0, 255] and no leading zeros",
        text));
  };
  // Hand-rolled rather than inet_pton so that the rules (exactly four parts,
  // no leading zeros, which some parsers read as octal) are explicit.
  uint32_t addr = 0;
  int parts = 0;
  size_t i = 0;
  while (true) {
    const size_t start = i;
    uint32_t v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      v = v * 10 + static_cast<uint32_t>(text[i] - '0');
      if (v > 255) return bad();
      ++i;
    }
    const size_t digits = i - start;
    if (digits == 0 || (digits > 1 && text[start] == '0')) return bad();
    addr = (addr << 8) | v;
    if (++parts == 4) break;
    if (i >= text.size() || text[i] != '.') return bad();
    ++i;
  }
  if (i != text.size()) return bad();
  return addr;
}

}  // namespace tcpemu
