// Kernel-socket addresses of proxies: "host:port" parsing and resolution, and
// the allow lists (--proxy_listen_allow, --proxy_upstream_allow) that bound
// where a proxy may listen and what it may connect to.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tcpemu::server {

// One resolved socket address (IPv4 or IPv6).
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  const sockaddr* get() const {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
};

// "1.2.3.4:80", "[::1]:80" or "name:80".
std::string ToString(const SockAddr& a);
// The local or peer address of a socket.
SockAddr SocketName(int fd, bool peer);

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
};

// Parses "host:port" (an IPv6 host in brackets). `field` names the request
// field in errors; `allow_port_zero` for listen addresses.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text,
                                       absl::string_view field,
                                       bool allow_port_zero);

// Resolves a host (numeric or a name) to its stream socket addresses, IPv4
// first. Blocks on name resolution: never on a shard thread.
absl::StatusOr<std::vector<SockAddr>> Resolve(const HostPort& hp,
                                              absl::string_view field);

// A list of "CIDR", "CIDR:port" or "CIDR:lo-hi" entries, IPv6 CIDRs in
// brackets when a port follows ("[::1/128]:6379"). A bare address is a /32 or
// /128.
class AllowList {
 public:
  // `flag` names the flag in errors.
  static absl::StatusOr<AllowList> Parse(absl::string_view text,
                                         absl::string_view flag);
  bool Allows(const SockAddr& a) const;
  const std::string& text() const { return text_; }

 private:
  struct Entry {
    int family = 0;
    uint8_t addr[16] = {};
    int prefix = 0;
    uint16_t port_lo = 0;
    uint16_t port_hi = 65535;
  };
  std::vector<Entry> entries_;
  std::string text_;
};

inline constexpr char kDefaultProxyAllow[] = "127.0.0.0/8,::1/128";

}  // namespace tcpemu::server
