// toxiproxy's HTTP API on civetweb; see toxiproxy_api.h.
#include "server/toxiproxy/toxiproxy_api.h"

#include <civetweb.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/listen_probe.h"
#include "server/toxiproxy/toxiproxy_json.h"
#include "server/toxiproxy/toxiproxy_ops.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"

#ifndef TCPEMU_VERSION
#define TCPEMU_VERSION "dev"
#endif

namespace tcpemu::server {
namespace {

using toxiproxy::Json;

// The toxiproxy release whose API this one follows.
constexpr absl::string_view kToxiproxyApiVersion = "2.12.0";
// Request bodies larger than this are refused (413).
constexpr size_t kMaxBody = 4 << 20;

struct Reply {
  int status = 200;
  std::string body;  // empty: none
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply JsonReply(int status, const Json& body) {
  Reply r;
  r.status = status;
  // Error messages quote request text, which may not be UTF-8: such bytes
  // become U+FFFD instead of an exception.
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

Reply ErrorReply(const absl::Status& status) {
  return JsonReply(toxiproxy::HttpStatus(status.code()),
                   toxiproxy::ErrorToJson(status));
}

Reply NoContent() {
  Reply r;
  r.status = 204;
  return r;
}

template <typename T, typename F>
Reply Either(const absl::StatusOr<T>& result, int status, F to_json) {
  if (!result.ok()) return ErrorReply(result.status());
  return JsonReply(status, to_json(*result));
}

Reply NotAllowed(std::initializer_list<absl::string_view> methods) {
  Reply r =
      JsonReply(405, Json{{"error", "method not allowed"}, {"status", 405}});
  r.headers.emplace_back("Allow", absl::StrJoin(methods, ", "));
  return r;
}

Reply NoRoute() {
  return JsonReply(404, Json{{"error", "not found"}, {"status", 404}});
}

// The host to connect to to reach a listener bound to `listen`.
std::string ReachableHost(absl::string_view listen) {
  const size_t colon = listen.rfind(':');
  std::string host(colon == absl::string_view::npos ? absl::string_view()
                                                    : listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

// Opens and closes connections to host:port until `stop` is set: civetweb's
// listener notices a stop only between polls of up to 2 s, and a connection
// ends the poll at once.
void Knock(const std::string& host, int port, const std::atomic<bool>& stop) {
  const std::string service = std::to_string(port);
  while (!stop.load()) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) == 0) {
      const int fd =
          socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0);
      if (fd >= 0) {
        (void)connect(fd, found->ai_addr, found->ai_addrlen);
        close(fd);
      }
      freeaddrinfo(found);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

struct ToxiproxyApi::Impl {
  explicit Impl(const ToxiproxyApiOptions& options)
      : stub(v1::Emulator::NewStub(options.channel)),
        ops(stub.get()),
        tokens(options.tokens),
        knock_host(ReachableHost(options.listen)) {}

  // civetweb's request handler: every URI comes here.
  static int Handle(mg_connection* conn, void* cbdata);

  Reply Serve(const mg_request_info& info, absl::string_view body);
  // The refusal of a request that may not proceed (browser, token).
  std::optional<Reply> Check(const mg_request_info& info) const;
  Reply Route(absl::string_view method,
              const std::vector<absl::string_view>& path,
              absl::string_view body);
  Reply Proxies(absl::string_view method, absl::string_view body);
  Reply OneProxy(absl::string_view method, const std::string& name,
                 absl::string_view body);
  Reply Toxics(absl::string_view method, const std::string& proxy,
               absl::string_view body);
  Reply OneToxic(absl::string_view method, const std::string& proxy,
                 const std::string& name, absl::string_view body);

  std::unique_ptr<v1::Emulator::Stub> stub;
  toxiproxy::ToxiproxyOps ops;
  const TokenChecker* tokens;
  std::string knock_host;
};

int ToxiproxyApi::Impl::Handle(mg_connection* conn, void* cbdata) {
  Impl* impl = static_cast<Impl*>(cbdata);
  const mg_request_info* info = mg_get_request_info(conn);
  std::string body;
  bool too_large = false;
  char buf[8192];
  int n;
  // The whole body is read, so that the connection can serve the next
  // request; only the first kMaxBody bytes are kept.
  while ((n = mg_read(conn, buf, sizeof(buf))) > 0) {
    if (body.size() + static_cast<size_t>(n) > kMaxBody) {
      too_large = true;
    } else {
      body.append(buf, static_cast<size_t>(n));
    }
  }
  Reply reply;
  if (too_large) {
    reply = JsonReply(413, Json{{"error", absl::StrCat("request body larger "
                                                       "than ",
                                                       kMaxBody, " bytes")},
                                {"status", 413}});
  } else {
    // nlohmann/json reports by exception; none may unwind into civetweb.
    try {
      reply = impl->Serve(*info, body);
    } catch (const std::exception& e) {
      reply = ErrorReply(absl::InternalError(e.what()));
    }
  }
  mg_response_header_start(conn, reply.status);
  if (reply.status != 204) {
    mg_response_header_add(conn, "Content-Type", reply.content_type.c_str(),
                           -1);
    mg_response_header_add(conn, "Content-Length",
                           std::to_string(reply.body.size()).c_str(), -1);
  }
  for (const auto& [name, value] : reply.headers) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_send(conn);
  if (!reply.body.empty()) mg_write(conn, reply.body.data(), reply.body.size());
  return reply.status;
}

std::optional<Reply> ToxiproxyApi::Impl::Check(
    const mg_request_info& info) const {
  std::vector<absl::string_view> authorization;
  for (int i = 0; i < info.num_headers; ++i) {
    const mg_header& h = info.http_headers[i];
    if (h.name == nullptr || h.value == nullptr) continue;
    if (absl::EqualsIgnoreCase(h.name, "User-Agent") &&
        absl::StartsWith(h.value, "Mozilla/")) {
      return JsonReply(
          403, Json{{"error", "User agent not allowed"}, {"status", 403}});
    }
    if (absl::EqualsIgnoreCase(h.name, "Authorization")) {
      authorization.push_back(h.value);
    }
  }
  if (tokens != nullptr) {
    // Reads answer like ListProxies, changes like UpdateProxy: neither is
    // open without a token.
    const bool read = std::strcmp(info.request_method, "GET") == 0;
    absl::Status s = tokens->Check(read ? "/tcpemu.v1.Emulator/ListProxies"
                                        : "/tcpemu.v1.Emulator/UpdateProxy",
                                   authorization);
    if (!s.ok()) {
      Reply r = ErrorReply(s);
      r.headers.emplace_back("WWW-Authenticate",
                             authorization.empty() ? "Bearer realm=\"tcpemu\""
                                                   : "Bearer realm=\"tcpemu\", "
                                                     "error=\"invalid_token\"");
      return r;
    }
  }
  return std::nullopt;
}

Reply ToxiproxyApi::Impl::Serve(const mg_request_info& info,
                                absl::string_view body) {
  std::optional<Reply> refused = Check(info);
  if (refused.has_value()) return *std::move(refused);
  absl::string_view uri =
      info.local_uri != nullptr ? info.local_uri : info.request_uri;
  if (absl::StartsWith(uri, "/")) uri.remove_prefix(1);
  std::vector<absl::string_view> path = absl::StrSplit(uri, '/');
  return Route(info.request_method, path, body);
}

Reply ToxiproxyApi::Impl::Route(absl::string_view method,
                                const std::vector<absl::string_view>& path,
                                absl::string_view body) {
  if (path.size() == 1 && path[0] == "version") {
    if (method != "GET") return NotAllowed({"GET"});
    Reply r = JsonReply(
        200, Json{{"version", absl::StrCat(kToxiproxyApiVersion, "+tcpemu.",
                                           TCPEMU_VERSION)}});
    r.body += "\n";
    r.content_type = "application/json;charset=utf-8";
    return r;
  }
  if (path.size() == 1 && path[0] == "reset") {
    if (method != "POST") return NotAllowed({"POST"});
    absl::Status s = ops.Reset();
    return s.ok() ? NoContent() : ErrorReply(s);
  }
  if (path.size() == 1 && path[0] == "populate") {
    if (method != "POST") return NotAllowed({"POST"});
    absl::StatusOr<Json> parsed = toxiproxy::ParseBody(body);
    if (!parsed.ok()) return ErrorReply(parsed.status());
    auto entries = toxiproxy::PopulateFromJson(*parsed);
    if (!entries.ok()) return ErrorReply(entries.status());
    toxiproxy::PopulateResult result = ops.Populate(*entries);
    Json out = result.status.ok() ? Json::object()
                                  : toxiproxy::ErrorToJson(result.status);
    out["proxies"] = Json::array();
    for (const v1::Proxy& p : result.proxies) {
      out["proxies"].push_back(toxiproxy::ProxyToJson(p));
    }
    return JsonReply(
        result.status.ok() ? 201 : toxiproxy::HttpStatus(result.status.code()),
        out);
  }
  if (path.empty() || path[0] != "proxies" || path.size() > 4) {
    return NoRoute();
  }
  if (path.size() == 1) return Proxies(method, body);
  const std::string proxy(path[1]);
  if (proxy.empty() || (path.size() >= 3 && path[2] != "toxics")) {
    return NoRoute();
  }
  if (path.size() == 2) return OneProxy(method, proxy, body);
  if (path.size() == 3) return Toxics(method, proxy, body);
  const std::string toxic(path[3]);
  if (toxic.empty()) {
    return NoRoute();
  }
  return OneToxic(method, proxy, toxic, body);
}

Reply ToxiproxyApi::Impl::Proxies(absl::string_view method,
                                  absl::string_view body) {
  if (method == "GET") {
    return Either(ops.List(), 200, [](const std::vector<v1::Proxy>& proxies) {
      Json out = Json::object();
      for (const v1::Proxy& p : proxies) {
        out[p.name()] = toxiproxy::ProxyToJson(p);
      }
      return out;
    });
  }
  if (method != "POST") return NotAllowed({"GET", "POST"});
  absl::StatusOr<Json> parsed = toxiproxy::ParseBody(body);
  if (!parsed.ok()) return ErrorReply(parsed.status());
  auto fields = toxiproxy::ProxyFieldsFromJson(*parsed);
  if (!fields.ok()) return ErrorReply(fields.status());
  return Either(ops.Create(*fields), 201, toxiproxy::ProxyToJson);
}

Reply ToxiproxyApi::Impl::OneProxy(absl::string_view method,
                                   const std::string& name,
                                   absl::string_view body) {
  if (method == "GET")
    return Either(ops.Get(name), 200, toxiproxy::ProxyToJson);
  if (method == "DELETE") {
    absl::Status s = ops.Delete(name);
    return s.ok() ? NoContent() : ErrorReply(s);
  }
  if (method != "POST" && method != "PATCH") {
    return NotAllowed({"GET", "POST", "PATCH", "DELETE"});
  }
  absl::StatusOr<Json> parsed = toxiproxy::ParseBody(body);
  if (!parsed.ok()) return ErrorReply(parsed.status());
  auto fields = toxiproxy::ProxyFieldsFromJson(*parsed);
  if (!fields.ok()) return ErrorReply(fields.status());
  return Either(ops.Update(name, *fields), 200, toxiproxy::ProxyToJson);
}

Reply ToxiproxyApi::Impl::Toxics(absl::string_view method,
                                 const std::string& proxy,
                                 absl::string_view body) {
  if (method == "GET") {
    return Either(ops.Toxics(proxy), 200, [](const Json& j) { return j; });
  }
  if (method != "POST") return NotAllowed({"GET", "POST"});
  // A missing proxy is reported before a bad body, as toxiproxy does.
  absl::StatusOr<v1::Proxy> exists = ops.Get(proxy);
  if (!exists.ok()) return ErrorReply(exists.status());
  absl::StatusOr<Json> parsed = toxiproxy::ParseBody(body);
  if (!parsed.ok()) return ErrorReply(parsed.status());
  absl::StatusOr<v1::Toxic> toxic = toxiproxy::ToxicFromJson(*parsed);
  if (!toxic.ok()) return ErrorReply(toxic.status());
  return Either(ops.AddToxic(proxy, *toxic), 200, toxiproxy::ToxicToJson);
}

Reply ToxiproxyApi::Impl::OneToxic(absl::string_view method,
                                   const std::string& proxy,
                                   const std::string& name,
                                   absl::string_view body) {
  if (method == "GET") {
    return Either(ops.GetToxic(proxy, name), 200, toxiproxy::ToxicToJson);
  }
  if (method == "DELETE") {
    absl::Status s = ops.RemoveToxic(proxy, name);
    return s.ok() ? NoContent() : ErrorReply(s);
  }
  if (method != "POST" && method != "PATCH") {
    return NotAllowed({"GET", "POST", "PATCH", "DELETE"});
  }
  absl::StatusOr<Json> parsed = toxiproxy::ParseBody(body);
  if (!parsed.ok()) return ErrorReply(parsed.status());
  return Either(ops.UpdateToxic(proxy, name, *parsed), 200,
                toxiproxy::ToxicToJson);
}

absl::StatusOr<std::unique_ptr<ToxiproxyApi>> ToxiproxyApi::Start(
    const ToxiproxyApiOptions& options) {
  if (options.channel == nullptr) {
    return absl::InvalidArgumentError(
        "toxiproxy API: no channel to the Emulator service");
  }
  // civetweb's global state, shared with the /metrics exposer: initialized
  // once (a C++ static is initialized once, even from racing threads) and
  // never torn down while the process may serve.
  static const unsigned kFeatures = mg_init_library(0);
  (void)kFeatures;

  // civetweb says only that it failed to set up its ports: the probe says
  // why (address in use, cannot assign, a bad port).
  absl::Status probe = ProbeListen("--toxiproxy_listen", options.listen);
  if (!probe.ok()) return probe;
  // civetweb spells "any address" as a bare port.
  std::string bind = options.listen;
  if (!bind.empty() && bind.front() == ':') bind.erase(0, 1);
  auto api = absl::WrapUnique(new ToxiproxyApi());
  api->impl_ = std::make_unique<Impl>(options);
  const char* config[] = {"listening_ports",
                          bind.c_str(),
                          "num_threads",
                          "8",
                          "enable_keep_alive",
                          "yes",
                          "keep_alive_timeout_ms",
                          "500",
                          "request_timeout_ms",
                          "30000",
                          nullptr};
  mg_callbacks callbacks{};
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = api->impl_.get();
  init.configuration_options = config;
  unsigned code = 0;
  char text[256] = "";
  mg_error_data error{};
  error.code = &code;
  error.text = text;
  error.text_buffer_size = sizeof(text);
  api->ctx_ = mg_start2(&init, &error);
  if (api->ctx_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("--toxiproxy_listen ", options.listen, ": cannot listen: ",
                     text[0] != '\0' ? text : "civetweb did not start"));
  }
  mg_set_request_handler(api->ctx_, "/", &Impl::Handle, api->impl_.get());
  mg_server_port ports[4] = {};
  const int n = mg_get_server_ports(api->ctx_, 4, ports);
  if (n < 1 || ports[0].port <= 0) {
    return absl::InternalError(absl::StrCat(
        "--toxiproxy_listen ", options.listen, ": no listening port"));
  }
  api->port_ = ports[0].port;
  return api;
}

ToxiproxyApi::~ToxiproxyApi() {
  if (ctx_ == nullptr) return;
  std::atomic<bool> stopped{false};
  std::thread knock([&] {
    if (port_ > 0) Knock(impl_->knock_host, port_, stopped);
  });
  // Returns once civetweb's threads have exited: no request is running.
  mg_stop(ctx_);
  stopped = true;
  knock.join();
}

}  // namespace tcpemu::server
