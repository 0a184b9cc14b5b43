// Metrics: shard counters summed at scrape by a prometheus::Collectable, the
// snapshot-driven gauges and histograms, gRPC families in a prometheus-cpp
// registry, and the civetweb-backed exposer.
#include "server/metrics.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <exception>
#include <limits>
#include <sstream>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "prometheus/client_metric.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace tcpemu::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNsPerSecond = 1e9;

double RttBoundSeconds(size_t i) {
  return static_cast<double>(kRttFirstBucketNs << i) / kNsPerSecond;
}

// tcpemu_cwnd_bytes upper bounds: 1 KiB doubling up to 64 MiB.
constexpr size_t kNumCwndBuckets = 17;
constexpr uint64_t kCwndFirstBucket = 1024;

// grpc_server_handling_seconds upper bounds; event streams run for minutes.
const std::vector<double>& RpcBuckets() {
  static const std::vector<double> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
      0.5,    1,     2.5,    5,     10,   30,    60,   300};
  return kBuckets;
}

MetricFamily NewFamily(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric::Label Label(std::string_view name, std::string_view value) {
  return ClientMetric::Label{std::string(name), std::string(value)};
}

void AddValue(MetricFamily& f, std::vector<ClientMetric::Label> labels,
              double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

// One series per enum value of `counts` (indexed by the enum), labelled with
// its ToString name. Value 0 ("none") appears only when it was counted.
template <typename Enum, size_t N>
void AddEnumSeries(MetricFamily& f, std::string_view label,
                   const std::array<uint64_t, N>& counts) {
  for (size_t i = 0; i < N; ++i) {
    if (i == 0 && counts[i] == 0) continue;
    AddValue(f, {Label(label, ToString(static_cast<Enum>(i)))},
             static_cast<double>(counts[i]));
  }
}

}  // namespace

// A histogram series from non-cumulative counts: bucket i < N - 1 holds
// the samples up to bound(i) seconds, the last one those above every bound.
template <size_t N, typename Bound>
prometheus::ClientMetric HistogramOf(const std::array<uint64_t, N>& counts,
                                     Bound bound, uint64_t sum_ns) {
  prometheus::ClientMetric m;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < N; ++i) {
    cumulative += counts[i];
    m.histogram.bucket.push_back({cumulative, i + 1 < N ? bound(i) : kInf});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(sum_ns) / kNsPerSecond;
  return m;
}

// ---------------------------------------------------------------- collector

// Builds the engine families at scrape time and appends the registry's.
class Metrics::Collector : public prometheus::Collectable {
 public:
  Collector(const Options& options,
            std::shared_ptr<prometheus::Registry> registry)
      : options_(options), registry_(std::move(registry)) {}

  ShardMetrics* AddShard() {
    absl::MutexLock lock(&mu_);
    shards_.push_back(std::make_unique<ShardMetrics>());
    return shards_.back().get();
  }
  // Waits for a scrape in progress, so the old function is done with.
  void SetStateSnapshotFn(std::function<StateSnapshot()> fn) {
    absl::MutexLock lock(&scrape_mu_);
    snapshot_fn_ = std::move(fn);
  }
  void SetEventStatsFn(std::function<EventStats()> fn) {
    absl::MutexLock lock(&scrape_mu_);
    event_stats_fn_ = std::move(fn);
  }

  std::vector<MetricFamily> Collect() const override;

 private:
  // Counters of every shard, summed.
  struct Totals {
    std::array<uint64_t, kNumSendReasons> sent{};
    std::array<uint64_t, kNumDispositions> received{};
    std::array<uint64_t, kNumDropReasons> dropped{};
    std::array<uint64_t, kNumMangleKinds> mangled{};
    std::array<uint64_t, kNumTcpStates> state_changes{};
    std::array<uint64_t, kNumErrorCodes> errors{};
    uint64_t bytes_sent = 0, bytes_received = 0, sessions_destroyed = 0;
    std::array<uint64_t, kNumRttBuckets + 1> rtt_buckets{};
    uint64_t rtt_sum_ns = 0;
    std::array<uint64_t, ShardMetrics::kLatenessBoundsNs.size() + 1>
        lateness_buckets{};
    uint64_t lateness_sum_ns = 0;
    uint64_t link_changes = 0;
    std::array<uint64_t, ShardMetrics::kLatenessBoundsNs.size() + 1>
        sojourn_buckets{};
    uint64_t sojourn_sum_ns = 0;
    int64_t realtime_lag_ns = 0;  // the worst shard's
    uint64_t behind = 0, behind_ns = 0;
  };

  template <size_t N>
  static void AddTo(std::array<uint64_t, N>& to,
                    const std::array<ShardMetrics::Counter, N>& from) {
    for (size_t i = 0; i < N; ++i) to[i] += ShardMetrics::Get(from[i]);
  }
  Totals SumShards() const;
  void AppendEngine(const Totals& t, std::vector<MetricFamily>& out) const;
  static void AppendState(const StateSnapshot& s,
                          std::vector<MetricFamily>& out);
  void AppendPerSession(StateSnapshot& s, std::vector<MetricFamily>& out) const;
  static void AppendProxies(const StateSnapshot& s,
                            std::vector<MetricFamily>& out);
  static void AppendInterfaces(const StateSnapshot& s,
                               std::vector<MetricFamily>& out);

  const Options options_;
  const std::shared_ptr<prometheus::Registry> registry_;

  // Held for a whole scrape: the callbacks never run concurrently, and never
  // after a setter has replaced them.
  mutable absl::Mutex scrape_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::function<StateSnapshot()> snapshot_fn_ ABSL_GUARDED_BY(scrape_mu_);
  std::function<EventStats()> event_stats_fn_ ABSL_GUARDED_BY(scrape_mu_);
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<ShardMetrics>> shards_ ABSL_GUARDED_BY(mu_);
};

Metrics::Collector::Totals Metrics::Collector::SumShards() const {
  Totals t;
  absl::MutexLock lock(&mu_);
  for (const auto& s : shards_) {
    AddTo(t.sent, s->sent_);
    AddTo(t.received, s->received_);
    AddTo(t.dropped, s->dropped_);
    AddTo(t.mangled, s->mangled_);
    AddTo(t.state_changes, s->state_changes_);
    AddTo(t.errors, s->errors_);
    AddTo(t.rtt_buckets, s->rtt_buckets_);
    t.bytes_sent += ShardMetrics::Get(s->bytes_sent_);
    t.bytes_received += ShardMetrics::Get(s->bytes_received_);
    t.sessions_destroyed += ShardMetrics::Get(s->sessions_destroyed_);
    t.rtt_sum_ns += ShardMetrics::Get(s->rtt_sum_ns_);
    AddTo(t.lateness_buckets, s->lateness_buckets_);
    t.lateness_sum_ns += ShardMetrics::Get(s->lateness_sum_ns_);
    t.link_changes += ShardMetrics::Get(s->link_changes_);
    AddTo(t.sojourn_buckets, s->sojourn_buckets_);
    t.sojourn_sum_ns += ShardMetrics::Get(s->sojourn_sum_ns_);
    t.realtime_lag_ns = std::max(
        t.realtime_lag_ns, s->realtime_lag_ns_.load(std::memory_order_relaxed));
    t.behind += ShardMetrics::Get(s->behind_);
    t.behind_ns += ShardMetrics::Get(s->behind_ns_);
  }
  return t;
}

void Metrics::Collector::AppendEngine(const Totals& t,
                                      std::vector<MetricFamily>& out) const {
  MetricFamily sent = NewFamily(
      "tcpemu_segments_sent_total",
      "Segments sent by emulated endpoints, by the reason they were sent.",
      MetricType::Counter);
  AddEnumSeries<SendReason>(sent, "kind", t.sent);
  out.push_back(std::move(sent));

  MetricFamily received = NewFamily(
      "tcpemu_segments_received_total",
      "Segments that reached emulated endpoints, by what became of them.",
      MetricType::Counter);
  AddEnumSeries<Disposition>(received, "disposition", t.received);
  out.push_back(std::move(received));

  MetricFamily retrans =
      NewFamily("tcpemu_retransmissions_total",
                "Retransmitted segments, by cause: retransmission timeout or "
                "fast retransmit.",
                MetricType::Counter);
  AddValue(retrans, {Label("cause", "rto")},
           static_cast<double>(
               t.sent[static_cast<size_t>(SendReason::kRetransmitRto)]));
  AddValue(retrans, {Label("cause", "fast")},
           static_cast<double>(
               t.sent[static_cast<size_t>(SendReason::kRetransmitFast)]));
  out.push_back(std::move(retrans));

  MetricFamily drops = NewFamily(
      "tcpemu_link_drops_total",
      "Packets emulated links dropped (loss model, full queue, fault rule, "
      "path MTU, queue management) or corrupted (delivered, then failing "
      "the checksum).",
      MetricType::Counter);
  if (t.dropped[0] != 0) {
    AddValue(drops, {Label("reason", ToString(DropReason::kNone))},
             static_cast<double>(t.dropped[0]));
  }
  for (DropReason r :
       {DropReason::kLoss, DropReason::kQueue, DropReason::kFault,
        DropReason::kMtu, DropReason::kAqm}) {
    AddValue(drops, {Label("reason", ToString(r))},
             static_cast<double>(t.dropped[static_cast<size_t>(r)]));
  }
  AddValue(drops, {Label("reason", ToString(MangleKind::kCorrupt))},
           static_cast<double>(
               t.mangled[static_cast<size_t>(MangleKind::kCorrupt)]));
  out.push_back(std::move(drops));

  MetricFamily mangled = NewFamily(
      "tcpemu_link_mangled_total",
      "Packets emulated links duplicated, reordered, delayed by a fault "
      "rule or marked CE by their queue management (corruption counts in "
      "tcpemu_link_drops_total).",
      MetricType::Counter);
  for (MangleKind m : {MangleKind::kDuplicate, MangleKind::kReorder,
                       MangleKind::kDelay, MangleKind::kCeMark}) {
    AddValue(mangled, {Label("kind", ToString(m))},
             static_cast<double>(t.mangled[static_cast<size_t>(m)]));
  }
  out.push_back(std::move(mangled));

  MetricFamily bytes =
      NewFamily("tcpemu_bytes_total",
                "Payload bytes of segments emulated endpoints sent and "
                "received, retransmissions and duplicates included.",
                MetricType::Counter);
  AddValue(bytes, {Label("dir", "sent")}, static_cast<double>(t.bytes_sent));
  AddValue(bytes, {Label("dir", "received")},
           static_cast<double>(t.bytes_received));
  out.push_back(std::move(bytes));

  MetricFamily rtt = NewFamily("tcpemu_rtt_seconds",
                               "Round-trip time samples taken by endpoints.",
                               MetricType::Histogram);
  rtt.metric.push_back(HistogramOf(
      t.rtt_buckets, [](size_t i) { return RttBoundSeconds(i); },
      t.rtt_sum_ns));
  out.push_back(std::move(rtt));

  MetricFamily changes =
      NewFamily("tcpemu_state_changes_total",
                "TCP state transitions of endpoints, by the state entered.",
                MetricType::Counter);
  for (size_t i = 0; i < kNumTcpStates; ++i) {
    AddValue(changes, {Label("to", ToString(static_cast<TcpState>(i)))},
             static_cast<double>(t.state_changes[i]));
  }
  out.push_back(std::move(changes));

  MetricFamily errors = NewFamily(
      "tcpemu_connection_errors_total",
      "Connections that ended in an error, by error.", MetricType::Counter);
  AddEnumSeries<ErrorCode>(errors, "error", t.errors);
  out.push_back(std::move(errors));

  MetricFamily destroyed = NewFamily("tcpemu_sessions_destroyed_total",
                                     "Sessions torn down after both endpoints "
                                     "finished, or on request.",
                                     MetricType::Counter);
  AddValue(destroyed, {}, static_cast<double>(t.sessions_destroyed));
  out.push_back(std::move(destroyed));

  MetricFamily lateness = NewFamily(
      "tcpemu_timer_lateness_seconds",
      "How long after its deadline a REALTIME network's due timer or packet "
      "was processed by its shard.",
      MetricType::Histogram);
  lateness.metric.push_back(HistogramOf(
      t.lateness_buckets,
      [](size_t i) {
        return static_cast<double>(ShardMetrics::kLatenessBoundsNs[i]) /
               kNsPerSecond;
      },
      t.lateness_sum_ns));
  out.push_back(std::move(lateness));

  MetricFamily link_changes =
      NewFamily("tcpemu_link_changes_total",
                "Steps of link schedules applied (a LINK_CHANGED event each).",
                MetricType::Counter);
  AddValue(link_changes, {}, static_cast<double>(t.link_changes));
  out.push_back(std::move(link_changes));

  MetricFamily sojourn = NewFamily(
      "tcpemu_link_queue_sojourn_seconds",
      "Time packets waited in links' bottleneck queues, from the samples of "
      "links with a queue_sample_interval (a QUEUE_SAMPLE event each).",
      MetricType::Histogram);
  sojourn.metric.push_back(HistogramOf(
      t.sojourn_buckets,
      [](size_t i) {
        return static_cast<double>(ShardMetrics::kLatenessBoundsNs[i]) /
               kNsPerSecond;
      },
      t.sojourn_sum_ns));
  out.push_back(std::move(sojourn));

  MetricFamily lag = NewFamily(
      "tcpemu_realtime_lag_seconds",
      "How far behind wall time the REALTIME networks are now (the worst "
      "network of the worst shard); what they emulate is that late.",
      MetricType::Gauge);
  AddValue(lag, {}, static_cast<double>(t.realtime_lag_ns) / kNsPerSecond);
  out.push_back(std::move(lag));

  MetricFamily behind = NewFamily(
      "tcpemu_realtime_behind_total",
      "Times a REALTIME network fell more than 5 ms behind wall time (a "
      "CLOCK_BEHIND event each).",
      MetricType::Counter);
  AddValue(behind, {}, static_cast<double>(t.behind));
  out.push_back(std::move(behind));

  MetricFamily behind_seconds = NewFamily(
      "tcpemu_realtime_behind_seconds_total",
      "Time REALTIME networks spent behind wall time, counted when they "
      "caught up.",
      MetricType::Counter);
  AddValue(behind_seconds, {}, static_cast<double>(t.behind_ns) / kNsPerSecond);
  out.push_back(std::move(behind_seconds));
}

void Metrics::Collector::AppendState(const StateSnapshot& s,
                                     std::vector<MetricFamily>& out) {
  MetricFamily sessions =
      NewFamily("tcpemu_sessions",
                "Live session endpoints, by TCP state (RFC 9293 names).",
                MetricType::Gauge);
  for (size_t i = 0; i < kNumTcpStates; ++i) {
    AddValue(sessions, {Label("state", ToString(static_cast<TcpState>(i)))},
             static_cast<double>(s.sessions_by_state[i]));
  }
  out.push_back(std::move(sessions));

  MetricFamily cwnd =
      NewFamily("tcpemu_cwnd_bytes",
                "Congestion windows of live endpoints, sampled at scrape.",
                MetricType::Histogram);
  std::array<uint64_t, kNumCwndBuckets + 1> counts{};
  double sum = 0;
  for (uint32_t c : s.cwnd_bytes) {
    size_t i = 0;
    while (i < kNumCwndBuckets && c > (kCwndFirstBucket << i)) ++i;
    ++counts[i];
    sum += c;
  }
  ClientMetric cwnd_metric;
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= kNumCwndBuckets; ++i) {
    cumulative += counts[i];
    cwnd_metric.histogram.bucket.push_back(
        {cumulative, i < kNumCwndBuckets
                         ? static_cast<double>(kCwndFirstBucket << i)
                         : kInf});
  }
  cwnd_metric.histogram.sample_count = cumulative;
  cwnd_metric.histogram.sample_sum = sum;
  cwnd.metric.push_back(std::move(cwnd_metric));
  out.push_back(std::move(cwnd));
  MetricFamily queue_packets =
      NewFamily("tcpemu_link_queue_packets",
                "Packets waiting in the bottleneck queues of all links, now.",
                MetricType::Gauge);
  AddValue(queue_packets, {}, static_cast<double>(s.link_queue_packets));
  out.push_back(std::move(queue_packets));
  MetricFamily queue_bytes =
      NewFamily("tcpemu_link_queue_bytes",
                "Bytes waiting in the bottleneck queues of all links, now.",
                MetricType::Gauge);
  AddValue(queue_bytes, {}, static_cast<double>(s.link_queue_bytes));
  out.push_back(std::move(queue_bytes));
  AppendInterfaces(s, out);
  AppendProxies(s, out);
}

