// A long fat path in real time: one bulk flow across a REALTIME link of
// 10 Gbit/s and 100 ms round trip (buffers of 256 MiB, so the window can
// hold the 125 MB bandwidth-delay product) on one shard, while probe
// sessions on a REALTIME network of the other shard measure how late their
// timers run. Reports the bulk flow's goodput, whether its network fell
// behind wall time (CLOCK_BEHIND events, tcpemu_realtime_behind_total), and
// the probes' timer lateness (their shard's histogram and what a client
// sees). Figures: docs/benchmarks.md.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "server/daemon.h"
#include "server/shard.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

namespace v1 = ::tcpemu::v1;
using Stub = v1::Emulator::Stub;
using testutil::Call;
using testutil::SetDuration;

constexpr uint32_t kMiB = 1 << 20;

template <typename T>
bool Check(benchmark::State& state, const absl::StatusOr<T>& v) {
  if (!v.ok()) state.SkipWithError(std::string(v.status().message()).c_str());
  return v.ok();
}

bool Check(benchmark::State& state, const grpc::Status& s) {
  if (!s.ok()) state.SkipWithError(s.error_message().c_str());
  return s.ok();
}

double QuantileNs(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return static_cast<double>(v[std::min(i, v.size() - 1)]);
}

LatenessStats Minus(const LatenessStats& a, const LatenessStats& b) {
  LatenessStats d;
  d.samples = a.samples - b.samples;
  for (size_t i = 0; i < d.buckets.size(); ++i) {
    d.buckets[i] = a.buckets[i] - b.buckets[i];
  }
  return d;
}

// Arg 0: rate of the bulk link in Mbit/s (0: no bulk flow).
void BM_LongFatPathBesideProbes(benchmark::State& state) {
  const uint64_t rate_mbps = static_cast<uint64_t>(state.range(0));
  DaemonOptions o = testutil::LocalOptions();  // two shards
  absl::StatusOr<std::unique_ptr<Daemon>> d = Daemon::Start(o);
  if (!Check(state, d)) return;
  Daemon& daemon = **d;
  std::shared_ptr<grpc::Channel> channel =
      testutil::LocalChannel(daemon.port());
  std::unique_ptr<Stub> stub = v1::Emulator::NewStub(channel);

  // Networks go to shard id % 2: the default network (1) to shard 1 for
  // the probes, a new REALTIME one (2) to shard 0 for the bulk flow.
  auto bulk_net =
      testutil::CreateNetwork(stub.get(), v1::CLOCK_KIND_REALTIME, 1);
  if (!Check(state, bulk_net)) return;
  if (bulk_net->id() % 2 == 1) {
    state.SkipWithError("the bulk network landed on the probes' shard");
    return;
  }
  const size_t probe_shard = 1;

  // Probes: 5 ms each way, the server reads only when asked.
  v1::PathSpec probe_path;
  SetDuration(absl::Milliseconds(5), probe_path.mutable_delay());
  auto probe_link = testutil::CreateLink(stub.get(), 0, probe_path);
  if (!Check(state, probe_link)) return;
  std::vector<uint32_t> probes;
  for (int i = 0; i < 8; ++i) {
    v1::OpenSessionRequest open;
    open.set_link_id(probe_link->id());
    open.mutable_client()->set_nodelay(true);
    open.mutable_server()->set_delayed_ack(false);
    open.mutable_server_reader()->set_mode(v1::Reader::MODE_MANUAL);
    auto s = testutil::OpenSession(stub.get(), open);
    if (!Check(state, s)) return;
    probes.push_back(s->id());
  }

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{0};
  uint32_t bulk_id = 0;
  std::thread writer;
  if (rate_mbps > 0) {
    v1::PathSpec fat;
    SetDuration(absl::Milliseconds(50), fat.mutable_delay());
    fat.set_rate_bps(rate_mbps * 1'000'000);
    fat.set_queue_limit_packets(100'000);
    auto link = testutil::CreateLink(stub.get(), bulk_net->id(), fat);
    if (!Check(state, link)) return;
    v1::OpenSessionRequest open;
    open.set_link_id(link->id());
    for (v1::TcpConfig* c : {open.mutable_client(), open.mutable_server()}) {
      c->set_send_buffer(256 * kMiB);
      c->set_recv_buffer(256 * kMiB);
    }
    auto bulk = testutil::OpenSession(stub.get(), open);
    if (!Check(state, bulk)) return;
    bulk_id = bulk->id();
    writer = std::thread([&] {
      while (!stop) {
        v1::WriteRequest w;
        w.set_session_id(bulk_id);
        w.set_endpoint(v1::ENDPOINT_CLIENT);
        w.set_fill_bytes(64 * kMiB);
        SetDuration(absl::Milliseconds(200), w.mutable_wait());
        v1::WriteResponse wr;
        if (Call(stub.get(), &Stub::Write, w, &wr).ok()) {
          written += wr.accepted();
        }
      }
    });
  }
  // Handshakes done, and the bulk flow past its first round trips.
  absl::SleepFor(absl::Seconds(2));

  const LatenessStats before = daemon.service().shard(probe_shard).lateness();
  const double behind_before = testutil::MetricSum(
      daemon.metrics().Render(), "tcpemu_realtime_behind_total");
  const uint64_t read_before =
      bulk_id == 0
          ? 0
          : testutil::GetSession(stub.get(), bulk_id)->server().bytes_read();
  const absl::Time start = absl::Now();
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
    if (!Check(state, Call(stub.get(), &Stub::Write, w, &wr))) break;
    if (!Check(state, Call(stub.get(), &Stub::Read, r, &rr))) break;
    const absl::Time t1 = absl::Now();
    if (rr.data().size() != payload.size()) {
      state.SkipWithError("probe read returned the wrong byte count");
      break;
    }
    client_ns.push_back(absl::ToInt64Nanoseconds(t1 - t0) - 5'000'000);
    absl::SleepFor(absl::Milliseconds(2));
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  LatenessStats probe =
      Minus(daemon.service().shard(probe_shard).lateness(), before);
  LatenessStats bulk = daemon.service().shard(0).lateness();
  const std::string text = daemon.metrics().Render();
  if (bulk_id != 0) {
    const uint64_t read_after =
        testutil::GetSession(stub.get(), bulk_id)->server().bytes_read();
    state.counters["bulk_Gbit_per_s"] =
        static_cast<double>(read_after - read_before) * 8 / 1e9 / seconds;
  }
  stop = true;
  if (writer.joinable()) writer.join();

  state.counters["probe_shard_late_p50_us"] =
      static_cast<double>(probe.QuantileNs(0.50)) / 1e3;
  state.counters["probe_shard_late_p99_us"] =
      static_cast<double>(probe.QuantileNs(0.99)) / 1e3;
  state.counters["probe_shard_samples"] = static_cast<double>(probe.samples);
  state.counters["bulk_shard_late_p99_us"] =
      static_cast<double>(bulk.QuantileNs(0.99)) / 1e3;
  state.counters["client_late_p50_us"] = QuantileNs(client_ns, 0.50) / 1e3;
  state.counters["client_late_p99_us"] = QuantileNs(client_ns, 0.99) / 1e3;
  state.counters["behind_events"] =
      testutil::MetricSum(text, "tcpemu_realtime_behind_total") - behind_before;
  state.counters["behind_s"] =
      testutil::MetricSum(text, "tcpemu_realtime_behind_seconds_total");
}
BENCHMARK(BM_LongFatPathBesideProbes)
    ->Arg(0)
    ->Arg(10'000)
    ->Iterations(2000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tcpemu::server

BENCHMARK_MAIN();
