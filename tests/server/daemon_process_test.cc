// The tcpemud binary as a process (path in --tcpemud=, set by CMake): a free
// port, grpc.health.v1 SERVING, and on SIGTERM open WatchEvents streams end
// with UNAVAILABLE and the process exits 0 within its shutdown deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

std::string g_tcpemud;  // set from --tcpemud

using testutil::Stub;

// A child process running tcpemud with its stderr on a pipe.
class DaemonProcess {
 public:
  ~DaemonProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Starts the binary; returns false with a message on failure.
  bool Start(const std::vector<std::string>& args, std::string* why) {
    int fds[2];
    if (pipe(fds) != 0) {
      *why = absl::StrCat("pipe: ", std::strerror(errno));
      return false;
    }
    std::vector<std::string> argv_storage = {g_tcpemud};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) {
      *why = absl::StrCat("fork: ", std::strerror(errno));
      return false;
    }
    if (pid_ == 0) {
      dup2(fds[1], STDERR_FILENO);
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    err_fd_ = fds[0];
    fcntl(err_fd_, F_SETFL, fcntl(err_fd_, F_GETFL) | O_NONBLOCK);
    return true;
  }

  // Reads stderr until a line contains `text` or the timeout passes.
  bool WaitForOutput(absl::string_view text, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!absl::StrContains(output_, text)) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      pollfd p{err_fd_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (!Drain()) return absl::StrContains(output_, text);
    }
    return true;
  }

  // The port from "serving gRPC on port N".
  std::optional<int> Port() const {
    const std::string key = "serving gRPC on port ";
    const size_t at = output_.find(key);
    if (at == std::string::npos) return std::nullopt;
    size_t end = at + key.size();
    while (end < output_.size() && output_[end] >= '0' && output_[end] <= '9') {
      ++end;
    }
    int port = 0;
    if (!absl::SimpleAtoi(
            output_.substr(at + key.size(), end - at - key.size()), &port)) {
      return std::nullopt;
    }
    return port;
  }

  // Waits for the process to exit; its wait status, or nullopt on timeout.
  std::optional<int> WaitForExit(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        Drain();
        return status;
      }
      Drain();
      absl::SleepFor(absl::Milliseconds(10));
    }
    return std::nullopt;
  }

  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }

 private:
  // Appends what stderr has; false at end of file.
  bool Drain() {
    char buf[4096];
    while (true) {
      const ssize_t n = read(err_fd_, buf, sizeof(buf));
      if (n > 0) {
        output_.append(buf, static_cast<size_t>(n));
        continue;
      }
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }

  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string output_;
};

TEST(DaemonProcessTest, ServesHealthThenSigtermEndsStreamsAndExitsZero) {
  ASSERT_FALSE(g_tcpemud.empty()) << "run with --tcpemud=<path>";
  constexpr int kShutdownSeconds = 5;
  DaemonProcess daemon;
  std::string why;
  ASSERT_TRUE(
      daemon.Start({"--listen=127.0.0.1:0", "--metrics_listen=", "--shards=2",
                    absl::StrCat("--shutdown_seconds=", kShutdownSeconds)},
                   &why))
      << why;
  ASSERT_TRUE(daemon.WaitForOutput("serving gRPC on port", absl::Seconds(30)))
      << daemon.output();
  std::optional<int> port = daemon.Port();
  ASSERT_TRUE(port.has_value() && *port > 0) << daemon.output();

  auto channel = testutil::LocalChannel(*port);
  grpc::GenericStub generic(channel);
  absl::StatusOr<int> overall = testutil::CheckHealth(&generic, "");
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_EQ(*overall, 1) << "grpc.health.v1 status of the server";
  absl::StatusOr<int> emulator =
      testutil::CheckHealth(&generic, "tcpemu.v1.Emulator");
  ASSERT_TRUE(emulator.ok()) << emulator.status();
  EXPECT_EQ(*emulator, 1) << "grpc.health.v1 status of tcpemu.v1.Emulator";

  // An open event stream that is known to be live: a session on the
  // default network, then a stream that replays its history first.
  auto stub = v1::Emulator::NewStub(channel);
  v1::PathSpec path;
  testutil::SetDuration(absl::Milliseconds(1), path.mutable_delay());
  absl::StatusOr<v1::Link> link = testutil::CreateLink(stub.get(), 0, path);
  ASSERT_TRUE(link.ok()) << link.status();
  v1::OpenSessionRequest open;
  open.set_link_id(link->id());
  absl::StatusOr<v1::Session> session = testutil::OpenSession(stub.get(), open);
  ASSERT_TRUE(session.ok()) << session.status();
  grpc::ClientContext ctx;
  v1::WatchEventsRequest watch;
  watch.add_session_ids(session->id());
  watch.set_replay(true);
  std::unique_ptr<grpc::ClientReader<v1::EventBatch>> stream =
      stub->WatchEvents(&ctx, watch);
  v1::EventBatch batch;
  ASSERT_TRUE(stream->Read(&batch));
  ASSERT_GT(batch.events_size(), 0);
  EXPECT_EQ(batch.events(0).session_id(), session->id());

  const absl::Time signalled = absl::Now();
  ASSERT_EQ(kill(daemon.pid(), SIGTERM), 0);
  while (stream->Read(&batch)) {
  }
  grpc::Status end = stream->Finish();
  const absl::Duration stream_end = absl::Now() - signalled;
  EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAVAILABLE)
      << end.error_message();
  std::optional<int> status =
      daemon.WaitForExit(absl::Seconds(kShutdownSeconds + 5));
  const absl::Duration exited = absl::Now() - signalled;
  ASSERT_TRUE(status.has_value())
      << "tcpemud did not exit within " << kShutdownSeconds + 5
      << " s of SIGTERM; stderr:\n"
      << daemon.output();
  EXPECT_TRUE(WIFEXITED(*status)) << "wait status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0) << daemon.output();
  EXPECT_LT(exited, absl::Seconds(kShutdownSeconds + 1));
  EXPECT_TRUE(absl::StrContains(daemon.output(), "stopped")) << daemon.output();
  std::printf("stream ended %s and the process exited %s after SIGTERM\n",
              absl::FormatDuration(stream_end).c_str(),
              absl::FormatDuration(exited).c_str());

  // Nothing listens any more.
  absl::StatusOr<int> after =
      testutil::CheckHealth(&generic, "", absl::Seconds(2));
  EXPECT_FALSE(after.ok());
}