void Metrics::Collector::AppendProxies(const StateSnapshot& s,
                                       std::vector<MetricFamily>& out) {
  MetricFamily conns = NewFamily(
      "tcpemu_proxy_connections_total",
      "Connections a proxy accepted, by outcome: relayed, refused (a limit), "
      "upstream_failed (the upstream connect failed).",
      MetricType::Counter);
  MetricFamily active =
      NewFamily("tcpemu_proxy_connections", "Proxied connections open now.",
                MetricType::Gauge);
  MetricFamily bytes = NewFamily(
      "tcpemu_proxy_bytes_total",
      "Bytes a proxy delivered, to upstream hosts (dir=upstream) and to "
      "applications (dir=downstream).",
      MetricType::Counter);
  for (const StateSnapshot::PerProxy& p : s.proxies) {
    const std::string id = absl::StrCat(p.proxy_id);
    const std::string net = absl::StrCat(p.network_id);
    auto labels = [&](std::string_view key, std::string_view value) {
      std::vector<ClientMetric::Label> l{
          Label("proxy", p.name), Label("proxy_id", id), Label("network", net)};
      if (!key.empty()) l.push_back(Label(key, value));
      return l;
    };
    AddValue(conns, labels("outcome", "relayed"),
             static_cast<double>(p.accepted - p.refused));
    AddValue(conns, labels("outcome", "refused"),
             static_cast<double>(p.refused));
    AddValue(conns, labels("outcome", "upstream_failed"),
             static_cast<double>(p.upstream_failures));
    AddValue(active, labels("", ""), static_cast<double>(p.active));
    AddValue(bytes, labels("dir", "upstream"),
             static_cast<double>(p.bytes_upstream));
    AddValue(bytes, labels("dir", "downstream"),
             static_cast<double>(p.bytes_downstream));
  }
  out.push_back(std::move(conns));
  out.push_back(std::move(active));
  out.push_back(std::move(bytes));
}

