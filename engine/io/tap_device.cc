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
    const std::string& name, uint32_t mtu) {
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
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    return Errno(absl::StrCat("TUNSETIFF \"", name, "\""), errno);
  }
  std::string actual(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));

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
      new TapDevice(fd, std::move(actual), !existed));
}

TapDevice::~TapDevice() { Close(); }

void TapDevice::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::StatusOr<size_t> TapDevice::Read(absl::Span<uint8_t> buf) {
  while (true) {
    ssize_t n = read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return Errno(absl::StrCat("read ", name_), errno);
  }
}

bool TapDevice::SendFrame(absl::Span<const uint8_t> head,
                          const Payload& payload) {
  if (fd_ < 0) return false;
  constexpr size_t kMaxIov = 16;
  struct iovec iov[kMaxIov];
  size_t n = 0;
  iov[n++] = {const_cast<uint8_t*>(head.data()), head.size()};
  bool fits = payload.slices().size() < kMaxIov;
  if (fits) {
    payload.ForEachSpan([&](absl::Span<const uint8_t> s) {
      iov[n++] = {const_cast<uint8_t*>(s.data()), s.size()};
    });
  }
  ssize_t w;
  if (fits) {
    do {
      w = writev(fd_, iov, static_cast<int>(n));
    } while (w < 0 && errno == EINTR);
  } else {
    std::vector<uint8_t> flat(head.begin(), head.end());
    flat.resize(head.size() + payload.size());
    payload.CopyTo(absl::MakeSpan(flat).subspan(head.size()));
    do {
      w = write(fd_, flat.data(), flat.size());
    } while (w < 0 && errno == EINTR);
  }
  return w >= 0;  // a refusal is counted by the interface (dropped_device)
}

}  // namespace tcpemu
