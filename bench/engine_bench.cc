// Engine benchmarks in virtual time: memory held by established idle session
// pairs, and the CPU cost of a bulk transfer over a lossless link with and
// without event sinks (payload Gbit/s per core). Figures: docs/benchmarks.md.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/sim/network.h"
#include "engine/tcp/connection.h"
#include "engine/trace/trace_hash.h"
#include "engine/wire/buffer.h"

namespace tcpemu {
namespace {

// Resident set size of this process, from /proc/self/statm.
int64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// Bytes handed out by malloc and not yet freed.
int64_t HeapInUseBytes() { return static_cast<int64_t>(mallinfo2().uordblks); }

// Receives every event and keeps none: the cost of building events alone.
class DiscardSink : public EventSink {
 public:
  void OnEvent(const Event& e) override { benchmark::DoNotOptimize(&e); }
};

// N sessions on one link (client ports are ephemeral, so N <= 16384), each
// run until both endpoints are ESTABLISHED and the network is idle; then the
// memory they hold is divided by N. Registered first so that no earlier
// benchmark has left freed memory for these allocations to reuse.
void BM_IdleSessionMemory(benchmark::State& state) {
  const int sessions = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const int64_t rss_before = ResidentBytes();
    const int64_t heap_before = HeapInUseBytes();
    const int64_t chunk_before = Chunk::LiveBytes();
    Network net(1, nullptr);
    PathSpec p;
    p.delay = kMillisecond;
    absl::StatusOr<uint32_t> link = net.CreateLink(p, p);
    if (!link.ok()) {
      state.SkipWithError(std::string(link.status().message()).c_str());
      return;
    }
    SessionSpec spec;
    spec.link_id = *link;
    spec.digest = false;
    std::vector<uint32_t> ids;
    ids.reserve(sessions);
    for (int i = 0; i < sessions; ++i) {
      absl::StatusOr<uint32_t> id = net.OpenSession(spec);
      if (!id.ok()) {
        state.SkipWithError(std::string(id.status().message()).c_str());
        return;
      }
      ids.push_back(*id);
    }
    const bool idle = net.RunUntilIdle(10 * kSecond);
    int established = 0;
    for (uint32_t id : ids) {
      const Connection* c = net.connection(id, Endpoint::kClient);
      const Connection* s = net.connection(id, Endpoint::kServer);
      if (c != nullptr && s != nullptr &&
          c->state() == TcpState::kEstablished &&
          s->state() == TcpState::kEstablished) {
        ++established;
      }
    }
    const int64_t rss = ResidentBytes() - rss_before;
    const int64_t heap = HeapInUseBytes() - heap_before;
    const int64_t chunk = Chunk::LiveBytes() - chunk_before;
    if (!idle || established != sessions) {
      state.SkipWithError(
          absl::StrCat("only ", established, " of ", sessions,
                       " session pairs established (idle: ", idle, ")")
              .c_str());
      return;
    }
    const double n = sessions;
    state.counters["sessions"] = n;
    state.counters["rss_bytes_per_pair"] = static_cast<double>(rss) / n;
    state.counters["heap_bytes_per_pair"] = static_cast<double>(heap) / n;
    state.counters["chunk_bytes_per_pair"] = static_cast<double>(chunk) / n;
    state.counters["sizeof_Connection"] = sizeof(Connection);
  }
}
BENCHMARK(BM_IdleSessionMemory)
    ->Arg(10'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

enum class Sink { kNone, kDiscard, kTraceHasher };

// One client-to-server transfer of state.range(0) bytes per iteration, over
// a lossless link (1 ms each way, 10 Gbit/s, MTU 1500 so MSS 1460) with
// default TcpConfig on both ends, from open through TIME_WAIT. The clock is
// virtual, so the wall time measured is pure CPU work of the engine.
void BM_BulkTransfer(benchmark::State& state, Sink sink_kind, bool digest) {
  const uint64_t bytes = static_cast<uint64_t>(state.range(0));
  DiscardSink discard;
  uint64_t events = 0;
  uint64_t segments = 0;
  for (auto _ : state) {
    TraceHasher hasher;
    EventSink* sink = nullptr;
    if (sink_kind == Sink::kDiscard) sink = &discard;
    if (sink_kind == Sink::kTraceHasher) sink = &hasher;
    Network net(1, sink);
    PathSpec p;
    p.delay = kMillisecond;
    p.rate_bps = 10'000'000'000;
    absl::StatusOr<uint32_t> link = net.CreateLink(p, p);
    if (!link.ok()) {
      state.SkipWithError(std::string(link.status().message()).c_str());
      return;
    }
    SessionSpec spec;
    spec.link_id = *link;
    spec.digest = digest;
    absl::StatusOr<uint32_t> id = net.OpenSession(spec);
    if (!id.ok() ||
        !net.SetSource(*id, Endpoint::kClient, bytes, /*close_when_done=*/true)
             .ok()) {
      state.SkipWithError("could not open the session");
      return;
    }
    net.RunUntilIdle(3600 * kSecond);
    absl::StatusOr<SessionInfo> info = net.GetSession(*id);
    if (!info.ok() || !info->destroyed || info->server.bytes_read != bytes) {
      state.SkipWithError("transfer did not complete");
      return;
    }
    if (digest && info->client.write_digest != info->server.read_digest) {
      state.SkipWithError("digests differ");
      return;
    }
    events += hasher.event_count();
    segments += info->client.counters.segments_sent +
                info->server.counters.segments_sent;
  }
  const double total = static_cast<double>(state.iterations()) * bytes;
  state.SetBytesProcessed(static_cast<int64_t>(total));
  // Rates divide by CPU time: payload gigabits per CPU-second, i.e. per core.
  state.counters["payload_Gbit"] =
      benchmark::Counter(total * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["segments"] = benchmark::Counter(
      static_cast<double>(segments), benchmark::Counter::kAvgIterations);
  if (sink_kind == Sink::kTraceHasher) {
    state.counters["events"] = benchmark::Counter(
        static_cast<double>(events), benchmark::Counter::kAvgIterations);
  }
}

constexpr int64_t kBulkBytes = 64 << 20;

BENCHMARK_CAPTURE(BM_BulkTransfer, null_sink, Sink::kNone, false)
    ->Arg(kBulkBytes)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BulkTransfer, discard_sink, Sink::kDiscard, false)
    ->Arg(kBulkBytes)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BulkTransfer, trace_hasher, Sink::kTraceHasher, false)
    ->Arg(kBulkBytes)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BulkTransfer, null_sink_sha256, Sink::kNone, true)
    ->Arg(kBulkBytes)
    ->Unit(benchmark::kMillisecond);

