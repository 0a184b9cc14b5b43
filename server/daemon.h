// tcpemud assembled: shards, event hub, metrics, the Emulator service, health
// and reflection on one gRPC server. Tests start it in-process on port 0.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/auth.h"
#include "server/emulator_service.h"
#include "server/event_hub.h"
#include "server/metrics.h"

namespace grpc {
class Channel;
class Server;
}  // namespace grpc

namespace tcpemu::server {

struct DaemonOptions {
  std::string listen = "127.0.0.1:50051";
  std::string metrics_listen = "127.0.0.1:9464";  // empty: no /metrics
  // TLS and bearer tokens on the gRPC port; default: plaintext, no tokens.
  SecurityConfig security;
  EmulatorOptions emulator;
  size_t max_subscribers = 64;
  size_t event_queue = EventHub::Options{}.queue_capacity;  // per subscriber
  size_t session_history = 256;  // events retained per session for replay
  bool per_session_metrics = false;
  size_t per_session_cap = 1000;
};

class Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(
      const DaemonOptions& options);
  ~Daemon();

  // The port the gRPC server bound (useful with port 0).
  int port() const { return port_; }
  int metrics_port() const;
  EmulatorService& service() { return *service_; }
  Metrics& metrics() { return *metrics_; }
  EventHub& hub() { return *hub_; }
  // A channel to this daemon's services that skips the network (and the
  // gRPC port's credentials: its callers check tokens themselves).
  std::shared_ptr<grpc::Channel> InProcessChannel();

  // Health NOT_SERVING, streams end with UNAVAILABLE, sessions are aborted,
  // the server drains within `deadline`, shards stop.
  void Shutdown(absl::Duration deadline);
  void Wait();

 private:
  Daemon() = default;

  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<EventHub> hub_;
  std::unique_ptr<EmulatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace tcpemu::server
