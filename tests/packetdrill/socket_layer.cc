#include "tests/packetdrill/socket_layer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/wire/ipv4.h"

namespace tcpemu::packetdrill {

struct SocketLayer::Sock {
  int fd = -1;
  TcpConfig config;
  bool nonblocking = false;
  bool reuse_addr = false;
  bool bound = false;
  uint16_t local_port = 0;
  bool listening = false;
  Connection* conn = nullptr;
  bool shut_rd = false;
  bool shut_wr = false;
  bool linger_zero = false;
  bool error_taken = false;  // the connection's error was reported once
  uint32_t rcvbuf_set = 0, sndbuf_set = 0;  // 0: never set
};

namespace {

// Linux's TCP_INFO state numbers (include/net/tcp_states.h).
uint8_t LinuxState(TcpState s) {
  switch (s) {
    case TcpState::kEstablished:
      return 1;
    case TcpState::kSynSent:
      return 2;
    case TcpState::kSynReceived:
      return 3;
    case TcpState::kFinWait1:
      return 4;
    case TcpState::kFinWait2:
      return 5;
    case TcpState::kTimeWait:
      return 6;
    case TcpState::kClosed:
      return 7;
    case TcpState::kCloseWait:
      return 8;
    case TcpState::kLastAck:
      return 9;
    case TcpState::kListen:
      return 10;
    case TcpState::kClosing:
      return 11;
  }
  return 7;
}

// FreeBSD's names (tcpstates[] in netinet/tcp_fsm.h), as sockstat shows them.
const char* FreeBsdStateName(TcpState s) {
  switch (s) {
    case TcpState::kClosed:
      return "CLOSED";
    case TcpState::kListen:
      return "LISTEN";
    case TcpState::kSynSent:
      return "SYN_SENT";
    case TcpState::kSynReceived:
      return "SYN_RCVD";
    case TcpState::kEstablished:
      return "ESTABLISHED";
    case TcpState::kCloseWait:
      return "CLOSE_WAIT";
    case TcpState::kFinWait1:
      return "FIN_WAIT_1";
    case TcpState::kClosing:
      return "CLOSING";
    case TcpState::kLastAck:
      return "LAST_ACK";
    case TcpState::kFinWait2:
      return "FIN_WAIT_2";
    case TcpState::kTimeWait:
      return "TIME_WAIT";
  }
  return "CLOSED";
}

std::string Endpoint(uint32_t addr, uint16_t port) {
  if (addr == 0 && port == 0) return "*:*";
  return absl::StrCat(addr == 0 ? "*" : Ipv4ToString(addr), ":", port);
}

bool Synchronized(TcpState s) {
  return s != TcpState::kClosed && s != TcpState::kListen &&
         s != TcpState::kSynSent;
}

template <typename T>
int PutOpt(void* value, socklen_t* len, const T& v) {
  if (value == nullptr || len == nullptr) return -EFAULT;
  const socklen_t n = std::min<socklen_t>(*len, sizeof(T));
  std::memcpy(value, &v, n);
  *len = n;
  return 0;
}

int GetInt(const void* value, socklen_t len, int* out) {
  if (value == nullptr || len < static_cast<socklen_t>(sizeof(int))) {
    return -EINVAL;
  }
  std::memcpy(out, value, sizeof(int));
  return 0;
}

}  // namespace

SocketLayer::SocketLayer(TcpHost* host, const ShimConfig* config)
    : host_(host), base_(config), current_(*config) {}

SocketLayer::~SocketLayer() {
  for (auto& [fd, s] : sockets_) ::close(fd);
}

SocketLayer::Sock* SocketLayer::Find(int fd) {
  auto it = sockets_.find(fd);
  return it == sockets_.end() ? nullptr : it->second.get();
}

bool SocketLayer::nonblocking(int fd) const {
  auto it = sockets_.find(fd);
  return it != sockets_.end() && it->second->nonblocking;
}

const TcpConfig& SocketLayer::NewSocketConfig() {
  current_ = *base_;
  if (!base_->sysctl_file.empty()) {
    std::ifstream in(base_->sysctl_file);
    std::stringstream text;
    text << in.rdbuf();
    ShimConfig next = *base_;
    // A value the engine cannot take leaves the stack as it was.
    if (ApplySysctls(text.str(), next).ok()) current_ = next;
  }
  host_->set_drop_syn_fin(current_.drop_syn_fin);
  return current_.tcp;
}

std::string SocketLayer::Table() const {
  std::string out;
  absl::flat_hash_map<const Connection*, int> held;
  for (const auto& [fd, s] : sockets_) {
    if (s->conn != nullptr) {
      held[s->conn] = fd;
      continue;
    }
    const char* state = s->listening ? "LISTEN" : "CLOSED";
    absl::StrAppend(&out, fd, " ", Endpoint(0, s->bound ? s->local_port : 0),
                    " *:* ", state, "\n");
  }
  host_->ForEachConnection([&](const Connection& c, bool released) {
    auto it = held.find(&c);
    const FourTuple& t = c.tuple();
    absl::StrAppend(
        &out, it == held.end() ? std::string("??") : absl::StrCat(it->second),
        " ", Endpoint(t.local_addr, t.local_port), " ",
        Endpoint(t.remote_addr, t.remote_port), " ",
        FreeBsdStateName(c.state()), "\n");
  });
  return out;
}

int SocketLayer::ErrnoOf(const Connection& c) const {
  switch (c.error()) {
    case ErrorCode::kNone:
      return 0;
    case ErrorCode::kTimedOut:
      return ETIMEDOUT;
    case ErrorCode::kReset:
      return ECONNRESET;
    case ErrorCode::kRefused:
      return ECONNREFUSED;
    case ErrorCode::kAborted:
      return ECONNABORTED;
  }
  return EIO;
}

int SocketLayer::TakeError(Sock& s) {
  if (s.conn == nullptr || s.error_taken) return 0;
  const int e = ErrnoOf(*s.conn);
  if (e != 0) s.error_taken = true;
  return e;
}

int SocketLayer::Socket(int domain, int type, int protocol) {
  if (domain != AF_INET) return -EAFNOSUPPORT;
  const int base_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base_type != SOCK_STREAM) return -EPROTONOSUPPORT;
  if (protocol != 0 && protocol != IPPROTO_TCP) return -EPROTONOSUPPORT;
  const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  auto s = std::make_unique<Sock>();
  s->fd = fd;
  s->config = NewSocketConfig();
  s->nonblocking = (type & SOCK_NONBLOCK) != 0;
  sockets_[fd] = std::move(s);
  return fd;
}

