// toxiproxy v2's HTTP API (--toxiproxy_listen), served by civetweb and carried
// out on tcpemu proxies through the Emulator service: toxiproxy's clients,
// toxiproxy-cli and Testcontainers' Toxiproxy module work against tcpemud.
//
//   GET    /version                          {"version": "..."}
//   GET    /proxies                          {name: proxy, ...}
//   POST   /proxies                          201 proxy; 409 if the name exists
//   POST   /populate                         201 {"proxies": [...]}
//   POST   /reset                            204: proxies enabled, no toxics
//   GET    /proxies/{proxy}                  proxy
//   POST   /proxies/{proxy} (or PATCH)       proxy after the update
//   DELETE /proxies/{proxy}                  204
//   GET    /proxies/{proxy}/toxics           [toxic, ...]
//   POST   /proxies/{proxy}/toxics           toxic
//   GET    /proxies/{proxy}/toxics/{toxic}   toxic
//   POST   /proxies/{proxy}/toxics/{toxic}   toxic after the update (or PATCH)
//   DELETE /proxies/{proxy}/toxics/{toxic}   204
//
// Errors are {"error": message, "status": code}. As toxiproxy does, requests
// whose User-Agent starts with "Mozilla/" are refused (403), so that a web
// page cannot drive the API from a browser.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/auth.h"

struct mg_context;

namespace grpc {
class Channel;
}  // namespace grpc

namespace tcpemu::server {

namespace toxiproxy {
class ToxiproxyOps;
}  // namespace toxiproxy

struct ToxiproxyApiOptions {
  // "host:port" (IPv4, [IPv6] or a host name); port 0 picks a free port.
  std::string listen = "127.0.0.1:8474";
  // A channel to tcpemu.v1.Emulator (the daemon's in-process channel).
  std::shared_ptr<grpc::Channel> channel;
  // Set: every request needs `Authorization: Bearer <token>` with one of its
  // tokens (401 otherwise). Must outlive the ToxiproxyApi.
  const TokenChecker* tokens = nullptr;
};

class ToxiproxyApi {
 public:
  // Listens and serves until destroyed. InvalidArgument for a missing
  // channel; Unavailable when it cannot listen, its message starting with
  // "--toxiproxy_listen <address>: " and saying why.
  static absl::StatusOr<std::unique_ptr<ToxiproxyApi>> Start(
      const ToxiproxyApiOptions& options);
  // Stops serving; returns once no request is being handled.
  ~ToxiproxyApi();

  ToxiproxyApi(const ToxiproxyApi&) = delete;
  ToxiproxyApi& operator=(const ToxiproxyApi&) = delete;

  // The port it listens on (useful with port 0).
  int port() const { return port_; }

 private:
  struct Impl;
  ToxiproxyApi() = default;

  std::unique_ptr<Impl> impl_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace tcpemu::server