void Metrics::Collector::AppendInterfaces(const StateSnapshot& s,
                                          std::vector<MetricFamily>& out) {
  MetricFamily frames = NewFamily(
      "tcpemu_interface_frames_total",
      "Ethernet frames through interfaces (TAP devices).", MetricType::Counter);
  MetricFamily bytes = NewFamily("tcpemu_interface_bytes_total",
                                 "Ethernet frame bytes through interfaces.",
                                 MetricType::Counter);
  MetricFamily dropped =
      NewFamily("tcpemu_interface_dropped_total",
                "Frames and packets an interface dropped, by reason.",
                MetricType::Counter);
  MetricFamily answered =
      NewFamily("tcpemu_interface_answers_total",
                "ARP requests, ICMP echo requests, SYNs to closed ports (rst) "
                "and SYNs over a full backlog (syn_cookie) an interface "
                "answered.",
                MetricType::Counter);
  MetricFamily tso_frames = NewFamily(
      "tcpemu_interface_tso_frames_total",
      "TSO frames an interface's device wrote to the host, each several "
      "segments of one flow coalesced (TAP offloads).",
      MetricType::Counter);
  MetricFamily tso_segments =
      NewFamily("tcpemu_interface_tso_segments_total",
                "Segments an interface's device coalesced into TSO frames.",
                MetricType::Counter);
  for (const StateSnapshot::PerInterface& i : s.interfaces) {
    const std::string id = absl::StrCat(i.interface_id);
    const std::string net = absl::StrCat(i.network_id);
    auto labels = [&](std::string_view key, std::string_view value) {
      return std::vector<ClientMetric::Label>{
          Label("interface", id), Label("network", net),
          Label("device", i.name), Label(key, value)};
    };
    const InterfaceCounters& c = i.counters;
    AddValue(frames, labels("dir", "received"),
             static_cast<double>(c.frames_received));
    AddValue(frames, labels("dir", "sent"), static_cast<double>(c.frames_sent));
    AddValue(bytes, labels("dir", "received"),
             static_cast<double>(c.bytes_received));
    AddValue(bytes, labels("dir", "sent"), static_cast<double>(c.bytes_sent));
    const std::pair<const char*, uint64_t> drops[] = {
        {"malformed", c.dropped_malformed},
        {"not_for_us", c.dropped_not_for_us},
        {"fragment", c.dropped_fragment},
        {"too_big", c.dropped_too_big},
        {"unsupported", c.dropped_unsupported},
        {"arp_unresolved", c.dropped_arp_unresolved},
        {"device", c.dropped_device},
        {"syn_backlog", c.syn_dropped_backlog},
    };
    for (const auto& [reason, n] : drops) {
      AddValue(dropped, labels("reason", reason), static_cast<double>(n));
    }
    AddValue(answered, labels("kind", "arp"),
             static_cast<double>(c.arp_requests_answered));
    AddValue(answered, labels("kind", "icmp_echo"),
             static_cast<double>(c.icmp_echo_answered));
    AddValue(answered, labels("kind", "rst"),
             static_cast<double>(c.rst_no_connection));
    AddValue(answered, labels("kind", "syn_cookie"),
             static_cast<double>(c.syn_cookies_sent));
    const std::vector<ClientMetric::Label> device{
        Label("interface", id), Label("network", net), Label("device", i.name)};
    AddValue(tso_frames, device, static_cast<double>(i.tso_frames));
    AddValue(tso_segments, device, static_cast<double>(i.tso_segments));
  }
  out.push_back(std::move(frames));
  out.push_back(std::move(bytes));
  out.push_back(std::move(dropped));
  out.push_back(std::move(answered));
  out.push_back(std::move(tso_frames));
  out.push_back(std::move(tso_segments));
}

