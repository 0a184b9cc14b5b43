// A Linux TAP device (/dev/net/tun with IFF_TAP | IFF_NO_PI): Ethernet frames
// in and out of the kernel through a non-blocking file descriptor. With
// offloads (the default) the device carries a virtio-net header
// (IFF_VNET_HDR) and the kernel may hand over TCP/IPv4 super-segments of up
// to 64 KiB with their checksums left to complete (TUN_F_CSUM | TUN_F_TSO4 |
// TUN_F_TSO_ECN): one read for dozens of segments. Read cuts them back into
// the MSS-sized frames the kernel would have sent without offloads, so the
// engine never sees the difference.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/io/gso_split.h"
#include "engine/sim/interface.h"
#include "engine/wire/buffer.h"

namespace tcpemu {

struct TapOptions {
  // The virtio-net header and the kernel's segmentation and checksum
  // offloads towards the engine. Off: one plain frame per read.
  bool offloads = true;
};

class TapDevice final : public FrameSink {
 public:
  // Opens TAP `name` (at most 15 bytes; it may hold one "%d" for the kernel
  // to number it), creating it if it does not exist, sets its MTU and brings
  // it up. Fails with a message that names the device and the cause
  // (permission, missing /dev/net/tun, a non-TAP device of that name).
  static absl::StatusOr<std::unique_ptr<TapDevice>> Open(
      const std::string& name, uint32_t mtu, const TapOptions& options = {});
  ~TapDevice() override;
  TapDevice(const TapDevice&) = delete;
  TapDevice& operator=(const TapDevice&) = delete;

  int fd() const { return fd_; }
  // Closes the descriptor after the device failed or vanished; the object
  // stays, as the interface's FrameSink, and refuses every frame.
  void Close();
  bool closed() const { return fd_ < 0; }
  const std::string& name() const { return name_; }
  // True if the device did not exist before Open: it goes away with this
  // object. An attached persistent device stays.
  bool created() const { return created_; }

  bool offloads() const { return offloads_; }

  // Reads one frame into `buf`; 0 when none is waiting. Errors other than
  // "nothing to read" are returned. With offloads, one read from the device
  // may yield many frames: the rest are returned by the following calls
  // before the device is read again. `buf` should hold the MTU plus the
  // Ethernet header; a frame that does not fit is dropped.
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> buf);

  // FrameSink: writes head + payload as one frame (gathered, not copied).
  bool SendFrame(absl::Span<const uint8_t> head,
                 const Payload& payload) override;

 private:
  TapDevice(int fd, std::string name, bool created, bool offloads);

  int fd_;
  std::string name_;
  bool created_;
  bool offloads_;
  // Offloads only: the last read (virtio-net header and frame) and what is
  // left of it to return.
  std::vector<uint8_t> raw_;
  GsoSplitter splitter_;
  std::vector<uint8_t> flat_;  // a frame of too many slices, flattened
};

}  // namespace tcpemu
