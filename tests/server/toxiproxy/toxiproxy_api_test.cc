// toxiproxy's HTTP API against an in-process tcpemud: proxies and toxics made
// over HTTP carry real TCP connections to an echo server, a latency toxic
// delays them, and errors have toxiproxy's shape and status codes.
#include "server/toxiproxy/toxiproxy_api.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/daemon.h"
#include "tests/server/service_test_util.h"
#include "tests/server/toxiproxy/toxiproxy_test_util.h"

namespace tcpemu::server {
namespace {

using testutil::EchoServer;
using testutil::Http;
using testutil::HttpResponse;
using testutil::Json;
using testutil::TcpClient;

class ToxiproxyApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(testutil::LocalOptions(), nullptr); }

  // A daemon with `options` and the API in front of it.
  void Start(const DaemonOptions& options, const TokenChecker* tokens) {
    api_.reset();
    daemon_.reset();
    auto d = Daemon::Start(options);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    channel_ = testutil::LocalChannel(daemon_->port());
    ToxiproxyApiOptions o;
    o.listen = "127.0.0.1:0";
    o.channel = channel_;
    o.tokens = tokens;
    auto api = ToxiproxyApi::Start(o);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
    ASSERT_GT(api_->port(), 0);
  }

  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = "",
                    const std::string& extra = "") {
    HttpResponse r = Http(api_->port(), method, path, body, extra);
    EXPECT_NE(r.status, 0) << r.error;
    return r;
  }

  // POST /proxies for a proxy of `name` to the echo server; its JSON.
  Json CreateEchoProxy(const std::string& name) {
    HttpResponse r = Call("POST", "/proxies",
                          Json{{"name", name},
                               {"listen", "127.0.0.1:0"},
                               {"upstream", echo_.address()}}
                              .dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json();
  }

  // Round trip of `payload` through the proxy listening at `listen`.
  static absl::Duration EchoThrough(const std::string& listen,
                                    const std::string& payload) {
    TcpClient client(listen);
    EXPECT_TRUE(client.connected()) << listen;
    const absl::Time start = absl::Now();
    EXPECT_TRUE(client.Send(payload));
    EXPECT_EQ(client.Receive(payload.size()), payload);
    return absl::Now() - start;
  }

  // Destroyed in reverse: the API, then the daemon, which closes its proxied
  // connections, then the echo server.
  EchoServer echo_;
  std::unique_ptr<Daemon> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ToxiproxyApi> api_;
};

void ExpectError(const HttpResponse& r, int status,
                 absl::string_view message_part) {
  EXPECT_EQ(r.status, status) << r.body;
  const Json j = r.json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["status"], status) << r.body;
  ASSERT_TRUE(j["error"].is_string()) << r.body;
  EXPECT_TRUE(absl::StrContains(j["error"].get<std::string>(), message_part))
      << r.body;
  EXPECT_TRUE(absl::StartsWith(r.header("Content-Type"), "application/json"));
}

TEST_F(ToxiproxyApiTest, VersionSaysToxiproxyAndTcpemu) {
  HttpResponse r = Call("GET", "/version");
  EXPECT_EQ(r.status, 200);
  const Json j = r.json();
  ASSERT_TRUE(j["version"].is_string()) << r.body;
  const std::string v = j["version"];
  EXPECT_TRUE(absl::StartsWith(v, "2.")) << v;
  EXPECT_TRUE(absl::StrContains(v, "tcpemu")) << v;
}

