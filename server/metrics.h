// Prometheus metrics of tcpemud (docs/deploy.md): per-shard engine event
// counters written without contention, state gauges sampled at scrape, gRPC
// handler metrics, and the HTTP /metrics endpoint.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "engine/base/event.h"
#include "engine/sim/interface.h"

namespace prometheus {
class Counter;
class Exposer;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace tcpemu::server {

// Sizes of the engine enums the counters are indexed by (last value + 1).
inline constexpr size_t kNumSendReasons =
    static_cast<size_t>(SendReason::kTailLossProbe) + 1;
inline constexpr size_t kNumDispositions =
    static_cast<size_t>(Disposition::kPaws) + 1;
inline constexpr size_t kNumDropReasons =
    static_cast<size_t>(DropReason::kAqm) + 1;
inline constexpr size_t kNumMangleKinds =
    static_cast<size_t>(MangleKind::kCeMark) + 1;
inline constexpr size_t kNumTcpStates =
    static_cast<size_t>(TcpState::kTimeWait) + 1;
inline constexpr size_t kNumErrorCodes =
    static_cast<size_t>(ErrorCode::kAborted) + 1;

// Upper bounds of tcpemu_rtt_seconds: 100 us doubling up to 52.4288 s, then
// +Inf.
inline constexpr size_t kNumRttBuckets = 20;
inline constexpr DurationNs kRttFirstBucketNs = 100 * kMicrosecond;

// grpc::StatusCode values OK (0) through UNAUTHENTICATED (16).
inline constexpr size_t kNumGrpcCodes = 17;

// The daemon's limits a request can run into (docs/limits.md); each is a
// `limit` label value of tcpemu_limit_rejections_total.
enum class Limit {
  kNetworks,
  kLinks,
  kSessions,
  kInterfaces,
  kFaults,
  kBuffer,
  kWriteBytes,
  kSubscribers,
  kCaptures,
  kPorts,
  kListeners,
  kWaiting,  // --max_waiting_calls and --max_waiting_write_bytes*
  kAdvance,  // --max_advance_seconds
  kProxies,  // --max_proxies and --max_proxy_connections
};
inline constexpr size_t kNumLimits = static_cast<size_t>(Limit::kProxies) + 1;
// The label value: "networks", "links", "sessions", ...
std::string_view LimitLabel(Limit limit);

// Counters fed by one shard thread's engine events. Only that thread writes
// (relaxed atomics, one cache-line-aligned block per shard so shards never
// share a line); the scrape thread reads and sums every shard.
class alignas(64) ShardMetrics {
 public:
  ShardMetrics() = default;
  ShardMetrics(const ShardMetrics&) = delete;
  ShardMetrics& operator=(const ShardMetrics&) = delete;

  // Counts one engine event: a switch and a few relaxed increments.
  void OnEvent(const Event& e);
  // How late a REALTIME network's due deadline was processed.
  void ObserveTimerLateness(int64_t ns);
  // How far the shard's REALTIME networks are behind wall time now (the
  // worst of them; 0 when none is).
  void SetRealtimeLag(int64_t ns) {
    realtime_lag_ns_.store(ns, std::memory_order_relaxed);
  }

