// The ECN field of the IPv4 header (RFC 3168 5): the two low bits of the
// former TOS byte, read and set on encoded packets.
#pragma once

#include <cstdint>

#include "engine/wire/packet.h"

namespace tcpemu {

enum class Ecn : uint8_t {
  kNotEct = 0,  // 00: not ECN-capable transport
  kEct1 = 1,    // 01: ECT(1)
  kEct0 = 2,    // 10: ECT(0)
  kCe = 3,      // 11: congestion experienced
};

inline constexpr uint8_t kEcnMask = 0x03;

// The ECN codepoint of an encoded IPv4 packet (kNotEct if it has no header).
Ecn PacketEcn(const Packet& p);

// Whether a router may mark the packet instead of dropping it: ECT(0),
// ECT(1) or already CE (RFC 3168 5.1).
inline bool IsEcnCapable(Ecn e) { return e != Ecn::kNotEct; }

// Sets the codepoint to CE and updates the IPv4 header checksum in place
// (RFC 1624 incremental update), as a router does. Returns false, leaving
// the packet alone, when it is not ECN-capable; a CE packet stays CE.
bool MarkCe(Packet& p);

}  // namespace tcpemu
