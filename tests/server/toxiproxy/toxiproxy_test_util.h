// Helpers for the toxiproxy API tests: an HTTP client on civetweb's client
// API, a TCP echo server on loopback, and a TCP client with deadlines.
#pragma once

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/toxiproxy/toxiproxy_json.h"

namespace tcpemu::server::testutil {

using toxiproxy::Json;

struct HttpResponse {
  int status = 0;  // 0: no response (see error)
  std::string error;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // The body as JSON, or null when it is not JSON.
  Json json() const {
    return Json::parse(body, /*cb=*/nullptr, /*allow_exceptions=*/false);
  }
  std::string header(absl::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (absl::EqualsIgnoreCase(n, name)) return v;
    }
    return "";
  }
};

// One request to 127.0.0.1:port over its own connection; `extra` holds
// further header lines, each ending in "\r\n".
inline HttpResponse Http(int port, const std::string& method,
                         const std::string& path, const std::string& body = "",
                         const std::string& extra = "") {
  HttpResponse r;
  char ebuf[256] = "";
  mg_connection* conn =
      mg_connect_client("127.0.0.1", port, 0, ebuf, sizeof(ebuf));
  if (conn == nullptr) {
    r.error = absl::StrCat("connect: ", ebuf);
    return r;
  }
  mg_printf(conn,
            "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
            "User-Agent: tcpemu-test\r\nContent-Type: application/json\r\n"
            "Content-Length: %zu\r\n%s\r\n",
            method.c_str(), path.c_str(), port, body.size(), extra.c_str());
  if (!body.empty()) mg_write(conn, body.data(), body.size());
  if (mg_get_response(conn, ebuf, sizeof(ebuf), 60'000) < 0) {
    r.error = absl::StrCat("response: ", ebuf);
    mg_close_connection(conn);
    return r;
  }
  const mg_response_info* info = mg_get_response_info(conn);
  r.status = info->status_code;
  for (int i = 0; i < info->num_headers; ++i) {
    r.headers.emplace_back(info->http_headers[i].name,
                           info->http_headers[i].value);
  }
  char buf[8192];
  int n;
  while ((n = mg_read(conn, buf, sizeof(buf))) > 0) {
    r.body.append(buf, static_cast<size_t>(n));
  }
  mg_close_connection(conn);
  return r;
}

// Accepts on 127.0.0.1 and echoes every byte back until the peer closes.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
        listen(fd_, 128) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~EchoServer() {
    shutdown(fd_, SHUT_RDWR);  // ends accept()
    thread_.join();
    close(fd_);
    std::vector<std::thread> threads;
    {
      absl::MutexLock l(&mu_);
      for (int c : conns_) shutdown(c, SHUT_RDWR);
      threads = std::move(threads_);
    }
    for (std::thread& t : threads) t.join();
  }

  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int accepted() const {
    absl::MutexLock l(&mu_);
    return accepted_;
  }

 private:
  void Run() {
    while (true) {
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      absl::MutexLock l(&mu_);
      ++accepted_;
      conns_.push_back(c);
      threads_.emplace_back([this, c] { Echo(c); });
    }
  }

  void Echo(int c) {
    char buf[16384];
    ssize_t n;
    while ((n = read(c, buf, sizeof(buf))) > 0) {
      ssize_t off = 0;
      while (off < n) {
        const ssize_t w = write(c, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) break;
        off += w;
      }
      if (off < n) break;
    }
    absl::MutexLock l(&mu_);
    std::erase(conns_, c);
    close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  int accepted_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> conns_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// A blocking TCP client with a receive and send timeout.
class TcpClient {
 public:
  // `address` is "127.0.0.1:port".
  explicit TcpClient(const std::string& address, int timeout_s = 30) {
    const size_t colon = address.rfind(':');
    int port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
      return;
    }
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{};
    tv.tv_sec = timeout_s;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~TcpClient() {
    if (fd_ >= 0) close(fd_);
  }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = write(fd_, data.data() + off, data.size() - off);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Exactly n bytes, or fewer when the peer closed, failed or timed out.
  std::string Receive(size_t n) {
    std::string out;
    char buf[16384];
    while (out.size() < n) {
      const ssize_t r = read(fd_, buf, std::min(sizeof(buf), n - out.size()));
      if (r <= 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace tcpemu::server::testutil
