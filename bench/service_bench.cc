// tcpemud over real gRPC on 127.0.0.1, in-process: Write RPC rate, WatchEvents
// delivery rate, session open/close rate, REALTIME timer lateness, memory of
// 100,000 idle sessions. Figures and commands: docs/benchmarks.md.
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "server/daemon.h"
#include "server/shard.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

using testutil::Call;
using testutil::SetDuration;
using testutil::Stub;

constexpr uint64_t kMiB = 1024 * 1024;

struct Harness {
  std::unique_ptr<Daemon> daemon;
  std::unique_ptr<Stub> stub;
  std::shared_ptr<grpc::Channel> channel;
};

// Starts a daemon like tcpemud's defaults on this machine (one shard per
// core, here 2) without a /metrics endpoint.
bool StartHarness(benchmark::State& state, Harness* h,
                  DaemonOptions o = testutil::LocalOptions()) {
  auto d = Daemon::Start(o);
  if (!d.ok()) {
    state.SkipWithError(std::string(d.status().message()).c_str());
    return false;
  }
  h->daemon = *std::move(d);
  h->channel = testutil::LocalChannel(h->daemon->port());
  h->stub = v1::Emulator::NewStub(h->channel);
  return true;
}

template <typename T>
bool Check(benchmark::State& state, const absl::StatusOr<T>& v) {
  if (!v.ok()) state.SkipWithError(std::string(v.status().message()).c_str());
  return v.ok();
}

bool Check(benchmark::State& state, const grpc::Status& s) {
  if (!s.ok()) state.SkipWithError(s.error_message().c_str());
  return s.ok();
}

// Quantile of samples in nanoseconds (sorts `v`).
double QuantileNs(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return static_cast<double>(v[std::min(i, v.size() - 1)]);
}

// ------------------------------------------------------------ unary RPCs

// One session on the default REALTIME network over a 1 ms link; the server
// reads automatically. Returns its id, or 0 after SkipWithError.
uint32_t OpenBulkSession(benchmark::State& state, Harness& h) {
  v1::PathSpec path;
  SetDuration(absl::Milliseconds(1), path.mutable_delay());
  auto link = testutil::CreateLink(h.stub.get(), 0, path);
  if (!Check(state, link)) return 0;
  v1::OpenSessionRequest open;
  open.set_link_id(link->id());
  open.mutable_client()->set_send_buffer(4 * kMiB);
  auto s = testutil::OpenSession(h.stub.get(), open);
  if (!Check(state, s)) return 0;
  return s->id();
}

// Write RPCs of 100 client-supplied bytes each, one client, sync stub.
void BM_WriteRpc100B(benchmark::State& state) {
  Harness h;
  if (!StartHarness(state, &h)) return;
  const uint32_t sid = OpenBulkSession(state, h);
  if (sid == 0) return;
  v1::WriteRequest w;
  w.set_session_id(sid);
  w.set_endpoint(v1::ENDPOINT_CLIENT);
  w.set_data(std::string(100, 'x'));
  v1::WriteResponse resp;
  uint64_t short_writes = 0;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    grpc::Status s = h.stub->Write(&ctx, w, &resp);
    if (!s.ok()) {
      state.SkipWithError(s.error_message().c_str());
      break;
    }
    if (resp.accepted() != 100) ++short_writes;
  }
  state.counters["rpc_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["short_writes"] = static_cast<double>(short_writes);
}
BENCHMARK(BM_WriteRpc100B)->UseRealTime()->MinTime(3);