TEST_F(ToxiproxyApiTest, AddressInUseIsNamed) {
  ToxiproxyApiOptions o;
  o.listen = absl::StrCat("127.0.0.1:", api_->port());
  o.channel = channel_;
  auto second = ToxiproxyApi::Start(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("--toxiproxy_listen ", o.listen, ": address in use"));
  o.listen = "127.0.0.1";
  EXPECT_FALSE(ToxiproxyApi::Start(o).ok());
  o.channel = nullptr;
  o.listen = "127.0.0.1:0";
  EXPECT_EQ(ToxiproxyApi::Start(o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ToxiproxyApiTest, RoutesAndMethods) {
  ExpectError(Call("GET", "/nope"), 404, "not found");
  ExpectError(Call("GET", "/proxies/a/b"), 404, "not found");
  HttpResponse r = Call("PUT", "/proxies");
  ExpectError(r, 405, "method not allowed");
  EXPECT_EQ(r.header("Allow"), "GET, POST");
  ExpectError(Call("GET", "/reset"), 405, "method not allowed");
}

TEST_F(ToxiproxyApiTest, BrowsersAreRefused) {
  ExpectError(Call("GET", "/proxies", "",
                   "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"),
              403, "User agent not allowed");
}

TEST_F(ToxiproxyApiTest, BadBodies) {
  ExpectError(Call("POST", "/proxies", "{nope"), 400, "bad request body: ");
  ExpectError(Call("POST", "/proxies", "[]"), 400, "bad request body: ");
  ExpectError(Call("POST", "/proxies", R"({"upstream":"127.0.0.1:1"})"), 400,
              "missing required field: name");
  ExpectError(Call("POST", "/proxies", R"({"name":"a"})"), 400,
              "missing required field: upstream");
  ExpectError(Call("POST", "/proxies", R"({"name":"a","enabled":"no"})"), 400,
              "\"enabled\"");
  ExpectError(Call("POST", "/populate", R"([{"name":"a"}])"), 400,
              "missing required field: upstream at proxy 1");
  // Bytes that are not UTF-8 are a bad body, and the reply is still JSON.
  ExpectError(Call("POST", "/proxies", "{\"name\":\"\xff\xfe\"}"), 400,
              "bad request body: ");
  ExpectError(Call("POST", "/proxies",
                   absl::StrCat(R"({"name":")", std::string(63, 'a'),
                                "\xc3\xa9\", \"listen\": \"127.0.0.1:0\", "
                                "\"upstream\": \"127.0.0.1:1\"}")),
              400, "name");
  EXPECT_EQ(Call("GET", "/version").status, 200);
}

TEST_F(ToxiproxyApiTest, TokensAreChecked) {
  TokenChecker tokens({"s3cret-token"}, false, false);
  Start(testutil::LocalOptions(), &tokens);
  HttpResponse missing = Call("GET", "/proxies");
  ExpectError(missing, 401, "missing bearer token");
  EXPECT_TRUE(absl::StartsWith(missing.header("WWW-Authenticate"), "Bearer"));
  ExpectError(Call("POST", "/reset", "", "Authorization: Bearer wrong\r\n"),
              401, "invalid bearer token");
  ExpectError(Call("GET", "/version", "", "Authorization: Basic abc\r\n"), 401,
              "missing bearer token");
  HttpResponse ok =
      Call("GET", "/version", "", "Authorization: Bearer s3cret-token\r\n");
  EXPECT_EQ(ok.status, 200) << ok.body;
  api_.reset();  // before `tokens` goes
}

TEST_F(ToxiproxyApiTest, ProxyOverHttpReachesUpstream) {
  const Json created = CreateEchoProxy("echo");
  EXPECT_EQ(created["name"], "echo");
  EXPECT_EQ(created["upstream"], echo_.address());
  EXPECT_EQ(created["enabled"], true);
  EXPECT_TRUE(created["toxics"].is_array());
  const std::string listen = created["listen"];
  EXPECT_TRUE(absl::StartsWith(listen, "127.0.0.1:")) << listen;
  EXPECT_NE(listen, "127.0.0.1:0");

  EchoThrough(listen, "hello through tcpemu");
  EXPECT_GE(echo_.accepted(), 1);

  HttpResponse list = Call("GET", "/proxies");
  EXPECT_EQ(list.status, 200);
  ASSERT_TRUE(list.json().contains("echo")) << list.body;
  EXPECT_EQ(list.json()["echo"]["listen"], listen);

  HttpResponse one = Call("GET", "/proxies/echo");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.json(), created);
}

