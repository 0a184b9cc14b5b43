// A BSD socket API over TcpHost, as the packetdrill shim offers it: TCP over
// IPv4 only, each socket named by a real placeholder file descriptor (so that
// packetdrill's own bookkeeping of descriptors works), and every call
// answering as the chosen stack's kernel does, errno values included.
//
// Calls never wait: where a blocking socket would wait they return -EAGAIN
// (or -EINPROGRESS for connect), and the caller waits for the host's state
// to change and calls again. Results are >= 0, or -errno.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "engine/tcp/connection.h"
#include "tests/packetdrill/shim_config.h"
#include "tests/packetdrill/tcp_host.h"

namespace tcpemu::packetdrill {

class SocketLayer {
 public:
  // Both must outlive this.
  SocketLayer(TcpHost* host, const ShimConfig* config);
  ~SocketLayer();

  int Socket(int domain, int type, int protocol);
  int Bind(int fd, const sockaddr* addr, socklen_t len);
  int Listen(int fd, int backlog);
  int Accept(int fd, sockaddr* addr, socklen_t* len);
  // Starts an active open: -EINPROGRESS once the SYN is out; ConnectResult
  // then tells how it ended.
  int Connect(int fd, const sockaddr* addr, socklen_t len);
  // -EINPROGRESS while handshaking, then 0 or the error that ended it.
  int ConnectResult(int fd);
  int64_t Recv(int fd, absl::Span<uint8_t> out, int flags);
  int64_t Send(int fd, absl::Span<const uint8_t> data, int flags);
  int Close(int fd);
  int Shutdown(int fd, int how);
  int GetSockOpt(int fd, int level, int name, void* value, socklen_t* len);
  int SetSockOpt(int fd, int level, int name, const void* value, socklen_t len);
  int Fcntl(int fd, int cmd, long arg);
  int Ioctl(int fd, unsigned long request, int* value);
  // The poll(2) events of `fd` among `events` (POLLNVAL if not a socket).
  short Revents(int fd, short events);

  // One line per socket and per connection no socket holds, for the
  // `sockstat` stand-in: "<fd or ??> <local addr:port> <foreign addr:port>
  // <state>", states named as FreeBSD's sockstat -s names them.
  std::string Table() const;

  bool known(int fd) const { return sockets_.contains(fd); }
  bool nonblocking(int fd) const;

 private:
  struct Sock;
  Sock* Find(int fd);
  const TcpConfig& NewSocketConfig();
  int ErrnoOf(const Connection& c) const;
  // Takes (and clears) the error a failed connection left, if any.
  int TakeError(Sock& s);

  TcpHost* host_;
  const ShimConfig* base_;
  // The configuration new sockets start from: `base_` with the sysctl
  // settings a script made, read again at each socket().
  ShimConfig current_;
  absl::flat_hash_map<int, std::unique_ptr<Sock>> sockets_;
};

}  // namespace tcpemu::packetdrill
