// Bind probe for the daemon's listen addresses; see listen_probe.h.
#include "server/listen_probe.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tcpemu::server {

absl::Status ProbeListen(absl::string_view flag, absl::string_view address) {
  auto error = [&](absl::string_view why) {
    return absl::UnavailableError(absl::StrCat(flag, " ", address, ": ", why));
  };
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return error("expected HOST:PORT");
  std::string host(address.substr(0, colon));
  uint32_t port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return error("port out of range [0, 65535]");
  }
  if (port == 0) return absl::OkStatus();
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(),
                       &hints, &found);
  if (rc != 0) return error(gai_strerror(rc));
  absl::Status status = absl::OkStatus();
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    // As the servers do: SO_REUSEADDR lets a port in TIME_WAIT be bound,
    // never one that another socket listens on.
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      status =
          error(errno == EADDRINUSE ? "address in use" : std::strerror(errno));
    }
    close(fd);
    if (!status.ok()) break;
  }
  freeaddrinfo(found);
  return status;
}

}  // namespace tcpemu::server