TEST_F(ToxiproxyApiTest, DuplicateAndMissingProxies) {
  CreateEchoProxy("dup");
  ExpectError(Call("POST", "/proxies",
                   Json{{"name", "dup"},
                        {"listen", "127.0.0.1:0"},
                        {"upstream", echo_.address()}}
                       .dump()),
              409, "dup");
  ExpectError(Call("GET", "/proxies/ghost"), 404, "ghost");
  ExpectError(Call("DELETE", "/proxies/ghost"), 404, "ghost");
  ExpectError(Call("POST", "/proxies/ghost", R"({"enabled":false})"), 404,
              "ghost");
  ExpectError(Call("GET", "/proxies/ghost/toxics"), 404, "ghost");
  ExpectError(Call("POST", "/proxies/ghost/toxics", R"({"type":"latency"})"),
              404, "ghost");
}

TEST_F(ToxiproxyApiTest, DaemonErrorsKeepTheirText) {
  // The allow flags default to loopback: another address is refused and the
  // message names the flag.
  ExpectError(Call("POST", "/proxies",
                   R"({"name":"far","listen":"127.0.0.1:0",)"
                   R"("upstream":"192.0.2.1:6379"})"),
              403, "--proxy_upstream_allow");
  ExpectError(Call("POST", "/proxies",
                   R"({"name":"bad name!","listen":"127.0.0.1:0",)"
                   R"("upstream":"127.0.0.1:6379"})"),
              400, "name");
  // A toxicity out of [0, 1]: tcpemu's message names the field and range.
  CreateEchoProxy("narrow");
  HttpResponse r =
      Call("POST", "/proxies/narrow/toxics",
           R"({"type":"latency","toxicity":1.5,"attributes":{"latency":1}})");
  ExpectError(r, 400, "toxicity");
  EXPECT_TRUE(Call("GET", "/proxies/narrow").json()["toxics"].empty());
}

TEST_F(ToxiproxyApiTest, LimitsAre429) {
  DaemonOptions o = testutil::LocalOptions();
  o.emulator.max_proxies = 1;
  Start(o, nullptr);
  CreateEchoProxy("only");
  HttpResponse r = Call("POST", "/proxies",
                        Json{{"name", "second"},
                             {"listen", "127.0.0.1:0"},
                             {"upstream", echo_.address()}}
                            .dump());
  ExpectError(r, 429, "--max_proxies");
}

TEST_F(ToxiproxyApiTest, DisableEnableAndDelete) {
  const std::string listen = CreateEchoProxy("flip")["listen"];
  HttpResponse off = Call("POST", "/proxies/flip", R"({"enabled":false})");
  EXPECT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(off.json()["enabled"], false);
  // The bound port stays the proxy's, as in toxiproxy.
  EXPECT_EQ(off.json()["listen"], listen);
  EXPECT_FALSE(TcpClient(listen).connected());

  // PATCH works as POST does; a listen equal to the shown one changes
  // nothing else.
  HttpResponse on =
      Call("PATCH", "/proxies/flip", Json{{"enabled", true}}.dump());
  EXPECT_EQ(on.status, 200) << on.body;
  EXPECT_EQ(on.json()["enabled"], true);
  const std::string relisten = on.json()["listen"];
  EXPECT_EQ(relisten, listen);
  EchoThrough(relisten, "again");
  HttpResponse same = Call("POST", "/proxies/flip",
                           Json{{"name", "flip"},
                                {"listen", relisten},
                                {"enabled", true},
                                {"upstream", echo_.address()},
                                {"toxics", Json::array()}}
                               .dump());
  EXPECT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(same.json()["listen"], relisten);

  HttpResponse del = Call("DELETE", "/proxies/flip");
  EXPECT_EQ(del.status, 204);
  EXPECT_TRUE(del.body.empty());
  ExpectError(Call("GET", "/proxies/flip"), 404, "flip");
  EXPECT_FALSE(TcpClient(relisten).connected());
}

