// Coalesces the engine's consecutive TCP/IPv4 segments of one flow into one
// TSO frame for a TAP device with offloads (the reverse of GsoSplitter): a
// virtio-net header with gso_type kVnetGsoTcpV4, gso_size = the first
// segment's payload, NEEDS_CSUM (the TCP checksum field holds the
// pseudo-header's sum over the whole frame), and one IPv4/TCP header: the
// first segment's, with the IPv4 total length and checksum of the whole
// frame and the last segment's PSH and FIN.
//
// The kernel's TCP takes such a frame as the segments it stands for, and its
// GSO (tcp_gso_segment) would cut it back by copying the first header into
// every segment, clearing FIN and PSH on all but the last and CWR on all but
// the first, counting IPv4 ids up from the first. So a segment joins the
// held frame only if that cut gives it back byte for byte: the same Ethernet
// header, IPv4 header (but length, checksum and an id one past the last
// one's), ports, ACK number, data offset, window, urgent pointer and options
// (timestamps included); its sequence number follows the last one's; the
// held segments all carry exactly gso_size bytes and none PSH or FIN; it
// carries at most gso_size bytes, flags equal but for PSH and FIN, and the
// whole stays within one 64 KiB IPv4 packet. SYN, RST, URG, CWR, no ACK, no
// payload, IPv4 options or fragments, and a bad IPv4 or TCP checksum (a
// segment an impaired link corrupted: the kernel must see and drop it, and
// it does not check a checksum it was told to complete) make a segment that
// is never merged: it goes to the device alone, as it came.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "engine/io/vnet_header.h"
#include "engine/wire/buffer.h"

namespace tcpemu {

class TsoCoalescer {
 public:
  // Largest IPv4 packet a frame may carry.
  static constexpr size_t kMaxIpv4Bytes = 65535;

  TsoCoalescer();

  // Appends the frame `head` (Ethernet, IPv4 and TCP headers, whole) +
  // `payload` to the frame held, or starts one if none is held. Returns
  // false, holding nothing new, if it cannot join the frame held or is never
  // merged: the caller then takes what is held (Take) and offers the frame
  // again or writes it alone. Copies: `head` and `payload` may go after the
  // call.
  bool Append(absl::Span<const uint8_t> head, const Payload& payload);

  bool holding() const { return segments_ > 0; }
  // Segments in the frame held.
  size_t segments() const { return segments_; }

  // The frame held, with its virtio-net header in front (kVnetHeaderLen
  // bytes, then the Ethernet frame), ready for one write; holds nothing
  // after. One segment comes back as it was given, with an empty header.
  // The span stays valid until the next Append. Empty if nothing is held.
  absl::Span<const uint8_t> Take();
  // Segments in the frame the last Take returned.
  size_t last_taken_segments() const { return last_taken_; }

 private:
  // Whether the segment could be merged at all; sets the fields below for
  // it.
  bool Eligible(absl::Span<const uint8_t> head, const Payload& payload);
  bool JoinsHeld(absl::Span<const uint8_t> head, size_t payload) const;

  std::vector<uint8_t> buf_;  // virtio-net header, then the frame
  size_t len_ = 0;            // bytes of buf_ in use
  size_t segments_ = 0;
  size_t last_taken_ = 0;
  size_t headers_ = 0;  // Ethernet + IPv4 + TCP header bytes
  size_t ip_len_ = 0;
  size_t tcp_len_ = 0;
  size_t gso_size_ = 0;
  size_t last_payload_ = 0;
  uint8_t last_flags_ = 0;
  uint16_t next_id_ = 0;
  uint32_t next_seq_ = 0;
  // Of the segment being appended.
  size_t seg_ip_len_ = 0;
  size_t seg_tcp_len_ = 0;
};

}  // namespace tcpemu
