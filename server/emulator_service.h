// The tcpemu.v1.Emulator service: resolves ids to the shard that owns them,
// runs each request there, and converts results and errors at the edge
// (absl::Status inside, grpc::Status out).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/event_hub.h"
#include "server/event_stream.h"
#include "server/id_directory.h"
#include "server/metrics.h"
#include "server/proxy_address.h"
#include "server/proxy_table.h"
#include "server/scenarios.h"
#include "server/shard.h"
#include "server/wait_budget.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"

namespace tcpemu::server {

// Requests in one OpenSessions call.
inline constexpr size_t kMaxOpenSessionsBatch = 1000;

struct EmulatorOptions {
  size_t shards = 1;
  uint32_t max_networks = 256;
  uint32_t max_links = 10000;
  uint32_t max_sessions = 200000;  // kept sessions, live or finished
  uint32_t max_buffer = 256 * 1024 * 1024;
  // Data bytes per Write; the daemon's gRPC receive limit follows it.
  uint32_t max_write_bytes = 16 * 1024 * 1024;
  uint32_t max_read_bytes = 4 * 1024 * 1024;  // ReadRequest.max_bytes
  uint64_t default_seed = 0;                  // 0: random
  uint32_t max_interfaces = 64;
  uint32_t max_listeners = 1024;  // over every interface
  bool tap_offloads = true;       // --tap_offloads (docs/tap.md)
  CaptureOptions captures;
  // Calls that wait (Write and Read with `wait`) and what they hold.
  WaitLimits waits;
  // Wall-clock time one AdvanceTime may compute (--max_advance_seconds).
  int64_t max_advance_ns = 60'000'000'000;
  // Proxies (docs/proxy.md): where they may listen and connect to, and how
  // many there may be.
  std::string proxy_listen_allow = kDefaultProxyAllow;
  std::string proxy_upstream_allow = kDefaultProxyAllow;
  uint32_t max_proxies = 256;
  uint32_t max_proxy_connections = 10000;
};

// How a call that may wait ends: its gRPC reactor, or a direct caller (a
// fuzzer). Complete is called exactly once, from any thread; the object may
// be gone afterwards. OnCancelDo's function runs if the call is cancelled
// (at once if it already was).
class CallEnd {
 public:
  virtual ~CallEnd() = default;
  virtual void OnCancelDo(absl::AnyInvocable<void()> fn) = 0;
  virtual void Complete(const absl::Status& s) = 0;
};

// Write, Read and AdvanceTime, which may wait, and WatchEvents run on gRPC's
// callback API (waiting_calls.cc, event_stream.cc): no thread waits for them.
class EmulatorService final
    : public v1::Emulator::WithCallbackMethod_AdvanceTime<
          v1::Emulator::WithCallbackMethod_Write<
              v1::Emulator::WithCallbackMethod_Read<
                  v1::Emulator::WithRawCallbackMethod_WatchEvents<
                      v1::Emulator::Service>>>> {
 public:
  EmulatorService(const EmulatorOptions& options, EventHub* hub,
                  Metrics* metrics);
  ~EmulatorService() override;

  // Ends WatchEvents streams and waits that are in progress; new requests
  // answer UNAVAILABLE.
  void BeginShutdown();
  // Stops the shards (after the gRPC server has drained).
  void StopShards();

  // The default REALTIME network.
  uint32_t default_network_id() const { return default_network_; }
  Shard& shard(size_t i) { return *shards_[i]; }
  size_t shard_count() const { return shards_.size(); }
  // Gauges for the metrics scrape.
  StateSnapshot SnapshotState();
  // RunScenario calls in progress.
  uint32_t scenario_runs() const { return scenarios_.running(); }
  // What waiting calls hold now.
  const WaitBudget& waiting() const { return wait_budget_; }

  using Ctx = grpc::ServerContext;
  grpc::Status CreateNetwork(Ctx*, const v1::CreateNetworkRequest*,
                             v1::Network*) override;
  grpc::Status GetNetwork(Ctx*, const v1::GetNetworkRequest*,
                          v1::Network*) override;
  grpc::Status ListNetworks(Ctx*, const v1::ListNetworksRequest*,
                            v1::ListNetworksResponse*) override;
  grpc::Status DeleteNetwork(Ctx*, const v1::DeleteNetworkRequest*,
                             google::protobuf::Empty*) override;
  grpc::ServerUnaryReactor* AdvanceTime(grpc::CallbackServerContext* ctx,
                                        const v1::AdvanceTimeRequest* req,
                                        v1::AdvanceTimeResponse* resp) override;
  grpc::Status CreateLink(Ctx*, const v1::CreateLinkRequest*,
                          v1::Link*) override;
  grpc::Status GetLink(Ctx*, const v1::GetLinkRequest*, v1::Link*) override;
  grpc::Status UpdateLink(Ctx*, const v1::UpdateLinkRequest*,
                          v1::Link*) override;
  grpc::Status ListLinks(Ctx*, const v1::ListLinksRequest*,
                         v1::ListLinksResponse*) override;
  grpc::Status DeleteLink(Ctx*, const v1::DeleteLinkRequest*,
                          google::protobuf::Empty*) override;
  grpc::Status OpenSession(Ctx*, const v1::OpenSessionRequest*,
                           v1::Session*) override;
  // All or nothing, at most kMaxOpenSessionsBatch items (session_open.cc).
  grpc::Status OpenSessions(Ctx*, const v1::OpenSessionsRequest*,
                            v1::OpenSessionsResponse*) override;
  grpc::Status GetSession(Ctx*, const v1::GetSessionRequest*,
                          v1::Session*) override;
  grpc::Status ListSessions(Ctx*, const v1::ListSessionsRequest*,
                            v1::ListSessionsResponse*) override;
  grpc::Status DeleteSession(Ctx*, const v1::DeleteSessionRequest*,
                             google::protobuf::Empty*) override;
  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* ctx,
                                  const v1::WriteRequest* req,
                                  v1::WriteResponse* resp) override;
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* ctx,
                                 const v1::ReadRequest* req,
                                 v1::ReadResponse* resp) override;
  // What those three handlers run, without gRPC: `end` is told the result.
  // `peer` names the client for the waiting-call limits.
  void StartWrite(const v1::WriteRequest* req, v1::WriteResponse* resp,
                  absl::string_view peer, CallEnd* end);
  void StartRead(const v1::ReadRequest* req, v1::ReadResponse* resp,
                 absl::string_view peer, CallEnd* end);
  void StartAdvanceTime(const v1::AdvanceTimeRequest* req,
                        v1::AdvanceTimeResponse* resp, CallEnd* end);
  grpc::Status Close(Ctx*, const v1::CloseRequest*,
                     v1::CloseResponse*) override;
  grpc::Status SetReader(Ctx*, const v1::SetReaderRequest*,
                         google::protobuf::Empty*) override;
  grpc::Status InjectFault(Ctx*, const v1::InjectFaultRequest*,
                           v1::Fault*) override;
  grpc::Status ClearFaults(Ctx*, const v1::ClearFaultsRequest*,
                           google::protobuf::Empty*) override;
  // Raw form: the request arrives as bytes, batches leave as pre-encoded
  // tcpemu.v1.EventBatch bytes (event_stream.h).
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchEvents(
      grpc::CallbackServerContext* ctx,
      const grpc::ByteBuffer* request) override;

  // Interfaces, listeners and captures (interfaces.cc).
  grpc::Status CreateInterface(Ctx*, const v1::CreateInterfaceRequest*,
                               v1::Interface*) override;
  grpc::Status GetInterface(Ctx*, const v1::GetInterfaceRequest*,
                            v1::Interface*) override;
  grpc::Status ListInterfaces(Ctx*, const v1::ListInterfacesRequest*,
                              v1::ListInterfacesResponse*) override;
  grpc::Status DeleteInterface(Ctx*, const v1::DeleteInterfaceRequest*,
                               google::protobuf::Empty*) override;
  grpc::Status Listen(Ctx*, const v1::ListenRequest*, v1::Listener*) override;
  grpc::Status DeleteListener(Ctx*, const v1::DeleteListenerRequest*,
                              google::protobuf::Empty*) override;
  // A scenario file on its own VIRTUAL network (server/scenarios.cc).
  grpc::Status RunScenario(
      Ctx*, const v1::RunScenarioRequest*,
      grpc::ServerWriter<v1::RunScenarioProgress>*) override;
  grpc::Status ExportPcap(Ctx*, const v1::ExportPcapRequest*,
                          grpc::ServerWriter<v1::PcapChunk>*) override;

  // Proxies (proxies.cc).
  grpc::Status CreateProxy(Ctx*, const v1::CreateProxyRequest*,
                           v1::Proxy*) override;
  grpc::Status GetProxy(Ctx*, const v1::GetProxyRequest*, v1::Proxy*) override;
  grpc::Status ListProxies(Ctx*, const v1::ListProxiesRequest*,
                           v1::ListProxiesResponse*) override;
  grpc::Status UpdateProxy(Ctx*, const v1::UpdateProxyRequest*,
                           v1::Proxy*) override;
  grpc::Status DeleteProxy(Ctx*, const v1::DeleteProxyRequest*,
                           google::protobuf::Empty*) override;
  // Proxied connections open now, over every proxy.
  uint32_t proxy_connections() const { return proxy_connections_.load(); }

 private:
  struct Where {
    uint32_t network_id = 0;
    Shard* shard = nullptr;
  };

  // Runs `fn(slot)` on the shard owning `network_id`.
  template <typename F>
  absl::Status OnNetwork(uint32_t network_id, F&& fn);
  absl::StatusOr<Where> NetworkOf(uint32_t network_id);
  absl::StatusOr<Where> LinkOf(uint32_t link_id);
  absl::StatusOr<Where> SessionOf(uint32_t session_id);
  // An OpenSessionRequest checked and resolved, its id not yet given.
  struct PreparedOpen {
    SessionSpec spec;
    Where where;
    bool capture = false;
  };
  absl::StatusOr<PreparedOpen> PrepareOpen(const v1::OpenSessionRequest& req);
  // Opens `p` (its spec.id given) in `slot` (shard thread).
  absl::Status OpenPrepared(NetworkSlot& slot, const PreparedOpen& p);
  absl::Status CheckServing() const;
  // RESOURCE_EXHAUSTED with `message` (which names the limit, its value and
  // its flag), counted under `limit` in tcpemu_limit_rejections_total.
  absl::Status Exhausted(Limit limit, absl::string_view message);
  // Counts `s` under Limit::kBuffer if it is RESOURCE_EXHAUSTED; returns it.
  absl::Status CountBufferLimit(absl::Status s);
  template <typename F>
  grpc::Status Observe(const char* method, F&& fn);

  void FillNetwork(NetworkSlot& slot, Shard& shard, v1::Network* out);
  absl::Status FillLink(Network& net, uint32_t network_id, uint32_t link_id,
                        v1::Link* out);
  absl::Status FillSession(NetworkSlot& slot, uint32_t session_id,
                           v1::Session* out);
  absl::Status FillInterface(NetworkSlot& slot, uint32_t link_id,
                             v1::Interface* out);
  // Forgets the listeners of interface `id` (called with mu_ held).
  void ForgetListenersLocked(uint32_t interface_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives accepted sessions daemon-wide ids (shard thread).
  void InstallHooks(NetworkSlot& slot);
  // A daemon-wide session id in `network_id`, or 0 past --max_sessions.
  uint32_t AllocateSessionId(uint32_t network_id);
  // The proxy named by id (or by name when id is 0): its id and network.
  absl::StatusOr<std::pair<uint32_t, Where>> ProxyOf(uint32_t id,
                                                     const std::string& name);
  // The network's proxy table, made on first use (shard thread).
  ProxyTable& Proxies(NetworkSlot& slot, Shard& shard);
  // Validates what CreateProxy and UpdateProxy share; resolves names.
  absl::Status ParseListen(const std::string& listen, ProxyConfig& out);
  absl::Status ParseUpstream(const std::string& upstream, ProxyConfig& out);

  EmulatorOptions options_;
  EventHub* hub_;
  Metrics* metrics_;
  std::vector<std::unique_ptr<Shard>> shards_;
  EventPump pump_;
  uint32_t default_network_ = 0;
  std::atomic<bool> shutting_down_{false};
  ScenarioRuns scenarios_{ScenarioLimits{}, &shutting_down_};
  WaitBudget wait_budget_;

  std::atomic<uint32_t> next_network_id_{1};
  std::atomic<uint32_t> next_link_id_{1};
  std::atomic<uint32_t> next_session_id_{1};

  absl::Mutex mu_;
  IdDirectory ids_ ABSL_GUARDED_BY(mu_);
  // Listening (interface_id, port) pairs, for --max_listeners.
  absl::flat_hash_set<uint64_t> listeners_ ABSL_GUARDED_BY(mu_);
  // Proxies: id -> network, and name -> id.
  absl::flat_hash_map<uint32_t, uint32_t> proxy_network_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> proxy_names_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint32_t> next_proxy_id_{1};
  std::atomic<uint32_t> proxy_connections_{0};
  AllowList proxy_listen_allow_;
  AllowList proxy_upstream_allow_;
};