TEST_F(ToxiproxyApiTest, ToxicCrud) {
  CreateEchoProxy("tox");
  HttpResponse added =
      Call("POST", "/proxies/tox/toxics",
           R"({"type":"latency","attributes":{"latency":100,"jitter":5}})");
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.json()["name"], "latency_downstream");
  EXPECT_EQ(added.json()["stream"], "downstream");
  EXPECT_EQ(added.json()["toxicity"], 1.0);
  EXPECT_EQ(added.json()["attributes"]["latency"], 100);
  EXPECT_EQ(added.json()["attributes"]["jitter"], 5);

  ExpectError(Call("POST", "/proxies/tox/toxics", R"({"type":"latency"})"), 409,
              "toxic already exists");
  ExpectError(Call("POST", "/proxies/tox/toxics", R"({"type":"noop"})"), 400,
              "invalid toxic type");
  ExpectError(Call("POST", "/proxies/tox/toxics",
                   R"({"type":"latency","stream":"both"})"),
              400, "stream was invalid");
  ExpectError(Call("POST", "/proxies/tox/toxics",
                   R"({"type":"limit_data","attributes":{"bytes":-1}})"),
              400, "\"bytes\"");

  HttpResponse up = Call("POST", "/proxies/tox/toxics",
                         R"({"name":"cut","type":"limit_data",)"
                         R"("stream":"upstream","toxicity":0.5,)"
                         R"("attributes":{"bytes":1000000}})");
  ASSERT_EQ(up.status, 200) << up.body;

  HttpResponse list = Call("GET", "/proxies/tox/toxics");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json().size(), 2u) << list.body;
  EXPECT_EQ(list.json()[0]["name"], "cut");  // upstream first
  EXPECT_EQ(list.json()[1]["name"], "latency_downstream");
  EXPECT_EQ(Call("GET", "/proxies/tox").json()["toxics"], list.json());

  HttpResponse one = Call("GET", "/proxies/tox/toxics/cut");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.json()["toxicity"], 0.5);
  EXPECT_EQ(one.json()["attributes"]["bytes"], 1000000);

  HttpResponse updated = Call("PATCH", "/proxies/tox/toxics/latency_downstream",
                              R"({"attributes":{"latency":250}})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.json()["attributes"]["latency"], 250);
  EXPECT_EQ(updated.json()["attributes"]["jitter"], 5);
  EXPECT_EQ(updated.json()["stream"], "downstream");

  ExpectError(Call("POST", "/proxies/tox/toxics/ghost", R"({"toxicity":1})"),
              404, "toxic not found");
  EXPECT_EQ(Call("DELETE", "/proxies/tox/toxics/cut").status, 204);
  ExpectError(Call("GET", "/proxies/tox/toxics/cut"), 404, "toxic not found");
  ExpectError(Call("DELETE", "/proxies/tox/toxics/cut"), 404,
              "toxic not found");
  EXPECT_EQ(Call("GET", "/proxies/tox/toxics").json().size(), 1u);
}

TEST_F(ToxiproxyApiTest, LatencyToxicDelaysTheReply) {
  const std::string listen = CreateEchoProxy("slow")["listen"];
  HttpResponse added =
      Call("POST", "/proxies/slow/toxics",
           R"({"type":"latency","attributes":{"latency":300}})");
  ASSERT_EQ(added.status, 200) << added.body;
  HttpResponse up = Call("POST", "/proxies/slow/toxics",
                         R"({"type":"latency","stream":"upstream",)"
                         R"("attributes":{"latency":200}})");
  ASSERT_EQ(up.status, 200) << up.body;
  // The request crosses the upstream stream, the reply the downstream one.
  const absl::Duration rtt = EchoThrough(listen, "ping");
  EXPECT_GE(rtt, absl::Milliseconds(500)) << rtt;
}

