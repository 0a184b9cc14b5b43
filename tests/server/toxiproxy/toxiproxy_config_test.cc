// tcpemud --proxies FILE: toxiproxy's config format loaded into a daemon.
#include "server/toxiproxy/toxiproxy_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/daemon.h"
#include "tests/server/service_test_util.h"
#include "tests/server/toxiproxy/toxiproxy_test_util.h"

namespace tcpemu::server {
namespace {

using testutil::EchoServer;
using testutil::TcpClient;

class ToxiproxyConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = Daemon::Start(testutil::LocalOptions());
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    stub_ = v1::Emulator::NewStub(testutil::LocalChannel(daemon_->port()));
    char dir[] = "/tmp/tcpemu-proxies-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }

  void TearDown() override {
    for (const std::string& f : files_) std::remove(f.c_str());
    rmdir(dir_.c_str());
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = absl::StrCat(dir_, "/", name);
    std::FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    files_.push_back(path);
    return path;
  }

  absl::StatusOr<v1::Proxy> Get(const std::string& name) {
    v1::GetProxyRequest req;
    req.set_name(name);
    v1::Proxy p;
    grpc::Status s =
        testutil::Call(stub_.get(), &testutil::Stub::GetProxy, req, &p);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          s.error_message());
    }
    return p;
  }

  EchoServer echo_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Emulator::Stub> stub_;
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ToxiproxyConfigTest, LoadsToxiproxysFormat) {
  const std::string path = Write(
      "toxiproxy.json", absl::StrCat(R"([
  {"name": "web_dev_1", "listen": "127.0.0.1:0", "upstream": ")",
                                     echo_.address(), R"(", "enabled": true},
  {"name": "web_dev_2", "listen": "127.0.0.1:0", "upstream": ")",
                                     echo_.address(), R"(", "enabled": false},
  {"name": "web_dev_3", "upstream": ")",
                                     echo_.address(), R"("}
])"));
  ASSERT_TRUE(LoadToxiproxyConfig(path, stub_.get()).ok());

  absl::StatusOr<v1::Proxy> one = Get("web_dev_1");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(one->enabled());
  EXPECT_EQ(one->upstream(), echo_.address());
  TcpClient client(one->listen_address());
  ASSERT_TRUE(client.connected()) << one->listen_address();
  ASSERT_TRUE(client.Send("config"));
  EXPECT_EQ(client.Receive(6), "config");

  absl::StatusOr<v1::Proxy> two = Get("web_dev_2");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_FALSE(two->enabled());
  // No listen: loopback, a free port; enabled by default.
  absl::StatusOr<v1::Proxy> three = Get("web_dev_3");
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->listen(), "127.0.0.1:0");
  EXPECT_TRUE(three->enabled());

  // Loading it again changes nothing.
  ASSERT_TRUE(LoadToxiproxyConfig(path, stub_.get()).ok());
  absl::StatusOr<v1::Proxy> again = Get("web_dev_1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), one->id());
  EXPECT_EQ(again->listen_address(), one->listen_address());
}

TEST_F(ToxiproxyConfigTest, ErrorsNameTheFileAndTheEntry) {
  const std::string missing = absl::StrCat(dir_, "/absent.json");
  absl::Status s = LoadToxiproxyConfig(missing, stub_.get());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "--proxies " + missing + ": "))
      << s;

  const std::string bad_json = Write("bad.json", "[{\"name\": ");
  s = LoadToxiproxyConfig(bad_json, stub_.get());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "--proxies " + bad_json + ": "))
      << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "bad request body")) << s;

  const std::string no_upstream =
      Write("no_upstream.json", R"([{"name":"a","listen":"127.0.0.1:0"}])");
  s = LoadToxiproxyConfig(no_upstream, stub_.get());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(),
                                "missing required field: upstream at proxy 1"))
      << s;
  EXPECT_FALSE(Get("a").ok());

  const std::string refused =
      Write("refused.json",
            absl::StrCat(R"([{"name":"ok","listen":"127.0.0.1:0","upstream":")",
                         echo_.address(),
                         R"("},{"name":"far","listen":"127.0.0.1:0",)"
                         R"("upstream":"192.0.2.1:80"}])"));
  s = LoadToxiproxyConfig(refused, stub_.get());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "proxy 2 (far)")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "--proxy_upstream_allow")) << s;
  EXPECT_TRUE(Get("ok").ok());
}

}  // namespace
}  // namespace tcpemu::server