void Metrics::Collector::AppendPerSession(
    StateSnapshot& s, std::vector<MetricFamily>& out) const {
  auto& sessions = s.per_session;
  const bool truncated = sessions.size() > options_.per_session_cap;
  const auto by_id = [](const StateSnapshot::PerSession& a,
                        const StateSnapshot::PerSession& b) {
    return std::tie(a.session_id, a.network_id) <
           std::tie(b.session_id, b.network_id);
  };
  if (truncated) {
    std::nth_element(
        sessions.begin(),
        sessions.begin() + static_cast<ptrdiff_t>(options_.per_session_cap),
        sessions.end(), by_id);
    sessions.resize(options_.per_session_cap);
  }
  std::sort(sessions.begin(), sessions.end(), by_id);

  MetricFamily cwnd = NewFamily("tcpemu_session_cwnd_bytes",
                                "Congestion window of each endpoint of a "
                                "session (per-session metrics).",
                                MetricType::Gauge);
  MetricFamily srtt = NewFamily("tcpemu_session_srtt_seconds",
                                "Smoothed RTT of each endpoint of a session "
                                "(per-session metrics).",
                                MetricType::Gauge);
  for (const StateSnapshot::PerSession& p : sessions) {
    const std::string session = absl::StrCat(p.session_id);
    const std::string network = absl::StrCat(p.network_id);
    const auto labels = [&](Endpoint e) {
      return std::vector<ClientMetric::Label>{Label("session", session),
                                              Label("network", network),
                                              Label("endpoint", ToString(e))};
    };
    AddValue(cwnd, labels(Endpoint::kClient), p.cwnd_client);
    AddValue(cwnd, labels(Endpoint::kServer), p.cwnd_server);
    AddValue(srtt, labels(Endpoint::kClient),
             static_cast<double>(p.srtt_client_ns) / kNsPerSecond);
    AddValue(srtt, labels(Endpoint::kServer),
             static_cast<double>(p.srtt_server_ns) / kNsPerSecond);
  }
  out.push_back(std::move(cwnd));
  out.push_back(std::move(srtt));

  MetricFamily cap =
      NewFamily("tcpemu_session_series_truncated",
                absl::StrCat("1 when more sessions exist than the ",
                             options_.per_session_cap,
                             " (lowest ids) given per-session series."),
                MetricType::Gauge);
  AddValue(cap, {}, truncated ? 1 : 0);
  out.push_back(std::move(cap));
}

