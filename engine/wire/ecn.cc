// Reading and marking the IPv4 ECN field; see ecn.h.
#include "engine/wire/ecn.h"

#include "engine/wire/byte_order.h"

namespace tcpemu {

using wire_internal::Get16;
using wire_internal::Put16;

Ecn PacketEcn(const Packet& p) {
  if (p.header_len < kIpv4MinHeaderLen) return Ecn::kNotEct;
  return static_cast<Ecn>(p.header[1] & kEcnMask);
}

bool MarkCe(Packet& p) {
  const Ecn ecn = PacketEcn(p);
  if (!IsEcnCapable(ecn)) return false;
  if (ecn == Ecn::kCe) return true;
  // The TOS byte is the low byte of the header's first 16-bit word.
  uint8_t* h = p.header.data();
  const uint16_t old_word = static_cast<uint16_t>(h[0] << 8 | h[1]);
  h[1] |= kEcnMask;
  const uint16_t new_word = static_cast<uint16_t>(h[0] << 8 | h[1]);
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
  uint32_t sum = static_cast<uint16_t>(~Get16(h + 10));
  sum += static_cast<uint16_t>(~old_word);
  sum += new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  Put16(h + 10, static_cast<uint16_t>(~sum));
  return true;
}

}  // namespace tcpemu
