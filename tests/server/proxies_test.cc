// Proxies end to end in one process: kernel sockets of the test on both sides
// of an in-process daemon's proxy. Covers the RPCs' semantics and the relay's
// connection semantics (data, half-close, RST, refused upstream, disable,
// delete, limits) and toxics that act on a connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/proxy_table.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

using testutil::Call;
using testutil::Stub;

// A blocking socket with receive and send timeouts, so that no test hangs.
int Timed(int fd, int seconds = 60) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

int Connect(const std::string& hostport) {
  size_t colon = hostport.rfind(':');
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(hostport.substr(colon + 1), &port));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0)
      << std::strerror(errno);
  return Timed(fd);
}

void SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    off += static_cast<size_t>(n);
  }
}

// Reads until end of file, an error or `max` bytes; `err` gets errno of an
// error (0 at end of file).
std::string ReadAll(int fd, int* err = nullptr, size_t max = SIZE_MAX) {
  std::string out;
  char buf[65536];
  if (err != nullptr) *err = 0;
  while (out.size() < max) {
    ssize_t n = recv(fd, buf, std::min(sizeof(buf), max - out.size()), 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && err != nullptr) *err = errno;
    break;
  }
  return out;
}

// An upstream server on 127.0.0.1 that runs `serve(fd)` for each connection
// on its own thread.
class Upstream {
 public:
  explicit Upstream(std::function<void(int)> serve) : serve_(std::move(serve)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 64);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        ++accepted_;
        absl::MutexLock l(&mu_);
        const size_t i = conns_.size();
        conns_.push_back(Timed(c));
        threads_.emplace_back([this, c, i] {
          serve_(c);
          absl::MutexLock done(&mu_);
          close(c);  // an RST if serve_ set SO_LINGER 0
          conns_[i] = -1;
        });
      }
    });
  }
  // Ends every connection's thread (their sockets shut) before the server
  // and what its threads use go.
  ~Upstream() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    std::vector<std::thread> threads;
    {
      absl::MutexLock l(&mu_);
      for (int c : conns_) {
        if (c >= 0) shutdown(c, SHUT_RDWR);
      }
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int accepted() const { return accepted_.load(); }

 private:
  std::function<void(int)> serve_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<int> conns_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

void Echo(int fd) {
  char buf[65536];
  while (true) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    if (send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return;
  }
  shutdown(fd, SHUT_WR);
}

// A port nothing listens on (bound, then closed).
std::string DeadAddress() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return absl::StrCat("127.0.0.1:", ntohs(a.sin_port));
}

class ProxiesTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(testutil::LocalOptions()); }
  void Start(DaemonOptions o) {
    daemon_.reset();
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    stub_ = v1::Emulator::NewStub(testutil::LocalChannel(daemon_->port()));
  }

  v1::Proxy Create(const std::string& name, const std::string& upstream,
                   absl::Duration one_way = absl::ZeroDuration(),
                   std::function<void(v1::CreateProxyRequest&)> more = {}) {
    v1::CreateProxyRequest req;
    req.set_name(name);
    req.set_listen("127.0.0.1:0");
    req.set_upstream(upstream);
    testutil::SetDuration(one_way, req.mutable_forward()->mutable_delay());
    testutil::SetDuration(one_way, req.mutable_reverse()->mutable_delay());
    if (more) more(req);
    v1::Proxy p;
    grpc::Status s = Call(stub_.get(), &Stub::CreateProxy, req, &p);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return p;
  }
  v1::Proxy Get(uint32_t id) {
    v1::GetProxyRequest req;
    req.set_proxy_id(id);
    v1::Proxy p;
    grpc::Status s = Call(stub_.get(), &Stub::GetProxy, req, &p);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return p;
  }
  grpc::Status Update(uint32_t id, std::function<void(v1::Proxy&)> set,
                      std::initializer_list<const char*> paths,
                      v1::Proxy* out = nullptr) {
    v1::UpdateProxyRequest req;
    req.mutable_proxy()->set_id(id);
    set(*req.mutable_proxy());
    for (const char* p : paths) req.mutable_update_mask()->add_paths(p);
    v1::Proxy ignored;
    return Call(stub_.get(), &Stub::UpdateProxy, req,
                out != nullptr ? out : &ignored);
  }
  // Polls until `done` holds or 60 s pass.
  static bool Eventually(std::function<bool()> done) {
    for (int i = 0; i < 6000; ++i) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(ProxiesTest, RelaysBytesAcrossTheEmulatedPathAndTagsTheSession) {
  Upstream up(Echo);
  v1::Proxy p = Create("echo", up.address(), absl::Milliseconds(20));
  ASSERT_FALSE(p.listen_address().empty());
  EXPECT_TRUE(p.owns_link());
  EXPECT_TRUE(p.enabled());
  int c = Connect(p.listen_address());
  std::string payload(300000, 'x');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i);
  const absl::Time start = absl::Now();
  SendAll(c, payload);
  shutdown(c, SHUT_WR);
  std::string back = ReadAll(c);
  // The handshake and the data's round trip each cross 2 x 20 ms.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(80));
  EXPECT_EQ(back, payload);
  close(c);

  ASSERT_TRUE(Eventually(
      [&] { return Get(p.id()).counters().connections_active() == 0; }));
  v1::Proxy after = Get(p.id());
  EXPECT_EQ(after.counters().connections_accepted(), 1u);
  EXPECT_EQ(after.counters().bytes_upstream(), payload.size());
  EXPECT_EQ(after.counters().bytes_downstream(), payload.size());

  v1::ListSessionsRequest lr;
  lr.set_link_id(p.link_id());
  v1::ListSessionsResponse sessions;
  ASSERT_TRUE(Call(stub_.get(), &Stub::ListSessions, lr, &sessions).ok());
  ASSERT_EQ(sessions.sessions_size(), 1);
  const v1::Session& s = sessions.sessions(0);
  EXPECT_EQ(s.proxy_id(), p.id());
  EXPECT_TRUE(absl::StartsWith(s.downstream_peer(), "127.0.0.1:"));
  EXPECT_EQ(s.upstream_peer(), up.address());
  EXPECT_EQ(s.client().counters().bytes_written(), payload.size());

  // And in the metrics: one line per series, labelled by the proxy's name.
  const std::string metrics = daemon_->metrics().Render();
  auto series = [&](absl::string_view family, absl::string_view label,
                    absl::string_view value) {
    for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
      if (absl::StartsWith(line, absl::StrCat(family, "{")) &&
          absl::StrContains(line, "proxy=\"echo\"") &&
          absl::StrContains(line, label) &&
          absl::EndsWith(line, absl::StrCat(" ", value))) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(
      series("tcpemu_proxy_connections_total", "outcome=\"relayed\"", "1"))
      << metrics;
  EXPECT_TRUE(series("tcpemu_proxy_bytes_total", "dir=\"upstream\"",
                     absl::StrCat(payload.size())));
  EXPECT_TRUE(series("tcpemu_proxy_connections", "proxy_id", "0"));
}

TEST_F(ProxiesTest, HalfCloseFromTheApplicationThenFromTheUpstream) {
  // The upstream reads to end of file, then answers and closes.
  Upstream up([](int fd) {
    std::string got = ReadAll(fd);
    SendAll(fd, absl::StrCat("read ", got.size()));
    shutdown(fd, SHUT_WR);
  });
  v1::Proxy p = Create("half", up.address());
  int c = Connect(p.listen_address());
  SendAll(c, std::string(1000, 'a'));
  shutdown(c, SHUT_WR);  // our FIN reaches the upstream as end of file
  EXPECT_EQ(ReadAll(c), "read 1000");
  close(c);
}

TEST_F(ProxiesTest, HalfCloseFromTheUpstreamThenFromTheApplication) {
  // The upstream says hello, shuts its side, and still reads ours.
  std::atomic<size_t> upstream_read{0};
  Upstream up([&](int fd) {
    SendAll(fd, "hello");
    shutdown(fd, SHUT_WR);
    upstream_read = ReadAll(fd).size();
  });
  v1::Proxy p = Create("half2", up.address());
  int c = Connect(p.listen_address());
  EXPECT_EQ(ReadAll(c), "hello");  // end of file after it
  SendAll(c, std::string(5000, 'b'));
  shutdown(c, SHUT_WR);
  close(c);
  EXPECT_TRUE(Eventually([&] { return upstream_read.load() == 5000; }))
      << upstream_read.load();
}

TEST_F(ProxiesTest, ConnectAndCloseAtOnceStillReachesTheUpstream) {
  // A health check (nc -z) closes before the emulated handshake is done:
  // its FIN waits for it, so the upstream still sees a connection and EOF.
  std::atomic<int> eofs{0};
  Upstream up([&](int fd) {
    if (ReadAll(fd).empty()) ++eofs;
  });
  v1::Proxy p = Create("probe", up.address(), absl::Milliseconds(20));
  for (int i = 0; i < 3; ++i) close(Connect(p.listen_address()));
  EXPECT_TRUE(Eventually([&] { return eofs.load() == 3; })) << eofs.load();
}

TEST_F(ProxiesTest, FinishedSessionsAreReapedPastTheKeptOnes) {
  // A long-lived proxy carries connection after connection: it keeps its
  // last kKeepFinished finished sessions and deletes older ones, so sessions
  // and their event history stay bounded.
  Upstream up(Echo);
  v1::Proxy p = Create("churn", up.address());
  const int kConnections = static_cast<int>(ProxyTable::kKeepFinished) + 40;
  for (int i = 0; i < kConnections; ++i) {
    int c = Connect(p.listen_address());
    SendAll(c, "x");
    shutdown(c, SHUT_WR);
    ASSERT_EQ(ReadAll(c), "x");
    close(c);
  }
  auto count = [&] {
    v1::ListSessionsRequest lr;
    lr.set_link_id(p.link_id());
    lr.set_page_size(1000);
    v1::ListSessionsResponse resp;
    EXPECT_TRUE(Call(stub_.get(), &Stub::ListSessions, lr, &resp).ok());
    return resp.sessions_size();
  };
  ASSERT_TRUE(Eventually(
      [&] { return Get(p.id()).counters().connections_active() == 0; }));
  EXPECT_EQ(count(), static_cast<int>(ProxyTable::kKeepFinished));
  EXPECT_EQ(Get(p.id()).counters().connections_accepted(),
            static_cast<uint64_t>(kConnections));
}

TEST_F(ProxiesTest, AFailedUpdateChangesNothing) {
  Upstream up(Echo);
  v1::Proxy p = Create("steady", up.address());
  // An address in use: the proxy keeps its socket, toxics and state.
  int busy = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(bind(busy, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(busy, 1), 0);
  socklen_t len = sizeof(a);
  getsockname(busy, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string taken = absl::StrCat("127.0.0.1:", ntohs(a.sin_port));
  grpc::Status s = Update(p.id(),
                          [&](v1::Proxy& x) {
                            x.set_listen(taken);
                            x.add_toxics()->mutable_limit_data()->set_bytes(1);
                          },
                          {"listen", "toxics"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("address in use"), std::string::npos);
  close(busy);
  v1::Proxy after = Get(p.id());
  EXPECT_TRUE(after.enabled());
  EXPECT_EQ(after.listen_address(), p.listen_address());
  EXPECT_EQ(after.toxics_size(), 0);
  int c = Connect(p.listen_address());
  SendAll(c, "still");
  shutdown(c, SHUT_WR);
  EXPECT_EQ(ReadAll(c), "still");
  close(c);
}

TEST_F(ProxiesTest, LimitDataOfZeroClosesAtOnce) {
  Upstream up([](int fd) {
    // The proxy may already have closed this connection (the limit is 0),
    // so the send may fail: that is no error here.
    (void)send(fd, "never seen", 10, MSG_NOSIGNAL);
    ReadAll(fd);
  });
  v1::Proxy p = Create("zero", up.address(), absl::ZeroDuration(),
                       [](v1::CreateProxyRequest& r) {
                         r.add_toxics()->mutable_limit_data()->set_bytes(0);
                       });
  int c = Connect(p.listen_address());
  int err = 0;
  EXPECT_EQ(ReadAll(c, &err), "");
  close(c);
}

TEST_F(ProxiesTest, DeletingAProxyOnASharedLinkDeletesItsSessions) {
  Upstream up(Echo);
  v1::CreateLinkRequest lr;
  v1::Link link;
  ASSERT_TRUE(Call(stub_.get(), &Stub::CreateLink, lr, &link).ok());
  v1::Proxy p = Create("guest", up.address(), absl::ZeroDuration(),
                       [&](v1::CreateProxyRequest& r) {
                         r.clear_forward();
                         r.clear_reverse();
                         r.set_link_id(link.id());
                       });
  for (int i = 0; i < 5; ++i) {
    int c = Connect(p.listen_address());
    SendAll(c, "x");
    shutdown(c, SHUT_WR);
    ASSERT_EQ(ReadAll(c), "x");
    close(c);
  }
  int open_conn = Connect(p.listen_address());
  SendAll(open_conn, "y");
  char b;
  ASSERT_EQ(recv(open_conn, &b, 1, 0), 1);
  v1::DeleteProxyRequest dp;
  dp.set_proxy_id(p.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(stub_.get(), &Stub::DeleteProxy, dp, &empty).ok());
  close(open_conn);
  v1::ListSessionsRequest ls;
  ls.set_link_id(link.id());
  v1::ListSessionsResponse sessions;
  ASSERT_TRUE(Call(stub_.get(), &Stub::ListSessions, ls, &sessions).ok());
  EXPECT_EQ(sessions.sessions_size(), 0);
  // The link stays: it was not the proxy's.
  v1::GetLinkRequest gl;
  gl.set_link_id(link.id());
  EXPECT_TRUE(Call(stub_.get(), &Stub::GetLink, gl, &link).ok());
}

TEST_F(ProxiesTest, ResetByTheApplicationResetsTheUpstream) {
  std::atomic<int> upstream_err{-1};
  Upstream up([&](int fd) {
    int err = 0;
    ReadAll(fd, &err);
    upstream_err = err;
  });
  v1::Proxy p = Create("rst-app", up.address());
  int c = Connect(p.listen_address());
  SendAll(c, "x");
  ASSERT_TRUE(Eventually([&] { return up.accepted() == 1; }));
  absl::SleepFor(absl::Milliseconds(50));
  linger l{1, 0};
  setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(c);
  EXPECT_TRUE(Eventually([&] { return upstream_err.load() != -1; }));
  EXPECT_EQ(upstream_err.load(), ECONNRESET);
}

TEST_F(ProxiesTest, ResetByTheUpstreamResetsTheApplication) {
  Upstream up([](int fd) {
    char b[8];
    recv(fd, b, sizeof(b), 0);
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  });
  v1::Proxy p = Create("rst-up", up.address());
  int c = Connect(p.listen_address());
  SendAll(c, "x");
  int err = 0;
  EXPECT_EQ(ReadAll(c, &err), "");
  EXPECT_EQ(err, ECONNRESET);
  close(c);
}

TEST_F(ProxiesTest, RefusedUpstreamResetsTheApplication) {
  v1::Proxy p = Create("refused", DeadAddress());
  int c = Connect(p.listen_address());
  int err = 0;
  EXPECT_EQ(ReadAll(c, &err), "");
  EXPECT_EQ(err, ECONNRESET);
  close(c);
  EXPECT_TRUE(Eventually(
      [&] { return Get(p.id()).counters().upstream_failures() == 1; }));
}

TEST_F(ProxiesTest, DisablingClosesConnectionsAndStopsListening) {
  Upstream up(Echo);
  v1::Proxy p = Create("toggle", up.address());
  int c = Connect(p.listen_address());
  SendAll(c, "ping");
  char buf[4];
  ASSERT_EQ(recv(c, buf, 4, MSG_WAITALL), 4);
  v1::Proxy off;
  ASSERT_TRUE(
      Update(
          p.id(), [](v1::Proxy& x) { x.set_enabled(false); }, {"enabled"}, &off)
          .ok());
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.listen_address().empty());
  int err = 0;
  ReadAll(c, &err);  // closed: end of file or reset
  close(c);
  // Nothing listens there any more.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  size_t colon = p.listen_address().rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(
      static_cast<uint16_t>(std::stoi(p.listen_address().substr(colon + 1))));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  EXPECT_NE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  close(fd);
  v1::Proxy on;
  ASSERT_TRUE(
      Update(
          p.id(), [](v1::Proxy& x) { x.set_enabled(true); }, {"enabled"}, &on)
          .ok());
  int c2 = Connect(on.listen_address());
  SendAll(c2, "again");
  shutdown(c2, SHUT_WR);
  EXPECT_EQ(ReadAll(c2), "again");
  close(c2);
}

TEST_F(ProxiesTest, NamesLinksAndDeletion) {
  Upstream up(Echo);
  v1::Proxy p = Create("named", up.address());
  v1::CreateProxyRequest dup;
  dup.set_name("named");
  dup.set_listen("127.0.0.1:0");
  dup.set_upstream(up.address());
  v1::Proxy ignored;
  grpc::Status s = Call(stub_.get(), &Stub::CreateProxy, dup, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(s.error_message().find("named"), std::string::npos);

  // A link that carries a proxy is not deleted under it.
  v1::DeleteLinkRequest dl;
  dl.set_link_id(p.link_id());
  google::protobuf::Empty empty;
  s = Call(stub_.get(), &Stub::DeleteLink, dl, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("named"), std::string::npos);

  // A second proxy on the first one's link.
  v1::Proxy q = Create("shared", up.address(), absl::ZeroDuration(),
                       [&](v1::CreateProxyRequest& r) {
                         r.clear_forward();
                         r.clear_reverse();
                         r.set_link_id(p.link_id());
                       });
  EXPECT_EQ(q.link_id(), p.link_id());
  EXPECT_FALSE(q.owns_link());

  v1::ListProxiesResponse list;
  ASSERT_TRUE(
      Call(stub_.get(), &Stub::ListProxies, v1::ListProxiesRequest(), &list)
          .ok());
  EXPECT_EQ(list.proxies_size(), 2);

  v1::DeleteProxyRequest dq;
  dq.set_name("shared");
  ASSERT_TRUE(Call(stub_.get(), &Stub::DeleteProxy, dq, &empty).ok());
  v1::DeleteProxyRequest dp;
  dp.set_proxy_id(p.id());
  ASSERT_TRUE(Call(stub_.get(), &Stub::DeleteProxy, dp, &empty).ok());
  // Its own link went with it; the name is free again.
  v1::GetLinkRequest gl;
  gl.set_link_id(p.link_id());
  v1::Link link;
  EXPECT_EQ(Call(stub_.get(), &Stub::GetLink, gl, &link).error_code(),
            grpc::StatusCode::NOT_FOUND);
  Create("named", up.address());
}

TEST_F(ProxiesTest, LimitsAreResourceExhausted) {
  DaemonOptions o = testutil::LocalOptions();
  o.emulator.max_proxies = 1;
  o.emulator.max_proxy_connections = 1;
  Start(o);
  Upstream up(Echo);
  v1::Proxy p = Create("one", up.address());
  v1::CreateProxyRequest req;
  req.set_name("two");
  req.set_listen("127.0.0.1:0");
  req.set_upstream(up.address());
  v1::Proxy ignored;
  grpc::Status s = Call(stub_.get(), &Stub::CreateProxy, req, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("--max_proxies"), std::string::npos);

  int first = Connect(p.listen_address());
  SendAll(first, "a");
  char b;
  ASSERT_EQ(recv(first, &b, 1, 0), 1);
  int second = Connect(p.listen_address());  // the kernel accepts it ...
  int err = 0;
  ReadAll(second, &err);  // ... and the proxy resets it
  EXPECT_EQ(err, ECONNRESET);
  close(second);
  close(first);
  EXPECT_TRUE(Eventually(
      [&] { return Get(p.id()).counters().connections_refused() == 1; }));
}

TEST_F(ProxiesTest, LimitDataClosesAfterItsBytes) {
  Upstream up([](int fd) {
    SendAll(fd, std::string(100000, 'z'));
    ReadAll(fd);
  });
  v1::Proxy p = Create("limit", up.address(), absl::ZeroDuration(),
                       [](v1::CreateProxyRequest& r) {
                         r.add_toxics()->mutable_limit_data()->set_bytes(1000);
                       });
  ASSERT_EQ(p.toxics_size(), 1);
  EXPECT_EQ(p.toxics(0).name(), "limit_data_downstream");
  int c = Connect(p.listen_address());
  EXPECT_EQ(ReadAll(c).size(), 1000u);
  close(c);
}

TEST_F(ProxiesTest, ResetPeerResetsAfterItsTimeout) {
  Upstream up([](int fd) { ReadAll(fd); });
  v1::Proxy p = Create(
      "reset", up.address(), absl::ZeroDuration(),
      [](v1::CreateProxyRequest& r) {
        v1::Toxic* t = r.add_toxics();
        t->mutable_reset_peer()->mutable_timeout()->set_nanos(200'000'000);
      });
  const absl::Time start = absl::Now();
  int c = Connect(p.listen_address());
  int err = 0;
  ReadAll(c, &err);
  EXPECT_EQ(err, ECONNRESET);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  close(c);
}

TEST_F(ProxiesTest, LatencyToxicAddsToTheRoundTripAndGoesWhenRemoved) {
  Upstream up(Echo);
  v1::Proxy p = Create("lat", up.address());
  auto round_trip = [&] {
    int c = Connect(p.listen_address());
    char b[2];
    SendAll(c, "a");  // the handshake is done before the clock starts
    EXPECT_EQ(recv(c, b, 1, MSG_WAITALL), 1);
    const absl::Time start = absl::Now();
    SendAll(c, "b");
    EXPECT_EQ(recv(c, b, 1, MSG_WAITALL), 1);
    absl::Duration d = absl::Now() - start;
    close(c);
    return d;
  };
  ASSERT_TRUE(Update(p.id(),
                     [](v1::Proxy& x) {
                       v1::Toxic* t = x.add_toxics();
                       t->set_stream(v1::TOXIC_STREAM_UPSTREAM);
                       t->mutable_latency()->mutable_latency()->set_nanos(
                           150'000'000);
                     },
                     {"toxics"})
                  .ok());
  EXPECT_GE(round_trip(), absl::Milliseconds(150));
  ASSERT_TRUE(Update(p.id(), [](v1::Proxy&) {}, {"toxics"}).ok());
  EXPECT_EQ(Get(p.id()).toxics_size(), 0);
  // Without it the round trip has no emulated delay; on a loaded machine it
  // can still be slow, so only check it is under the toxic's latency.
  absl::Duration best = absl::InfiniteDuration();
  for (int i = 0; i < 5; ++i) best = std::min(best, round_trip());
  EXPECT_LT(best, absl::Milliseconds(150));
}

TEST_F(ProxiesTest, TimeoutToxicBlackHolesThenCloses) {
  std::atomic<size_t> upstream_got{0};
  Upstream up([&](int fd) { upstream_got = ReadAll(fd).size(); });
  v1::Proxy p =
      Create("hole", up.address(), absl::ZeroDuration(),
             [](v1::CreateProxyRequest& r) {
               v1::Toxic* t = r.add_toxics();
               t->set_stream(v1::TOXIC_STREAM_UPSTREAM);
               t->mutable_timeout()->mutable_timeout()->set_nanos(300'000'000);
             });
  const absl::Time start = absl::Now();
  int c = Connect(p.listen_address());
  SendAll(c, "lost");
  int err = 0;
  ReadAll(c, &err);  // closed by the toxic
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  close(c);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(upstream_got.load(), 0u);
}

TEST_F(ProxiesTest, SlowCloseDelaysTheEndOfFile) {
  Upstream up([](int fd) { SendAll(fd, "bye"); });
  v1::Proxy p =
      Create("slow", up.address(), absl::ZeroDuration(),
             [](v1::CreateProxyRequest& r) {
               r.add_toxics()->mutable_slow_close()->mutable_delay()->set_nanos(
                   300'000'000);
             });
  int c = Connect(p.listen_address());
  char b[3];
  ASSERT_EQ(recv(c, b, 3, MSG_WAITALL), 3);
  const absl::Time got_data = absl::Now();
  EXPECT_EQ(ReadAll(c), "");
  EXPECT_GE(absl::Now() - got_data, absl::Milliseconds(250));
  close(c);
}

}  // namespace
}  // namespace tcpemu::server