int SocketLayer::Bind(int fd, const sockaddr* addr, socklen_t len) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in))) {
    return -EINVAL;
  }
  if (addr->sa_family != AF_INET) return -EAFNOSUPPORT;
  if (s->bound || s->conn != nullptr) return -EINVAL;
  sockaddr_in in;
  std::memcpy(&in, addr, sizeof(in));
  const uint32_t a = ntohl(in.sin_addr.s_addr);
  if (a != INADDR_ANY && a != host_->addr()) return -EADDRNOTAVAIL;
  uint16_t port = ntohs(in.sin_port);
  if (port == 0) {
    port = host_->EphemeralPort();
  } else {
    for (const auto& [ofd, o] : sockets_) {
      if (o.get() != s && o->bound && o->local_port == port &&
          (o->listening || !s->reuse_addr || !o->reuse_addr)) {
        return -EADDRINUSE;
      }
    }
    if (host_->listening(port)) return -EADDRINUSE;
  }
  s->bound = true;
  s->local_port = port;
  return 0;
}

int SocketLayer::Listen(int fd, int backlog) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  if (s->conn != nullptr) return -EINVAL;
  if (!s->bound) {
    s->bound = true;
    s->local_port = host_->EphemeralPort();
  }
  backlog = std::max(backlog, 0);
  // Linux admits backlog + 1 connections to the accept queue; FreeBSD
  // admits until it holds more than 3/2 of the backlog.
  const uint32_t limit = current_.profile == Profile::kLinux
                             ? static_cast<uint32_t>(backlog) + 1
                             : static_cast<uint32_t>(backlog * 3 / 2 + 1);
  s->listening = true;
  (void)host_->Listen(s->local_port, s->config, limit);
  return 0;
}

int SocketLayer::Accept(int fd, sockaddr* addr, socklen_t* len) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  if (!s->listening) return -EINVAL;
  Connection* c = host_->Accept(s->local_port);
  if (c == nullptr) return -EAGAIN;
  const int nfd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nfd < 0) return -errno;
  auto n = std::make_unique<Sock>();
  n->fd = nfd;
  n->config = s->config;
  n->bound = true;
  n->local_port = s->local_port;
  n->conn = c;
  n->rcvbuf_set = s->rcvbuf_set;
  n->sndbuf_set = s->sndbuf_set;
  if (addr != nullptr && len != nullptr) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(c->tuple().remote_port);
    in.sin_addr.s_addr = htonl(c->tuple().remote_addr);
    const socklen_t copy = std::min<socklen_t>(*len, sizeof(in));
    std::memcpy(addr, &in, copy);
    *len = sizeof(in);
  }
  sockets_[nfd] = std::move(n);
  return nfd;
}