// Per-segment CPU cost against the window: one transfer per iteration with
// send and receive buffers of state.range(0) bytes, on a 10 Gbit/s path
// whose round trip holds 1.25 windows (so the buffers, not the path, bound
// what is in flight), losing state.range(1) packets per million of the
// data direction at random. The engine's cost per data segment should not
// grow with the window (docs/benchmarks.md, issue 16).
void BM_WindowCost(benchmark::State& state, CcAlgorithm cc) {
  const uint64_t window = static_cast<uint64_t>(state.range(0));
  const double loss = static_cast<double>(state.range(1)) / 1e6;
  const uint64_t bytes = std::max<uint64_t>(8 * window, 64 << 20);
  constexpr uint64_t kRate = 10'000'000'000;
  // One-way delay: 1.25 windows per round trip at the line rate.
  const DurationNs delay = std::max<DurationNs>(
      kMillisecond,
      static_cast<DurationNs>(window * 8 * 1.25 / kRate / 2 * kSecond));
  uint64_t data_segments = 0;
  double flight_bytes = 0;
  for (auto _ : state) {
    Network net(1, nullptr);
    PathSpec fwd;
    fwd.delay = delay;
    fwd.rate_bps = kRate;
    fwd.queue_limit_packets = 1'000'000;
    if (loss > 0) {
      fwd.loss.model = LossSpec::Model::kRandom;
      fwd.loss.p = loss;
    }
    PathSpec rev = fwd;
    rev.loss = LossSpec();
    absl::StatusOr<uint32_t> link = net.CreateLink(fwd, rev);
    if (!link.ok()) {
      state.SkipWithError(std::string(link.status().message()).c_str());
      return;
    }
    SessionSpec spec;
    spec.link_id = *link;
    spec.digest = false;
    for (TcpConfig* c : {&spec.client, &spec.server}) {
      c->send_buffer = static_cast<uint32_t>(window);
      c->recv_buffer = static_cast<uint32_t>(window);
      c->cc = cc;
    }
    absl::StatusOr<uint32_t> id = net.OpenSession(spec);
    if (!id.ok()) {
      state.SkipWithError(std::string(id.status().message()).c_str());
      return;
    }
    if (!net.SetSource(*id, Endpoint::kClient, bytes, /*close_when_done=*/true)
             .ok()) {
      state.SkipWithError("could not start the source");
      return;
    }
    // Run a round trip at a time until the last byte is read, to time the
    // transfer (TIME_WAIT follows), then to the end.
    TimeNs done_at = 0;
    while (net.now() < 36000 * kSecond) {
      net.RunUntil(net.now() + 2 * delay);
      absl::StatusOr<SessionInfo> info = net.GetSession(*id);
      if (!info.ok() || info->server.bytes_read == bytes) break;
    }
    done_at = net.now();
    net.RunUntilIdle(36000 * kSecond);
    absl::StatusOr<SessionInfo> info = net.GetSession(*id);
    if (!info.ok() || info->server.bytes_read != bytes) {
      state.SkipWithError("transfer did not complete");
      return;
    }
    data_segments += info->client.counters.segments_sent;
    // Mean bytes in flight: goodput times the base round trip.
    flight_bytes += static_cast<double>(bytes) /
                    (static_cast<double>(done_at) / kSecond) *
                    (2.0 * static_cast<double>(delay) / kSecond);
  }
  state.counters["data_segments"] = benchmark::Counter(
      static_cast<double>(data_segments), benchmark::Counter::kAvgIterations);
  // CPU time per data segment sent (the whole engine: both endpoints and
  // the links), in nanoseconds.
  state.counters["ns_per_segment"] = benchmark::Counter(
      static_cast<double>(data_segments) / 1e9,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["flight_MiB"] = benchmark::Counter(
      flight_bytes / (1 << 20), benchmark::Counter::kAvgIterations);
}

// Windows 64 KiB, 1 MiB, 16 MiB and 256 MiB; lossless and 0.1 % loss.
void WindowArgs(benchmark::internal::Benchmark* b) {
  for (int64_t loss_ppm : {0, 1000}) {
    for (int64_t window : {64 << 10, 1 << 20, 16 << 20, 256 << 20}) {
      b->Args({window, loss_ppm});
    }
  }
  b->ArgNames({"window", "loss_ppm"})->Unit(benchmark::kMillisecond);
}
BENCHMARK_CAPTURE(BM_WindowCost, cubic, CcAlgorithm::kCubic)->Apply(WindowArgs);
BENCHMARK_CAPTURE(BM_WindowCost, newreno, CcAlgorithm::kNewReno)
    ->Apply(WindowArgs);
// BBR does not take random loss as congestion, so at 0.1 % loss it keeps
// the window full: the case where SACK scoreboards and RACK hold the most.
BENCHMARK_CAPTURE(BM_WindowCost, bbr, CcAlgorithm::kBbr)->Apply(WindowArgs);

}  // namespace
}  // namespace tcpemu

BENCHMARK_MAIN();
