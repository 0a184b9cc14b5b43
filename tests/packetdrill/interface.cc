// libtcpemu_packetdrill.so: the engine's TCP as a stack packetdrill drives in
// its shared-object mode (--so_filename, --so_flags). Time is virtual: it
// moves only when packetdrill sleeps, looks at the clock, or waits for the
// stack's next packet, and then the stack's timers fire as they fall due.
// Blocking calls (packetdrill runs them on a thread of their own) wait until
// another call changes the host's state.
#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/time.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"
#include "tests/packetdrill/packetdrill_abi.h"
#include "tests/packetdrill/shim_config.h"
#include "tests/packetdrill/socket_layer.h"
#include "tests/packetdrill/tcp_host.h"
#include "tests/packetdrill/tso_merge.h"

namespace tcpemu::packetdrill {
namespace {

// The virtual clock reads as this many seconds after the epoch at start.
constexpr int64_t kEpochOffsetSeconds = 1'000'000'000;
// How far netdev_receive moves the clock looking for the stack's next
// packet before it reports that none comes.
constexpr DurationNs kReceiveHorizon = 600 * kSecond;
// Each look at the clock costs a microsecond, so that packetdrill's spin
// until an event's time ends.
constexpr DurationNs kClockReadCost = 1000;

struct Shim {
  explicit Shim(const ShimConfig& c)
      : config(c), host(c.local_addr), sockets(&host, &config) {}
  std::mutex mu;
  std::condition_variable changed;
  ShimConfig config;
  TcpHost host;
  SocketLayer sockets;
};

Shim* Of(void* userdata) { return static_cast<Shim*>(userdata); }

// With TCPEMU_PD_TRACE set, every packet in and out is printed to stderr.
void Trace(const char* dir, TimeNs now, absl::Span<const uint8_t> bytes) {
  static const bool on = std::getenv("TCPEMU_PD_TRACE") != nullptr;
  if (!on) return;
  absl::StatusOr<ParsedTcpPacket> p = ParseTcpPacketBytes(bytes);
  if (!p.ok()) {
    std::fprintf(stderr, "tcpemu %s %.6f: %s\n", dir, now / 1e9,
                 std::string(p.status().message()).c_str());
    return;
  }
  std::fprintf(stderr,
               "tcpemu %s %.6f: %s:%d > %s:%d flags 0x%02x seq %u "
               "ack %u win %u len %zu\n",
               dir, now / 1e9, Ipv4ToString(p->ip.src).c_str(), p->tcp.src_port,
               Ipv4ToString(p->ip.dst).c_str(), p->tcp.dst_port, p->tcp.flags,
               p->tcp.seq.value(), p->tcp.ack.value(), p->tcp.window,
               p->payload.size());
}

// Holds the shim's lock for one call; on the way out tells waiting calls
// that the host may have changed and rewrites the socket table.
class Call {
 public:
  explicit Call(Shim* s) : shim_(s), lock_(s->mu) {}
  ~Call() {
    shim_->changed.notify_all();
    if (!shim_->config.sockstat_file.empty()) {
      if (std::FILE* f = std::fopen(shim_->config.sockstat_file.c_str(), "w")) {
        const std::string t = shim_->sockets.Table();
        std::fwrite(t.data(), 1, t.size(), f);
        std::fclose(f);
      }
    }
  }
  void Wait() { shim_->changed.wait(lock_); }