// A listening socket on 127.0.0.1 that holds a port; returns its port.
int HoldPort(int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (*fd < 0 ||
      bind(*fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(*fd, 1) != 0) {
    return -1;
  }
  socklen_t len = sizeof(addr);
  getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

TEST(DaemonProcessTest, HelpListsEveryFlagInGroups) {
  ASSERT_FALSE(g_tcpemud.empty()) << "run with --tcpemud=<path>";
  DaemonProcess daemon;
  std::string why;
  ASSERT_TRUE(daemon.Start({"--help"}, &why)) << why;
  std::optional<int> status = daemon.WaitForExit(absl::Seconds(60));
  ASSERT_TRUE(status.has_value()) << daemon.output();
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  const std::string& out = daemon.output();
  EXPECT_FALSE(absl::StrContains(out, "No flags matched")) << out;
  for (const char* group : {"Listening:", "Security", "Limits", "Events",
                            "Captures:", "Running:"}) {
    EXPECT_TRUE(absl::StrContains(out, group)) << group << "\n" << out;
  }
  // Every flag the daemon reads (server/main.cc).
  for (const char* flag : {"listen",
                           "metrics_listen",
                           "tls_cert",
                           "tls_key",
                           "tls_client_ca",
                           "auth_tokens",
                           "auth_health",
                           "auth_reflection",
                           "shards",
                           "max_networks",
                           "max_links",
                           "max_sessions",
                           "max_buffer",
                           "max_subscribers",
                           "event_queue",
                           "session_history",
                           "per_session_metrics",
                           "per_session_cap",
                           "seed",
                           "max_interfaces",
                           "max_listeners",
                           "max_write_bytes",
                           "pcap_dir",
                           "capture_bytes",
                           "max_captures",
                           "max_waiting_calls",
                           "max_waiting_write_bytes",
                           "max_waiting_write_bytes_per_client",
                           "max_advance_seconds",
                           "shutdown_seconds"}) {
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("--", flag, "=")))
        << flag << "\n"
        << out;
  }
}

TEST(DaemonProcessTest, ASecondDaemonOnATakenGrpcPortFailsToStart) {
  ASSERT_FALSE(g_tcpemud.empty()) << "run with --tcpemud=<path>";
  DaemonProcess first;
  std::string why;
  ASSERT_TRUE(first.Start({"--listen=127.0.0.1:0", "--metrics_listen="}, &why))
      << why;
  ASSERT_TRUE(first.WaitForOutput("serving gRPC on port", absl::Seconds(60)))
      << first.output();
  std::optional<int> port = first.Port();
  ASSERT_TRUE(port.has_value());
  DaemonProcess second;
  const std::string listen = absl::StrCat("127.0.0.1:", *port);
  ASSERT_TRUE(second.Start({"--listen=" + listen, "--metrics_listen="}, &why))
      << why;
  std::optional<int> status = second.WaitForExit(absl::Seconds(60));
  ASSERT_TRUE(status.has_value()) << "the second daemon kept running:\n"
                                  << second.output();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_TRUE(absl::StrContains(second.output(),
                                absl::StrCat(listen, ": address in use")))
      << second.output();
}

TEST(DaemonProcessTest, ABusyMetricsPortIsReportedAndExitsOne) {
  ASSERT_FALSE(g_tcpemud.empty()) << "run with --tcpemud=<path>";
  int fd = -1;
  const int port = HoldPort(&fd);
  ASSERT_GT(port, 0);
  DaemonProcess daemon;
  std::string why;
  const std::string metrics = absl::StrCat("127.0.0.1:", port);
  ASSERT_TRUE(daemon.Start(
      {"--listen=127.0.0.1:0", "--metrics_listen=" + metrics}, &why))
      << why;
  std::optional<int> status = daemon.WaitForExit(absl::Seconds(60));
  close(fd);
  ASSERT_TRUE(status.has_value()) << daemon.output();
  ASSERT_TRUE(WIFEXITED(*status)) << "wait status " << *status << ":\n"
                                  << daemon.output();
  EXPECT_EQ(WEXITSTATUS(*status), 1) << daemon.output();
  EXPECT_TRUE(absl::StrContains(
      daemon.output(),
      absl::StrCat("metrics_listen ", metrics, ": address in use")))
      << daemon.output();
}

}  // namespace
}  // namespace tcpemu::server

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--tcpemud=")) {
      tcpemu::server::g_tcpemud = std::string(arg);
    }
  }
  return RUN_ALL_TESTS();
}