int SocketLayer::Connect(int fd, const sockaddr* addr, socklen_t len) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in))) {
    return -EINVAL;
  }
  if (addr->sa_family != AF_INET) return -EAFNOSUPPORT;
  if (s->listening) return -EISCONN;
  if (s->conn != nullptr) {
    const TcpState st = s->conn->state();
    if (st == TcpState::kSynSent) return -EALREADY;
    if (Synchronized(st) && s->conn->error() == ErrorCode::kNone) {
      return -EISCONN;
    }
    const int e = TakeError(*s);
    return e != 0 ? -e : -EISCONN;
  }
  sockaddr_in in;
  std::memcpy(&in, addr, sizeof(in));
  FourTuple t;
  t.local_port = s->bound ? s->local_port : 0;
  t.remote_addr = ntohl(in.sin_addr.s_addr);
  t.remote_port = ntohs(in.sin_port);
  absl::StatusOr<Connection*> c = host_->Connect(t, s->config);
  if (!c.ok()) return -EADDRINUSE;
  s->conn = *c;
  s->bound = true;
  s->local_port = (*c)->tuple().local_port;
  return -EINPROGRESS;
}

int SocketLayer::ConnectResult(int fd) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  if (s->conn == nullptr) return -ENOTCONN;
  const TcpState st = s->conn->state();
  if (st == TcpState::kSynSent) return -EINPROGRESS;
  const int e = TakeError(*s);
  return e != 0 ? -e : 0;
}

int64_t SocketLayer::Recv(int fd, absl::Span<uint8_t> out, int flags) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  if (s->conn == nullptr) return -ENOTCONN;
  Connection& c = *s->conn;
  const TcpState st = c.state();
  if (st == TcpState::kSynSent) return -EAGAIN;
  if (c.readable() > 0 && !out.empty()) {
    if ((flags & MSG_PEEK) != 0) return static_cast<int64_t>(c.Peek(out));
    return static_cast<int64_t>(c.Read(host_->now(), out));
  }
  if (const int e = TakeError(*s); e != 0) return -e;
  if (out.empty()) return 0;
  if (c.eof() || s->shut_rd || st == TcpState::kClosed || c.finished()) {
    return 0;
  }
  return -EAGAIN;
}

int64_t SocketLayer::Send(int fd, absl::Span<const uint8_t> data, int flags) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  if (s->conn == nullptr) {
    return current_.profile == Profile::kLinux ? -EPIPE : -ENOTCONN;
  }
  Connection& c = *s->conn;
  if (c.state() == TcpState::kSynSent) return -EAGAIN;
  if (const int e = TakeError(*s); e != 0) return -e;
  if (s->shut_wr || !c.can_write()) return -EPIPE;
  if (data.empty()) return 0;
  const bool more = (flags & MSG_MORE) != 0;
  absl::StatusOr<size_t> n =
      c.Write(host_->now(), data, /*push=*/!more && !s->config.cork);
  if (!n.ok()) return -EPIPE;
  if (*n == 0) return -EAGAIN;
  return static_cast<int64_t>(*n);
}

int SocketLayer::Close(int fd) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) return -EBADF;
  Sock& s = *it->second;
  if (s.listening) host_->Unlisten(s.local_port);
  if (Connection* c = s.conn; c != nullptr) {
    const TcpState st = c->state();
    // Closing with unread data, or with a zero linger, aborts: RST instead
    // of FIN (RFC 9293 3.10.4, RFC 2525 2.17); a SYN-SENT endpoint just
    // goes away.
    if (st == TcpState::kSynSent || st == TcpState::kSynReceived ||
        c->readable() > 0 || s.linger_zero) {
      c->Abort(host_->now());
    } else if (!s.shut_wr && c->can_write()) {
      (void)c->Close(host_->now());
    }
    host_->Release(c);
  }
  ::close(fd);
  sockets_.erase(it);
  return 0;
}

int SocketLayer::Shutdown(int fd, int how) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
  if (s->conn == nullptr || !Synchronized(s->conn->state())) {
    if (s->conn != nullptr && s->conn->state() == TcpState::kSynSent &&
        how != SHUT_RD) {
      // Linux drops a connection still in SYN-SENT.
      s->conn->Abort(host_->now());
      return 0;
    }
    return -ENOTCONN;
  }
  if (how != SHUT_WR) s->shut_rd = true;
  if (how != SHUT_RD && !s->shut_wr) {
    s->shut_wr = true;
    if (s->conn->can_write()) (void)s->conn->Close(host_->now());
  }
  return 0;
}

