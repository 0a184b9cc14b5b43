// The scenario runner; see scenario_runner.h.
#include "engine/scenario/scenario_runner.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/sim/network.h"
#include "engine/wire/packet.h"

namespace tcpemu {

void SampleSet::Add(int64_t v) {
  if (count_++ % stride_ != 0) return;
  kept_.push_back(v);
  if (kept_.size() > kMaxKept) {
    size_t j = 0;
    for (size_t i = 0; i < kept_.size(); i += 2) kept_[j++] = kept_[i];
    kept_.resize(j);
    stride_ *= 2;
  }
}

DelayStats Summarize(std::vector<int64_t> values, uint64_t count) {
  DelayStats s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  auto rank = [&](double p) {
    size_t i = static_cast<size_t>(std::ceil(p * values.size()));
    return static_cast<double>(values[i == 0 ? 0 : i - 1]) / 1e6;
  };
  s.samples = count;
  s.p50_ms = rank(0.50);
  s.p95_ms = rank(0.95);
  s.p99_ms = rank(0.99);
  long double sum = 0;
  for (int64_t v : values) sum += v;
  s.mean_ms = static_cast<double>(sum / values.size() / 1e6L);
  return s;
}

std::optional<double> JainIndex(const std::vector<double>& x) {
  double sum = 0, squares = 0;
  for (double v : x) {
    sum += v;
    squares += v * v;
  }
  if (x.empty() || squares <= 0) return std::nullopt;
  return sum * sum / (static_cast<double>(x.size()) * squares);
}

namespace {

constexpr DurationNs kRateTick = 1 * kMillisecond;
constexpr size_t kEntriesPerStep = 4096;

enum class ActionKind : uint8_t {
  kOpen,
  kOnOffOn,
  kOnOffOff,
  kRateTick,
  kNextRequest,
  kStop,
  kFault,
  kSample,
};

struct Action {
  TimeNs at = 0;
  uint64_t order = 0;  // ties: in the order pushed
  ActionKind kind = ActionKind::kOpen;
  size_t index = 0;
  bool operator>(const Action& o) const {
    return at != o.at ? at > o.at : order > o.order;
  }
};

// What the run keeps of one session.
struct Flow {
  const SessionScenario* spec = nullptr;
  uint32_t id = 0;  // 0: not opened yet
  bool stopped = false;
  uint64_t read[2] = {0, 0};  // by client, by server
  uint64_t interval_read = 0;
  TimeNs last_read = kNever;
  std::optional<TimeNs> completed;
  SampleSet rtt;
  // request/response
  uint64_t requests_sent = 0;
  uint64_t requests_done = 0;
  bool server_due = false;  // the server read a whole request
  bool client_due = false;  // the client read a whole response
  // rate
  uint64_t rate_written = 0;
  // time series
  std::vector<double> series_throughput;
  std::vector<std::optional<uint32_t>> series_cwnd;
  std::vector<std::optional<double>> series_srtt;
};

// The packets a link direction has in flight, by IPv4 id.
struct DirectionState {
  struct Sent {
    TimeNs at = 0;
    uint32_t seq = 0;
  };
  absl::flat_hash_map<uint16_t, Sent> in_flight;
  SampleSet owd;  // one-way delay * 2 + (payload ? 1 : 0)
  int64_t min_owd[2] = {std::numeric_limits<int64_t>::max(),
                        std::numeric_limits<int64_t>::max()};
  uint64_t max_queue_bytes = 0;
  uint64_t max_queue_packets = 0;
  std::vector<uint64_t> queue_bytes;
  std::vector<uint64_t> queue_packets;
};

class Run : public EventSink, public PacketObserver {
 public:
  Run(const Scenario& sc, const ScenarioRunOptions& options)
      : sc_(sc), options_(options), net_(sc.seed, this) {
    net_.SetPacketObserver(this);
    flows_.resize(sc.sessions.size());
    directions_.resize(sc.links.size() * 2);
  }

  absl::StatusOr<ScenarioResult> Go();

  // EventSink.
  void OnEvent(const Event& e) override;
  // PacketObserver.
  void OnPacket(TimeNs t, uint32_t link_id, uint32_t session_id, Endpoint e,
                bool outgoing, const Packet& p) override;

 private:
  void Push(TimeNs at, ActionKind kind, size_t index) {
    actions_.push(Action{at, next_order_++, kind, index});
  }
  absl::Status Do(const Action& a);
  absl::Status Open(size_t i);
  void AfterEntries();
  void Sample(TimeNs t);
  absl::Status Source(Flow& f, Endpoint e, uint64_t total, bool close) {
    return net_.SetSource(f.id, e, total, close);
  }
  ScenarioResult Collect();