std::vector<MetricFamily> Metrics::Collector::Collect() const {
  absl::MutexLock scrape(&scrape_mu_);
  // The callbacks run without mu_: they may add shards, but not scrape or
  // replace callbacks.
  StateSnapshot snapshot = snapshot_fn_ ? snapshot_fn_() : StateSnapshot{};
  const EventStats stats = event_stats_fn_ ? event_stats_fn_() : EventStats{};

  std::vector<MetricFamily> out;
  AppendEngine(SumShards(), out);
  AppendState(snapshot, out);
  if (options_.per_session_metrics) AppendPerSession(snapshot, out);

  MetricFamily subscribers = NewFamily(
      "tcpemu_event_subscribers", "Open event streams.", MetricType::Gauge);
  AddValue(subscribers, {}, static_cast<double>(stats.subscribers));
  out.push_back(std::move(subscribers));
  MetricFamily dropped =
      NewFamily("tcpemu_events_dropped_total",
                "Events not delivered to a subscriber that fell behind.",
                MetricType::Counter);
  AddValue(dropped, {}, static_cast<double>(stats.events_dropped));
  out.push_back(std::move(dropped));

  std::vector<MetricFamily> rpc = registry_->Collect();
  out.insert(out.end(), std::make_move_iterator(rpc.begin()),
             std::make_move_iterator(rpc.end()));
  return out;
}