int SocketLayer::GetSockOpt(int fd, int level, int name, void* value,
                            socklen_t* len) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  const int mult = current_.doubles_sockbuf ? 2 : 1;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: {
        int e = TakeError(*s);
        return PutOpt(value, len, e);
      }
      case SO_TYPE:
        return PutOpt(value, len, int{SOCK_STREAM});
      case SO_REUSEADDR:
        return PutOpt(value, len, int{s->reuse_addr});
      case SO_KEEPALIVE:
        return PutOpt(value, len, int{s->config.keepalive});
      case SO_RCVBUF:
      case SO_SNDBUF: {
        const bool rcv = name == SO_RCVBUF;
        const uint32_t set = rcv ? s->rcvbuf_set : s->sndbuf_set;
        uint32_t b =
            set != 0 ? set * mult
                     : (rcv ? s->config.recv_buffer : s->config.send_buffer);
        // The engine's buffers once the peer's SYN came (FreeBSD rounds
        // them to the MSS then).
        if (s->conn != nullptr && s->conn->state() != TcpState::kSynSent &&
            set == 0) {
          b = rcv ? s->conn->config().recv_buffer
                  : s->conn->config().send_buffer;
        }
        return PutOpt(value, len, static_cast<int>(b));
      }
      case SO_LINGER: {
        linger l{s->linger_zero ? 1 : 0, 0};
        return PutOpt(value, len, l);
      }
      default:
        return -ENOPROTOOPT;
    }
  }
  if (level != IPPROTO_TCP) return -ENOPROTOOPT;
  switch (name) {
    case TCP_NODELAY:
      return PutOpt(value, len, int{s->config.nodelay});
    case TCP_CORK:
      return PutOpt(value, len, int{s->config.cork});
    case TCP_KEEPIDLE:
      return PutOpt(value, len,
                    static_cast<int>(s->config.keepalive_idle / kSecond));
    case TCP_KEEPINTVL:
      return PutOpt(value, len,
                    static_cast<int>(s->config.keepalive_interval / kSecond));
    case TCP_KEEPCNT:
      return PutOpt(value, len, static_cast<int>(s->config.keepalive_probes));
    case TCP_MAXSEG: {
      const int mss = s->conn != nullptr && Synchronized(s->conn->state())
                          ? static_cast<int>(s->conn->effective_mss())
                          : static_cast<int>(s->config.mss());
      return PutOpt(value, len, mss);
    }
    case TCP_INFO: {
      tcp_info info{};
      if (s->conn != nullptr) {
        const Connection& c = *s->conn;
        const TcbSnapshot t = c.Snapshot();
        const uint32_t mss = std::max<uint32_t>(1, c.effective_mss());
        info.tcpi_state = LinuxState(t.state);
        info.tcpi_options =
            (t.ts_ok ? TCPI_OPT_TIMESTAMPS : 0) |
            (t.sack_ok ? TCPI_OPT_SACK : 0) |
            (t.snd_wscale || t.rcv_wscale ? TCPI_OPT_WSCALE : 0) |
            (t.ecn_ok ? TCPI_OPT_ECN : 0);
        info.tcpi_snd_wscale = t.snd_wscale;
        info.tcpi_rcv_wscale = t.rcv_wscale;
        info.tcpi_rto = static_cast<uint32_t>(t.rto / 1000);
        info.tcpi_snd_mss = mss;
        info.tcpi_rcv_mss = mss;
        info.tcpi_unacked = (t.snd_nxt - t.snd_una + mss - 1) / mss;
        info.tcpi_rtt = static_cast<uint32_t>(t.srtt / 1000);
        info.tcpi_rttvar = static_cast<uint32_t>(t.rttvar / 1000);
        info.tcpi_snd_ssthresh = t.ssthresh / mss;
        info.tcpi_snd_cwnd = t.cwnd / mss;
        info.tcpi_total_retrans = static_cast<uint32_t>(
            c.counters().retransmits_rto + c.counters().retransmits_fast);
      } else {
        info.tcpi_state = s->listening ? 10 : 7;
      }
      return PutOpt(value, len, info);
    }
    default:
      return -ENOPROTOOPT;
  }
}

