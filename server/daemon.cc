// Daemon assembly and orderly shutdown; see daemon.h.
#include "server/daemon.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "server/invalid_request.h"
#include "server/listen_probe.h"

namespace tcpemu::server {

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(
    const DaemonOptions& options) {
  std::unique_ptr<Daemon> d(new Daemon());
  Metrics::Options mo;
  mo.per_session_metrics = options.per_session_metrics;
  mo.per_session_cap = options.per_session_cap;
  d->metrics_ = std::make_unique<Metrics>(mo);
  // Every method has its series from the start, so that dashboards and
  // alerts see zeros rather than nothing on a fresh daemon.
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::Emulator::service_full_name());
  for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
    d->metrics_->RegisterRpcMethod(service->method(i)->name());
  }
  EventHub::Options ho;
  ho.shards = std::max<size_t>(1, options.emulator.shards);
  ho.queue_capacity = options.event_queue;
  ho.history_per_session = options.session_history;
  ho.max_subscribers = options.max_subscribers;
  d->hub_ = std::make_unique<EventHub>(ho);
  d->service_ = std::make_unique<EmulatorService>(
      options.emulator, d->hub_.get(), d->metrics_.get());
  EmulatorService* svc = d->service_.get();
  EventHub* hub = d->hub_.get();
  d->metrics_->SetStateSnapshotFn([svc] { return svc->SnapshotState(); });
  d->metrics_->SetEventStatsFn([hub] {
    return Metrics::EventStats{hub->subscriber_count(),
                               hub->events_dropped_total()};
  });
  // Both ports are checked before either server starts, so that a daemon
  // that cannot have them says so and starts nothing.
  absl::Status probe = ProbeListen("--listen", options.listen);
  if (probe.ok() && !options.metrics_listen.empty()) {
    probe = ProbeListen("--metrics_listen", options.metrics_listen);
  }
  if (!probe.ok()) return probe;
  if (!options.metrics_listen.empty()) {
    absl::Status s = d->metrics_->Serve(options.metrics_listen);
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("--metrics_listen ", options.metrics_listen,
                                 ": ", s.message()));
    }
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen,
                           MakeServerCredentials(options.security), &d->port_);
  builder.RegisterService(d->service_.get());
  // gRPC sets SO_REUSEPORT by default, which lets a second daemon share the
  // port and take half of the clients: a taken port must fail instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      std::make_unique<InvalidRequestInterceptorFactory>(d->metrics_.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  // Notice dead stream peers: ping idle connections, drop unanswered ones.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(options.emulator.max_write_bytes) + 1024 * 1024);
  builder.SetMaxSendMessageSize(64 * 1024 * 1024);
  d->server_ = builder.BuildAndStart();
  if (d->server_ == nullptr || d->port_ == 0) {
    absl::Status taken = ProbeListen("--listen", options.listen);
    if (!taken.ok()) return taken;
    return absl::UnavailableError(
        absl::StrCat("--listen ", options.listen,
                     ": cannot listen there (not an address of this host?)"));
  }
  d->server_->GetHealthCheckService()->SetServingStatus(true);
  d->server_->GetHealthCheckService()->SetServingStatus("tcpemu.v1.Emulator",
                                                        true);
  return d;
}

Daemon::~Daemon() { Shutdown(absl::Seconds(5)); }

int Daemon::metrics_port() const { return metrics_->port(); }

std::shared_ptr<grpc::Channel> Daemon::InProcessChannel() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return server_->InProcessChannel(args);
}

void Daemon::Shutdown(absl::Duration deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ == nullptr) {
    // Start failed before the gRPC server was up: only the shards run.
    metrics_->StopServing();
    if (service_ != nullptr) {
      service_->BeginShutdown();
      service_->StopShards();
    }
    return;
  }
  // A scrape must not reach the service while it stops.
  metrics_->SetStateSnapshotFn(nullptr);
  metrics_->SetEventStatsFn(nullptr);
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->GetHealthCheckService()->SetServingStatus("tcpemu.v1.Emulator",
                                                     false);
  service_->BeginShutdown();
  // Sessions end with an RST so that peers do not linger.
  for (size_t i = 0; i < service_->shard_count(); ++i) {
    Shard& shard = service_->shard(i);
    shard.Call([&] {
      for (NetworkSlot* slot : shard.networks()) {
        std::vector<uint32_t> live;
        slot->net->ForEachSession([&](uint32_t sid, uint32_t, bool destroyed) {
          if (!destroyed) live.push_back(sid);
        });
        for (uint32_t sid : live) {
          (void)slot->net->Abort(sid, Endpoint::kClient);
          (void)slot->net->Abort(sid, Endpoint::kServer);
        }
      }
      shard.RunReadyWaiters();
    });
  }
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(deadline));
  service_->StopShards();
}

void Daemon::Wait() { server_->Wait(); }

}  // namespace tcpemu::server
