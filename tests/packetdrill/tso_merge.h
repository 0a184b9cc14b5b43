// Segments as a Linux host with TSO hands them to packetdrill: Google's
// gtests/net/tcp scripts are written against a tun device with offloads,
// where the kernel's TCP sends one super-segment for the MSS-sized pieces of
// a burst (`> P. 1:10001(10000)` with an MSS of 1000). The engine sends each
// segment; with the `linux` profile the shim merges the ones the kernel would
// have sent as one TSO packet before packetdrill sees them.
#pragma once

#include <optional>

#include "tests/packetdrill/tcp_host.h"

namespace tcpemu::packetdrill {

// `held` (one segment or a merge of several) followed by `next`, as one TSO
// packet, if the kernel's GSO would cut that packet back into exactly these
// segments: the same flow, sent at the same time, `next` right after `held`
// in sequence, both ACK-only data segments but for PSH and FIN on the last,
// the same ACK number, window and options, every piece but the last
// carrying the first one's length, and the whole within one IPv4 packet.
// nullopt otherwise.
std::optional<OutboundPacket> MergeTso(const OutboundPacket& held,
                                       size_t held_segment_bytes,
                                       const OutboundPacket& next);

}  // namespace tcpemu::packetdrill