  // Upper bounds of the timer-lateness histogram, in ns.
  static constexpr std::array<int64_t, 12> kLatenessBoundsNs = {
      10'000,    50'000,    100'000,    250'000,    500'000,     1'000'000,
      2'500'000, 5'000'000, 10'000'000, 50'000'000, 250'000'000, 1'000'000'000};

 private:
  friend class Metrics;
  using Counter = std::atomic<uint64_t>;

  static void Add(Counter& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  static uint64_t Get(const Counter& c) {
    return c.load(std::memory_order_relaxed);
  }

  std::array<Counter, kNumSendReasons> sent_{};
  std::array<Counter, kNumDispositions> received_{};
  std::array<Counter, kNumDropReasons> dropped_{};
  std::array<Counter, kNumMangleKinds> mangled_{};
  std::array<Counter, kNumTcpStates> state_changes_{};
  std::array<Counter, kNumErrorCodes> errors_{};
  Counter bytes_sent_{0};
  Counter bytes_received_{0};
  Counter sessions_destroyed_{0};
  // Non-cumulative: bucket i counts samples in (bound(i-1), bound(i)]; the
  // last one counts samples above every bound.
  std::array<Counter, kNumRttBuckets + 1> rtt_buckets_{};
  Counter rtt_sum_ns_{0};
  // Timer lateness, non-cumulative as rtt_buckets_.
  std::array<Counter, kLatenessBoundsNs.size() + 1> lateness_buckets_{};
  Counter lateness_sum_ns_{0};
  std::atomic<int64_t> realtime_lag_ns_{0};
  // Link schedules' steps (kLinkChanged), and the bottleneck-queue
  // sojourn of sampled packets (kQueueSample), binned as lateness is.
  Counter link_changes_{0};
  std::array<Counter, kLatenessBoundsNs.size() + 1> sojourn_buckets_{};
  Counter sojourn_sum_ns_{0};
  Counter behind_{0};     // kClockBehind events
  Counter behind_ns_{0};  // time behind, summed at kClockCaughtUp
};

// State the caller samples from its networks when a scrape happens.
struct StateSnapshot {
  // Endpoints of live sessions in each state (a session counts once under
  // its client's state and once under its server's), indexed by int(TcpState).
  std::array<uint64_t, kNumTcpStates> sessions_by_state{};
  std::vector<uint32_t> cwnd_bytes;  // one entry per live endpoint
  // Packets and bytes waiting in the bottleneck queues of every link.
  uint64_t link_queue_packets = 0;
  uint64_t link_queue_bytes = 0;
  struct PerSession {
    uint32_t session_id = 0;
    uint32_t network_id = 0;
    uint32_t cwnd_client = 0, cwnd_server = 0;
    int64_t srtt_client_ns = 0, srtt_server_ns = 0;
  };
  // Read only when Options::per_session_metrics is set.
  std::vector<PerSession> per_session;
  // Every interface (bounded by --max_interfaces).
  struct PerInterface {
    uint32_t interface_id = 0;
    uint32_t network_id = 0;
    std::string name;
    InterfaceCounters counters;
    // TSO frames its device wrote to the kernel, and the segments in them.
    uint64_t tso_frames = 0;
    uint64_t tso_segments = 0;
  };
  std::vector<PerInterface> interfaces;
  // Every proxy (bounded by --max_proxies).
  struct PerProxy {
    uint32_t proxy_id = 0;
    uint32_t network_id = 0;
    std::string name;
    uint64_t accepted = 0, refused = 0, upstream_failures = 0;
    uint64_t active = 0;
    uint64_t bytes_upstream = 0, bytes_downstream = 0;
  };
  std::vector<PerProxy> proxies;
};

// Every metric family of the daemon. AddShard and the Set*Fn setters belong
// to start-up; ObserveRpc, Render and scrapes are thread-safe.
class Metrics {
 public:
  struct Options {
    // Exports tcpemu_session_* series labelled by session (unbounded labels,
    // hence opt-in) for at most `per_session_cap` sessions, lowest ids first.
    bool per_session_metrics = false;
    size_t per_session_cap = 1000;
  };

  // Subscriber count and total events dropped by event streams.
  struct EventStats {
    uint64_t subscribers = 0;
    uint64_t events_dropped = 0;
  };

  explicit Metrics(const Options& options);
  // Stops serving first (see StopServing).
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  const Options& options() const { return options_; }

  // A new shard's counters. The pointer stays valid for the life of Metrics.
  ShardMetrics* AddShard();

  // Called once per scrape (HTTP or Render) on the scraping thread. Scrapes
  // are serialized, so it never runs concurrently with itself; the setter
  // waits for a scrape in progress, so once it returns the previous function
  // is never called again (clear it before what it reads goes away). Unset:
  // all zero. It must not scrape or call the setters.
  void SetStateSnapshotFn(std::function<StateSnapshot()> fn);
  // Same calling rules as the snapshot function. Unset: all zero.
  void SetEventStatsFn(std::function<EventStats()> fn);

  // Creates the series of `method` (handling histogram, handled{OK}) at zero,
  // so dashboards see 0 before the first call.
  void RegisterRpcMethod(std::string_view method);
  // Records one finished RPC: `grpc_code` is a grpc::StatusCode value (codes
  // outside 0..16 count as UNKNOWN), `seconds` its handling time.
  void ObserveRpc(std::string_view method, int grpc_code, double seconds);

  // Counts one request refused at `limit` (tcpemu_limit_rejections_total;
  // every label value exists at zero from construction). Thread-safe.
  void CountLimitRejection(Limit limit);
  uint64_t limit_rejections(Limit limit) const;

  // Serves GET /metrics on `address` ("host:port", ":port" or "port"; port 0
  // picks a free one). Errors if the address cannot be bound or it is
  // already serving.
  absl::Status Serve(const std::string& address);
  // Stops the HTTP server, waiting for a scrape in progress; no-op when not
  // serving. Takes up to about 2 s (civetweb's poll interval).
  void StopServing();
  // The port Serve bound, or 0 when not serving.
  int port() const;

  // Everything, in the Prometheus text exposition format.
  std::string Render() const;

  // Name of a grpc::StatusCode value ("OK", "INVALID_ARGUMENT", ...).
  static std::string_view GrpcCodeName(int code);

 private:
  class Collector;
  struct RpcMethod {
    prometheus::Histogram* handling = nullptr;
    std::array<prometheus::Counter*, kNumGrpcCodes> handled{};  // by code
  };

  RpcMethod& FindRpcMethod(std::string_view method)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(rpc_mu_);

  const Options options_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* rpc_handled_ = nullptr;
  prometheus::Family<prometheus::Histogram>* rpc_handling_ = nullptr;
  std::array<prometheus::Counter*, kNumLimits> limit_rejections_{};

  absl::Mutex rpc_mu_;
  std::map<std::string, RpcMethod, std::less<>> rpc_methods_
      ABSL_GUARDED_BY(rpc_mu_);

  std::shared_ptr<Collector> collector_;

  mutable absl::Mutex serve_mu_;
  // Last member: stops serving before anything it reads goes away.
  std::unique_ptr<prometheus::Exposer> exposer_ ABSL_GUARDED_BY(serve_mu_);
  std::string serve_host_ ABSL_GUARDED_BY(serve_mu_);
};

}  // namespace tcpemu::server
