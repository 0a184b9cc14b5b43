// A Linux TAP device (/dev/net/tun with IFF_TAP | IFF_NO_PI): Ethernet frames
// in and out of the kernel through a non-blocking file descriptor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/sim/interface.h"
#include "engine/wire/buffer.h"

namespace tcpemu {

class TapDevice final : public FrameSink {
 public:
  // Opens TAP `name` (at most 15 bytes; it may hold one "%d" for the kernel
  // to number it), creating it if it does not exist, sets its MTU and brings
  // it up. Fails with a message that names the device and the cause
  // (permission, missing /dev/net/tun, a non-TAP device of that name).
  static absl::StatusOr<std::unique_ptr<TapDevice>> Open(
      const std::string& name, uint32_t mtu);
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

  // Reads one frame into `buf`; 0 when none is waiting. Errors other than
  // "nothing to read" are returned.
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> buf);

  // FrameSink: writes head + payload as one frame (gathered, not copied).
  bool SendFrame(absl::Span<const uint8_t> head,
                 const Payload& payload) override;

 private:
  TapDevice(int fd, std::string name, bool created)
      : fd_(fd), name_(std::move(name)), created_(created) {}

  int fd_;
  std::string name_;
  bool created_;
};

}  // namespace tcpemu
