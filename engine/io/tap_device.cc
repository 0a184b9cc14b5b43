// TapDevice: open, configure, read and gathered write; see tap_device.h.
#include "engine/io/tap_device.h"

#include <fcntl.h>
#include <net/if.h>
// After <net/if.h>, which defines what <linux/if.h> would.
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace tcpemu {
namespace {

absl::Status Errno(const std::string& what, int err) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  if (err == EPERM || err == EACCES) {
    return absl::PermissionDeniedError(
        absl::StrCat(msg, " (TAP devices need CAP_NET_ADMIN)"));
  }
  if (err == ENOENT || err == ENODEV) {
    return absl::FailedPreconditionError(msg);
  }
  if (err == EBUSY) return absl::FailedPreconditionError(msg);
  if (err == EINVAL) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TapDevice>> TapDevice::Open(
    const std::string& name, uint32_t mtu, const TapOptions& options) {
  if (name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name \"", name, "\" is longer than ", IFNAMSIZ - 1, " bytes"));
  }
  const bool existed =
      name.find('%') == std::string::npos && if_nametoindex(name.c_str()) != 0;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Errno("open /dev/net/tun", errno);
  absl::Cleanup close_fd = [fd] { close(fd); };

  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (options.offloads) ifr.ifr_flags |= IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    return Errno(absl::StrCat("TUNSETIFF \"", name, "\""), errno);
  }
  std::string actual(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  if (options.offloads) {
    int hdr_len = static_cast<int>(kVnetHeaderLen);
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
      return Errno(absl::StrCat("TUNSETVNETHDRSZ on ", actual), errno);
    }
    int little_endian = 1;
    if (ioctl(fd, TUNSETVNETLE, &little_endian) < 0) {
      return Errno(absl::StrCat("TUNSETVNETLE on ", actual), errno);
    }
    // What the kernel may hand us: checksums to complete and TCP/IPv4
    // super-segments (with ECN), which Read cuts.
    unsigned long offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN;
    if (ioctl(fd, TUNSETOFFLOAD, offload) < 0) {
      return Errno(absl::StrCat("TUNSETOFFLOAD on ", actual), errno);
    }
  }

  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return Errno("socket", errno);
  absl::Cleanup close_sock = [sock] { close(sock); };
  struct ifreq req;
  std::memset(&req, 0, sizeof(req));
  std::memcpy(req.ifr_name, actual.data(), actual.size());
  req.ifr_mtu = static_cast<int>(mtu);
  if (ioctl(sock, SIOCSIFMTU, &req) < 0) {
    return Errno(absl::StrCat("set mtu ", mtu, " on ", actual), errno);
  }
  if (ioctl(sock, SIOCGIFFLAGS, &req) < 0) {
    return Errno(absl::StrCat("get flags of ", actual), errno);
  }
  req.ifr_flags |= IFF_UP;
  if (ioctl(sock, SIOCSIFFLAGS, &req) < 0) {
    return Errno(absl::StrCat("bring up ", actual), errno);
  }
  std::move(close_fd).Cancel();
  return std::unique_ptr<TapDevice>(
      new TapDevice(fd, std::move(actual), !existed, options.offloads));
}

TapDevice::TapDevice(int fd, std::string name, bool created, bool offloads)
    : fd_(fd), name_(std::move(name)), created_(created), offloads_(offloads) {
  // A virtio-net header and the largest super-segment: an IPv4 packet of
  // 64 KiB behind an Ethernet header (with a VLAN tag, to spare).
  if (offloads_) raw_.resize(kVnetHeaderLen + 18 + 65535);
}

TapDevice::~TapDevice() {
  Flush();
  SetFlushList(nullptr);
  Close();
}

TapFlushList::~TapFlushList() {
  for (TapDevice* d : std::vector<TapDevice*>(members_)) {
    d->SetFlushList(nullptr);
  }
}

void TapFlushList::FlushAll() {
  // Flush only writes: no device joins the list meanwhile.
  for (TapDevice* d : held_) {
    d->on_held_list_ = false;
    d->Flush();
  }
  held_.clear();
}

