// Turns one frame read from a TAP device with offloads (a virtio-net header
// before it) into the frames a device without offloads would have delivered:
// a checksum left for the receiver to complete (kVnetNeedsCsum) is completed,
// and a TCP/IPv4 super-segment (kVnetGsoTcpV4, up to 64 KiB) is cut into
// segments of at most gso_size payload bytes, as the kernel's own GSO would
// have cut them on the wire: consecutive sequence numbers, IPv4 ids counting
// up, FIN and PSH on the last segment only, CWR on the first only, each with
// its own IPv4 and TCP checksums. The engine's link and TCP then see (and its
// captures show) one MSS per frame.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/io/vnet_header.h"

namespace tcpemu {

class GsoSplitter {
 public:
  // Starts on `frame` (an Ethernet frame), which is kept, not copied: it must
  // stay unchanged until Next has returned 0. A checksum to complete is
  // completed in place. Fails, with nothing to return, if the header asks
  // for what this does not do (GSO other than TCP over IPv4, or over a frame
  // that is not Ethernet/IPv4/TCP) or does not fit the frame.
  absl::Status Start(const VnetHeader& h, absl::Span<uint8_t> frame);

  // Writes the next frame into `out` and returns its size; 0 once every
  // frame has been returned. Fails if `out` is too small for it (that frame
  // is then skipped).
  absl::StatusOr<size_t> Next(absl::Span<uint8_t> out);

  // Frames still to be returned by Next.
  size_t pending() const { return count_ - next_; }

 private:
  absl::Status StartGso(const VnetHeader& h);
  size_t Segment(size_t i, absl::Span<uint8_t> out) const;

  absl::Span<uint8_t> frame_;
  size_t count_ = 0;  // frames to return
  size_t next_ = 0;
  // GSO only: where the parts are, and the first segment's values.
  bool gso_ = false;
  size_t ip_off_ = 0;
  size_t ip_len_ = 0;   // IPv4 header bytes
  size_t tcp_len_ = 0;  // TCP header bytes
  size_t payload_ = 0;  // payload bytes in all
  size_t mss_ = 0;
  uint16_t ip_id_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace tcpemu