 private:
  Shim* shim_;
  std::unique_lock<std::mutex> lock_;
};

// -errno results become -1 with errno set, as the system calls do.
template <typename T>
T Ret(T r) {
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

// Runs `call` under the lock; while it answers "would block" on a blocking
// socket, waits for the host to change and tries again.
template <typename F>
auto Blocking(Shim* s, int fd, int would_block, F call) {
  Call c(s);
  auto r = call();
  while (r == -would_block && s->sockets.known(fd) &&
         !s->sockets.nonblocking(fd)) {
    c.Wait();
    r = call();
  }
  return r;
}

void Advance(Shim* s, TimeNs to) {
  s->host.AdvanceTo(to);
  s->changed.notify_all();
}

void Free(void* userdata) { delete Of(userdata); }

int DoSocket(void* u, int domain, int type, int protocol) {
  Shim* s = Of(u);
  Call c(s);
  return Ret(s->sockets.Socket(domain, type, protocol));
}

int DoBind(void* u, int fd, const sockaddr* addr, socklen_t len) {
  Shim* s = Of(u);
  Call c(s);
  return Ret(s->sockets.Bind(fd, addr, len));
}

int DoListen(void* u, int fd, int backlog) {
  Shim* s = Of(u);
  Call c(s);
  return Ret(s->sockets.Listen(fd, backlog));
}

int DoAccept(void* u, int fd, sockaddr* addr, socklen_t* len) {
  Shim* s = Of(u);
  return Ret(Blocking(s, fd, EAGAIN,
                      [&] { return s->sockets.Accept(fd, addr, len); }));
}

int DoConnect(void* u, int fd, const sockaddr* addr, socklen_t len) {
  Shim* s = Of(u);
  Call c(s);
  int r = s->sockets.Connect(fd, addr, len);
  s->changed.notify_all();
  if (r != -EINPROGRESS || s->sockets.nonblocking(fd)) return Ret(r);
  while ((r = s->sockets.ConnectResult(fd)) == -EINPROGRESS) c.Wait();
  return Ret(r);
}

ssize_t Gather(const iovec* iov, int n, std::vector<uint8_t>& out) {
  out.clear();
  for (int i = 0; i < n; ++i) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    out.insert(out.end(), p, p + iov[i].iov_len);
  }
  return static_cast<ssize_t>(out.size());
}

void Scatter(const std::vector<uint8_t>& in, size_t n, const iovec* iov,
             int count) {
  size_t off = 0;
  for (int i = 0; i < count && off < n; ++i) {
    const size_t take = std::min(n - off, iov[i].iov_len);
    std::memcpy(iov[i].iov_base, in.data() + off, take);
    off += take;
  }
}

ssize_t DoRecv(void* u, int fd, void* buf, size_t len, int flags) {
  Shim* s = Of(u);
  auto span = absl::MakeSpan(static_cast<uint8_t*>(buf), len);
  if ((flags & MSG_DONTWAIT) != 0) {
    Call c(s);
    return Ret<ssize_t>(s->sockets.Recv(fd, span, flags));
  }
  return Ret<ssize_t>(Blocking(
      s, fd, EAGAIN, [&] { return s->sockets.Recv(fd, span, flags); }));
}

ssize_t DoRead(void* u, int fd, void* buf, size_t count) {
  return DoRecv(u, fd, buf, count, 0);
}

ssize_t DoRecvfrom(void* u, int fd, void* buf, size_t len, int flags,
                   sockaddr* from, socklen_t* from_len) {
  if (from_len != nullptr) *from_len = 0;
  return DoRecv(u, fd, buf, len, flags);
}

ssize_t DoReadvFlags(void* u, int fd, const iovec* iov, int n, int flags) {
  size_t total = 0;
  for (int i = 0; i < n; ++i) total += iov[i].iov_len;
  std::vector<uint8_t> tmp(total);
  ssize_t r = DoRecv(u, fd, tmp.data(), total, flags);
  if (r > 0) Scatter(tmp, static_cast<size_t>(r), iov, n);
  return r;
}

ssize_t DoReadv(void* u, int fd, const iovec* iov, int n) {
  return DoReadvFlags(u, fd, iov, n, 0);
}

ssize_t DoRecvmsg(void* u, int fd, msghdr* msg, int flags) {
  msg->msg_controllen = 0;
  msg->msg_flags = 0;
  return DoReadvFlags(u, fd, msg->msg_iov, static_cast<int>(msg->msg_iovlen),
                      flags);
}

// A blocking send returns once all of `data` is accepted (or an error
// ends it), as the kernels' do.
ssize_t DoSend(void* u, int fd, const void* buf, size_t len, int flags) {
  Shim* s = Of(u);
  auto data = absl::MakeConstSpan(static_cast<const uint8_t*>(buf), len);
  Call c(s);
  const bool nb = (flags & MSG_DONTWAIT) != 0 || s->sockets.nonblocking(fd);
  size_t done = 0;
  while (true) {
    int64_t r = s->sockets.Send(fd, data.subspan(done), flags);
    s->changed.notify_all();
    if (r >= 0) {
      done += static_cast<size_t>(r);
      if (done == len || nb) return static_cast<ssize_t>(done);
      continue;
    }
    if (r == -EAGAIN && !nb && s->sockets.known(fd)) {
      c.Wait();
      continue;
    }
    if (done > 0) return static_cast<ssize_t>(done);
    return Ret<ssize_t>(r);
  }
}

ssize_t DoWrite(void* u, int fd, const void* buf, size_t count) {
  return DoSend(u, fd, buf, count, 0);
}

ssize_t DoSendto(void* u, int fd, const void* buf, size_t len, int flags,
                 const sockaddr* to, socklen_t to_len) {
  return DoSend(u, fd, buf, len, flags);
}

ssize_t DoWritev(void* u, int fd, const iovec* iov, int n) {
  std::vector<uint8_t> tmp;
  Gather(iov, n, tmp);
  return DoSend(u, fd, tmp.data(), tmp.size(), 0);
}

ssize_t DoSendmsg(void* u, int fd, const msghdr* msg, int flags) {
  std::vector<uint8_t> tmp;
  Gather(msg->msg_iov, static_cast<int>(msg->msg_iovlen), tmp);
  return DoSend(u, fd, tmp.data(), tmp.size(), flags);
}

int DoFcntl(void* u, int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const long arg = va_arg(ap, long);
  va_end(ap);
  Shim* s = Of(u);
  Call c(s);
  return Ret(s->sockets.Fcntl(fd, cmd, arg));
}

int DoIoctl(void* u, int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  int* value = va_arg(ap, int*);
  va_end(ap);
  Shim* s = Of(u);
  Call c(s);
  return Ret(s->sockets.Ioctl(fd, request, value));
}

int DoClose(void* u, int fd) {
  Shim* s = Of(u);
  Call c(s);
  const int r = s->sockets.Close(fd);
  s->changed.notify_all();
  return Ret(r);
}

int DoShutdown(void* u, int fd, int how) {
  Shim* s = Of(u);
  Call c(s);
  const int r = s->sockets.Shutdown(fd, how);
  s->changed.notify_all();
  return Ret(r);
}

int DoGetsockopt(void* u, int fd, int level, int name, void* value,
                 socklen_t* len) {
  Shim* s = Of(u);
  Call c(s);
  return Ret(s->sockets.GetSockOpt(fd, level, name, value, len));
}

int DoSetsockopt(void* u, int fd, int level, int name, const void* value,
                 socklen_t len) {
  Shim* s = Of(u);
  Call c(s);
  const int r = s->sockets.SetSockOpt(fd, level, name, value, len);
  s->changed.notify_all();
  return Ret(r);
}

// poll with a timeout waits in virtual time: the deadline passes when the
// clock, moved by packetdrill's other calls, reaches it.
int DoPoll(void* u, pollfd* fds, nfds_t n, int timeout_ms) {
  Shim* s = Of(u);
  Call c(s);
  const TimeNs deadline =
      timeout_ms < 0 ? kNever : s->host.now() + timeout_ms * kMillisecond;
  while (true) {
    int ready = 0;
    for (nfds_t i = 0; i < n; ++i) {
      fds[i].revents = s->sockets.Revents(fds[i].fd, fds[i].events);
      if (fds[i].revents != 0) ++ready;
    }
    if (ready > 0 || timeout_ms == 0 || s->host.now() >= deadline) {
      return ready;
    }
    c.Wait();
  }
}

int DoNetdevSend(void* u, const void* buf, size_t count) {
  Shim* s = Of(u);
  Call c(s);
  const auto bytes =
      absl::MakeConstSpan(static_cast<const uint8_t*>(buf), count);
  Trace("in ", s->host.now(), bytes);
  absl::Status st = s->host.Inject(bytes);
  s->changed.notify_all();
  if (!st.ok()) {
    std::fprintf(stderr, "tcpemu: injected packet refused: %s\n",
                 std::string(st.message()).c_str());
    return -1;
  }
  return 0;
}

// The TCP payload length of an IPv4 packet (0 if it is not TCP).
size_t TcpPayloadBytes(const std::vector<uint8_t>& bytes) {
  absl::StatusOr<ParsedTcpPacket> p = ParseTcpPacketBytes(bytes);
  return p.ok() ? p->payload.size() : 0;
}

int DoNetdevReceive(void* u, void* buf, size_t* count, long long* time_usecs) {
  Shim* s = Of(u);
  Call c(s);
  const TimeNs give_up = s->host.now() + kReceiveHorizon;
  while (!s->host.has_outbound()) {
    const TimeNs next = s->host.NextDeadline();
    if (next == kNever || next > give_up) {
      std::fprintf(stderr,
                   "tcpemu: the stack sends nothing more (no timer due "
                   "within %lld s)\n",
                   static_cast<long long>(kReceiveHorizon / kSecond));
      *count = 0;
      return 0;
    }
    Advance(s, next);
  }
  OutboundPacket p = s->host.PopOutbound();
  if (s->config.tso) {
    const size_t piece = TcpPayloadBytes(p.bytes);
    while (piece > 0 && s->host.has_outbound()) {
      std::optional<OutboundPacket> merged =
          MergeTso(p, piece, s->host.PeekOutbound());
      if (!merged.has_value()) break;
      s->host.PopOutbound();
      p = std::move(*merged);
    }
  }
  Trace("out", p.sent_at, p.bytes);
  const size_t n = std::min(*count, p.bytes.size());
  std::memcpy(buf, p.bytes.data(), n);
  *count = n;
  *time_usecs = kEpochOffsetSeconds * 1'000'000 + p.sent_at / 1000;
  return 0;
}

int DoUsleep(void* u, useconds_t usec) {
  Shim* s = Of(u);
  Call c(s);
  Advance(s, s->host.now() + static_cast<DurationNs>(usec) * 1000);
  return 0;
}

int DoGettimeofday(void* u, timeval* tv, void* tz) {
  Shim* s = Of(u);
  Call c(s);
  const TimeNs now = s->host.now();
  tv->tv_sec = static_cast<time_t>(kEpochOffsetSeconds + now / kSecond);
  tv->tv_usec = static_cast<suseconds_t>((now % kSecond) / 1000);
  Advance(s, now + kClockReadCost);
  return 0;
}

int Unsupported() {
  errno = ENOSYS;
  return -1;
}
int DoEpollCreate(void*, int) { return Unsupported(); }
int DoEpollCtl(void*, int, int, int, epoll_event*) { return Unsupported(); }
int DoEpollWait(void*, int, epoll_event*, int, int) { return Unsupported(); }
int DoPipe(void*, int*) { return Unsupported(); }
int DoSplice(void*, int, loff_t*, int, loff_t*, size_t, unsigned int) {
  return Unsupported();
}

}  // namespace
}  // namespace tcpemu::packetdrill