void TapDevice::SetFlushList(TapFlushList* list) {
  if (list == flush_list_) return;
  if (flush_list_ != nullptr) {
    Flush();
    std::erase(flush_list_->held_, this);
    std::erase(flush_list_->members_, this);
    on_held_list_ = false;
  }
  flush_list_ = list;
  if (list != nullptr) list->members_.push_back(this);
}

void TapDevice::Flush() {
  absl::Span<const uint8_t> frame = tso_.Take();
  if (frame.empty() || fd_ < 0) return;
  const size_t segments = tso_.last_taken_segments();
  struct iovec iov = {const_cast<uint8_t*>(frame.data()), frame.size()};
  if (!Write(&iov, 1)) {
    ++writes_.errors;
    return;
  }
  if (segments > 1) {
    ++writes_.tso_frames;
    writes_.tso_segments += segments;
  }
}

bool TapDevice::Write(const struct iovec* iov, int n) {
  ssize_t w;
  do {
    w = writev(fd_, iov, n);
  } while (w < 0 && errno == EINTR);
  if (w < 0) return false;
  ++writes_.frames;
  return true;
}

void TapDevice::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::StatusOr<size_t> TapDevice::Read(absl::Span<uint8_t> buf) {
  while (true) {
    if (offloads_ && splitter_.pending() > 0) {
      absl::StatusOr<size_t> n = splitter_.Next(buf);
      if (n.ok()) return *n;
      continue;  // larger than `buf`: dropped
    }
    const absl::Span<uint8_t> into = offloads_ ? absl::MakeSpan(raw_) : buf;
    ssize_t n = read(fd_, into.data(), into.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return Errno(absl::StrCat("read ", name_), errno);
    }
    if (!offloads_) return static_cast<size_t>(n);
    absl::StatusOr<VnetHeader> h =
        DecodeVnetHeader(absl::MakeConstSpan(raw_.data(), n));
    if (!h.ok()) continue;  // shorter than its header: dropped
    absl::Span<uint8_t> frame =
        into.subspan(kVnetHeaderLen, n - kVnetHeaderLen);
    if (!splitter_.Start(*h, frame).ok()) {
      // A cut this does not make: the frame goes on as it came, for the
      // interface to count (too big, unsupported).
      VnetHeader plain;
      (void)splitter_.Start(plain, frame);
    }
  }
}

bool TapDevice::SendFrame(absl::Span<const uint8_t> head,
                          const Payload& payload) {
  if (fd_ < 0) return false;
  if (offloads_ && flush_list_ != nullptr) {
    // Joins the frame held, or starts one once what is held is written.
    bool held = tso_.Append(head, payload);
    if (!held && tso_.holding()) {
      Flush();
      held = tso_.Append(head, payload);
    }
    if (held) {
      if (!on_held_list_) {
        flush_list_->held_.push_back(this);
        on_held_list_ = true;
      }
      return true;
    }
  }
  // Written alone. No offload asked of the kernel: the engine's checksums are
  // complete (and must be checked, as a link may have corrupted them).
  static const uint8_t kPlainHeader[kVnetHeaderLen] = {};
  constexpr size_t kMaxIov = 16;
  struct iovec iov[kMaxIov];
  size_t n = 0;
  if (offloads_) {
    iov[n++] = {const_cast<uint8_t*>(kPlainHeader), kVnetHeaderLen};
  }
  iov[n++] = {const_cast<uint8_t*>(head.data()), head.size()};
  const bool fits = payload.slices().size() <= kMaxIov - n;
  if (fits) {
    payload.ForEachSpan([&](absl::Span<const uint8_t> s) {
      iov[n++] = {const_cast<uint8_t*>(s.data()), s.size()};
    });
  } else {
    // Flattened: the header (if any) and head, then the payload.
    const size_t lead = offloads_ ? kVnetHeaderLen : 0;
    flat_.resize(lead + head.size() + payload.size());
    if (lead > 0) std::memcpy(flat_.data(), kPlainHeader, lead);
    if (!head.empty()) {
      std::memcpy(flat_.data() + lead, head.data(), head.size());
    }
    payload.CopyTo(absl::MakeSpan(flat_).subspan(lead + head.size()));
    iov[0] = {flat_.data(), flat_.size()};
    n = 1;
  }
  // A refusal is counted by the interface (dropped_device).
  return Write(iov, static_cast<int>(n));
}

}  // namespace tcpemu