int SocketLayer::SetSockOpt(int fd, int level, int name, const void* value,
                            socklen_t len) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  const bool open = s->conn != nullptr;
  if (level == SOL_SOCKET && name == SO_LINGER) {
    if (value == nullptr || len < static_cast<socklen_t>(sizeof(linger))) {
      return -EINVAL;
    }
    linger l;
    std::memcpy(&l, value, sizeof(l));
    s->linger_zero = l.l_onoff != 0 && l.l_linger == 0;
    return 0;
  }
  int v = 0;
  if (const int r = GetInt(value, len, &v); r != 0) return r;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
      case SO_REUSEPORT:
        s->reuse_addr = v != 0;
        return 0;
      case SO_KEEPALIVE:
        s->config.keepalive = v != 0;
        return 0;
      case SO_RCVBUF:
      case SO_SNDBUF: {
        // The engine sizes its buffers at the open; later changes are
        // recorded for getsockopt only.
        const uint32_t b = static_cast<uint32_t>(std::clamp(v, 1, 256 << 20));
        (name == SO_RCVBUF ? s->rcvbuf_set : s->sndbuf_set) = b;
        if (!open) {
          (name == SO_RCVBUF ? s->config.recv_buffer : s->config.send_buffer) =
              b;
        }
        return 0;
      }
      default:
        return -ENOPROTOOPT;
    }
  }
  if (level != IPPROTO_TCP) return -ENOPROTOOPT;
  switch (name) {
    case TCP_NODELAY:
      s->config.nodelay = v != 0;
      if (open) s->conn->SetNoDelay(host_->now(), v != 0);
      return 0;
    case TCP_CORK:
      s->config.cork = v != 0;
      if (open) s->conn->SetCork(host_->now(), v != 0);
      return 0;
    case TCP_MAXSEG:
      if (v < 88 - 40 || v > 65535 - 40) return -EINVAL;
      if (!open) s->config.mtu = static_cast<uint32_t>(v) + 40;
      return 0;
    case TCP_KEEPIDLE:
      if (v < 1) return -EINVAL;
      s->config.keepalive_idle = v * kSecond;
      return 0;
    case TCP_KEEPINTVL:
      if (v < 1) return -EINVAL;
      s->config.keepalive_interval = v * kSecond;
      return 0;
    case TCP_KEEPCNT:
      if (v < 1 || v > 255) return -EINVAL;
      s->config.keepalive_probes = static_cast<uint32_t>(v);
      return 0;
    default:
      return -ENOPROTOOPT;
  }
}

int SocketLayer::Fcntl(int fd, int cmd, long arg) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  switch (cmd) {
    case F_GETFL:
      return O_RDWR | (s->nonblocking ? O_NONBLOCK : 0);
    case F_SETFL:
      s->nonblocking = (arg & O_NONBLOCK) != 0;
      return 0;
    case F_GETFD:
    case F_SETFD:
      return 0;
    default:
      return -EINVAL;
  }
}

int SocketLayer::Ioctl(int fd, unsigned long request, int* value) {
  Sock* s = Find(fd);
  if (s == nullptr) return -EBADF;
  switch (request) {
    case FIONREAD:
      if (s->listening) return -EINVAL;
      *value = s->conn == nullptr ? 0 : static_cast<int>(s->conn->readable());
      return 0;
    case FIONBIO:
      s->nonblocking = *value != 0;
      return 0;
    default:
      return -ENOTTY;
  }
}

short SocketLayer::Revents(int fd, short events) {
  Sock* s = Find(fd);
  if (s == nullptr) return POLLNVAL;
  short r = 0;
  if (s->listening) {
    if (host_->accept_queue_length(s->local_port) > 0) r |= POLLIN;
    return static_cast<short>(r & (events | POLLERR | POLLHUP));
  }
  if (s->conn == nullptr) {
    // Linux: an unconnected socket is writable and hung up.
    return static_cast<short>((POLLOUT | POLLHUP) & (events | POLLHUP));
  }
  const Connection& c = *s->conn;
  const TcpState st = c.state();
  const bool failed = c.error() != ErrorCode::kNone;
  if (failed) r |= POLLERR;
  if (c.readable() > 0 || c.eof() || s->shut_rd) r |= POLLIN | POLLRDNORM;
  if (c.eof()) r |= POLLRDHUP;
  if (Synchronized(st) && !s->shut_wr && c.can_write() &&
      c.send_buffer_free() > 0) {
    r |= POLLOUT | POLLWRNORM;
  }
  if (failed || st == TcpState::kClosed || (c.eof() && s->shut_wr)) {
    r |= POLLHUP;
    if (failed) r |= POLLIN;
  }
  return static_cast<short>(r & (events | POLLERR | POLLHUP | POLLNVAL));
}

}  // namespace tcpemu::packetdrill