// Baseline: GetNetwork, a unary call that takes the same path through the
// service (id lookup, one hop to the shard and back) without engine work.
void BM_GetNetworkRpc(benchmark::State& state) {
  Harness h;
  if (!StartHarness(state, &h)) return;
  if (OpenBulkSession(state, h) == 0) return;  // same daemon state as above
  v1::GetNetworkRequest req;
  v1::Network resp;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    grpc::Status s = h.stub->GetNetwork(&ctx, req, &resp);
    if (!s.ok()) {
      state.SkipWithError(s.error_message().c_str());
      break;
    }
  }
  state.counters["rpc_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GetNetworkRpc)->UseRealTime()->MinTime(3);

// Baseline: grpc.health.v1 Check, answered by gRPC's own health service
// (no tcpemu code), through a generic stub.
void BM_HealthCheckRpc(benchmark::State& state) {
  Harness h;
  if (!StartHarness(state, &h)) return;
  grpc::GenericStub generic(h.channel);
  for (auto _ : state) {
    absl::StatusOr<int> s = testutil::CheckHealth(&generic, "");
    if (!s.ok() || *s != 1) {
      state.SkipWithError("health check failed");
      break;
    }
  }
  state.counters["rpc_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HealthCheckRpc)->UseRealTime()->MinTime(3);

// ------------------------------------------------------------ sessions

// OpenSession + DeleteSession (RST both ways) on a REALTIME link.
void BM_SessionOpenDelete(benchmark::State& state) {
  Harness h;
  if (!StartHarness(state, &h)) return;
  v1::PathSpec path;
  SetDuration(absl::Milliseconds(1), path.mutable_delay());
  auto link = testutil::CreateLink(h.stub.get(), 0, path);
  if (!Check(state, link)) return;
  v1::OpenSessionRequest open;
  open.set_link_id(link->id());
  for (auto _ : state) {
    v1::Session s;
    if (!Check(state, Call(h.stub.get(), &Stub::OpenSession, open, &s))) break;
    v1::DeleteSessionRequest d;
    d.set_session_id(s.id());
    google::protobuf::Empty e;
    if (!Check(state, Call(h.stub.get(), &Stub::DeleteSession, d, &e))) break;
  }
  state.counters["sessions_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SessionOpenDelete)->UseRealTime()->MinTime(3);

// A full life on a VIRTUAL network: OpenSession, Close (FIN) by the client,
// AdvanceTime until idle (handshake, FIN exchange, 2 ms TIME_WAIT; the
// server closes on end of file), DeleteSession of the destroyed session.
void BM_SessionOpenCloseGraceful(benchmark::State& state) {
  Harness h;
  if (!StartHarness(state, &h)) return;
  auto net = testutil::CreateNetwork(h.stub.get(), v1::CLOCK_KIND_VIRTUAL, 1);
  if (!Check(state, net)) return;
  v1::PathSpec path;
  SetDuration(absl::Milliseconds(1), path.mutable_delay());
  auto link = testutil::CreateLink(h.stub.get(), net->id(), path);
  if (!Check(state, link)) return;
  v1::OpenSessionRequest open;
  open.set_link_id(link->id());
  SetDuration(absl::Milliseconds(1), open.mutable_client()->mutable_msl());
  uint64_t not_destroyed = 0;
  for (auto _ : state) {
    v1::Session s;
    if (!Check(state, Call(h.stub.get(), &Stub::OpenSession, open, &s))) break;
    if (!Check(state, testutil::CloseEndpoint(h.stub.get(), s.id(),
                                              v1::ENDPOINT_CLIENT))) {
      break;
    }
    v1::AdvanceTimeResponse ar;
    if (!Check(state, testutil::AdvanceUntilIdle(h.stub.get(), net->id(), &ar)))
      break;
    if (!ar.idle()) ++not_destroyed;
    v1::DeleteSessionRequest d;
    d.set_session_id(s.id());
    google::protobuf::Empty e;
    if (!Check(state, Call(h.stub.get(), &Stub::DeleteSession, d, &e))) break;
  }
  state.counters["sessions_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["not_idle"] = static_cast<double>(not_destroyed);
}
BENCHMARK(BM_SessionOpenCloseGraceful)->UseRealTime()->MinTime(3);

// ------------------------------------------------------------ events

// Consumes one WatchEvents stream on its own thread, counting events until
// SESSION_DESTROYED.
class CountingStream {
 public:
  CountingStream(Stub* stub, EventHub* hub, const v1::WatchEventsRequest& req) {
    const size_t before = hub->subscriber_count();
    reader_ = stub->WatchEvents(&ctx_, req);
    thread_ = std::thread([this] {
      v1::EventBatch batch;
      while (reader_->Read(&batch)) {
        lost_ += batch.events_lost();
        events_ += batch.events_size();
        ++batches_;
        for (const v1::Event& e : batch.events()) {
          if (e.kind() == v1::EVENT_KIND_SESSION_DESTROYED) {
            end_ = absl::Now();
            done_ = true;
          }
        }
      }
      (void)reader_->Finish();
      done_ = true;
    });
    while (hub->subscriber_count() <= before) {
      absl::SleepFor(absl::Microseconds(200));
    }
  }
  ~CountingStream() {
    ctx_.TryCancel();
    thread_.join();
  }
  // Waits until the end of the session was seen; returns when.
  absl::Time WaitForEnd() {
    while (!done_) absl::SleepFor(absl::Microseconds(100));
    return end_;
  }
  uint64_t events() const { return events_; }
  uint64_t lost() const { return lost_; }
  uint64_t batches() const { return batches_; }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::EventBatch>> reader_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  absl::Time end_;
  std::atomic<uint64_t> events_{0}, lost_{0}, batches_{0};
};

// Sets up a VIRTUAL network with a 64 MiB transfer written and closed, ready
// for AdvanceTime: 1 ms, 10 Gbit/s lossless link, default TcpConfig except a
// 64 MiB send buffer, digests off.
uint32_t PrepareBulk(benchmark::State& state, Harness& h) {
  auto net = testutil::CreateNetwork(h.stub.get(), v1::CLOCK_KIND_VIRTUAL, 1);
  if (!Check(state, net)) return 0;
  v1::PathSpec path;
  SetDuration(absl::Milliseconds(1), path.mutable_delay());
  path.set_rate_bps(10'000'000'000);
  auto link = testutil::CreateLink(h.stub.get(), net->id(), path);
  if (!Check(state, link)) return 0;
  v1::OpenSessionRequest open;
  open.set_link_id(link->id());
  open.set_digest(false);
  open.mutable_client()->set_send_buffer(64 * kMiB);
  auto s = testutil::OpenSession(h.stub.get(), open);
  if (!Check(state, s)) return 0;
  auto n = testutil::WriteFill(h.stub.get(), s->id(), v1::ENDPOINT_CLIENT,
                               64 * kMiB);
  if (!Check(state, n)) return 0;
  if (!Check(state, testutil::CloseEndpoint(h.stub.get(), s->id(),
                                            v1::ENDPOINT_CLIENT))) {
    return 0;
  }
  return net->id();
}

void DeleteNetwork(Harness& h, uint32_t id) {
  v1::DeleteNetworkRequest d;
  d.set_network_id(id);
  google::protobuf::Empty e;
  (void)Call(h.stub.get(), &Stub::DeleteNetwork, d, &e);
}

// Events delivered to one WatchEvents subscriber while AdvanceTime runs a
// 64 MiB bulk transfer (open through TIME_WAIT): from the start of
// AdvanceTime until the subscriber has the session's last event. Arg: the
// stream's max_batch.
void BM_WatchEventsDelivery(benchmark::State& state) {
  Harness h;
  DaemonOptions o = testutil::LocalOptions();
  o.event_queue = 1 << 21;  // room for a whole run: nothing should be lost
  if (!StartHarness(state, &h, o)) return;
  uint64_t events = 0, lost = 0, batches = 0;
  double advance_s = 0, total_s = 0;
  for (auto _ : state) {
    const uint32_t nid = PrepareBulk(state, h);
    if (nid == 0) break;
    v1::WatchEventsRequest watch;
    watch.set_network_id(nid);
    watch.set_max_batch(static_cast<uint32_t>(state.range(0)));
    CountingStream stream(h.stub.get(), &h.daemon->hub(), watch);
    const absl::Time t0 = absl::Now();
    if (!Check(state, testutil::AdvanceUntilIdle(h.stub.get(), nid))) break;
    const absl::Time t_advanced = absl::Now();
    const absl::Time t_end = stream.WaitForEnd();
    const double s = absl::ToDoubleSeconds(t_end - t0);
    state.SetIterationTime(s);
    advance_s += absl::ToDoubleSeconds(t_advanced - t0);
    total_s += s;
    events += stream.events();
    lost += stream.lost();
    batches += stream.batches();
    DeleteNetwork(h, nid);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["events"] = static_cast<double>(events) / n;
  state.counters["events_per_s"] = static_cast<double>(events) / total_s;
  state.counters["events_lost"] = static_cast<double>(lost) / n;
  state.counters["events_per_batch"] =
      static_cast<double>(events) / static_cast<double>(batches);
  state.counters["advance_ms"] = advance_s * 1e3 / n;
}
BENCHMARK(BM_WatchEventsDelivery)
    ->Arg(1024)
    ->Arg(8192)
    ->Arg(65536)
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// Baseline: the same AdvanceTime with no subscriber (events still reach the
// metrics and the per-session history).
void BM_VirtualBulkNoSubscriber(benchmark::State& state) {
  Harness h;
  if (!StartHarness(state, &h)) return;
  for (auto _ : state) {
    const uint32_t nid = PrepareBulk(state, h);
    if (nid == 0) break;
    const absl::Time t0 = absl::Now();
    if (!Check(state, testutil::AdvanceUntilIdle(h.stub.get(), nid))) break;
    state.SetIterationTime(absl::ToDoubleSeconds(absl::Now() - t0));
    DeleteNetwork(h, nid);
  }
}
BENCHMARK(BM_VirtualBulkNoSubscriber)
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// ------------------------------------------------------------ timers

LatenessStats LatenessSum(Daemon& d) {
  LatenessStats sum;
  for (size_t i = 0; i < d.service().shard_count(); ++i) {
    LatenessStats s = d.service().shard(i).lateness();
    sum.samples += s.samples;
    for (size_t b = 0; b < sum.buckets.size(); ++b)
      sum.buckets[b] += s.buckets[b];
  }
  return sum;
}

// REALTIME timer accuracy. Probe sessions on the default network cross a
// link of 5 ms each way; the server reads only when asked. Each probe
// writes 100 bytes (nodelay) and waits in Read: client-seen lateness is
// (Read returned) - (Write sent) - 5 ms, so it includes two RPC legs.
// Meanwhile RTT_SAMPLE events of the probes are compared with the 10 ms
// round trip, and the shards' own lateness histogram (Shard::lateness) is
// read before and after. Arg 1 adds load: a bulk transfer on the same
// network (the same shard) for the whole run over a 1 Gbit/s link; Arg 2
// the same bulk transfer with no rate limit, which keeps the shard busy all
// the time. Arg 3 puts the load on the other shard instead: a long fat
// path (its own REALTIME network, 10 Gbit/s, 50 ms each way, buffers of
// 256 MiB for the 125 MB bandwidth-delay product), and reads the probes'
// shard's lateness alone, the load's shard's, whether its network fell
// behind wall time (CLOCK_BEHIND) and the goodput written.
void BM_RealtimeTimerLateness(benchmark::State& state) {
  Harness h;
  if (!StartHarness(state, &h)) return;
  const bool loaded = state.range(0) != 0;
  const bool unlimited = state.range(0) == 2;
  const bool far = state.range(0) == 3;
  v1::PathSpec path;
  SetDuration(absl::Milliseconds(5), path.mutable_delay());
  auto link = testutil::CreateLink(h.stub.get(), 0, path);
  if (!Check(state, link)) return;
  constexpr int kProbes = 8;
  std::vector<uint32_t> probes;
  for (int i = 0; i < kProbes; ++i) {
    v1::OpenSessionRequest open;
    open.set_link_id(link->id());
    open.mutable_client()->set_nodelay(true);
    open.mutable_server()->set_delayed_ack(false);
    open.mutable_server_reader()->set_mode(v1::Reader::MODE_MANUAL);
    auto s = testutil::OpenSession(h.stub.get(), open);
    if (!Check(state, s)) return;
    probes.push_back(s->id());
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> load_bytes{0};
  std::thread load;
  // The default network, the probes', is on shard 0; a new network goes to
  // shard id % 2.
  constexpr size_t kProbeShard = 0;
  if (loaded) {
    uint32_t load_network = 0;  // the probes' own
    v1::PathSpec fast;
    SetDuration(absl::Microseconds(100), fast.mutable_delay());
    if (!unlimited) fast.set_rate_bps(1'000'000'000);
    uint32_t buffer = 16 * kMiB;
    if (far) {
      // The first network with an odd id is on the other shard.
      while (load_network % 2 == 0) {
        auto net =
            testutil::CreateNetwork(h.stub.get(), v1::CLOCK_KIND_REALTIME, 1);
        if (!Check(state, net)) return;
        load_network = net->id();
      }
      SetDuration(absl::Milliseconds(50), fast.mutable_delay());
      fast.set_rate_bps(10'000'000'000);
      fast.set_queue_limit_packets(100'000);
      buffer = 256 * kMiB;
    }
    auto l2 = testutil::CreateLink(h.stub.get(), load_network, fast);
    if (!Check(state, l2)) return;
    v1::OpenSessionRequest open;
    open.set_link_id(l2->id());
    open.mutable_client()->set_send_buffer(buffer);
    open.mutable_server()->set_recv_buffer(buffer);
    auto bulk = testutil::OpenSession(h.stub.get(), open);
    if (!Check(state, bulk)) return;
    load = std::thread([&, sid = bulk->id(), chunk = buffer / 4] {
      while (!stop) {
        v1::WriteRequest w;
        w.set_session_id(sid);
        w.set_endpoint(v1::ENDPOINT_CLIENT);
        w.set_fill_bytes(chunk);
        SetDuration(absl::Milliseconds(200), w.mutable_wait());
        v1::WriteResponse wr;
        if (Call(h.stub.get(), &Stub::Write, w, &wr).ok()) {
          load_bytes += wr.accepted();
        }
      }
    });
  }
  // Handshakes done (and the long fat path past its first round trips).
  absl::SleepFor(far ? absl::Seconds(2) : absl::Milliseconds(100));

  v1::WatchEventsRequest watch;
  for (uint32_t id : probes) watch.add_session_ids(id);
  watch.add_kinds(v1::EVENT_KIND_RTT_SAMPLE);
  testutil::EventCollector rtt(h.stub.get(), watch);

  const LatenessStats before =
      far ? h.daemon->service().shard(kProbeShard).lateness()
          : LatenessSum(*h.daemon);
  const double behind_before = testutil::MetricSum(
      h.daemon->metrics().Render(), "tcpemu_realtime_behind_total");
  const uint64_t load_bytes_before = load_bytes.load();
  const absl::Time run_start = absl::Now();
  std::vector<int64_t> client_ns;
  const std::string payload(100, 'p');
  size_t next = 0;
  for (auto _ : state) {
    const uint32_t sid = probes[next++ % probes.size()];
    v1::WriteRequest w;
    w.set_session_id(sid);
    w.set_endpoint(v1::ENDPOINT_CLIENT);
    w.set_data(payload);
    v1::ReadRequest r;
    r.set_session_id(sid);
    r.set_endpoint(v1::ENDPOINT_SERVER);
    r.set_max_bytes(4096);
    SetDuration(absl::Seconds(2), r.mutable_wait());
    v1::WriteResponse wr;
    v1::ReadResponse rr;
    const absl::Time t0 = absl::Now();
    if (!Check(state, Call(h.stub.get(), &Stub::Write, w, &wr))) break;
    if (!Check(state, Call(h.stub.get(), &Stub::Read, r, &rr))) break;
    const absl::Time t1 = absl::Now();
    if (rr.data().size() != payload.size()) {
      state.SkipWithError("probe read returned the wrong byte count");
      break;
    }
    client_ns.push_back(absl::ToInt64Nanoseconds(t1 - t0) - 5'000'000);
    absl::SleepFor(absl::Milliseconds(1));
  }
  const LatenessStats after =
      far ? h.daemon->service().shard(kProbeShard).lateness()
          : LatenessSum(*h.daemon);
  if (far) {
    const std::string text = h.daemon->metrics().Render();
    state.counters["behind_events"] =
        testutil::MetricSum(text, "tcpemu_realtime_behind_total") -
        behind_before;
    state.counters["behind_s"] =
        testutil::MetricSum(text, "tcpemu_realtime_behind_seconds_total");
    state.counters["load_shard_late_p99_us"] =
        static_cast<double>(h.daemon->service()
                                .shard(1 - kProbeShard)
                                .lateness()
                                .QuantileNs(0.99)) /
        1e3;
  }
  state.counters["load_Gbit_per_s"] =
      static_cast<double>(load_bytes.load() - load_bytes_before) * 8 / 1e9 /
      absl::ToDoubleSeconds(absl::Now() - run_start);
  stop = true;
  if (load.joinable()) load.join();

  LatenessStats diff;
  diff.samples = after.samples - before.samples;
  for (size_t b = 0; b < diff.buckets.size(); ++b) {
    diff.buckets[b] = after.buckets[b] - before.buckets[b];
  }
  std::vector<int64_t> rtt_excess;
  for (const v1::Event& e : rtt.events())
    rtt_excess.push_back(e.a() - 10'000'000);
  state.counters["client_late_p50_us"] = QuantileNs(client_ns, 0.50) / 1e3;
  state.counters["client_late_p99_us"] = QuantileNs(client_ns, 0.99) / 1e3;
  state.counters["shard_late_p50_us"] =
      static_cast<double>(diff.QuantileNs(0.50)) / 1e3;
  state.counters["shard_late_p99_us"] =
      static_cast<double>(diff.QuantileNs(0.99)) / 1e3;
  state.counters["shard_samples"] = static_cast<double>(diff.samples);
  state.counters["rtt_samples"] = static_cast<double>(rtt_excess.size());
  state.counters["rtt_excess_p50_us"] = QuantileNs(rtt_excess, 0.50) / 1e3;
  state.counters["rtt_excess_p99_us"] = QuantileNs(rtt_excess, 0.99) / 1e3;
}
BENCHMARK(BM_RealtimeTimerLateness)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->Iterations(2000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ------------------------------------------------------------ memory

int64_t HeapInUseBytes() { return static_cast<int64_t>(mallinfo2().uordblks); }

// N established idle sessions on the default REALTIME network, opened by 4
// client threads over 10 links (ephemeral ports allow 16,384 per link and
// server port), held until every endpoint is ESTABLISHED; what the process
// gained beyond the running daemon with its links, divided by N. Args:
// sessions, events of history kept per session (DaemonOptions.session_history).
// Run each in a process of its own (--benchmark_filter).
void BM_IdleSessionsMemory(benchmark::State& state) {
  const int sessions = static_cast<int>(state.range(0));
  DaemonOptions o = testutil::LocalOptions();
  o.session_history = static_cast<size_t>(state.range(1));
  for (auto _ : state) {
    Harness h;
    if (!StartHarness(state, &h, o)) return;
    constexpr int kLinks = 10;
    std::vector<uint32_t> links;
    v1::PathSpec path;
    SetDuration(absl::Milliseconds(1), path.mutable_delay());
    for (int i = 0; i < kLinks; ++i) {
      auto l = testutil::CreateLink(h.stub.get(), 0, path);
      if (!Check(state, l)) return;
      links.push_back(l->id());
    }
    // Warm up the code paths and the channel before the baseline.
    v1::OpenSessionRequest warm;
    warm.set_link_id(links[0]);
    warm.set_server_port(4000);
    auto w = testutil::OpenSession(h.stub.get(), warm);
    if (!Check(state, w)) return;
    v1::DeleteSessionRequest d;
    d.set_session_id(w->id());
    google::protobuf::Empty e;
    (void)Call(h.stub.get(), &Stub::DeleteSession, d, &e);
    absl::SleepFor(absl::Milliseconds(200));
    malloc_trim(0);

    const int64_t rss_before = testutil::ResidentBytes();
    const int64_t heap_before = HeapInUseBytes();
    const absl::Time t0 = absl::Now();
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    constexpr int kThreads = 4;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        v1::OpenSessionRequest open;
        open.set_digest(false);
        v1::Session s;
        for (int i = t; i < sessions && failed == 0; i += kThreads) {
          open.set_link_id(links[i % kLinks]);
          if (!Call(h.stub.get(), &Stub::OpenSession, open, &s).ok()) ++failed;
        }
      });
    }
    for (auto& th : threads) th.join();
    const double open_s = absl::ToDoubleSeconds(absl::Now() - t0);
    if (failed != 0) {
      state.SkipWithError("OpenSession failed");
      return;
    }
    // Until every endpoint is ESTABLISHED and stays idle.
    uint64_t established = 0;
    for (int i = 0; i < 600; ++i) {
      StateSnapshot snap = h.daemon->service().SnapshotState();
      established =
          snap.sessions_by_state[static_cast<size_t>(TcpState::kEstablished)];
      if (established == 2u * sessions) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    absl::SleepFor(absl::Milliseconds(500));  // delayed ACKs and the like
    const int64_t rss = testutil::ResidentBytes() - rss_before;
    const int64_t heap = HeapInUseBytes() - heap_before;
    if (established != 2u * sessions) {
      state.SkipWithError(absl::StrCat("only ", established, " of ",
                                       2 * sessions, " endpoints established")
                              .c_str());
      return;
    }
    const EventHub::HistoryStats hist = h.daemon->hub().history_stats();
    const double n = sessions;
    state.counters["sessions"] = n;
    state.counters["rss_bytes_per_pair"] = static_cast<double>(rss) / n;
    state.counters["heap_bytes_per_pair"] = static_cast<double>(heap) / n;
    state.counters["history_events_per_pair"] =
        static_cast<double>(hist.events) / n;
    state.counters["history_bytes_per_pair"] =
        static_cast<double>(hist.allocated_bytes) / n;
    state.counters["baseline_rss_MiB"] =
        static_cast<double>(rss_before) / static_cast<double>(kMiB);
    state.counters["opens_per_s"] = n / open_s;
  }
}
BENCHMARK(BM_IdleSessionsMemory)
    ->Args({100'000, 256})
    ->Args({100'000, 16})
    ->Args({100'000, 0})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace tcpemu::server

BENCHMARK_MAIN();