// ---------------------------------------------------------------- metrics

Metrics::Metrics(const Options& options)
    : options_(options),
      registry_(std::make_shared<prometheus::Registry>()),
      collector_(std::make_shared<Collector>(options, registry_)) {
  rpc_handled_ = &prometheus::BuildCounter()
                      .Name("grpc_server_handled_total")
                      .Help(
                          "RPCs completed on the server, by method and "
                          "status code.")
                      .Register(*registry_);
  rpc_handling_ = &prometheus::BuildHistogram()
                       .Name("grpc_server_handling_seconds")
                       .Help(
                           "Time from the start of an RPC to its status, "
                           "by method.")
                       .Register(*registry_);
  auto& limits = prometheus::BuildCounter()
                     .Name("tcpemu_limit_rejections_total")
                     .Help(
                         "Requests refused with RESOURCE_EXHAUSTED because "
                         "a daemon limit was reached, by limit.")
                     .Register(*registry_);
  for (size_t i = 0; i < kNumLimits; ++i) {
    limit_rejections_[i] = &limits.Add(
        {{"limit", std::string(LimitLabel(static_cast<Limit>(i)))}});
  }
}

Metrics::~Metrics() { StopServing(); }

std::string_view LimitLabel(Limit limit) {
  switch (limit) {
    case Limit::kNetworks:
      return "networks";
    case Limit::kLinks:
      return "links";
    case Limit::kSessions:
      return "sessions";
    case Limit::kInterfaces:
      return "interfaces";
    case Limit::kFaults:
      return "faults";
    case Limit::kBuffer:
      return "buffer";
    case Limit::kWriteBytes:
      return "write_bytes";
    case Limit::kSubscribers:
      return "subscribers";
    case Limit::kCaptures:
      return "captures";
    case Limit::kPorts:
      return "ports";
    case Limit::kListeners:
      return "listeners";
    case Limit::kWaiting:
      return "waiting";
    case Limit::kAdvance:
      return "advance";
    case Limit::kProxies:
      return "proxies";
  }
  return "unknown";
}

