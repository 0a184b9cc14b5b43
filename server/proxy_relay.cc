// One proxied connection's relay; see proxy_relay.h.
#include "server/proxy_relay.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace tcpemu::server {
namespace {

// Socket reads or engine reads per side per Pump: the shard moves on to
// other work in between (the socket stays ready, so the loop comes back).
constexpr int kMaxRounds = 16;
// An upstream connect (over every address) that takes longer fails.
constexpr int64_t kConnectTimeoutNs = 30'000'000'000;

bool WouldBlock(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

bool Synchronized(TcpState s) {
  switch (s) {
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kClosing:
    case TcpState::kLastAck:
    case TcpState::kTimeWait:
      return true;
    default:
      return false;
  }
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

ProxyRelay::ProxyRelay(Shard& shard, Network& net, uint32_t session_id,
                       int down_fd, int64_t epoch_ns, RelayShared* shared,
                       absl::AnyInvocable<void()> on_done)
    : shard_(shard),
      net_(net),
      session_id_(session_id),
      epoch_ns_(epoch_ns),
      shared_(shared),
      on_done_(std::move(on_done)) {
  side_[0].fd = down_fd;
  side_[0].ep = Endpoint::kClient;
  side_[1].ep = Endpoint::kServer;
  NoDelay(down_fd);
  side_[0].events = EPOLLIN;
  (void)shard_.WatchFd(down_fd, EPOLLIN, [this](uint32_t) { Pump(); });
}

ProxyRelay::~ProxyRelay() {
  if (connect_timer_) shard_.CancelWallTimer(*connect_timer_);
  for (auto& t : shut_timer_) {
    if (t) shard_.CancelWallTimer(*t);
  }
  for (Side& s : side_) {
    if (s.fd >= 0) {
      shard_.UnwatchFd(s.fd);
      close(s.fd);
    }
  }
}

std::optional<EndpointStatus> ProxyRelay::Conn(const Side& s) const {
  return net_.GetEndpoint(session_id_, s.ep);
}

bool ProxyRelay::Connected(const Side& s) const {
  return &s == &side_[0] || up_connected_;
}

void ProxyRelay::AdvanceToWall() {
  const TimeNs now = SteadyNowNs() - epoch_ns_;
  if (now > net_.now()) net_.RunUntil(now);
}

void ProxyRelay::Pump() {
  // A socket event may come long after the loop last advanced the network.
  AdvanceToWall();
  Side& up = side_[1];
  if (!up_connected_ && !connecting_ && !up.closed && connect_index_ < 0) {
    std::optional<EndpointStatus> c = Conn(up);
    if (c && Synchronized(c->state)) {
      StartUpstream();
    } else if (!c || c->finished) {
      // The emulated handshake never completed (the session is gone): no
      // upstream connection to make.
      up.closed = true;
    }
  }
  for (int i = 0; i < 2; ++i) {
    Side& s = side_[i];
    if (!Connected(s)) continue;
    if (!s.closed) SocketToEngine(s);
    if (s.closed) continue;
    EngineToSocket(s, i == 1 ? Direction::kForward : Direction::kReverse);
    if (!s.closed) UpdateEvents(s);
  }
  if (done() && !done_reported_) {
    done_reported_ = true;
    on_done_();
  }
}

void ProxyRelay::SocketToEngine(Side& s) {
  std::vector<uint8_t>& buf = shared_->scratch;
  for (int round = 0; round < kMaxRounds; ++round) {
    std::optional<EndpointStatus> c = Conn(s);
    // A full send buffer takes nothing: no Write, which would count as
    // activity and wake this relay again at once.
    if (!c || !c->can_write) {
      // The endpoint will take no more (the session is over): what the
      // application still sends has nowhere to go; read it to learn of its
      // end of file rather than leave the socket ready for ever.
      DiscardInput(s);
      return;
    }
    if (c->send_buffer_free == 0) break;
    if (!s.in.empty()) {
      absl::StatusOr<size_t> n = net_.Write(
          session_id_, s.ep,
          absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.in.data()),
                              s.in.size()),
          /*push=*/true);
      if (!n.ok()) break;
      s.in.erase(0, *n);
      if (!s.in.empty()) break;  // the send buffer is full
      continue;
    }
    if (s.rd_eof) break;
    const size_t want = std::min<size_t>(buf.size(), c->send_buffer_free);
    ssize_t r = recv(s.fd, buf.data(), want, 0);
    if (r > 0) {
      // The bytes may have been sent after this Pump began: they enter the
      // engine at the time they were read, not earlier, so no emulated delay
      // is cut short.
      AdvanceToWall();
      absl::StatusOr<size_t> n =
          net_.Write(session_id_, s.ep,
                     absl::MakeConstSpan(buf.data(), static_cast<size_t>(r)),
                     /*push=*/true);
      const size_t taken = n.ok() ? *n : 0;
      if (taken < static_cast<size_t>(r)) {
        s.in.assign(reinterpret_cast<const char*>(buf.data()) + taken,
                    static_cast<size_t>(r) - taken);
        break;
      }
      continue;
    }
    if (r == 0) {
      s.rd_eof = true;
      break;
    }
    if (WouldBlock(errno)) break;
    if (errno == EINTR) continue;
    SocketError(s);
    return;
  }
  if (s.rd_eof && s.in.empty() && !s.engine_closed) {
    std::optional<EndpointStatus> c = Conn(s);
    // An application that connects and closes at once (a health check)
    // still reaches the upstream: the FIN waits for the handshake, instead
    // of a close in SYN-SENT that would never be seen.
    if (c && c->state == TcpState::kSynSent) return;
    s.engine_closed = true;
    if (c && !c->finished) (void)net_.Close(session_id_, s.ep);
  }
}

void ProxyRelay::DiscardInput(Side& s) {
  std::vector<uint8_t>& buf = shared_->scratch;
  s.in.clear();
  for (int round = 0; round < kMaxRounds && !s.rd_eof; ++round) {
    ssize_t r = recv(s.fd, buf.data(), buf.size(), 0);
    if (r > 0) continue;
    if (r == 0) {
      s.rd_eof = true;
    } else if (!WouldBlock(errno) && errno != EINTR) {
      ResetSocket(s);
    }
    return;
  }
}

void ProxyRelay::EngineToSocket(Side& s, Direction flowing) {
  const int f = static_cast<int>(flowing);
  // A reset or timed-out endpoint resets its socket at once (what an RST
  // does to a kernel socket: unsent data is dropped).
  std::optional<EndpointStatus> c = Conn(s);
  ErrorCode error = ErrorCode::kNone;
  if (c) {
    error = c->error;
  } else if (absl::StatusOr<SessionInfo> info = net_.GetSession(session_id_);
             info.ok()) {
    error = s.ep == Endpoint::kClient ? info->client.error : info->server.error;
  } else {
    error = ErrorCode::kAborted;  // the session was deleted
  }
  if (error != ErrorCode::kNone) {
    ResetSocket(s);
    return;
  }
  std::vector<uint8_t>& buf = shared_->scratch;
  uint64_t& total = flowing == Direction::kForward ? shared_->bytes_upstream
                                                   : shared_->bytes_downstream;
  const std::optional<uint64_t>& limit = toxics_.limit_data[f];
  if (limit && s.delivered >= *limit) {
    CloseAll();  // limit_data 0, or lowered below what was delivered
    return;
  }
  for (int round = 0; round < kMaxRounds; ++round) {
    // Bytes held from an earlier round go first; otherwise the engine's,
    // sent straight from the scratch buffer, keeping only what the socket
    // did not take.
    const char* data = s.out.data();
    size_t len = s.out.size();
    const bool fresh = len == 0;
    if (fresh) {
      std::optional<EndpointStatus> rc = Conn(s);
      // Nothing to read: no Read call, which would count as activity and
      // wake this relay again at once.
      if (s.wr_shut || s.shut_armed || !rc || rc->readable == 0) {
        break;
      }
      size_t want = buf.size();
      if (limit) want = std::min<uint64_t>(want, *limit - s.delivered);
      if (want == 0) break;
      absl::StatusOr<size_t> n =
          net_.Read(session_id_, s.ep, absl::MakeSpan(buf.data(), want));
      if (!n.ok() || *n == 0) break;
      data = reinterpret_cast<const char*>(buf.data());
      len = *n;
    }
    ssize_t w = send(s.fd, data, len, MSG_NOSIGNAL);
    const size_t sent = w > 0 ? static_cast<size_t>(w) : 0;
    if (fresh) {
      s.out.assign(data + sent, len - sent);
    } else {
      s.out.erase(0, sent);
    }
    if (w > 0) {
      s.delivered += sent;
      total += sent;
      if (limit && s.delivered >= *limit) {
        CloseAll();  // limit_data: the stream delivered its bytes
        return;
      }
      if (!s.out.empty()) break;  // the socket is full
      continue;
    }
    if (w < 0 && WouldBlock(errno)) break;
    if (w < 0 && errno == EINTR) continue;
    SocketError(s);
    return;
  }
  if (!s.out.empty() || s.wr_shut || s.shut_armed) return;
  c = Conn(s);
  // The peer's FIN was read (or the session ended without an error): the
  // socket's write side is shut, after slow_close's delay if it has one.
  if (!c || c->eof || c->finished) ShutWrite(s, flowing);
}

void ProxyRelay::ShutWrite(Side& s, Direction flowing) {
  const int i = &s == &side_[0] ? 0 : 1;
  const DurationNs delay = toxics_.slow_close[static_cast<int>(flowing)];
  if (delay > 0) {
    s.shut_armed = true;
    shut_timer_[i] = shard_.AddWallTimer(SteadyNowNs() + delay, [this, i] {
      shut_timer_[i].reset();
      Side& side = side_[i];
      if (side.closed) return;
      shutdown(side.fd, SHUT_WR);
      side.wr_shut = true;
      Pump();
    });
    return;
  }
  shutdown(s.fd, SHUT_WR);
  s.wr_shut = true;
}

void ProxyRelay::UpdateEvents(Side& s) {
  if (s.wr_shut && s.rd_eof && s.in.empty() && s.out.empty()) {
    CloseSocket(s);
    return;
  }
  uint32_t ev = 0;
  std::optional<EndpointStatus> c = Conn(s);
  if (!s.rd_eof && s.in.empty() && c && c->can_write &&
      c->send_buffer_free > 0) {
    ev |= EPOLLIN;
  }
  // Nothing more can reach the engine: read to learn of the end of file.
  if (!s.rd_eof && (!c || !c->can_write)) ev |= EPOLLIN;
  if (!s.out.empty()) ev |= EPOLLOUT;
  shard_.SetFdEvents(s.fd, ev);
  s.events = ev;
}

void ProxyRelay::StartUpstream() {
  Side& up = side_[1];
  while (++connect_index_ < static_cast<int>(shared_->upstream.size())) {
    const SockAddr& a = shared_->upstream[connect_index_];
    int fd = socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (connect(fd, a.get(), a.len) == 0 || errno == EINPROGRESS) {
      up.fd = fd;
      connecting_ = true;
      upstream_peer_ = ToString(a);
      up.events = EPOLLOUT;
      (void)shard_.WatchFd(fd, EPOLLOUT, [this](uint32_t) {
        if (connecting_) {
          OnUpstreamWritable();
        } else {
          Pump();
        }
      });
      if (!connect_timer_) {
        connect_timer_ =
            shard_.AddWallTimer(SteadyNowNs() + kConnectTimeoutNs, [this] {
              connect_timer_.reset();
              if (!connecting_) return;
              connecting_ = false;
              shard_.UnwatchFd(side_[1].fd);
              close(side_[1].fd);
              side_[1].fd = -1;
              UpstreamFailed();
              Pump();
            });
      }
      return;
    }
    close(fd);
  }
  UpstreamFailed();
}

void ProxyRelay::OnUpstreamWritable() {
  Side& up = side_[1];
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(up.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) return;
  // A readiness event meant for an earlier socket of the same number says
  // nothing of this one: connected means a peer name.
  if (err == 0 && SocketName(up.fd, /*peer=*/true).len == 0) return;
  connecting_ = false;
  if (err == 0) {
    up_connected_ = true;
    if (connect_timer_) {
      shard_.CancelWallTimer(*connect_timer_);
      connect_timer_.reset();
    }
    NoDelay(up.fd);
    Pump();
    return;
  }
  shard_.UnwatchFd(up.fd);
  close(up.fd);
  up.fd = -1;
  StartUpstream();  // the next address, if any
  Pump();
}

void ProxyRelay::UpstreamFailed() {
  ++shared_->upstream_failures;
  side_[1].closed = true;
  if (connect_timer_) {
    shard_.CancelWallTimer(*connect_timer_);
    connect_timer_.reset();
  }
  // The upstream side refuses as a host would: an emulated RST crosses the
  // link, and the application's socket is reset when it arrives.
  std::optional<EndpointStatus> c = Conn(side_[1]);
  if (c && !c->finished) {
    (void)net_.Abort(session_id_, Endpoint::kServer);
  }
}

void ProxyRelay::SocketError(Side& s) {
  ResetSocket(s);
  std::optional<EndpointStatus> c = Conn(s);
  if (c && !c->finished) (void)net_.Abort(session_id_, s.ep);
}

void ProxyRelay::ResetSocket(Side& s) {
  if (s.closed) return;
  if (s.fd >= 0) {
    linger l{1, 0};
    setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  CloseSocket(s);
}

void ProxyRelay::CloseSocket(Side& s) {
  if (s.closed) return;
  if (&s == &side_[1]) connecting_ = false;
  if (s.fd >= 0) {
    shard_.UnwatchFd(s.fd);
    close(s.fd);
  }
  s.fd = -1;
  s.closed = true;
  s.in.clear();
  s.out.clear();
}

void ProxyRelay::ResetPeer() {
  AdvanceToWall();
  std::optional<EndpointStatus> c = Conn(side_[1]);
  if (c && !c->finished) {
    (void)net_.Abort(session_id_, Endpoint::kServer);
  }
  ResetSocket(side_[1]);
  Pump();
}

void ProxyRelay::CloseAll() {
  AdvanceToWall();
  for (Side& s : side_) {
    CloseSocket(s);
    std::optional<EndpointStatus> c = Conn(s);
    if (c && !c->finished) (void)net_.Abort(session_id_, s.ep);
  }
  if (connect_timer_) {
    shard_.CancelWallTimer(*connect_timer_);
    connect_timer_.reset();
  }
  if (!done_reported_) {
    done_reported_ = true;
    on_done_();
  }
}

}  // namespace tcpemu::server