// An error's message with the engine's nouns at its start as the API's
// field names ("session 7 ..." -> "session_id 7 ..."), then as grpc::Status.
grpc::Status ToGrpc(const absl::Status& s);
std::string ApiFieldNames(absl::string_view message);

template <typename F>
grpc::Status EmulatorService::Observe(const char* method, F&& fn) {
  int64_t start = SteadyNowNs();
  absl::Status s = CheckServing();
  if (s.ok()) s = fn();
  if (metrics_ != nullptr) {
    metrics_->ObserveRpc(method, static_cast<int>(s.code()),
                         static_cast<double>(SteadyNowNs() - start) / 1e9);
  }
  return ToGrpc(s);
}

template <typename F>
absl::Status EmulatorService::OnNetwork(uint32_t network_id, F&& fn) {
  absl::StatusOr<Where> w = NetworkOf(network_id);
  if (!w.ok()) return w.status();
  Shard* shard = w->shard;
  uint32_t id = w->network_id;
  return shard->Call([&]() -> absl::Status {
    NetworkSlot* slot = shard->network(id);
    if (slot == nullptr) {
      return absl::NotFoundError(absl::StrCat("network_id ", id, " not found"));
    }
    return fn(*slot, *shard);
  });
}

}  // namespace tcpemu::server