TEST_F(ToxiproxyApiTest, PopulateCreatesKeepsAndReplaces) {
  const std::string body = Json::array({Json{{"name", "p1"},
                                             {"listen", "127.0.0.1:0"},
                                             {"upstream", echo_.address()}},
                                        Json{{"name", "p2"},
                                             {"listen", "127.0.0.1:0"},
                                             {"upstream", echo_.address()},
                                             {"enabled", false}}})
                               .dump();
  HttpResponse first = Call("POST", "/populate", body);
  ASSERT_EQ(first.status, 201) << first.body;
  ASSERT_EQ(first.json()["proxies"].size(), 2u);
  EXPECT_EQ(first.json()["proxies"][0]["enabled"], true);
  EXPECT_EQ(first.json()["proxies"][1]["enabled"], false);
  const std::string p1_listen = first.json()["proxies"][0]["listen"];
  ASSERT_EQ(Call("POST", "/proxies/p1/toxics", R"({"type":"timeout"})").status,
            200);

  // The same config again keeps the proxies as they are, toxics too.
  HttpResponse again = Call("POST", "/populate", body);
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.json()["proxies"][0]["listen"], p1_listen);
  EXPECT_EQ(again.json()["proxies"][0]["toxics"].size(), 1u);

  // Another upstream replaces the proxy: its toxics go.
  EchoServer other;
  HttpResponse moved = Call("POST", "/populate",
                            Json::array({Json{{"name", "p1"},
                                              {"listen", "127.0.0.1:0"},
                                              {"upstream", other.address()}}})
                                .dump());
  ASSERT_EQ(moved.status, 201) << moved.body;
  EXPECT_EQ(moved.json()["proxies"][0]["upstream"], other.address());
  EXPECT_TRUE(moved.json()["proxies"][0]["toxics"].empty());
  EchoThrough(moved.json()["proxies"][0]["listen"], "moved");
  EXPECT_GE(other.accepted(), 1);

  // An entry the daemon refuses stops the rest; the ones before it stay.
  HttpResponse refused = Call("POST", "/populate",
                              Json::array({Json{{"name", "p3"},
                                                {"listen", "127.0.0.1:0"},
                                                {"upstream", echo_.address()}},
                                           Json{{"name", "p4"},
                                                {"listen", "127.0.0.1:0"},
                                                {"upstream", "192.0.2.1:1"}},
                                           Json{{"name", "p5"},
                                                {"listen", "127.0.0.1:0"},
                                                {"upstream", echo_.address()}}})
                                  .dump());
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.json()["status"], 403);
  EXPECT_TRUE(refused.json()["error"].is_string());
  ASSERT_EQ(refused.json()["proxies"].size(), 1u) << refused.body;
  EXPECT_EQ(refused.json()["proxies"][0]["name"], "p3");
  EXPECT_EQ(Call("GET", "/proxies/p5").status, 404);

  // Delete p1 before `other` goes.
  EXPECT_EQ(Call("DELETE", "/proxies/p1").status, 204);
}

TEST_F(ToxiproxyApiTest, ResetEnablesAndClearsToxics) {
  CreateEchoProxy("r1");
  const std::string r2_listen = CreateEchoProxy("r2")["listen"];
  ASSERT_EQ(Call("POST", "/proxies/r1/toxics", R"({"type":"latency"})").status,
            200);
  ASSERT_EQ(Call("POST", "/proxies/r1/toxics",
                 R"({"type":"bandwidth","attributes":{"rate":100}})")
                .status,
            200);
  ASSERT_EQ(Call("POST", "/proxies/r2", R"({"enabled":false})").status, 200);

  HttpResponse reset = Call("POST", "/reset");
  EXPECT_EQ(reset.status, 204) << reset.body;
  const Json all = Call("GET", "/proxies").json();
  for (const char* name : {"r1", "r2"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(all[name]["enabled"], true);
    EXPECT_TRUE(all[name]["toxics"].empty());
  }
  EXPECT_EQ(all["r2"]["listen"], r2_listen);
  EchoThrough(r2_listen, "back");
}

}  // namespace
}  // namespace tcpemu::server