  const Scenario& sc_;
  const ScenarioRunOptions& options_;
  Network net_;
  std::vector<uint32_t> link_ids_;
  std::vector<Flow> flows_;
  absl::flat_hash_map<uint32_t, size_t> flow_of_session_;
  std::vector<DirectionState> directions_;  // link index * 2 + direction
  std::priority_queue<Action, std::vector<Action>, std::greater<Action>>
      actions_;
  uint64_t next_order_ = 0;
  bool request_response_ = false;
  bool rr_pending_ = false;
  std::vector<TimeNs> sample_times_;
};

void Run::OnEvent(const Event& e) {
  if (e.kind != EventKind::kAppRead && e.kind != EventKind::kRttSample) {
    return;
  }
  auto it = flow_of_session_.find(e.session_id);
  if (it == flow_of_session_.end()) return;
  Flow& f = flows_[it->second];
  if (e.kind == EventKind::kRttSample) {
    f.rtt.Add(e.a);
    return;
  }
  const uint64_t n = static_cast<uint64_t>(e.a);
  if (n == 0) return;
  const int ep = e.endpoint == Endpoint::kServer ? 1 : 0;
  f.read[ep] += n;
  f.interval_read += n;
  f.last_read = e.time;
  const WorkloadSpec& w = f.spec->workload;
  switch (w.kind) {
    case WorkloadSpec::Kind::kBulk:
      if (w.bytes > 0 && !f.completed && f.read[1] >= w.bytes) {
        f.completed = e.time;
      }
      break;
    case WorkloadSpec::Kind::kRequestResponse:
      if (ep == 1 && f.read[1] >= f.requests_sent * w.request_bytes &&
          f.read[1] - n < f.requests_sent * w.request_bytes) {
        f.server_due = true;
        rr_pending_ = true;
      } else if (ep == 0 &&
                 f.read[0] >= (f.requests_done + 1) * w.response_bytes) {
        ++f.requests_done;
        f.client_due = true;
        rr_pending_ = true;
        if (w.count > 0 && f.requests_done == w.count) f.completed = e.time;
      }
      break;
    default:
      break;
  }
}

void Run::OnPacket(TimeNs t, uint32_t link_id, uint32_t session_id, Endpoint e,
                   bool outgoing, const Packet& p) {
  if (link_id == 0 || link_id > link_ids_.size() || p.header_len < 20) return;
  // A packet from the client (or to the server) crosses the forward path.
  const bool forward = outgoing == (e == Endpoint::kClient);
  DirectionState& d = directions_[(link_id - 1) * 2 + (forward ? 0 : 1)];
  const uint16_t ip_id =
      static_cast<uint16_t>((p.header[4] << 8) | p.header[5]);
  const TcpPeek peek = PeekTcp(p);
  const uint32_t seq = peek.seq.value();
  if (outgoing) {
    d.in_flight[ip_id] = {t, seq};
    return;
  }
  auto it = d.in_flight.find(ip_id);
  if (it == d.in_flight.end() || it->second.seq != seq) return;
  const int64_t owd = t - it->second.at;
  d.in_flight.erase(it);
  const int payload = peek.payload_len > 0 ? 1 : 0;
  d.min_owd[payload] = std::min(d.min_owd[payload], owd);
  d.owd.Add(owd * 2 + payload);
}

absl::Status Run::Open(size_t i) {
  const SessionScenario& s = sc_.sessions[i];
  SessionSpec spec;
  spec.link_id = link_ids_[s.link];
  spec.client = s.client;
  spec.server = s.server;
  spec.server_port = s.server_port;
  spec.digest = false;
  absl::StatusOr<uint32_t> id = net_.OpenSession(spec);
  if (!id.ok()) {
    return absl::Status(id.status().code(),
                        absl::StrCat("sessions[", i, "] (", s.name,
                                     "): ", id.status().message()));
  }
  Flow& f = flows_[i];
  f.id = *id;
  flow_of_session_[*id] = i;
  const WorkloadSpec& w = s.workload;
  if (s.stop != 0) Push(s.stop, ActionKind::kStop, i);
  switch (w.kind) {
    case WorkloadSpec::Kind::kBulk:
      return w.bytes > 0 ? Source(f, Endpoint::kClient, w.bytes, true)
                         : Source(f, Endpoint::kClient,
                                  std::numeric_limits<uint64_t>::max(), false);
    case WorkloadSpec::Kind::kRequestResponse:
      request_response_ = true;
      f.requests_sent = 1;
      return Source(f, Endpoint::kClient, w.request_bytes, false);
    case WorkloadSpec::Kind::kOnOff:
      Push(net_.now() + w.on, ActionKind::kOnOffOff, i);
      return Source(f, Endpoint::kClient, std::numeric_limits<uint64_t>::max(),
                    false);
    case WorkloadSpec::Kind::kRate:
      Push(net_.now() + kRateTick, ActionKind::kRateTick, i);
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status Run::Do(const Action& a) {
  switch (a.kind) {
    case ActionKind::kOpen:
      return Open(a.index);
    case ActionKind::kFault: {
      const FaultScenario& fs = sc_.faults[a.index];
      FaultRule rule = fs.rule;
      if (fs.session) {
        const Flow& f = flows_[*fs.session];
        if (f.id == 0) return absl::OkStatus();  // not open: nothing to hit
        absl::StatusOr<SessionInfo> info = net_.GetSession(f.id);
        if (!info.ok() || info->destroyed) return absl::OkStatus();
        rule.match.src_port = info->client_port;
        rule.match.dst_port = info->server_port;
      }
      for (Direction d : {Direction::kForward, Direction::kReverse}) {
        if (d == Direction::kForward ? !fs.forward : !fs.reverse) continue;
        FaultRule r = rule;
        if (d == Direction::kReverse) {
          std::swap(r.match.src_port, r.match.dst_port);
        }
        absl::StatusOr<uint32_t> id = net_.AddFault(link_ids_[fs.link], d, r);
        if (!id.ok()) {
          return absl::Status(
              id.status().code(),
              absl::StrCat("faults[", a.index, "]: ", id.status().message()));
        }
      }
      return absl::OkStatus();
    }
    case ActionKind::kSample:
      Sample(a.at);
      if (a.at + sc_.sample_interval <= sc_.duration) {
        Push(a.at + sc_.sample_interval, ActionKind::kSample, 0);
      }
      return absl::OkStatus();
    default:
      break;
  }
  Flow& f = flows_[a.index];
  const WorkloadSpec& w = f.spec->workload;
  if (f.id == 0 ||
      net_.CheckEndpoint(f.id, Endpoint::kClient) != absl::OkStatus()) {
    return absl::OkStatus();  // the session is over: nothing to drive
  }
  switch (a.kind) {
    case ActionKind::kStop:
      f.stopped = true;
      if (w.kind == WorkloadSpec::Kind::kBulk ||
          w.kind == WorkloadSpec::Kind::kOnOff) {
        return Source(f, Endpoint::kClient, 0, false);
      }
      return absl::OkStatus();
    case ActionKind::kOnOffOff:
      if (f.stopped) return absl::OkStatus();
      Push(a.at + w.off, ActionKind::kOnOffOn, a.index);
      return Source(f, Endpoint::kClient, 0, false);
    case ActionKind::kOnOffOn:
      if (f.stopped) return absl::OkStatus();
      Push(a.at + w.on, ActionKind::kOnOffOff, a.index);
      return Source(f, Endpoint::kClient, std::numeric_limits<uint64_t>::max(),
                    false);
    case ActionKind::kRateTick: {
      if (f.stopped) return absl::OkStatus();
      const DurationNs since = a.at - (f.spec->start);
      const uint64_t due = static_cast<uint64_t>(
          static_cast<long double>(w.rate_bps) * since / 8 / 1e9L);
      if (due > f.rate_written) {
        absl::StatusOr<WriteResult> r = net_.WriteGeneratedAvailable(
            f.id, Endpoint::kClient, due - f.rate_written, false);
        if (r.ok()) f.rate_written += r->accepted;
      }
      Push(a.at + kRateTick, ActionKind::kRateTick, a.index);
      return absl::OkStatus();
    }
    case ActionKind::kNextRequest:
      if (f.stopped) return absl::OkStatus();
      ++f.requests_sent;
      return Source(f, Endpoint::kClient, w.request_bytes, false);
    default:
      return absl::OkStatus();
  }
}

// Request/response: acts on what the last entries read, at their time.
void Run::AfterEntries() {
  if (!rr_pending_) return;
  rr_pending_ = false;
  for (size_t i = 0; i < flows_.size(); ++i) {
    Flow& f = flows_[i];
    const WorkloadSpec& w = f.spec->workload;
    if (f.server_due) {
      f.server_due = false;
      if (net_.CheckEndpoint(f.id, Endpoint::kServer).ok()) {
        (void)Source(f, Endpoint::kServer, w.response_bytes, false);
      }
    }
    if (f.client_due) {
      f.client_due = false;
      if (w.count > 0 && f.requests_done >= w.count) {
        (void)net_.Close(f.id, Endpoint::kClient);
      } else if (!f.stopped) {
        Push(net_.now() + w.think, ActionKind::kNextRequest, i);
      }
    }
  }
}

Endpoint DataSender(const WorkloadSpec& w) {
  return w.kind == WorkloadSpec::Kind::kRequestResponse ? Endpoint::kServer
                                                        : Endpoint::kClient;
}

void Run::Sample(TimeNs t) {
  sample_times_.push_back(t);
  const double seconds = static_cast<double>(sc_.sample_interval) / 1e9;
  for (Flow& f : flows_) {
    f.series_throughput.push_back(static_cast<double>(f.interval_read) * 8 /
                                  seconds);
    f.interval_read = 0;
    std::optional<TcbSnapshot> tcb;
    if (f.id != 0) tcb = net_.GetTcb(f.id, DataSender(f.spec->workload));
    if (tcb && tcb->state != TcpState::kClosed) {
      f.series_cwnd.push_back(tcb->cwnd);
      f.series_srtt.push_back(
          tcb->srtt > 0
              ? std::optional<double>(static_cast<double>(tcb->srtt) / 1e6)
              : std::nullopt);
    } else {
      f.series_cwnd.push_back(std::nullopt);
      f.series_srtt.push_back(std::nullopt);
    }
  }
  for (size_t i = 0; i < link_ids_.size(); ++i) {
    for (int d = 0; d < 2; ++d) {
      const Path* path = net_.path(
          link_ids_[i], d == 0 ? Direction::kForward : Direction::kReverse);
      DirectionState& ds = directions_[i * 2 + d];
      const uint64_t bytes = path == nullptr ? 0 : path->queued_bytes();
      const uint64_t packets = path == nullptr ? 0 : path->queued_packets();
      ds.queue_bytes.push_back(bytes);
      ds.queue_packets.push_back(packets);
      ds.max_queue_bytes = std::max(ds.max_queue_bytes, bytes);
      ds.max_queue_packets = std::max(ds.max_queue_packets, packets);
    }
  }
}

absl::StatusOr<ScenarioResult> Run::Go() {
  for (size_t i = 0; i < sc_.links.size(); ++i) {
    absl::StatusOr<uint32_t> id =
        net_.CreateLink(sc_.links[i].forward, sc_.links[i].reverse);
    if (!id.ok()) {
      return absl::Status(id.status().code(),
                          absl::StrCat("links[", i, "] (", sc_.links[i].name,
                                       "): ", id.status().message()));
    }
    if (*id != i + 1) return absl::InternalError("unexpected link id");
    link_ids_.push_back(*id);
  }
  for (size_t i = 0; i < sc_.sessions.size(); ++i) {
    flows_[i].spec = &sc_.sessions[i];
    Push(sc_.sessions[i].start, ActionKind::kOpen, i);
  }
  for (size_t i = 0; i < sc_.faults.size(); ++i) {
    Push(sc_.faults[i].at, ActionKind::kFault, i);
  }
  Push(sc_.sample_interval, ActionKind::kSample, 0);

  const TimeNs end = sc_.duration;
  TimeNs next_progress = 0;
  const DurationNs progress_step = std::max<DurationNs>(end / 20, 1);
  while (true) {
    const TimeNs target =
        actions_.empty() ? end : std::min(end, actions_.top().at);
    const size_t step = request_response_ ? 1 : kEntriesPerStep;
    size_t entries = 0;
    while (!net_.RunUntilBounded(target, step)) {
      AfterEntries();
      entries += step;
      if (entries >= kEntriesPerStep) {
        entries = 0;
        if (options_.cancelled && options_.cancelled()) {
          return absl::CancelledError("the scenario run was cancelled");
        }
      }
    }
    AfterEntries();
    while (!actions_.empty() && actions_.top().at <= net_.now()) {
      Action a = actions_.top();
      actions_.pop();
      if (absl::Status s = Do(a); !s.ok()) return s;
      AfterEntries();
    }
    if (options_.progress && net_.now() >= next_progress) {
      if (!options_.progress(net_.now(), end)) {
        return absl::CancelledError("the scenario run was cancelled");
      }
      next_progress = net_.now() + progress_step;
    }
    if (options_.cancelled && options_.cancelled()) {
      return absl::CancelledError("the scenario run was cancelled");
    }
    if (net_.now() >= end && (actions_.empty() || actions_.top().at > end)) {
      break;
    }
  }
  return Collect();
}

DirectionResult CollectDirection(DirectionState& d, const Path* path) {
  DirectionResult r;
  if (path != nullptr) r.counters = path->counters();
  std::vector<int64_t> owd, queueing;
  owd.reserve(d.owd.kept().size());
  queueing.reserve(d.owd.kept().size());
  for (int64_t v : d.owd.kept()) {
    const int64_t delay = v / 2;
    owd.push_back(delay);
    queueing.push_back(delay - d.min_owd[v % 2]);
  }
  r.one_way_delay = Summarize(std::move(owd), d.owd.count());
  r.queueing_delay = Summarize(std::move(queueing), d.owd.count());
  r.max_queue_bytes = d.max_queue_bytes;
  r.max_queue_packets = d.max_queue_packets;
  r.queue_bytes = std::move(d.queue_bytes);
  r.queue_packets = std::move(d.queue_packets);
  return r;
}

ScenarioResult Run::Collect() {
  ScenarioResult r;
  r.end = net_.now();
  r.sample_times = sample_times_;
  std::vector<double> goodputs;
  for (Flow& f : flows_) {
    const SessionScenario& s = *f.spec;
    FlowResult fr;
    fr.name = s.name;
    fr.session_id = f.id;
    fr.link = sc_.links[s.link].name;
    fr.cc = s.client.cc;
    fr.workload = s.workload.kind;
    fr.start = s.start;
    fr.bytes_to_client = f.read[0];
    fr.bytes_to_server = f.read[1];
    fr.completed = f.completed;
    fr.requests_completed = f.requests_done;
    TimeNs active_end = r.end;
    if (f.completed) {
      active_end = *f.completed;
    } else if (s.stop != 0 && f.last_read != kNever) {
      active_end = std::min(r.end, std::max(s.stop, f.last_read));
    }
    fr.active = std::max<DurationNs>(0, active_end - s.start);
    const uint64_t bytes = f.read[0] + f.read[1];
    fr.goodput_bps = fr.active > 0 ? static_cast<double>(bytes) * 8 * 1e9 /
                                         static_cast<double>(fr.active)
                                   : 0;
    fr.rtt = Summarize(f.rtt.kept(), f.rtt.count());
    if (f.id != 0) {
      absl::StatusOr<SessionInfo> info = net_.GetSession(f.id);
      if (info.ok()) {
        for (const EndpointStats* e : {&info->client, &info->server}) {
          const ConnectionCounters& c = e->counters;
          fr.retransmissions +=
              c.retransmits_rto + c.retransmits_fast + c.tail_loss_probes;
          fr.retransmitted_bytes += c.bytes_retransmitted;
          fr.timeouts += c.timeouts;
          fr.fast_recoveries += c.fast_recoveries;
        }
        fr.client_error = info->client.error;
        fr.server_error = info->server.error;
        fr.client_state = info->client.final_state;
        fr.server_state = info->server.final_state;
      }
      for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
        if (std::optional<TcbSnapshot> tcb = net_.GetTcb(f.id, e)) {
          (e == Endpoint::kClient ? fr.client_state : fr.server_state) =
              tcb->state;
        }
      }
    }
    fr.throughput_bps = std::move(f.series_throughput);
    fr.cwnd_bytes = std::move(f.series_cwnd);
    fr.srtt_ms = std::move(f.series_srtt);
    goodputs.push_back(fr.goodput_bps);
    r.total_goodput_bps += fr.goodput_bps;
    r.retransmissions += fr.retransmissions;
    r.flows.push_back(std::move(fr));
  }
  r.jain_fairness = JainIndex(goodputs);
  for (size_t i = 0; i < sc_.links.size(); ++i) {
    LinkResult lr;
    lr.name = sc_.links[i].name;
    lr.link_id = link_ids_[i];
    lr.forward = CollectDirection(directions_[i * 2],
                                  net_.path(link_ids_[i], Direction::kForward));
    lr.reverse = CollectDirection(directions_[i * 2 + 1],
                                  net_.path(link_ids_[i], Direction::kReverse));
    r.links.push_back(std::move(lr));
  }
  return r;
}

}  // namespace

absl::StatusOr<ScenarioResult> RunScenario(const Scenario& scenario,
                                           const ScenarioRunOptions& options) {
  auto run = std::make_unique<Run>(scenario, options);
  return run->Go();
}

}  // namespace tcpemu