extern "C" __attribute__((visibility("default"))) void
packetdrill_interface_init(const char* flags, packetdrill_interface* ifc) {
  using namespace tcpemu::packetdrill;
  absl::StatusOr<ShimConfig> config =
      ParseShimFlags(flags == nullptr ? "" : flags);
  if (!config.ok()) {
    std::fprintf(stderr, "tcpemu: --so_flags: %s\n",
                 std::string(config.status().message()).c_str());
    std::exit(1);
  }
  *ifc = packetdrill_interface{};
  ifc->userdata = new Shim(*config);
  ifc->free = Free;
  ifc->socket = DoSocket;
  ifc->bind = DoBind;
  ifc->listen = DoListen;
  ifc->accept = DoAccept;
  ifc->connect = DoConnect;
  ifc->read = DoRead;
  ifc->readv = DoReadv;
  ifc->recv = DoRecv;
  ifc->recvfrom = DoRecvfrom;
  ifc->recvmsg = DoRecvmsg;
  ifc->write = DoWrite;
  ifc->writev = DoWritev;
  ifc->send = DoSend;
  ifc->sendto = DoSendto;
  ifc->sendmsg = DoSendmsg;
  ifc->fcntl = DoFcntl;
  ifc->ioctl = DoIoctl;
  ifc->close = DoClose;
  ifc->shutdown = DoShutdown;
  ifc->getsockopt = DoGetsockopt;
  ifc->setsockopt = DoSetsockopt;
  ifc->poll = DoPoll;
  ifc->netdev_send = DoNetdevSend;
  ifc->netdev_receive = DoNetdevReceive;
  ifc->usleep = DoUsleep;
  ifc->gettimeofday = DoGettimeofday;
  ifc->epoll_create = DoEpollCreate;
  ifc->epoll_ctl = DoEpollCtl;
  ifc->epoll_wait = DoEpollWait;
  ifc->pipe = DoPipe;
  ifc->splice = DoSplice;
}