void Metrics::CountLimitRejection(Limit limit) {
  limit_rejections_[static_cast<size_t>(limit)]->Increment();
}

uint64_t Metrics::limit_rejections(Limit limit) const {
  return static_cast<uint64_t>(
      limit_rejections_[static_cast<size_t>(limit)]->Value());
}

void Metrics::StopServing() {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::string host;
  {
    absl::MutexLock lock(&serve_mu_);
    exposer = std::move(exposer_);
    host = serve_host_;
  }
  if (exposer == nullptr) return;
  const std::vector<int> ports = exposer->GetListeningPorts();
  // civetweb's listener notices a stop only between polls of up to 2 s;
  // connecting to it while it stops ends the poll at once.
  std::atomic<bool> stopped{false};
  std::thread knock([&] {
    if (ports.empty()) return;
    while (!stopped.load()) {
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* found = nullptr;
      if (getaddrinfo(host.c_str(), std::to_string(ports.front()).c_str(),
                      &hints, &found) == 0) {
        int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC,
                        found->ai_protocol);
        if (fd >= 0) {
          (void)connect(fd, found->ai_addr, found->ai_addrlen);
          close(fd);
        }
        freeaddrinfo(found);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // Returns once civetweb's threads have exited, so no scrape is running.
  exposer.reset();
  stopped = true;
  knock.join();
}

ShardMetrics* Metrics::AddShard() { return collector_->AddShard(); }

void Metrics::SetStateSnapshotFn(std::function<StateSnapshot()> fn) {
  collector_->SetStateSnapshotFn(std::move(fn));
}

void Metrics::SetEventStatsFn(std::function<EventStats()> fn) {
  collector_->SetEventStatsFn(std::move(fn));
}

std::string_view Metrics::GrpcCodeName(int code) {
  static constexpr std::array<std::string_view, kNumGrpcCodes> kNames = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code < 0 || code >= static_cast<int>(kNumGrpcCodes)) return "UNKNOWN";
  return kNames[static_cast<size_t>(code)];
}

Metrics::RpcMethod& Metrics::FindRpcMethod(std::string_view method) {
  auto it = rpc_methods_.find(method);
  if (it == rpc_methods_.end()) {
    it = rpc_methods_.emplace(std::string(method), RpcMethod{}).first;
    it->second.handling =
        &rpc_handling_->Add({{"grpc_method", it->first}}, RpcBuckets());
  }
  return it->second;
}

void Metrics::RegisterRpcMethod(std::string_view method) {
  absl::MutexLock lock(&rpc_mu_);
  RpcMethod& m = FindRpcMethod(method);
  if (m.handled[0] == nullptr) {
    m.handled[0] = &rpc_handled_->Add(
        {{"grpc_method", std::string(method)}, {"grpc_code", "OK"}});
  }
}

void Metrics::ObserveRpc(std::string_view method, int grpc_code,
                         double seconds) {
  // Unknown codes share UNKNOWN's series.
  const size_t code =
      grpc_code >= 0 && grpc_code < static_cast<int>(kNumGrpcCodes)
          ? static_cast<size_t>(grpc_code)
          : 2;
  prometheus::Counter* handled = nullptr;
  prometheus::Histogram* handling = nullptr;
  {
    absl::ReaderMutexLock lock(&rpc_mu_);
    auto it = rpc_methods_.find(method);
    if (it != rpc_methods_.end()) {
      handled = it->second.handled[code];
      handling = it->second.handling;
    }
  }
  if (handled == nullptr) {
    absl::MutexLock lock(&rpc_mu_);
    RpcMethod& m = FindRpcMethod(method);
    if (m.handled[code] == nullptr) {
      m.handled[code] = &rpc_handled_->Add(
          {{"grpc_method", std::string(method)},
           {"grpc_code", std::string(GrpcCodeName(static_cast<int>(code)))}});
    }
    handled = m.handled[code];
    handling = m.handling;
  }
  handled->Increment();
  handling->Observe(seconds);
}

absl::Status Metrics::Serve(const std::string& address) {
  absl::MutexLock lock(&serve_mu_);
  if (exposer_ != nullptr) {
    return absl::FailedPreconditionError(
        "metrics: already serving; StopServing first");
  }
  // civetweb spells "any address" as a bare port.
  std::string bind = address;
  if (!bind.empty() && bind.front() == ':') bind.erase(0, 1);
  if (bind.empty()) {
    return absl::InvalidArgumentError("metrics: empty listen address");
  }
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(bind);
    exposer->RegisterCollectable(collector_);
    exposer_ = std::move(exposer);
    // Where StopServing can reach the listener: the bound host, or
    // loopback for every interface.
    const size_t colon = bind.rfind(':');
    serve_host_ = colon == std::string::npos ? "" : bind.substr(0, colon);
    if (serve_host_.size() >= 2 && serve_host_.front() == '[') {
      serve_host_ = serve_host_.substr(1, serve_host_.size() - 2);
    }
    if (serve_host_.empty() || serve_host_ == "0.0.0.0") {
      serve_host_ = "127.0.0.1";
    } else if (serve_host_ == "::") {
      serve_host_ = "::1";
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics: cannot listen on \"",
                                               address, "\": ", e.what()));
  }
  return absl::OkStatus();
}

int Metrics::port() const {
  absl::MutexLock lock(&serve_mu_);
  if (exposer_ == nullptr) return 0;
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

std::string Metrics::Render() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector_->Collect());
  return out.str();
}

}  // namespace tcpemu::server
