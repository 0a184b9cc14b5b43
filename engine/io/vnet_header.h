// The virtio-net header (struct virtio_net_hdr, 10 bytes) that a TAP device
// opened with IFF_VNET_HDR puts before every frame: which checksum is left to
// complete and how a large TCP segment is to be cut (GSO). Little-endian, as
// the device is told with TUNSETVNETLE.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tcpemu {

inline constexpr size_t kVnetHeaderLen = 10;

// flags
inline constexpr uint8_t kVnetNeedsCsum = 1;  // complete the checksum at
                                              // csum_start + csum_offset
inline constexpr uint8_t kVnetDataValid = 2;  // the checksum was verified
// gso_type
inline constexpr uint8_t kVnetGsoNone = 0;
inline constexpr uint8_t kVnetGsoTcpV4 = 1;
inline constexpr uint8_t kVnetGsoUdp = 3;
inline constexpr uint8_t kVnetGsoTcpV6 = 4;
inline constexpr uint8_t kVnetGsoEcn = 0x80;  // or-ed in: CWR on the first

struct VnetHeader {
  uint8_t flags = 0;
  uint8_t gso_type = kVnetGsoNone;
  uint16_t hdr_len = 0;      // bytes of headers (Ethernet to TCP) per segment
  uint16_t gso_size = 0;     // payload bytes per segment (the MSS)
  uint16_t csum_start = 0;   // from the start of the Ethernet frame
  uint16_t csum_offset = 0;  // of the checksum field, from csum_start

  bool operator==(const VnetHeader&) const = default;
};

// Fails if `in` is shorter than kVnetHeaderLen.
absl::StatusOr<VnetHeader> DecodeVnetHeader(absl::Span<const uint8_t> in);

// Writes kVnetHeaderLen bytes; `out` must hold them.
void EncodeVnetHeader(const VnetHeader& h, absl::Span<uint8_t> out);

}  // namespace tcpemu
