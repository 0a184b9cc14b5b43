// A Linux TAP device (/dev/net/tun with IFF_TAP | IFF_NO_PI): Ethernet frames
// in and out of the kernel through a non-blocking file descriptor. With
// offloads (the default) the device carries a virtio-net header
// (IFF_VNET_HDR) and the kernel may hand over TCP/IPv4 super-segments of up
// to 64 KiB with their checksums left to complete (TUN_F_CSUM | TUN_F_TSO4 |
// TUN_F_TSO_ECN): one read for dozens of segments. Read cuts them back into
// the MSS-sized frames the kernel would have sent without offloads, so the
// engine never sees the difference. Towards the kernel, a device on a
// TapFlushList coalesces the consecutive segments of a flow it is given into
// TSO frames (TsoCoalescer) and writes them when the list is flushed (the end
// of the loop's pass) or when a segment that does not join comes.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/io/gso_split.h"
#include "engine/io/tso_coalesce.h"
#include "engine/sim/interface.h"
#include "engine/wire/buffer.h"

namespace tcpemu {

struct TapOptions {
  // The virtio-net header and the kernel's segmentation and checksum
  // offloads towards the engine. Off: one plain frame per read.
  bool offloads = true;
};

class TapDevice;

// The devices holding a coalesced frame, for the loop that sends through them
// to write at the end of its pass. It must outlive the devices on it (a
// device leaves it when destroyed).
class TapFlushList {
 public:
  TapFlushList() = default;
  ~TapFlushList();
  TapFlushList(const TapFlushList&) = delete;
  TapFlushList& operator=(const TapFlushList&) = delete;

  // Writes what every device on the list holds.
  void FlushAll();
  bool empty() const { return held_.empty(); }

 private:
  friend class TapDevice;
  std::vector<TapDevice*> held_;
  std::vector<TapDevice*> members_;
};

// What a device with offloads wrote towards the kernel.
struct TapWriteCounters {
  uint64_t frames = 0;        // writes (each one frame)
  uint64_t tso_frames = 0;    // of them, TSO frames of several segments
  uint64_t tso_segments = 0;  // segments in those TSO frames
  uint64_t errors = 0;        // held frames the device refused
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

  // With offloads: coalesce segments into TSO frames, held until `list` is
  // flushed (or a segment that does not join comes). Without a list (the
  // default) every frame is written when sent.
  void SetFlushList(TapFlushList* list);
  // Writes the frame held, if any.
  void Flush();
  const TapWriteCounters& write_counters() const { return writes_; }

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
  friend class TapFlushList;
  TapDevice(int fd, std::string name, bool created, bool offloads);
  bool Write(const struct iovec* iov, int n);

  int fd_;
  std::string name_;
  bool created_;
  bool offloads_;
  // Offloads only: the last read (virtio-net header and frame) and what is
  // left of it to return.
  std::vector<uint8_t> raw_;
  GsoSplitter splitter_;
  std::vector<uint8_t> flat_;  // a frame of too many slices, flattened
  // Towards the kernel, with a flush list.
  TapFlushList* flush_list_ = nullptr;
  bool on_held_list_ = false;
  TsoCoalescer tso_;
  TapWriteCounters writes_;
};

}  // namespace tcpemu
