// Proxy addresses and allow lists; see proxy_address.h.
#include "server/proxy_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/convert.h"

namespace tcpemu::server {

uint16_t SockAddr::port() const {
  if (family() == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  }
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

std::string ToString(const SockAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    return absl::StrCat(buf, ":", a.port());
  }
  if (a.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    return absl::StrCat("[", buf, "]:", a.port());
  }
  return "?";
}

SockAddr SocketName(int fd, bool peer) {
  SockAddr a;
  a.len = sizeof(a.storage);
  int rc =
      peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.len)
           : getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.len);
  if (rc != 0) a = SockAddr{};
  return a;
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text,
                                       absl::string_view field,
                                       bool allow_port_zero) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", Quoted(text), ": ", why,
                     " (expected host:port, e.g. 127.0.0.1:6379, [::1]:6379 or "
                     "localhost:6379)"));
  };
  HostPort hp;
  absl::string_view port_text;
  if (absl::StartsWith(text, "[")) {
    size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return bad("an IPv6 host in brackets must be followed by :port");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) return bad("no port");
    if (text.substr(0, colon).find(':') != absl::string_view::npos) {
      return bad("an IPv6 host must be in brackets");
    }
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (hp.host.empty()) return bad("no host");
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port > 65535 ||
      (port == 0 && !allow_port_zero)) {
    return bad(allow_port_zero ? "port out of range [0, 65535]"
                               : "port out of range [1, 65535]");
  }
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

absl::StatusOr<std::vector<SockAddr>> Resolve(const HostPort& hp,
                                              absl::string_view field) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = absl::StrCat(hp.port);
  int rc = getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 && rc != EAI_NONAME && rc != EAI_NODATA) {
    // AI_ADDRCONFIG hides loopback-only families on hosts without another
    // address of that family: ask again without it.
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res);
  }
  if (rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": cannot resolve ", Quoted(hp.host), ": ", gai_strerror(rc)));
  }
  std::vector<SockAddr> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    SockAddr a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    bool dup = false;
    for (const SockAddr& b : out) {
      dup = dup ||
            (b.len == a.len && std::memcmp(&b.storage, &a.storage, a.len) == 0);
    }
    if (!dup) out.push_back(a);
  }
  freeaddrinfo(res);
  std::stable_sort(out.begin(), out.end(),
                   [](const SockAddr& x, const SockAddr& y) {
                     return x.family() == AF_INET && y.family() != AF_INET;
                   });
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", Quoted(hp.host), " has no IPv4 or IPv6 address"));
  }
  return out;
}

absl::StatusOr<AllowList> AllowList::Parse(absl::string_view text,
                                           absl::string_view flag) {
  AllowList list;
  list.text_ = std::string(text);
  for (absl::string_view raw : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    absl::string_view item = absl::StripAsciiWhitespace(raw);
    if (item.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": entry ", Quoted(item), ": ", why,
          " (expected CIDR, CIDR:port or CIDR:lo-hi, e.g. 10.0.0.0/8:6379 or "
          "[::1/128]:80)"));
    };
    absl::string_view cidr = item;
    absl::string_view ports;
    if (absl::StartsWith(item, "[")) {
      size_t close = item.find(']');
      if (close == absl::string_view::npos) return bad("unclosed '['");
      cidr = item.substr(1, close - 1);
      absl::string_view rest = item.substr(close + 1);
      if (!rest.empty()) {
        if (rest[0] != ':') return bad("expected :port after ']'");
        ports = rest.substr(1);
      }
    } else if (item.find(':') != absl::string_view::npos &&
               item.find('.') != absl::string_view::npos) {
      size_t colon = item.rfind(':');
      cidr = item.substr(0, colon);
      ports = item.substr(colon + 1);
    }
    Entry e;
    absl::string_view addr = cidr;
    int max_prefix = 0;
    size_t slash = cidr.find('/');
    if (slash != absl::string_view::npos) addr = cidr.substr(0, slash);
    std::string addr_s(addr);
    if (inet_pton(AF_INET, addr_s.c_str(), e.addr) == 1) {
      e.family = AF_INET;
      max_prefix = 32;
    } else if (inet_pton(AF_INET6, addr_s.c_str(), e.addr) == 1) {
      e.family = AF_INET6;
      max_prefix = 128;
    } else {
      return bad("not an IPv4 or IPv6 address");
    }
    e.prefix = max_prefix;
    if (slash != absl::string_view::npos) {
      int prefix = 0;
      if (!absl::SimpleAtoi(cidr.substr(slash + 1), &prefix) || prefix < 0 ||
          prefix > max_prefix) {
        return bad(
            absl::StrCat("prefix length out of range [0, ", max_prefix, "]"));
      }
      e.prefix = prefix;
    }
    if (!ports.empty()) {
      std::vector<absl::string_view> range = absl::StrSplit(ports, '-');
      uint32_t lo = 0, hi = 0;
      if (range.size() > 2 || !absl::SimpleAtoi(range[0], &lo) ||
          (range.size() == 2 && !absl::SimpleAtoi(range[1], &hi))) {
        return bad("bad port or port range");
      }
      if (range.size() == 1) hi = lo;
      if (lo > hi || hi > 65535) {
        return bad("port range out of [0, 65535] or reversed");
      }
      e.port_lo = static_cast<uint16_t>(lo);
      e.port_hi = static_cast<uint16_t>(hi);
    }
    list.entries_.push_back(e);
  }
  return list;
}

bool AllowList::Allows(const SockAddr& a) const {
  const uint8_t* bytes = nullptr;
  int family = a.family();
  uint8_t mapped[4];
  if (family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr);
  } else if (family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    bytes = in6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      std::memcpy(mapped, bytes + 12, 4);
      bytes = mapped;
      family = AF_INET;
    }
  } else {
    return false;
  }
  const uint16_t port = a.port();
  for (const Entry& e : entries_) {
    if (e.family != family || port < e.port_lo || port > e.port_hi) continue;
    int bits = e.prefix;
    bool match = true;
    for (int i = 0; bits > 0 && match; ++i, bits -= 8) {
      uint8_t mask =
          bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
      match = (bytes[i] & mask) == (e.addr[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

}  // namespace tcpemu::server
